"""Blind restoration photo by photo in one column of the validation photos: what the classifier
answered, the strength blind restore gave, and PSNR blind against told the task, so that a column's
blind-versus-told gap can be traced to the photos that make it.

    python benchmarks/blind_photos.py --column haze [--task dehaze] [--model pipir-small] [--limit N]
                                      [--size 320] [--name blind-photos-haze]

Each photo of the column (the degradation of ``pipir eval --photos``) is restored told its task and
blind (``task="auto"``: the weights and strength of ``pipir.infer.blind_weights``, as ``pipir
restore`` uses them), at one view in fp32. "Told changes it" is PSNR(told output, degraded input):
how far the restorer told the task moves the photo (high: it leaves the photo nearly as it is).
``--task`` tells it another task than the column's, which the intact columns ("clean", "JPEG q40")
need: ``--column clean --task dehaze`` shows how far dehazing moves intact photos. PSNR is capped
at 100 dB, as ``pipir eval`` caps it. Rows are sorted by blind − told, worst first; the last row
holds the means. Writes docs/benchmarks/<name>.{json,md}.
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
from pipir.metrics import psnr  # noqa: E402
from pipir.models.pip import TASKS  # noqa: E402

COLUMNS = ["photo", "P(task)", "P(clean)", "strength", "input", "told", "blind", "blind − told",
           "told changes it"]  # fmt: skip


def capped(a: torch.Tensor, b: torch.Tensor) -> float:
    return min(100.0, psnr(a, b).item())


def measure(restorer, item, task: str) -> dict:
    """One photo: the classifier's answer for ``task`` and for "clean", blind restore's strength,
    and the PSNRs of the input, the output told ``task`` and the blind one against the clean photo."""
    x, clean = item.degraded, item.clean
    probs = restorer.classify_tensor(x)[0]
    told = restorer.restore_tensor(x, task=task, precision="fp32", ensemble=1).image.cpu()
    blind = restorer.restore_tensor(x, task="auto", precision="fp32", ensemble=1)
    return {
        "photo": item.name,
        "P(task)": float(probs[restorer.tasks.index(task)]),
        "P(clean)": float(probs[-1]),
        "strength": float(blind.strength),
        "input": capped(x, clean),
        "told": capped(told, clean),
        "blind": capped(blind.image.cpu(), clean),
        "told changes it": capped(told, x),
    }


def table(measured: list[dict]) -> list[dict]:
    """Formatted rows, worst blind − told first, and a last row of the means."""
    measured = [{**m, "blind − told": m["blind"] - m["told"]} for m in measured]
    ordered = sorted(measured, key=lambda m: m["blind − told"])
    means = {c: float(np.mean([m[c] for m in measured])) for c in COLUMNS[1:]}
    rows = [*ordered, {"photo": f"mean of {len(measured)} photos", **means}]
    return [{c: fmt(c, r[c]) for c in COLUMNS} for r in rows]


def fmt(column: str, value) -> str:
    if column == "photo":
        return str(value)
    if column == "blind − told":
        return f"{value:+.2f}"
    return f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--column", required=True, choices=[c for c, *_ in PHOTO_COLUMNS])
    parser.add_argument("--task", default=None, choices=TASKS, help="told this instead of the column's")
    parser.add_argument("--model", default=None)
    parser.add_argument("--name", default=None)
    add_photo_options(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    restorer = load_with_clean_class(args.model)
    task = args.task or next(t for c, t, *_ in PHOTO_COLUMNS if c == args.column)
    if task not in restorer.tasks:
        parser.error(f"column {args.column!r} has no task to tell the restorer: give --task")
    items = photo_items(args.photos, "validation", args.size, 0, args.limit, columns=[args.column])
    rows = table([measure(restorer, item, task) for item in items])
    notes = (
        f"`python benchmarks/blind_photos.py --column '{args.column}'"
        f"{' --task ' + args.task if args.task else ''}"
        f"{' --limit ' + str(args.limit) if args.limit else ''}`, "
        f"model `{restorer.name}`, {len(items)} validation photos at {args.size} px, seed 0, RGB PSNR "
        f"(dB, at most 100), one view, fp32, told {task}. P(task), P(clean): the classifier's answer "
        f"for {task} and for clean, before blind restore's rules; strength: the share of the correction "
        "blind restore kept; told changes it: PSNR(told output, degraded input)."
    )
    name = args.name or f"blind-photos-{args.column.replace(' ', '-')}" + (
        f"-{args.task}" if args.task else ""
    )
    title = f"Blind against told {task}, photo by photo: {args.column} (validation split)"
    write_report(name, title, rows, COLUMNS, notes)


if __name__ == "__main__":
    main()
