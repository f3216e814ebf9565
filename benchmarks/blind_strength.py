"""Which prompt weights and how much of the correction blind restoration should apply: weighting and
strength rules on the validation split.

    python benchmarks/blind_strength.py [--model pipir-small] [--limit N] [--size 320]
                                        [--tone-sure 0.6 0.7 ...] [--tone-ramp 0.5:1.0 ...]
                                        [--name blind-strength]

Blind restoration outputs ``input + s · (restored − input)`` with the restorer told prompt weights
made from the classifier's task probabilities and ``s`` from its "clean" probability. Each validation
photo and column (the degradations of ``pipir eval --photos``) is restored once at s = 1 per
weighting rule; PSNR at any other s is then a blend of the same two images, scored on a grid of s.
Weighting rules: the task probabilities renormalised, a global-tone task (dehaze, low light) kept
only when likely and its probability otherwise counted as "clean" (shipped, ``blind_weights``); the
same with every task kept; squared and renormalised; the most probable task alone. Strength rules:
the shipped s = 1 − P(clean)·(1 − w), w the low-light weight (a kept low-light correction applied
whole, ``blind_weights``' ``whole``), s = 1 − P(clean), always-full s = 1, two sharper rules, a
softer one, and the best s per image (an upper bound no rule reaches, as it knows the answer).
``--tone-sure`` adds the shipped rule with other thresholds for the tone tasks, ``--tone-ramp
LO:HI`` with a tone task's share kept in part between LO and HI (``blind_weights``' ``tone_full``);
``--tone-only`` leaves out the other weighting rules. The safety columns also get their worst
photo, where a mean hides one photo re-graded. A photo whose weights two rules make alike is
restored once.
Writes docs/benchmarks/<name>.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_photo_options, load_with_clean_class, write_report  # noqa: E402

from pipir.evaluate import PHOTO_COLUMNS, photo_items  # noqa: E402
from pipir.infer import TONE_SURE, WHOLE_TASKS, blind_weights  # noqa: E402
from pipir.metrics import psnr  # noqa: E402

GRID = np.linspace(0.0, 1.0, 21)
SHIPPED = f"probabilities, tone tasks only when ≥ {TONE_SURE} (shipped)"
SHIPPED_STRENGTH = "1 − P(clean)·(1 − w(low light)): kept low light whole (shipped)"
# weighting rule -> (the tone tasks' threshold and ramp end given to ``blind_weights`` as tone_sure
# and tone_full, weights -> weights)
WEIGHTINGS = {
    SHIPPED: (TONE_SURE, None, lambda w: w),
    "probabilities, every task": (0.0, None, lambda w: w),
    "probabilities²": (TONE_SURE, None, lambda w: w**2 / (w**2).sum(-1, keepdim=True)),
    "top task only": (
        TONE_SURE,
        None,
        lambda w: torch.nn.functional.one_hot(w.argmax(-1), w.shape[-1]).to(w),
    ),
}
# strength rule -> strength from P(clean) and the low-light weight; None: the best grid point per image
STRENGTHS = {
    SHIPPED_STRENGTH: lambda clean, low: 1 - clean * (1 - low),
    "1 − P(clean)": lambda clean, low: 1 - clean,
    "1 (always full)": lambda clean, low: 1.0,
    "1 − P(clean)²": lambda clean, low: 1 - clean**2,
    "min(1, (1 − P(clean)) / 0.7)": lambda clean, low: min(1.0, (1 - clean) / 0.7),
    "(1 − P(clean))²": lambda clean, low: (1 - clean) ** 2,
    "best s per image (bound)": None,
}
# (weighting, strength) pairs reported: every strength rule with the shipped weights, every other
# weighting with the shipped strength and with its bound
ROWS = [(SHIPPED, s) for s in STRENGTHS] + [
    (w, s) for w in WEIGHTINGS if w != SHIPPED for s in (SHIPPED_STRENGTH, "best s per image (bound)")
]
# the safety columns' worst photo: the output's PSNR against the input's on that photo
WORST = {"clean": "clean, worst photo", "JPEG q40": "JPEG q40, worst photo (out − in)"}


def blend_scores(restorer, item, weightings: dict) -> dict[str, tuple[float, list[float]]]:
    """Per weighting rule of ``weightings``: the P(clean) it leaves, the low-light weight it gives
    and the item's PSNR at every strength of ``GRID``."""
    x = item.degraded
    probs = restorer.classify_tensor(x)
    scores, done = {}, {}
    for name, (tone_sure, tone_full, rule) in weightings.items():
        # P(clean) as the tone gate leaves it; the strength rules below make the strength of it
        weights, strength = blind_weights(probs, restorer.tasks, tone_sure, tone_full=tone_full, whole=())
        told = dict(zip(restorer.tasks, rule(weights)[0].tolist()))
        key = tuple(told.values())
        if key not in done:
            done[key] = restorer.restore_tensor(x, task=told, precision="fp32", ensemble=1).image.cpu()
        restored = done[key]
        curve = [min(100.0, psnr(x + s * (restored - x), item.clean).item()) for s in GRID]
        whole = sum(told.get(t, 0.0) for t in WHOLE_TASKS)  # the weight blind_weights exempts
        scores[name] = (1 - float(strength[0]), whole, curve)
    return scores


