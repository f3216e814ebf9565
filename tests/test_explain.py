"""``pipir explain``: what it shows is what the model computed, and the picture is written."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import pipir
from pipir.checkpoints import save_bundle
from pipir.explain import explain
from pipir.hub import load
from pipir.models.sensor import DegradationSensor

from .test_restore import photo


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    torch.manual_seed(0)
    model = pipir.create_model("pip_restormer", "tiny")
    sensor = DegradationSensor(num_tasks=6, width=8)
    path = tmp_path_factory.mktemp("model") / "explain-model.safetensors"
    save_bundle(path, model, sensor, {"tasks": list(pipir.TASKS), "sensor_patch": 32})
    return path


def test_explanation_holds_the_restore_paths_weights_output_and_attention(bundle):
    restorer = load(bundle, device="cpu")
    image = photo(48, 64)
    ex = explain(restorer, image)
    same = restorer.restore(ex.image, task="auto", ensemble=1)  # the one pass whose attention is shown
    assert ex.source == "classifier" and ex.weights == pytest.approx(list(same.weights.values()), abs=1e-6)
    assert ex.strength == pytest.approx(same.strength, abs=1e-6) and ex.strength < 1
    np.testing.assert_allclose(ex.restored, same.image, atol=1e-5)
    assert len(ex.probabilities) == 6 and sum(ex.probabilities) == pytest.approx(1, abs=1e-5)
    assert ex.classes[-1] == "clean"

    for level, block in enumerate(restorer.model.pip):
        d = block.prompt.task_prompts.shape[1]  # the query is projected to the prompt width D
        assert ex.attention[level].shape == (d, d)
        # each row mixes four softmaxes over its head's prompt channels with the learned scalars
        mix = block.to_feature.attn.topm_mix.sum().item()
        np.testing.assert_allclose(ex.attention[level].sum(1), mix, atol=1e-5)
        assert 0.5 < ex.kept[level] < 1  # top-m drops entries (m is 1/2 to 4/5 of a head's channels)
        assert not block.to_feature.attn.record_map  # recording is switched off again


def test_a_large_photo_is_classified_at_full_resolution_as_restore_does(bundle):
    restorer = load(bundle, device="cpu")
    image = (photo(300, 520, seed=3) * 255).astype(np.uint8)  # larger than the 384-pixel preview
    ex = explain(restorer, image)
    full = restorer.restore(image, task="auto")
    assert ex.image.shape[:2] == (222, 384)
    assert ex.weights == pytest.approx(list(full.weights.values()), abs=1e-6)
    assert ex.strength == pytest.approx(full.strength, abs=1e-6)


def test_prompt_similarity_is_the_cosine_of_the_learned_prompts(bundle):
    restorer = load(bundle, device="cpu")
    prompts = restorer.model.pip[0].prompt.task_prompts
    with torch.no_grad():
        prompts.zero_()
        prompts[:, 0] = 1  # all five along one axis ...
        prompts[1] = 0
        prompts[1, 1] = 2  # ... but derain, orthogonal to them
    ex = explain(restorer, photo(32, 32), task="dehaze")
    expected = np.ones((5, 5))
    expected[1, :] = expected[:, 1] = 0
    expected[1, 1] = 1
    np.testing.assert_allclose(ex.similarity[0], expected, atol=1e-6)
    assert ex.probabilities is None and ex.source == "given" and ex.weights[2] == 1


def test_dense_attention_keeps_every_entry():
    model = pipir.create_model("pip_restormer", "tiny", topm=False)
    restorer = pipir.infer.Restorer(model, device="cpu")
    ex = explain(restorer, photo(32, 32), task="denoise")
    assert ex.kept == [1.0, 1.0, 1.0]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "pipir.launch", *args], capture_output=True, text=True)


def test_cli_writes_one_png_and_refuses_bad_requests_in_one_line(tmp_path, bundle):
    source = tmp_path / "in.png"
    Image.fromarray((photo(40, 56) * 255).astype(np.uint8)).save(source)
    done = run_cli("explain", str(source), "--model", str(bundle), "--device", "cpu")
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "in-explain.png") as picture:
        assert picture.format == "PNG" and picture.width > 800
    assert "classifier:" in done.stdout

    for args, message in (
        (("-o", str(tmp_path / "x.jpg")), "the explanation is a PNG: name the output .png, not x.jpg"),
        (("--task", "sharpen"), "unknown task"),
    ):
        bad = run_cli("explain", str(source), "--model", str(bundle), *args)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
        assert message in bad.stderr
    official = tmp_path / "restormer.pth"
    torch.save(pipir.create_model("restormer", "tiny").state_dict(), official)
    bad = run_cli("explain", str(source), "--model", str(official))
    assert bad.returncode == 2 and "has no prompts to explain" in bad.stderr
