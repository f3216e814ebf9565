"""benchmarks/blind_photos.py: blind against told, photo by photo."""

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from blind_photos import COLUMNS, table  # noqa: E402


def photo(name, told, blind, p_clean):
    return {"photo": name, "P(task)": 1 - p_clean, "P(clean)": p_clean, "strength": 1 - p_clean,
            "input": 15.0, "told": told, "blind": blind, "told changes it": 20.0}  # fmt: skip


def test_rows_come_worst_first_with_the_means_last():
    rows = table(
        [photo("kept", 24.0, 24.5, 0.1), photo("missed", 30.0, 15.0, 0.9), photo("even", 20.0, 20.0, 0.5)]
    )
    assert [r["photo"] for r in rows] == ["missed", "even", "kept", "mean of 3 photos"]
    assert rows[0]["blind − told"] == "-15.00" and rows[2]["blind − told"] == "+0.50"
    assert rows[-1]["blind − told"] == "-4.83"  # (−15 + 0 + 0.5) / 3
    assert rows[-1]["P(clean)"] == "0.50" and rows[-1]["told"] == "24.67"
    assert all(list(r) == COLUMNS for r in rows)
