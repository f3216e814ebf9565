"""The default model's target check (benchmarks/targets.py): each target judged from the right rows."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from targets import TASKS, psnr_targets, rows_by_role, speed_target  # noqa: E402


def evaluation(**changes: dict) -> dict:
    """An evaluation where every target is met, with some cells changed."""
    rows = {
        "degraded input": {task: 20.0 for task in TASKS} | {"clean": 100.0, "JPEG q40": 30.0},
        "m (oracle weights)": {task: 25.0 for task in TASKS},
        "m (auto weights)": {task: 24.9 for task in TASKS} | {"clean": 40.0, "JPEG q40": 30.1},
        "classical (skimage)": {task: 24.0 for task in TASKS[:3]},
        "BM3D (true σ)": {task: 24.5 for task in TASKS[:3]},
    }
    for name, cells in changes.items():
        rows[name.replace("_", " ")] |= cells
    return {name: {c: {"psnr": v} for c, v in cells.items()} for name, cells in rows.items()}


def met(results: dict) -> dict[str, bool]:
    return {row["target"]: row["met"] for row in psnr_targets(rows_by_role(results))}


def test_every_target_met_when_the_figures_meet_them():
    assert all(met(evaluation()).values())


BLIND = "m_(auto_weights)"


@pytest.mark.parametrize(
    "row, cells, failed",
    [
        ("classical_(skimage)", {"noise σ25": 25.0}, ["noise, blind, against non-local means (told σ)"]),
        ("BM3D_(true_σ)", {"noise σ50": 25.0}, ["noise, blind, against BM3D (true σ)"]),
        (
            BLIND,
            {"motion blur": 20.5},
            ["every task, blind, over the degraded input", "every task, blind against told the task"],
        ),
        (BLIND, {"rain": 24.6}, ["every task, blind against told the task"]),
        (BLIND, {"clean": 37.9}, ["intact photos, blind, PSNR(output, input)"]),
        (BLIND, {"JPEG q40": 29.9}, ["JPEG q40 photos, blind, against the photo as it came"]),
    ],
)
def test_a_missed_target_is_the_one_reported(row, cells, failed):
    result = met(evaluation(**{row: cells}))
    assert sorted(target for target, ok in result.items() if not ok) == sorted(failed)


def measured(results: dict) -> dict[str, str]:
    return {row["target"]: row["measured"] for row in psnr_targets(rows_by_role(results))}


def test_a_margin_carries_the_spread_of_its_per_photo_differences():
    results = evaluation()
    blind, given = [30.0, 30.6, 29.2, 31.0], [30.1, 30.0, 30.0, 30.1]
    results["m (auto weights)"]["JPEG q40"] = {"psnr": float(np.mean(blind)), "psnr_each": blind}
    results["degraded input"]["JPEG q40"] = {"psnr": float(np.mean(given)), "psnr_each": given}
    half = 1.96 * np.std(np.subtract(blind, given), ddof=1) / 2  # √4 photos
    jpeg = "JPEG q40 photos, blind, against the photo as it came"
    assert measured(results)[jpeg] == f"+0.15 ± {half:.2f} dB (JPEG q40)"
    results["degraded input"]["JPEG q40"]["psnr_each"] = given[:3]  # not the same photos: no spread
    assert measured(results)[jpeg] == "+0.15 dB (JPEG q40)"
    intact = [40.0, 44.0]
    results["m (auto weights)"]["clean"] = {"psnr": 42.0, "psnr_each": intact}
    intact_target = "intact photos, blind, PSNR(output, input)"
    assert measured(results)[intact_target] == "42.00 ± 3.92 dB"  # 1.96 · 2.83 / √2


def test_an_evaluation_without_baselines_is_refused():
    results = evaluation()
    del results["BM3D (true σ)"]
    with pytest.raises(SystemExit, match="one bm3d row"):
        rows_by_role(results)


def test_speed_reads_the_commands_row():
    restore = {
        "machine": {"cpu": "cpu", "torch_threads": 2},
        "rows": [
            {
                "image": "12 MP (4000×3000)",
                "what": "`restorer.restore(image)`",
                "seconds": "100",
                "peak RSS (GB)": "1",
            },
            {
                "image": "12 MP (4000×3000)",
                "what": "`pipir restore` (load…)",
                "seconds": "190",
                "peak RSS (GB)": "1",
            },
        ],
    }
    assert speed_target(restore)["met"] is False
    restore["rows"][1]["seconds"] = "170"
    assert speed_target(restore)["met"] is True
