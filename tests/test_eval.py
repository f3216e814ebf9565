"""`pipir eval` end to end on the fake benchmark tree; the evaluation helpers; `pipir combine`."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import pipir
from pipir import evaluate as ev
from pipir.checkpoints import bundle_info, load_bundle, save_bundle
from pipir.data import write_fake_benchmark
from pipir.errors import PipirError
from pipir.hub import model_path
from pipir.models.sensor import DegradationSensor


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    save_bundle(
        path,
        pipir.create_model("pip_restormer", "tiny", passthrough=True),
        DegradationSensor(width=8),
        {"tasks": list(pipir.TASKS), "sensor_patch": 32},
    )
    return path


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "pipir.cli", *args], capture_output=True, text=True)


def test_eval_runs_end_to_end_on_the_fake_benchmark_tree(tmp_path, bundle):
    root = write_fake_benchmark(tmp_path / "bench", n=2)
    out = tmp_path / "result"
    result = run_cli("eval", str(bundle), "--data", str(root), "--setting", "5task", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = out.with_suffix(".md").read_text()
    for column in ("BSD68 σ15", "BSD68 σ50", "Rain100L", "SOTS", "GoPro", "LOL", "Average", "Y-channel"):
        assert column in table
    payload = json.loads(out.with_suffix(".json").read_text())
    assert payload["meta"]["ensemble"] == 1  # the papers' protocol: one pass per image
    data = payload["results"]
    degraded, oracle = data["degraded input"], data["m (oracle weights)"]
    assert set(oracle) == {
        "BSD68 σ15",
        "BSD68 σ25",
        "BSD68 σ50",
        "Rain100L",
        "SOTS",
        "GoPro",
        "LOL",
        "Average",
    }
    assert oracle["Rain100L"]["images"] == 2
    # a pass-through PIP model on an untrained backbone is not the identity, but scores are finite
    assert all(np.isfinite(v["psnr"]) for v in oracle.values())
    assert degraded["BSD68 σ50"]["psnr"] < degraded["BSD68 σ15"]["psnr"]
    assert "m (auto weights)" in data and "classical (skimage)" in data


def test_eval_3task_setting_has_only_its_datasets(tmp_path, bundle):
    root = write_fake_benchmark(tmp_path / "bench", n=1, tasks=("denoise", "derain", "dehaze"))
    out = tmp_path / "r3"
    result = run_cli(
        "eval",
        str(bundle),
        "--data",
        str(root),
        "--setting",
        "3task",
        "--weights",
        "oracle",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.with_suffix(".json").read_text())["results"]
    assert set(data["m (oracle weights)"]) == {
        "BSD68 σ15",
        "BSD68 σ25",
        "BSD68 σ50",
        "Rain100L",
        "SOTS",
        "Average",
    }


@pytest.mark.parametrize(
    "args,message",
    [
        (["--synthetic", "--data", "x"], "exactly one of --synthetic, --data ROOT and --photos DIR"),
        ([], "exactly one of --synthetic, --data ROOT and --photos DIR"),
        (["--photos", "/no/such/folder"], "holds none of the validation photos"),
        (["--synthetic", "--weights", "label"], "--weights must be"),
        (["--data", "/no/such/root"], "does not exist"),
        (["--data", ".", "--setting", "7task"], "setting must be one of"),
        (["--synthetic", "--ensemble", "6"], "ensemble must be 'auto' or one of 1, 2, 4, 8"),
    ],
)
def test_eval_bad_arguments_exit_2(bundle, args, message):
    result = run_cli("eval", str(bundle), *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_identity_method_scores_equal_the_metrics_of_the_input():
    items = ev.synthetic_items(photos=("chelsea",), tasks=("derain",))
    assert len(items) == 1 and items[0].degraded.shape[-1] % 16 == 0
    table = ev.evaluate(items, {"input": None})
    expected = pipir.metrics.psnr(items[0].degraded, items[0].clean).item()
    assert table["input"]["rain"]["psnr"] == pytest.approx(expected)


def test_classical_baselines_help_where_they_exist():
    items = ev.synthetic_items(photos=("chelsea",), tasks=("denoise",))
    sigma50 = [i for i in items if i.column == "noise σ50"][0]
    restored = ev.classical_method(sigma50)
    assert pipir.metrics.psnr(restored, sigma50.clean) > pipir.metrics.psnr(sigma50.degraded, sigma50.clean)
    assert ev.classical_method(ev.synthetic_items(photos=("chelsea",), tasks=("derain",))[0]) is None


def test_classifier_confusion_counts_every_crop(bundle):
    restorer = pipir.load(bundle)
    matrix, accuracy = ev.classifier_confusion(restorer, photos=("chelsea",), crops=3, size=64)
    assert matrix.shape == (5, 5) and matrix.sum() == 15 and (matrix.sum(axis=1) == 3).all()
    assert accuracy == pytest.approx(np.trace(matrix) / 15)


def test_combine_puts_a_sensor_beside_a_restorer_in_their_stored_dtypes(tmp_path, bundle):
    from safetensors.torch import load_file

    sensor_only = tmp_path / "sensor.safetensors"
    save_bundle(sensor_only, None, DegradationSensor(width=4), {"sensor_patch": 48})
    model, _, info = load_bundle(bundle)
    save_bundle(tmp_path / "bf16.safetensors", model.to(torch.bfloat16), None, info)  # as trained on a GPU
    result = run_cli(
        "combine", str(tmp_path / "bf16.safetensors"), str(sensor_only), str(tmp_path / "both.safetensors")
    )
    assert result.returncode == 0, result.stderr
    model, sensor, info = load_bundle(tmp_path / "both.safetensors")
    assert model is not None and sensor.width == 4 and info["sensor_patch"] == 48
    dtypes = {k.split(".")[0]: v.dtype for k, v in load_file(tmp_path / "both.safetensors").items()}
    assert dtypes == {"model": torch.bfloat16, "sensor": torch.float32}


def test_combine_takes_a_shipped_model_by_name(tmp_path, bundle):
    out = tmp_path / "both.safetensors"
    result = run_cli("combine", str(bundle), "pipir-small", str(out))
    assert result.returncode == 0, result.stderr
    _, sensor, _ = load_bundle(out)
    _, shipped, _ = load_bundle(model_path("pipir-small"))
    assert all(torch.equal(a, b) for a, b in zip(sensor.state_dict().values(), shipped.state_dict().values()))
    result = run_cli("combine", str(bundle), "pipir-huge", str(tmp_path / "other.safetensors"))
    assert result.returncode == 2 and "'pipir-huge' is neither a file nor a shipped model" in result.stderr
    assert not (tmp_path / "other.safetensors").exists()


@pytest.mark.parametrize("which", ["restorer", "sensor"])
def test_combine_refuses_a_lightning_checkpoint_in_one_sentence(tmp_path, bundle, which):
    ckpt = tmp_path / "step0000250.ckpt"  # what a training run's checkpoints folder holds
    torch.save({"state_dict": {"sensor.head.weight": torch.zeros(6, 8)}, "global_step": 250}, ckpt)
    files = {"restorer": str(bundle), "sensor": str(bundle), which: str(ckpt)}
    out = tmp_path / "both.safetensors"
    result = run_cli("combine", files["restorer"], files["sensor"], str(out))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        "step0000250.ckpt is not a pipir checkpoint" in result.stderr and len(result.stderr.splitlines()) == 1
    )
    assert not out.exists()


def write_fake_validation_photos(folder, real: int = 3) -> None:
    """A file for every photo of the committed validation split: the first ``real`` random 40×60
    images (what ``--limit`` reads), the rest 8×8 placeholders."""
    from PIL import Image

    from pipir.data.photos import read_split

    names = sorted(n for n, s in read_split().items() if s == "validation")
    rng = np.random.default_rng(0)
    for i, name in enumerate(names):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        pixels = (
            rng.integers(0, 255, (40, 60, 3), dtype=np.uint8) if i < real else np.zeros((8, 8, 3), np.uint8)
        )
        Image.fromarray(pixels).save(folder / f"{name}.png")


def test_eval_classifier_on_photos_says_what_it_answers_per_column(tmp_path, bundle):
    """``--classifier --photos``: per column, the mean of what ``Restorer.classify`` answers for each
    image of the split (the same degradations as the restoring evaluation), and no restoring."""
    write_fake_validation_photos(tmp_path / "photos")
    out = tmp_path / "said"
    args = ["--classifier", "--photos", str(tmp_path / "photos"), "--limit", "2", "--size", "48"]
    result = run_cli("eval", str(bundle), *args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    said = json.loads(out.with_suffix(".json").read_text())["classifier"]
    assert list(said) == [c for c, *_ in ev.PHOTO_COLUMNS]
    restorer = pipir.load(bundle)
    items = ev.photo_items(tmp_path / "photos", "validation", 48, 0, 2)
    for column in ("noise σ25", "haze"):
        probs = [
            restorer.classify(
                lambda t, s, h, w, x=i.degraded: x[:, :, t : t + h, s : s + w], *i.degraded.shape[-2:]
            )
            for i in items
            if i.column == column
        ]
        expected = torch.cat(probs).mean(0)
        assert [said[column][t] for t in pipir.TASKS] == pytest.approx(expected.tolist(), abs=1e-6)
        assert said[column]["images"] == 2
    assert "| rain |" in out.with_suffix(".md").read_text()
    plain = tmp_path / "plain.safetensors"
    save_bundle(plain, pipir.create_model("restormer", "tiny"), None, {"tasks": list(pipir.TASKS)})
    refused = run_cli("eval", str(plain), *args, "--out", str(tmp_path / "x"))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "has no degradation classifier" in refused.stderr and not (tmp_path / "x.md").exists()


def test_eval_on_a_photo_split_with_an_identity_model_gives_the_input_row(tmp_path):
    """A model that returns its input must score exactly as the degraded input in every column; the
    clean column is then 100 dB; told-the-task has no clean or JPEG cell; averages skip those two."""
    from PIL import Image

    write_fake_validation_photos(tmp_path / "photos")
    model = pipir.create_model("pip_restormer", "tiny")
    for tensor in model.backbone.output_layer().parameters():
        torch.nn.init.zeros_(tensor)
    path = tmp_path / "identity.safetensors"
    trained = {"config": {"seed": 7}, "steps": 3}  # what the file says made it
    info = {"tasks": list(pipir.TASKS), "sensor_patch": 32, "training": trained}
    sensor = DegradationSensor(6, width=8)  # a classifier with one fixed answer, whatever the image
    torch.nn.init.zeros_(sensor.head[-1].weight)
    answer = [0.1, 0.1, 0.1, 0.1, 0.2, 0.4]
    sensor.head[-1].bias.data = torch.tensor(answer).log()
    save_bundle(path, model, sensor, info)
    out = tmp_path / "photo-eval"
    result = run_cli(
        "eval",
        str(path),
        "--photos",
        str(tmp_path / "photos"),
        "--limit",
        "3",
        "--size",
        "48",
        "--out",
        str(out),
        "--save-images",
        str(tmp_path / "images"),
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(out.with_suffix(".json").read_text())
    table = payload["results"]
    degraded, oracle, auto = (
        table["degraded input"],
        table["identity (oracle weights)"],
        table["identity (auto weights)"],
    )
    columns = [c for c, *_ in ev.PHOTO_COLUMNS]
    assert list(auto) == columns + ["Average"] and "clean" not in oracle and "JPEG q40" not in oracle
    for column in columns:
        assert auto[column]["psnr"] == pytest.approx(degraded[column]["psnr"], abs=1e-4)
        assert auto[column]["images"] == 3
    assert auto["clean"]["psnr"] == 100.0
    task_columns = [c for c, task, *_ in ev.PHOTO_COLUMNS if task != "clean"]
    assert degraded["Average"]["psnr"] == pytest.approx(np.mean([degraded[c]["psnr"] for c in task_columns]))
    assert degraded["Average"]["columns"] == len(task_columns) == 8
    classical = table["classical (skimage)"]["Average"]  # noise ×3, camera, haze, low light
    assert classical["columns"] == 6
    assert (
        f"{classical['psnr']:.2f} / {classical['ssim']:.4f} (6 of 8 columns)"
        in out.with_suffix(".md").read_text()
    )
    assert payload["meta"]["setting"] == "photos:validation:48" and payload["meta"]["ensemble"] == "auto"
    assert payload["meta"]["training"] == {"training": trained}  # the run folder need not survive
    assert payload["meta"]["command"].startswith("pipir eval ") and "--limit 3" in payload["meta"]["command"]
    said = payload["classifier"]  # what the classifier said, per column: its fixed answer
    for column, task, *_ in ev.PHOTO_COLUMNS:
        row = said[column]
        assert [row[c] for c in (*pipir.TASKS, "clean")] == pytest.approx(answer, abs=1e-6)
        assert row["right"] == (1.0 if task == "clean" else 0.0) and row["images"] == 3
    text = out.with_suffix(".md").read_text()
    assert "| JPEG q40 | 0.10 | 0.10 | 0.10 | 0.10 | 0.20 | 0.40 | 100% |" in text
    check_saved_images(tmp_path / "images", table)
    with Image.open(out.with_suffix(".png")) as chart:  # the per-column chart against the baselines
        assert chart.format == "PNG" and chart.width >= 700


def check_saved_images(folder, table):
    """Every method's image of every item is saved, the identity's equal to the degraded input's,
    and the CSV's per-image PSNRs average to the table's cells."""
    import csv

    from pipir.io import read_image

    rows = list(csv.DictReader(open(folder / "scores.csv", encoding="utf-8")))
    assert len(rows) == sum(v["images"] for row in table.values() for k, v in row.items() if k != "Average")
    by_method = {}
    for row in rows:
        by_method.setdefault((row["method"], row["column"]), []).append(float(row["psnr"]))
        assert (folder / row["file"]).is_file()
    for method, columns in table.items():
        for column, cell in columns.items():
            if column != "Average":  # the JSON's per-photo PSNR are the CSV's, in the same order
                assert np.mean(by_method[(method, column)]) == pytest.approx(cell["psnr"], abs=1e-3)
                assert cell["psnr_each"] == pytest.approx(by_method[(method, column)], abs=1e-3)
    first = [r for r in rows if r["index"] == "0"]
    degraded = next(r for r in first if r["method"] == "degraded input")
    identity = next(r for r in first if r["method"] == "identity (auto weights)")
    assert degraded["image"] and degraded["file"].startswith("degraded-input/0000-")
    assert np.array_equal(read_image(folder / degraded["file"]), read_image(folder / identity["file"]))
    assert len(list((folder / "clean").glob("*.png"))) == len({r["index"] for r in rows})


@pytest.mark.parametrize("sigma", [15, 25])
def test_noise_estimate_for_the_classical_baseline_is_within_15_percent(sigma):
    from pipir import degrade
    from pipir.data import samples

    image = degrade.to_float(samples(["coffee"])["coffee"]).astype(np.float64)
    noisy = image + np.random.default_rng(0).normal(0, sigma / 255, image.shape)
    assert ev.estimate_noise_sigma(noisy) * 255 == pytest.approx(sigma, rel=0.15)  # texture adds a little


def test_photo_items_of_some_columns_are_those_of_the_full_table(tmp_path):
    """``columns`` leaves the other columns out but keeps each column's own seed, so a probe of the
    intact photos or of one degradation sees exactly what ``pipir eval`` scores; an unknown name is
    refused."""
    write_fake_validation_photos(tmp_path / "photos")
    full = ev.photo_items(tmp_path / "photos", "validation", 48, 0, 2)
    some = ev.photo_items(tmp_path / "photos", "validation", 48, 0, 2, columns=["haze", "JPEG q40"])
    expected = [i for i in full if i.column in ("haze", "JPEG q40")]
    assert [(i.column, i.name) for i in some] == [(i.column, i.name) for i in expected]
    for got, want in zip(some, expected):
        assert torch.equal(got.degraded, want.degraded) and torch.equal(got.clean, want.clean)
    with pytest.raises(PipirError, match="no photo column hail"):
        ev.photo_items(tmp_path / "photos", "validation", 48, 0, 2, columns=["hail"])


def test_combine_keeps_the_classifier_training_of_a_combined_file(tmp_path, bundle):
    """A classifier taken from a file that was itself combined keeps that classifier's record, not
    the record of the restorer it sat beside."""
    model, sensor, _ = load_bundle(bundle)
    save_bundle(tmp_path / "r.safetensors", model, None, {"training": {"steps": 7}})
    save_bundle(tmp_path / "s.safetensors", None, sensor, {"training": {"steps": 11}})
    for names in (("r", "s", "rs"), ("r", "rs", "x")):
        result = run_cli("combine", *(str(tmp_path / f"{n}.safetensors") for n in names))
        assert result.returncode == 0, result.stderr
    info = bundle_info(tmp_path / "x.safetensors")
    assert info["training"]["steps"] == 7 and info["sensor_training"]["steps"] == 11


def test_average_mixes_two_restorers_parameter_by_parameter(tmp_path, bundle):
    model, sensor, info = load_bundle(bundle)
    torch.manual_seed(1)
    other = pipir.create_model("pip_restormer", "tiny", passthrough=True)
    second = tmp_path / "second.safetensors"
    save_bundle(second, other, sensor, {**info, "training": {"steps": 3}})
    out = tmp_path / "avg.safetensors"
    result = run_cli("average", str(bundle), str(second), str(out), "--share", "0.25")
    assert result.returncode == 0, result.stderr
    averaged, kept, saved = load_bundle(out)
    ends = model.state_dict(), other.state_dict()
    for key, value in averaged.state_dict().items():
        assert torch.allclose(value, 0.75 * ends[0][key] + 0.25 * ends[1][key])
    differ = [k for k, v in ends[0].items() if v.is_floating_point() and not torch.equal(v, ends[1][k])]
    assert len(differ) > len(ends[0]) // 2  # two different restorers, so the check above means something
    assert all(torch.equal(a, b) for a, b in zip(kept.state_dict().values(), sensor.state_dict().values()))
    assert saved["average"]["share"] == 0.25 and saved["training"]["steps"] == 3
    assert (
        "restorer = 0.25 × the one trained above + 0.75 × m.safetensors's" in run_cli("info", str(out)).stdout
    )


@pytest.mark.parametrize(
    "case, share, message",
    [
        ("same", "1.5", "the share of the second restorer must lie in [0, 1], not 1.5"),
        ("same", "-0.1", "must lie in [0, 1], not -0.1"),
        ("other size", "0.5", "the two restorers differ in architecture"),
        ("classifier alone", "0.5", "both files must hold a restorer"),
    ],
)
def test_average_refuses_bad_input_in_one_sentence(tmp_path, bundle, case, share, message):
    other = tmp_path / "other.safetensors"
    if case == "other size":
        save_bundle(other, pipir.create_model("pip_restormer", "small"), None, {})
    if case == "classifier alone":
        save_bundle(other, None, DegradationSensor(width=4), {})
    first, second = {
        "same": (bundle, bundle),
        "other size": (other, bundle),
        "classifier alone": (bundle, other),
    }[case]
    out = tmp_path / "avg.safetensors"
    result = run_cli("average", str(first), str(second), str(out), "--share", share)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert not out.exists()
