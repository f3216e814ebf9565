"""benchmarks/compare_evals.py: two rows of pipir eval results compared photo by photo."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import compare_evals  # noqa: E402
from compare_evals import compare, find_row  # noqa: E402


def cell(each: list[float]) -> dict:
    return {"psnr": float(np.mean(each)), "psnr_each": each}


def test_the_difference_its_interval_and_the_photos_either_way():
    first = {"rain": cell([20.0, 21.0, 22.0]), "haze": cell([15.0]), "Average": {"psnr": 1.0}}
    second = {"rain": cell([21.0, 21.0, 21.5]), "clean": cell([99.0])}
    (row,) = compare(first, second)  # only the column both hold
    half = 1.96 * np.std([1.0, 0.0, -0.5], ddof=1) / np.sqrt(3)
    assert row == {
        "column": "rain",
        "photos": 3,
        "first": "21.00",
        "second": "21.17",
        "second − first": f"+0.17 ± {half:.2f}",
        "better": 1,
        "worse": 1,
    }


@pytest.mark.parametrize(
    "second, message",
    [
        ({"rain": cell([21.0, 22.0])}, "3 photos against 2"),
        ({"rain": {"psnr": 21.0}}, "no per-photo PSNR"),
    ],
)
def test_rows_of_other_photos_are_refused(second, message):
    with pytest.raises(SystemExit, match=message):
        compare({"rain": cell([20.0, 21.0, 22.0])}, second)


def test_a_row_is_found_by_its_start_or_its_weights():
    results = {"degraded input": {}, "m (oracle weights)": {}, "m (auto weights)": {}, "BM3D (true σ)": {}}
    assert find_row(results, "auto") == "m (auto weights)"
    assert find_row(results, "BM3D") == "BM3D (true σ)"
    with pytest.raises(SystemExit, match="2 rows match 'm'"):
        find_row(results, "m")


def test_the_script_writes_its_table(tmp_path, monkeypatch):
    import common

    monkeypatch.setattr(common, "DOCS", tmp_path)
    evaluation = {
        "meta": {"setting": "photos:validation:320", "seed": 0},
        "results": {
            "m (auto weights)": {"rain": cell([20.0, 22.0])},
            "m (oracle weights)": {"rain": cell([21.0, 22.0])},
        },
    }
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(evaluation))
    monkeypatch.setattr(sys, "argv", ["compare_evals.py", str(path), "--second", "oracle", "--name", "c"])
    compare_evals.main()
    text = (tmp_path / "c.md").read_text()
    assert "| rain | 2 | 21.00 | 21.50 | +0.50 ± 0.98 | 1 | 0 |" in text
    assert "photos:validation:320, seed 0" in text
    same = subprocess.run(
        [sys.executable, str(BENCHMARKS / "compare_evals.py"), str(path)], capture_output=True, text=True
    )
    assert same.returncode == 1 and "the same row of the same file" in same.stderr
