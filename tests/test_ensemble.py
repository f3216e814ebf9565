"""Self-ensemble: the eight views, when restore uses them, and that their mean is what comes back."""

import numpy as np
import pytest
import torch

import pipir
from pipir.checkpoints import save_bundle
from pipir.ensemble import (
    AUTO_PIXELS,
    AUTO_VIEWS,
    VIEWS,
    average_views,
    count_views,
    parse,
    turn,
    unturn,
    upright_share,
)
from pipir.errors import PipirError
from pipir.hub import load
from pipir.models.sensor import DegradationSensor


@pytest.fixture(scope="module")
def restorer(tmp_path_factory):
    torch.manual_seed(0)
    model = pipir.create_model("pip_restormer", "tiny")
    path = tmp_path_factory.mktemp("model") / "ens.safetensors"
    save_bundle(path, model, DegradationSensor(width=8), {"tasks": list(pipir.TASKS), "sensor_patch": 32})
    return load(path, device="cpu")


def test_the_eight_views_are_distinct_and_each_is_undone():
    x = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).view(2, 3, 5, 7)
    seen = [turn(x, view) for view in VIEWS]
    assert len({tuple(v.flatten().tolist()) + tuple(v.shape) for v in seen}) == 8
    for view, v in zip(VIEWS, seen):
        assert torch.equal(unturn(v, view), x)
    assert seen[0] is x and unturn(x, VIEWS[0]) is x  # the first view is the image itself, not a copy


def test_two_views_keep_the_photo_upright_and_four_keep_every_lines_slant():
    x = torch.zeros(1, 1, 5, 5)
    x[..., 0, :] = 1  # the top row, as a sky
    x[..., :, 1] += 2  # a vertical line, as a rain streak
    for view in VIEWS[:2]:
        assert torch.equal(turn(x, view)[..., 0, :].sum(), x[..., 0, :].sum())  # the top stays on top
    for view in VIEWS[:4]:
        column = turn(x, view)[..., 2:, :].amax(-2)  # below the top row: the line is still vertical
        assert (column >= 2).sum() == 1
    assert all(quarters in (1, 3) for quarters, _ in VIEWS[4:])  # the last four: on its side


def test_the_mean_is_over_the_views_each_turned_back():
    x = torch.rand(1, 3, 6, 6)
    ramp = torch.arange(6, dtype=torch.float32)  # adds a left-to-right ramp: not turn-invariant

    def restore(v):
        return v + ramp

    for n in (1, 2, 4, 8):
        expected = torch.stack([unturn(restore(turn(x, view)), view) for view in VIEWS[:n]]).mean(0)
        assert torch.allclose(average_views(restore, x, n), expected)
    assert torch.allclose(average_views(restore, x, 8), x + ramp.mean())  # the ramp averages out
    assert torch.allclose(average_views(lambda v: v * 2, x, 8), x * 2)  # pointwise: unchanged by views
    kept = x.clone()
    average_views(lambda v: v, x, 8)
    assert torch.equal(x, kept)  # the input is left as it was


def test_auto_averages_only_a_small_image_restored_whole():
    assert count_views("auto", AUTO_PIXELS, whole=True) == AUTO_VIEWS == 2  # prompts unknown: upright
    assert count_views("auto", AUTO_PIXELS + 1, whole=True, upright=0.0) == 1
    assert count_views("auto", 100, whole=False, upright=0.0) == 1
    assert count_views(2, 10**8, whole=True) == 2
    with pytest.raises(PipirError, match="restored in one piece"):
        count_views(2, 100, whole=False)
    for bad in (3, 0, "all", "task"):
        with pytest.raises(PipirError, match="ensemble must be 'auto' or one of 1, 2, 4, 8"):
            count_views(bad, 100, whole=True)
    assert parse("auto") == "auto" and parse("8") == 8
    for bad in ("3", "-1", "eight", "", "task"):
        with pytest.raises(PipirError, match="ensemble must be"):
            parse(bad)


def test_restore_averages_the_views_with_one_set_of_prompt_weights(restorer):
    x = torch.rand(1, 3, 40, 56)
    once = [
        unturn(restorer.restore_tensor(turn(x, view), task="dehaze", ensemble=1).image, view)
        for view in VIEWS
    ]
    result = restorer.restore_tensor(x, task="dehaze", ensemble=8)
    assert result.views == 8
    assert torch.allclose(result.image, torch.stack(once).mean(0), atol=1e-6)
    assert not torch.allclose(result.image, once[0], atol=1e-4)  # the views do differ for this model
    calls = []
    original = restorer.classify
    restorer.classify = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        blind = restorer.restore_tensor(x, task="auto", ensemble=8)
    finally:
        restorer.classify = original
    assert blind.views == 8 and len(calls) == 1  # the classifier is asked once, not per view


def test_restore_of_a_numpy_photo_reports_the_views_and_tiles_take_one(restorer):
    image = np.random.default_rng(0).random((48, 64, 3)).astype(np.float32)
    assert restorer.restore(image, task="denoise").views == 8  # the default, "auto": no rain or haze
    assert restorer.restore(image, task="derain").views == 2  # rain: upright views only
    assert restorer.restore(image, task="denoise", ensemble=4).views == 4
    tiled = restorer.restore(image, task="denoise", tile=40, overlap=8)
    assert tiled.views == 1 and tiled.tile is not None
    assert "self-ensemble ×2" in restorer.restore(image, task="dehaze").describe()
    assert "self-ensemble" not in tiled.describe()


def test_auto_takes_eight_views_only_where_rain_and_haze_have_little_weight(restorer):
    tasks = restorer.tasks
    weights = pipir.task_weights({"denoise": 0.95, "dehaze": 0.05}, tasks=tasks)
    assert upright_share(weights, tasks) == pytest.approx(0.05)
    both = torch.cat([weights, pipir.task_weights("derain", tasks=tasks)])
    assert upright_share(both, tasks) == pytest.approx(1.0)  # the batch's largest share
    assert upright_share(None, tasks) is None  # a plain backbone: no prompts
    assert count_views("auto", 100, True, upright=0.05) == 8
    assert count_views("auto", 100, True, upright=0.1) == AUTO_VIEWS
    assert count_views("auto", 100, True, upright=None) == AUTO_VIEWS
    assert count_views("auto", AUTO_PIXELS + 1, True, upright=0.0) == 1
    assert count_views("auto", 100, False, upright=0.0) == 1
    x = torch.rand(1, 3, 32, 48)
    assert restorer.restore_tensor(x, task="denoise").views == 8
    assert restorer.restore_tensor(x, task="derain").views == 2
    assert restorer.restore_tensor(x, task={"denoise": 0.8, "dehaze": 0.2}).views == 2
    assert restorer.restore_tensor(x, task={"denoise": 0.95, "dehaze": 0.05}).views == 8