def degraded_input(clean: float, low: float) -> float:
    """The strength rule that gives back the degraded input itself."""
    return 0.0


def cell_scores(results, column, weighting, rule) -> list[float]:
    """Each photo's PSNR in ``column`` under a weighting and a strength rule (None: best strength)."""
    got = []
    for c, scores in results:
        if c == column:
            clean, low, curve = scores[weighting]
            got.append(max(curve) if rule is None else float(np.interp(rule(clean, low), GRID, curve)))
    return got


def table(results, columns, tasks, pairs: list[tuple[str, str]]) -> list[dict]:
    """One row per (weighting, strength) pair of ``pairs``: mean PSNR per column, task average, and
    the safety columns' worst photo."""
    jpeg_in = np.array(cell_scores(results, "JPEG q40", SHIPPED, degraded_input))
    rows = []
    for weighting, strength in pairs:
        rule = STRENGTHS[strength]
        row = {"weights": weighting, "strength": strength}
        for column in columns:
            row[column] = f"{np.mean(cell_scores(results, column, weighting, rule)):.2f}"
        row["Average"] = f"{np.mean([float(row[c]) for c in tasks]):.2f}"
        clean = cell_scores(results, "clean", weighting, rule)
        jpeg = np.array(cell_scores(results, "JPEG q40", weighting, rule)) - jpeg_in
        row[WORST["clean"]], row[WORST["JPEG q40"]] = f"{min(clean):.2f}", f"{jpeg.min():+.2f}"
        rows.append(row)
    return rows


def chosen_rules(
    tone_only: bool, tone_sure: list[float], tone_ramp: list[str]
) -> tuple[dict, list[tuple[str, str]]]:
    """The weighting rules and (weighting, strength) rows a run reports: those of ``WEIGHTINGS`` and
    ``ROWS`` (only the shipped weighting's with ``tone_only``), plus the shipped rule with each
    other tone threshold and each ``LO:HI`` tone ramp, at the shipped strength."""
    weightings = {SHIPPED: WEIGHTINGS[SHIPPED]} if tone_only else dict(WEIGHTINGS)
    pairs = [(w, s) for w, s in ROWS if w in weightings]
    shipped_rule = WEIGHTINGS[SHIPPED][2]
    for t in tone_sure:
        weightings[f"probabilities, tone tasks only when ≥ {t}"] = (t, None, shipped_rule)
    for ramp in tone_ramp:
        lo, hi = map(float, ramp.split(":"))
        weightings[f"probabilities, tone tasks kept from {lo}, in full from {hi}"] = (lo, hi, shipped_rule)
    pairs += [(w, SHIPPED_STRENGTH) for w in weightings if w not in WEIGHTINGS]
    return weightings, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--tone-sure", type=float, nargs="*", default=[])
    parser.add_argument("--tone-ramp", nargs="*", default=[], metavar="LO:HI")
    parser.add_argument("--tone-only", action="store_true", help="no weighting rules but the tone ones")
    parser.add_argument("--name", default="blind-strength")
    add_photo_options(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    weightings, pairs = chosen_rules(args.tone_only, args.tone_sure, args.tone_ramp)
    restorer = load_with_clean_class(args.model)
    items = photo_items(args.photos, "validation", args.size, 0, args.limit)
    results = [(item.column, blend_scores(restorer, item, weightings)) for item in items]
    columns = [c for c, *_ in PHOTO_COLUMNS]
    tasks = [c for c, task, *_ in PHOTO_COLUMNS if task != "clean"]
    rows = table(results, columns, tasks, pairs)
    inputs = {"weights": "degraded input", "strength": "s = 0"}
    for column in columns:
        inputs[column] = f"{np.mean(cell_scores(results, column, SHIPPED, degraded_input)):.2f}"
    inputs["Average"] = f"{np.mean([float(inputs[c]) for c in tasks]):.2f}"
    inputs[WORST["clean"]], inputs[WORST["JPEG q40"]] = "100.00", "+0.00"
    photos = len(items) // len(PHOTO_COLUMNS)
    notes = (
        f"`python benchmarks/blind_strength.py{' --limit ' + str(args.limit) if args.limit else ''}"
        f"{' --tone-sure ' + ' '.join(map(str, args.tone_sure)) if args.tone_sure else ''}"
        f"{' --tone-ramp ' + ' '.join(args.tone_ramp) if args.tone_ramp else ''}"
        f"{' --tone-only' if args.tone_only else ''}`, "
        f"model `{restorer.name}`, {photos} validation photos at {args.size} px, seed 0, RGB PSNR (dB), "
        f"fp32; strengths between grid points (step {GRID[1]:.2f}) interpolated. Average: the eight "
        "task columns (clean and JPEG q40 are the safety columns: the output should equal the input, "
        "or come closer to the uncompressed photo). Weights: what the restorer is told, made from the "
        "classifier's task probabilities renormalised; strength: how much of its correction is kept. "
        "Worst photo: the lowest PSNR among the intact photos, and the largest loss against the input "
        "among the JPEG q40 photos."
    )
    title = "Blind weighting and strength rules (validation split)"
    write_report(args.name, title, [inputs, *rows], list(rows[0]), notes)


if __name__ == "__main__":
    main()
