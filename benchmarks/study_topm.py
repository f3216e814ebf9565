"""Why top-m attention does not beat dense attention in the study: what the prompt-to-feature
attention of the trained runs looks like, and what swapping one for the other at inference changes.

    python benchmarks/study_topm.py        # after `python benchmarks/study.py run pip_restormer pip_dense`

Each run of ``pip_restormer`` (trained with top-m) and ``pip_dense`` (trained dense) is scored on the
study's validation items twice: with the attention it was trained with, recording the dense softmax
of every attention row at each skip level, and with the other attention swapped in (top-m-trained:
dense scaled by the sum of its learned mixing scalars, so rows keep their total; dense-trained: top-m
with the four scalars 1/4 each). Per level: the key channels a head attends over, the m values, the
softmax mass inside the top half of the keys (the smallest m; what top-m keeps), the effective number
of keys exp(entropy), the learned temperatures and mixing scalars.
Writes docs/benchmarks/study-topm.{json,md}.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_report  # noqa: E402
from study import COLUMNS, RUNS, checkpoint_model, score, validation_items  # noqa: E402

from pipir.nn.layers import topm_sizes, topm_softmax  # noqa: E402

ARMS = {"pip_restormer": "top-m", "pip_dense": "dense"}


def attentions(model: torch.nn.Module) -> list:
    """The prompt-to-feature attention of each skip level."""
    return [block.to_feature.attn for block in model.pip]


def recording(attn, records: list):
    """The attention's own normalisation, first noting what the dense softmax of its logits keeps in
    its top half: (keys, mass in the top-k_min keys, exp(entropy) / keys), averaged over the rows."""
    own = attn._normalise

    def normalise(logits: torch.Tensor) -> torch.Tensor:
        p = logits.float().softmax(-1)
        k = topm_sizes(logits.shape[-1])[0]
        kept = p.topk(k, dim=-1).values.sum(-1).mean().item()
        entropy = -(p * p.clamp_min(1e-12).log()).sum(-1)
        records.append((logits.shape[-1], kept, entropy.exp().mean().item() / logits.shape[-1]))
        return own(logits)

    return normalise


def swapped(attn):
    """The other attention: dense (rows summing to the learned scalars' total) for a top-m layer,
    top-m with equal scalars for a dense one."""
    if attn.topm is not None:
        total = attn.topm_mix.sum()
        return lambda logits: logits.softmax(-1) * total
    mix = torch.full((4,), 0.25)
    return lambda logits: topm_softmax(logits, topm_sizes(logits.shape[-1]), mix)


def with_normalisers(model: torch.nn.Module, normalisers: list | None) -> None:
    """Each prompt-to-feature attention normalises with its entry of ``normalisers`` (None: as built)."""
    for i, attn in enumerate(attentions(model)):
        if normalisers is None:
            attn.__dict__.pop("_normalise", None)
            attn.record_map = False
        else:
            attn._normalise = normalisers[i]
            attn.record_map = True  # makes the attention call _normalise when it is dense too


def probe(arm: str, seed: int, items: list) -> dict:
    """One finished run (the study's 480 steps) scored with its own and the swapped attention, and
    what its attention looked like per skip level while it scored with its own."""
    model = checkpoint_model(max((RUNS / arm / f"s{seed}" / "checkpoints").glob("step*.ckpt")))
    records = [[] for _ in attentions(model)]
    with_normalisers(model, [recording(attn, rows) for attn, rows in zip(attentions(model), records)])
    own = score(model, items)["Average"]
    with_normalisers(model, [swapped(attn) for attn in attentions(model)])
    other = score(model, items)["Average"]
    with_normalisers(model, None)
    levels = []
    for attn, rows in zip(attentions(model), records):
        keys = rows[0][0]
        levels.append(
            {
                "keys": keys,
                "m": list(topm_sizes(keys)),
                "kept": statistics.fmean(r[1] for r in rows),
                "effective": statistics.fmean(r[2] for r in rows),
                "temperature": [round(v, 3) for v in attn.temperature.flatten().tolist()],
                "mix": None if attn.topm_mix is None else [round(v, 3) for v in attn.topm_mix.tolist()],
            }
        )
    return {"arm": arm, "seed": seed, "own": own, "swapped": other, "levels": levels}


def row(result: dict) -> dict:
    trained = ARMS[result["arm"]]
    out = {
        "raw": result,  # in the JSON only (not a column): the figures as measured, for study_report.py
        "run": f"{result['arm']} s{result['seed']}",
        "trained": trained,
        "own attention (dB)": f"{result['own']:.2f}",
        "swapped (dB)": f"{result['swapped']:.2f} ({'dense' if trained == 'top-m' else 'top-m'})",
    }
    for i, level in enumerate(result["levels"], 1):
        mix = "" if level["mix"] is None else f", mix {level['mix']}"
        out[f"level {i}"] = (
            f"{level['keys']} keys, m {level['m']}: top half {level['kept']:.2f}, "
            f"effective {level['effective']:.2f}, temperature {level['temperature']}{mix}"
        )
    return out


def main() -> None:
    torch.set_num_threads(1)
    items = [item for item in validation_items() if item.column in COLUMNS]
    results = [probe(arm, seed, items) for arm in ARMS for seed in (0, 1, 2)]
    rows = [row(r) for r in results]
    notes = (
        "`python benchmarks/study_topm.py`: the study's runs (`docs/study.md`, 480 steps, 64² patches) "
        "on its 12 validation photos, the seven task columns (Average, RGB PSNR). Per skip level: key "
        "channels per head of the prompt-to-feature attention, the m values top-m keeps, the mean dense "
        "softmax mass of a row inside its top half of keys (what the smallest m keeps), the effective "
        "number of keys exp(entropy) as a share of all keys (1: uniform), the learned temperature per "
        "head (the logits are cosines times it) and the learned mixing scalars."
    )
    columns = [c for c in rows[0] if c != "raw"]
    write_report("study-topm", "Top-m against dense attention in the study's runs", rows, columns, notes)


if __name__ == "__main__":
    main()
