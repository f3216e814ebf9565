"""The study report's verdicts (benchmarks/study_report.py): paired by seed, in words."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from study_report import conclusion, paired  # noqa: E402


def runs(*averages: float) -> list[dict]:
    return [{"seed": seed, "final": {"Average": a}} for seed, a in enumerate(averages)]


def test_differences_are_paired_by_seed():
    results = {"a": runs(21.0, 22.0, 20.0), "b": runs(20.0, 20.5, 19.8)}
    assert paired(results, "a", "b")["diffs"] == pytest.approx([1.0, 1.5, 0.2])
    results["b"] = runs(20.0)[:1]  # only seed 0 finished in the other arm
    assert paired(results, "a", "b")["diffs"] == pytest.approx([1.0])


def test_conclusion_names_what_the_seeds_show_for_each_backbone():
    results = {
        "restormer": runs(20.0, 21.0, 20.5),
        "restormer_wide": runs(20.5, 21.2, 20.9),
        "pip_restormer": runs(21.5, 22.6, 22.0),  # +1.5 every seed
        "pip_uniform": runs(20.6, 21.0, 21.1),  # ± around the wide backbone
        "nafnet": runs(19.0, 19.5, 19.2),
        "pip_nafnet": runs(21.0, 21.4, 21.3),
        "promptir": runs(20.3, 20.8, 20.6),  # one seed below, two above: no verdict
    }
    text = conclusion(results)
    assert text.startswith("PIP told the task beats its backbone beyond the seed spread")
    assert "the gain comes from the task label" in text
    assert "On NAFNet, PIP told the task also beats its backbone" in text
    assert "PromptIR (blind by design: its prompts are weighted from the features) does not beat" in text
    results["pip_nafnet"] = runs(19.1, 19.2, 19.3)  # below at seed 1
    assert "On NAFNet, PIP told the task does not beat its backbone" in conclusion(results)
    results["pip_restormer"] = runs(19.0, 20.0, 19.5)
    text = conclusion(results)
    assert text.startswith("PIP told the task does not beat its backbone") and "On NAFNet" in text
