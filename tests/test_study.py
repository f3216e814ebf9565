"""The study report's verdicts (benchmarks/study_report.py): paired by seed, in words."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from study_report import conclusion, paired, verdict  # noqa: E402


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
    results["pip_no_p2p"] = runs(20.5, 21.6, 21.0)  # 1 dB below the full PIP at every seed
    results["pip_dense"] = runs(21.6, 22.5, 22.1)  # ± around it
    assert (
        "Of the ablated parts, prompt-to-prompt interaction helps beyond the seed spread; top-m attention "
        "in place of dense does not change it." in conclusion(results)
    )
    results["pip_no_reg"] = runs(21.5, 22.7, 21.9)  # ± around the full PIP, as is the next
    results["pip_cosine"] = runs(21.4, 22.6, 22.1)
    assert (
        "; top-m attention in place of dense, the prompt regulariser and the angle regulariser in place "
        "of cosine do not change it." in conclusion(results)
    )
    del results["pip_no_reg"], results["pip_cosine"]
    results["pip_dense"] = runs(22.2, 23.1, 22.8)  # dense better than top-m at every seed
    assert (
        "Of the ablated parts, prompt-to-prompt interaction helps and top-m attention in place of dense "
        "hurts beyond the seed spread." in conclusion(results)
    )
    results["pip_nafnet"] = runs(19.1, 19.2, 19.3)  # below at seed 1
    assert "On NAFNet, PIP told the task does not beat its backbone" in conclusion(results)
    results["pip_restormer"] = runs(19.0, 20.0, 19.5)
    text = conclusion(results)
    assert text.startswith("PIP told the task does not beat its backbone") and "On NAFNet" in text


def test_mixture_comparisons_use_the_mixture_columns_only():
    def mixed(average: float, *mixtures: float) -> dict:
        final = {"Average": average} | dict(zip(("haze+noise", "rain+haze", "low light+noise"), mixtures))
        return {"final": final}

    results = {
        "pip_mix": [{"seed": 0, **mixed(20.0, 18.0, 17.0, 16.0)}, {"seed": 1, **mixed(20.0, 19.0, 18.0)}],
        "pip_restormer": [{"seed": 0, **mixed(21.0, 16.0, 16.0, 16.0)}, {"seed": 1, **mixed(21.5)}],
    }
    vs = paired(results, "pip_mix", "pip_restormer", on="mixtures")
    assert vs["diffs"] == pytest.approx([1.0])  # seed 1 of pip_restormer has no mixture columns
    assert paired(results, "pip_mix", "pip_restormer")["diffs"] == pytest.approx([-1.0, -1.5])
    assert verdict("pip_mix", vs).startswith("pip_mix − pip_restormer on the mixture columns: +1.00")
    assert "one seed: no spread" in verdict("pip_mix", vs)


def test_conclusion_says_what_mixture_samples_gain_and_cost():
    def mixed(*rows: tuple[float, float]) -> list[dict]:  # (task Average, mixture column) per seed
        return [{"seed": i, "final": {"Average": a, "haze+noise": m}} for i, (a, m) in enumerate(rows)]

    results = {
        "restormer": mixed((20.0, 13.0), (21.0, 13.5), (20.5, 12.5)),
        "pip_restormer": mixed((21.5, 14.0), (22.5, 14.2), (22.0, 13.0)),
        "restormer_mix": mixed((19.0, 15.0), (20.1, 15.2), (19.4, 14.6)),  # −1 on tasks, +2 on mixtures
        "pip_mix": mixed((21.6, 14.1), (22.3, 14.0), (22.1, 13.2)),  # ± on both
    }
    text = conclusion(results)
    assert (
        " Trained with 30 % mixture samples, Restormer gains on the mixture columns beyond the seed "
        "spread; on the single tasks Restormer loses beyond the seed spread."
    ) in text
    results["restormer_mix"] = mixed((20.1, 15.0), (20.9, 15.2), (20.6, 14.6))
    assert "Restormer gains on the mixture columns beyond the seed spread; on the single tasks nothing" in (
        conclusion(results)
    )


def test_topm_probe_swaps_the_attention_and_puts_it_back():
    from study_topm import attentions, swapped, with_normalisers

    from pipir.models import create_model

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = create_model("pip_restormer", "tiny").eval()
    x, weights = torch.rand(1, 3, 32, 32), torch.eye(5)[:1]
    with torch.no_grad():
        built = model(x, weights)
        attn = model.pip[0].to_feature.attn
        logits = torch.randn(2, 4, 6, 6)
        dense = swapped(attn)(logits)  # a top-m layer becomes dense, rows keeping the scalars' total
        assert torch.allclose(dense.sum(-1), attn.topm_mix.sum().expand(2, 4, 6))
        assert (dense > 0).all()
        with_normalisers(model, [swapped(a) for a in attentions(model)])
        assert not torch.equal(model(x, weights), built)
        with_normalisers(model, None)
        assert torch.equal(model(x, weights), built)
        attn.topm, attn.topm_mix = None, None  # a dense layer becomes top-m: half the keys dropped
        sparse = swapped(attn)(logits)
        assert torch.allclose(sparse.sum(-1), torch.ones(2, 4, 6))
        assert ((sparse > 0).sum(-1) == 4).all()  # top 3 with weight 1/4, top 4 with weight 3/4


def test_topm_section_reports_what_the_probe_measured(tmp_path):
    import json

    from study_report import topm_probe

    def run(arm, own, swapped, kept):
        level = {"keys": 6, "m": [3, 4, 4, 4], "kept": kept, "effective": 0.9, "temperature": [1.1, 0.9]}
        return {"raw": {"arm": arm, "seed": 0, "own": own, "swapped": swapped, "levels": [level]}}

    path = tmp_path / "study-topm.json"
    assert topm_probe(path) == []  # not run: no section
    path.write_text(
        json.dumps({"rows": [run("pip_restormer", 22.0, 21.8, 0.6), run("pip_dense", 22.5, 22.2, 0.7)]})
    )
    text = topm_probe(path)[-1]
    assert "close to uniform" in text and "0.60–0.70 of its softmax mass" in text
    assert "0.90–1.10 from their start" in text
    assert "given dense attention, by -0.20 dB" in text and "given top-m, by -0.30 dB" in text
    assert "not learned to tell apart" in text
    path.write_text(
        json.dumps({"rows": [run("pip_restormer", 22.0, 21.0, 0.9), run("pip_dense", 22.5, 22.2, 0.7)]})
    )
    text = topm_probe(path)[-1]
    assert "selective at some skip levels" in text and "not learned" not in text
