"""Which prompt weights and how much of the correction blind restoration should apply: weighting and
strength rules on the validation split.

    python benchmarks/blind_strength.py [--model pipir-small] [--limit N] [--size 320]

Blind restoration outputs ``input + s · (restored − input)`` with the restorer told prompt weights
made from the classifier's task probabilities and ``s`` from its "clean" probability. Each validation
photo and column (the degradations of ``pipir eval --photos``) is restored once at s = 1 per
weighting rule; PSNR at any other s is then a blend of the same two images, scored on a grid of s.
Weighting rules: the task probabilities renormalised (shipped), squared and renormalised, and the
most probable task alone. Strength rules: the shipped s = 1 − P(clean), always-full s = 1, two
sharper rules, and the best s per image (an upper bound no rule reaches, as it knows the answer).
Writes docs/benchmarks/blind-strength.{json,md}.
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
from pipir.infer import blind_weights  # noqa: E402
from pipir.metrics import psnr  # noqa: E402

GRID = np.linspace(0.0, 1.0, 21)
SHIPPED = "probabilities (shipped)"
# weighting rule -> prompt weights (B×tasks) from the renormalised task probabilities
WEIGHTINGS = {
    SHIPPED: lambda w: w,
    "probabilities²": lambda w: w**2 / (w**2).sum(-1, keepdim=True),
    "top task only": lambda w: torch.nn.functional.one_hot(w.argmax(-1), w.shape[-1]).to(w),
}
# strength rule -> strength from P(clean); None: the best grid point per image
STRENGTHS = {
    "1 − P(clean) (shipped)": lambda clean: 1 - clean,
    "1 (always full)": lambda clean: 1.0,
    "1 − P(clean)²": lambda clean: 1 - clean**2,
    "min(1, (1 − P(clean)) / 0.7)": lambda clean: min(1.0, (1 - clean) / 0.7),
    "best s per image (bound)": None,
}
# (weighting, strength) pairs reported: every strength rule with the shipped weights, every other
# weighting with the shipped strength and with its bound
ROWS = [(SHIPPED, s) for s in STRENGTHS] + [
    (w, s) for w in WEIGHTINGS if w != SHIPPED for s in ("1 − P(clean) (shipped)", "best s per image (bound)")
]


def blend_scores(restorer, item) -> tuple[float, dict[str, list[float]]]:
    """P(clean) for the item and, per weighting rule, its PSNR at every strength of ``GRID``."""
    x = item.degraded
    weights, strength = blind_weights(restorer.classify_tensor(x), len(restorer.tasks))
    scores = {}
    for name, rule in WEIGHTINGS.items():
        told = dict(zip(restorer.tasks, rule(weights)[0].tolist()))
        restored = restorer.restore_tensor(x, task=told, precision="fp32").image.cpu()
        scores[name] = [min(100.0, psnr(x + s * (restored - x), item.clean).item()) for s in GRID]
    return 1 - float(strength[0]), scores


def table(results, columns, tasks) -> list[dict]:
    """One row per (weighting, strength) pair of ``ROWS``: mean PSNR per column, task average."""
    rows = []
    for weighting, strength in ROWS:
        rule = STRENGTHS[strength]
        row = {"weights": weighting, "strength": strength}
        for column in columns:
            got = [
                max(s[weighting]) if rule is None else float(np.interp(rule(clean), GRID, s[weighting]))
                for c, clean, s in results
                if c == column
            ]
            row[column] = f"{np.mean(got):.2f}"
        row["Average"] = f"{np.mean([float(row[c]) for c in tasks]):.2f}"
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    add_photo_options(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    restorer = load_with_clean_class(args.model)
    items = photo_items(args.photos, "validation", args.size, 0, args.limit)
    results = [(item.column, *blend_scores(restorer, item)) for item in items]
    columns = [c for c, *_ in PHOTO_COLUMNS]
    tasks = [c for c, task, *_ in PHOTO_COLUMNS if task != "clean"]
    rows = table(results, columns, tasks)
    inputs = {"weights": "degraded input", "strength": "s = 0"}
    for column in columns:
        inputs[column] = f"{np.mean([s[SHIPPED][0] for c, _, s in results if c == column]):.2f}"
    inputs["Average"] = f"{np.mean([float(inputs[c]) for c in tasks]):.2f}"
    photos = len(items) // len(PHOTO_COLUMNS)
    notes = (
        f"`python benchmarks/blind_strength.py{' --limit ' + str(args.limit) if args.limit else ''}`, "
        f"model `{restorer.name}`, {photos} validation photos at {args.size} px, seed 0, RGB PSNR (dB), "
        f"fp32; strengths between grid points (step {GRID[1]:.2f}) interpolated. Average: the eight "
        "task columns (clean and JPEG q40 are the safety columns: the output should equal the input, "
        "or come closer to the uncompressed photo). Weights: what the restorer is told, made from the "
        "classifier's task probabilities renormalised; strength: how much of its correction is kept."
    )
    title = "Blind weighting and strength rules (validation split)"
    write_report("blind-strength", title, [inputs, *rows], list(rows[0]), notes)


if __name__ == "__main__":
    main()
