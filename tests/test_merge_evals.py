"""benchmarks/merge_evals.py: rows of several pipir eval runs joined into one table."""

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import merge_evals  # noqa: E402
from merge_evals import merge, parse_take  # noqa: E402


def cell(psnr: float) -> dict:
    return {"psnr": psnr, "ssim": 0.5, "psnr_y": psnr + 1, "ssim_y": 0.6, "psnr_each": [psnr, psnr]}


def evaluation(
    path: Path, rows: dict, setting: str = "photos:test:320", classifier: dict | None = None
) -> Path:
    payload = {"meta": {"setting": setting, "seed": 0, "command": f"pipir eval {path.stem}"}, "results": rows}
    if classifier is not None:
        payload["classifier"] = classifier
    path.write_text(json.dumps(payload))
    return path


def test_rows_keep_the_order_given_and_take_new_names(tmp_path):
    told = evaluation(tmp_path / "told.json", {"new (oracle weights)": {"rain": cell(25.0)}})
    blind = evaluation(
        tmp_path / "blind.json",
        {"new (auto weights)": {"rain": cell(24.0)}},
        classifier={"rain": {"right": 1.0}},
    )
    old = evaluation(
        tmp_path / "old.json",
        {"degraded input": {"rain": cell(17.0)}, "old (auto weights)": {"rain": cell(23.0)}},
        classifier={"rain": {"right": 0.5}},  # the old classifier's: not the merged table's
    )
    takes = [
        (old, "degraded input", None),
        (told, "oracle", None),
        (blind, "auto", None),
        (old, "auto", "previous (blind)"),
    ]
    table, meta, answers = merge(takes)
    assert list(table) == ["degraded input", "new (oracle weights)", "new (auto weights)", "previous (blind)"]
    assert table["previous (blind)"]["rain"]["psnr"] == 23.0
    assert meta["merged_from"] == ["pipir eval old", "pipir eval told", "pipir eval blind"]
    assert meta["command"] == "pipir eval blind"  # the first blind row's run is the main one
    assert answers == {"rain": {"right": 1.0}}


def test_evaluations_of_other_photos_are_refused(tmp_path):
    test = evaluation(tmp_path / "a.json", {"m (auto weights)": {"rain": cell(24.0)}})
    validation = evaluation(
        tmp_path / "b.json", {"BM3D (true σ)": {"rain": cell(30.0)}}, "photos:validation:320"
    )
    with pytest.raises(SystemExit, match="different photos or seeds"):
        merge([(test, "auto", None), (validation, "BM3D", None)])


def test_a_missing_file_and_a_name_taken_twice_are_refused(tmp_path):
    blind = evaluation(tmp_path / "blind.json", {"m (auto weights)": {"rain": cell(24.0)}})
    with pytest.raises(SystemExit, match="no evaluation file"):
        merge([(blind, "auto", None), (tmp_path / "gone.json", "auto", None)])
    with pytest.raises(SystemExit, match="two rows named 'm \\(auto weights\\)'"):
        merge([(blind, "auto", None), (blind, "auto", None)])


@pytest.mark.parametrize("text", ["file.json", "file.json:", ":"])
def test_a_take_needs_a_file_and_a_row(text):
    with pytest.raises(SystemExit, match="expected FILE:ROW"):
        parse_take(text)


def test_the_script_writes_the_joined_table(tmp_path, monkeypatch):
    blind = evaluation(
        tmp_path / "blind.json", {"new (auto weights)": {"rain": cell(24.0), "Average": cell(24.0)}}
    )
    base = evaluation(tmp_path / "base.json", {"degraded input": {"rain": cell(17.0), "Average": cell(17.0)}})
    out = tmp_path / "merged"
    argv = ["merge_evals.py", str(out), f"{base}:degraded input", f"{blind}:auto=new, blind", "--note", "why"]
    monkeypatch.setattr(sys, "argv", argv)
    merge_evals.main()
    text = out.with_suffix(".md").read_text()
    assert text.startswith("## Real photos, test split (2), long side 320")
    assert "| new, blind | 24.00 / 0.5000 | 24.00 / 0.5000 |" in text
    payload = json.loads(out.with_suffix(".json").read_text())
    assert list(payload["results"]) == ["degraded input", "new, blind"]
    assert payload["meta"]["rows"] == "why"
