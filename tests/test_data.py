"""Benchmark layouts, pairing rules, datasets and the `pipir data check` command, end to end."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import pipir
from pipir.data import (
    SETTINGS,
    BenchmarkDataset,
    SyntheticDataset,
    benchmark_pairs,
    check,
    dihedral,
    pair_files,
    samples,
    write_fake_benchmark,
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_fake_benchmark(tmp_path_factory.mktemp("bench"), n=3)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "pipir.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    "task,degraded,clean",
    [
        ("derain", "rain-2.png", "norain-2.png"),
        ("dehaze", "0002_0.8_0.2.jpg", "0002.png"),
        ("deblur", "GOPR0384_11_00_000002.png", "GOPR0384_11_00_000002.png"),
        ("lowlight", "2.png", "2.png"),
    ],
)
def test_official_naming_rules_pair_the_fake_tree(tree, task, degraded, clean):
    for split in ("train", "test"):
        pairs = benchmark_pairs(tree, task, split)
        assert len(pairs) == 3
        names = {(d.name, c.name) for d, c in pairs}
        assert (degraded, clean) in names


def test_root_may_be_the_data_folder_itself(tree):
    assert len(benchmark_pairs(tree / "data", "derain", "test")) == 3


def test_sots_pairs_many_hazy_images_to_one_clear_image(tmp_path):
    root = write_fake_benchmark(tmp_path, n=1, tasks=("dehaze",))
    folder = root / "data/test/dehaze/outdoor/input"
    (folder / "0001_0.9_0.1.jpg").write_bytes((folder / "0001_0.8_0.2.jpg").read_bytes())
    pairs = benchmark_pairs(root, "dehaze", "test")
    assert len(pairs) == 2 and {c.name for _, c in pairs} == {"0001.png"}


def test_unpaired_file_is_named_or_skipped_with_a_warning(tmp_path):
    root = write_fake_benchmark(tmp_path, n=2, tasks=("derain",))
    folder = root / "data/test/derain/Rain100L"
    (folder / "input/rain-9.png").write_bytes((folder / "input/rain-1.png").read_bytes())
    with pytest.raises(pipir.PipirError, match="1 file\\(s\\) .* no partner: input/rain-9.png"):
        pair_files(folder / "input", folder / "target", "rain100l")
    with pytest.warns(UserWarning, match="rain-9.png"):
        pairs = pair_files(folder / "input", folder / "target", "rain100l", on_unpaired="skip")
    assert len(pairs) == 2


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "clean").mkdir()
    with pytest.raises(pipir.PipirError, match="holds no images"):
        pair_files(tmp_path / "empty", tmp_path / "clean")
    with pytest.raises(pipir.PipirError, match="does not exist"):
        pair_files(tmp_path / "empty", tmp_path / "nothing")
    with pytest.raises(pipir.PipirError, match="unknown pairing rule"):
        pair_files(tmp_path / "empty", tmp_path / "clean", rule="gopro")


def test_check_reports_corrupt_unpaired_and_missing(tmp_path):
    root = write_fake_benchmark(tmp_path, n=2, tasks=("denoise", "derain", "dehaze"))
    (root / "data/test/derain/Rain100L/target/norain-2.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (root / "data/Train/Dehaze/original/0009.png").write_bytes(
        (root / "data/Train/Dehaze/original/0001.png").read_bytes()
    )
    rows = {row.task: row for row in check(root, SETTINGS["5task"])}
    assert rows["denoise"].counts == {"train": 2, "test": 2} and not rows["denoise"].problems
    assert any(
        "norain-2.png" in p and ("damaged" in p or "not an image" in p) for p in rows["derain"].problems
    )
    assert any("0009.png" in p for p in rows["dehaze"].problems)
    assert rows["deblur"].counts == {"train": None, "test": None}


def test_data_check_cli_output_and_exit_codes(tmp_path):
    root = write_fake_benchmark(tmp_path, n=2, tasks=("denoise", "derain", "dehaze"))
    ok = run_cli("data", "check", str(root), "--setting", "3task")
    assert ok.returncode == 0, ok.stderr
    assert "derain" in ok.stdout and "none" in ok.stdout
    missing = run_cli("data", "check", str(root))
    assert missing.returncode == 2 and "missing" in missing.stdout
    only_deblur = run_cli("data", "check", str(root), "--task", "deblur", "--split", "test")
    assert only_deblur.returncode == 2
    (root / "data/test/derain/Rain100L/input/rain-7.png").write_bytes(b"")
    problems = run_cli("data", "check", str(root), "--setting", "3task")
    assert problems.returncode == 1 and "rain-7.png" in problems.stdout
    bad = run_cli("data", "check", str(tmp_path / "nowhere"))
    assert bad.returncode == 2 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr
    bad_task = run_cli("data", "check", str(root), "--task", "snow")
    assert bad_task.returncode == 2 and "unknown task 'snow'" in bad_task.stderr


def test_benchmark_dataset_test_split_is_deterministic_and_cropped_to_16(tree):
    ds = BenchmarkDataset(tree, "denoise", "test", sigma=25)
    a, b = ds[0], ds[0]
    assert torch.equal(a["degraded"], b["degraded"])
    assert a["degraded"].shape[-1] % 16 == 0 and a["task"] == 0
    noise = (a["degraded"] - a["clean"]).std().item() * 255
    assert 18 < noise < 30  # σ = 25, truncated and clipped
    rain = BenchmarkDataset(tree, "derain", "test")[1]
    assert rain["weights"].tolist() == [0, 1, 0, 0, 0] and rain["name"] == "rain-2.png"
    with pytest.raises(pipir.PipirError, match="noise level"):
        BenchmarkDataset(tree, "denoise", "test")


def test_benchmark_dataset_train_split_crops_the_same_window(tree):
    ds = BenchmarkDataset(tree, "lowlight", "train", patch=32)
    items = [ds[i] for i in range(len(ds))]
    assert all(item["degraded"].shape == item["clean"].shape == (3, 32, 32) for item in items)
    # darker on the whole (a crop of a black region can be as dark as its low-light version)
    assert sum(i["degraded"].mean() for i in items) < sum(i["clean"].mean() for i in items)


def test_dihedral_covers_all_eight_orientations_including_identity():
    image = np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1)
    outs = [dihedral(image, k) for k in range(8)]
    assert np.array_equal(outs[0], image)
    assert len({o.tobytes() + bytes(o.shape) for o in outs}) == 8


def test_synthetic_dataset_is_balanced_deterministic_and_labelled():
    photos = list(samples(("astronaut", "rocket")).values())
    ds = SyntheticDataset(photos, patch=32, length=20, seed=3)
    items = [ds[i] for i in range(10)]
    assert [it["task"] for it in items] == [0, 1, 2, 3, 4] * 2
    assert torch.equal(ds[4]["degraded"], items[4]["degraded"])
    assert torch.equal(ds[(0, 4)]["degraded"], items[4]["degraded"])  # position decides, not index
    assert not torch.equal(ds[(4, 9)]["degraded"], items[4]["degraded"])
    for it in items:
        assert it["degraded"].shape == (3, 32, 32)
        assert it["weights"][it["task"]] == 1
        assert 0 <= it["degraded"].min() and it["degraded"].max() <= 1
    mixed = SyntheticDataset(photos, patch=32, length=20, mix_prob=1.0)
    weights = mixed[0]["weights"]
    assert sorted(weights.tolist())[-2:] == [0.5, 0.5]


def test_samples_are_bundled_colour_photos():
    photos = samples()
    assert set(photos) == {"astronaut", "coffee", "chelsea", "rocket", "motorcycle_left", "motorcycle_right"}
    for image in photos.values():
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    with pytest.raises(pipir.PipirError, match="unknown sample"):
        samples(["lena"])
