"""The shipped default model: loads from inside the package (no network), restores blind, demo runs."""

import subprocess
import sys
from pathlib import Path

import numpy as np

import pipir
from pipir.hub import DEFAULT_MODEL, shipped_models
from pipir.io import read_image


def test_default_model_ships_inside_the_package_and_loads_offline():
    path = shipped_models()[DEFAULT_MODEL]
    assert Path(pipir.__file__).parent in path.parents
    assert path.stat().st_size <= 20 * 2**20
    restorer = pipir.load()  # reads that file only: no hub, no download
    assert restorer.name == DEFAULT_MODEL and restorer.uses_prompts and restorer.sensor is not None


def test_default_model_restores_a_noisy_photo_better_than_its_input():
    from pipir import degrade
    from pipir.data import samples

    clean = degrade.to_float(samples(["chelsea"])["chelsea"])[:128, :160]
    noisy = degrade.apply(clean, "noise", seed=0, sigma=25)
    result = pipir.restore(noisy)
    assert result.source == "classifier" and max(result.weights, key=result.weights.get) == "denoise"

    def error(x):
        return float(np.mean((x - clean) ** 2))

    # docs/model-card.md: +7.1 dB blind at σ25 on the validation photos
    assert 10 * np.log10(error(noisy) / error(result.image)) > 5.0


def test_default_model_leaves_an_intact_photo_nearly_unchanged():
    from pipir import degrade
    from pipir.data import samples

    clean = degrade.to_float(samples(["coffee"])["coffee"])[100:228, 200:360]
    result = pipir.restore(clean)
    # docs/model-card.md: intact validation photos come back at 44.8 dB on average
    assert 10 * np.log10(1 / float(np.mean((result.image - clean) ** 2))) > 35


def test_demo_writes_before_after_images(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pipir.cli", "demo", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert len(written) == 10 and "chelsea-rain.png" in written
    assert result.stdout.count("dB") == 10
    from pipir.data import HELD_OUT, samples

    photo = samples(HELD_OUT)["chelsea"]
    sheet = read_image(tmp_path / "chelsea-rain.png")
    h, w = photo.shape[:2]
    assert sheet.shape[1] == 2 * w + 4 and sheet.shape[0] > h + 22  # two panels, captions, weight bars
    below = sheet[h:, w + 4 :]  # under the restored panel: caption text and at least one blue bar
    assert (below.max(axis=2) > 200).any() and ((below[..., 2] > 200) & (below[..., 0] < 120)).any()
