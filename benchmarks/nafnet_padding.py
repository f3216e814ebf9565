"""NAFNet's padding: reflect (pipir's default) against zeros (the official code) on photo sizes that
are not a multiple of 16, the only case where the two differ. RGB PSNR over the whole image and
over the padded border band (the last 16 rows and columns), per validation column.

    python benchmarks/nafnet_padding.py MODEL [--photos data/photos --limit 12 --size 192]

MODEL is a pipir checkpoint or an official NAFNet file; PIP-NAFNet is told the task. Writes
docs/benchmarks/nafnet-padding.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from common import write_report  # noqa: E402

from pipir.evaluate import PHOTO_COLUMNS, photo_items  # noqa: E402
from pipir.hub import load  # noqa: E402
from pipir.metrics import psnr  # noqa: E402

BAND = 16
TRIM = (7, 5)  # rows, columns cut from each photo (cropped to a multiple of 16) to make odd sizes


def scores(restorer, items, padding: str) -> dict[str, list[tuple[float, float]]]:
    """Per column: (whole-image PSNR, border-band PSNR) of every item, with the backbone padding
    inputs as ``padding`` says."""
    backbone = getattr(restorer.model, "backbone", restorer.model)
    backbone.padding = padding
    out: dict[str, list[tuple[float, float]]] = {}
    for item in items:
        task = item.task if restorer.uses_prompts else "auto"
        y = restorer.restore_tensor(item.degraded, task=task, precision="fp32", ensemble=1).image.cpu()
        band = (slice(None), slice(None), slice(-BAND, None))
        whole = psnr(y, item.clean).item()
        edge = psnr(
            torch.cat([y[band], y[..., -BAND:].transpose(-1, -2)], -1),
            torch.cat([item.clean[band], item.clean[..., -BAND:].transpose(-1, -2)], -1),
        ).item()
        out.setdefault(item.column, []).append((whole, edge))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model")
    parser.add_argument("--photos", type=Path, default=ROOT / "data/photos")
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--about", default="", help="how the model was made, for the page")
    args = parser.parse_args()
    torch.set_num_threads(1)
    restorer = load(args.model, device="cpu")
    backbone = getattr(restorer.model, "backbone", restorer.model)
    if not hasattr(backbone, "padding") or type(backbone).__name__ != "NAFNet":
        raise SystemExit(f"{args.model} is not a NAFNet or PIP-NAFNet model")
    tasks = [c for c, task, *_ in PHOTO_COLUMNS if task != "clean" and c != "camera noise"]
    items = []
    for item in photo_items(args.photos, "validation", args.size, limit=args.limit):
        if item.column in tasks:
            rows, cols = item.clean.shape[-2] - TRIM[0], item.clean.shape[-1] - TRIM[1]
            item.degraded, item.clean = item.degraded[..., :rows, :cols], item.clean[..., :rows, :cols]
            items.append(item)
    by_mode = {mode: scores(restorer, items, mode) for mode in ("reflect", "zeros")}
    rows = []
    for column in tasks:
        row = {"column": column, "images": len(by_mode["reflect"][column])}
        for mode, table in by_mode.items():
            whole, edge = np.mean(table[column], axis=0)
            row[f"{mode} whole"], row[f"{mode} border"] = round(float(whole), 3), round(float(edge), 3)
        row["border: reflect − zeros"] = round(row["reflect border"] - row["zeros border"], 3)
        rows.append(row)
    average = {"column": "Average", "images": sum(r["images"] for r in rows)}
    for key in [k for k in rows[0] if k not in average]:
        average[key] = round(float(np.mean([r[key] for r in rows])), 3)
    rows.append(average)
    columns = list(rows[0])
    about = f", {args.about}" if args.about else ""
    notes = (
        f"Model `{Path(args.model).name}` ({type(restorer.model).__name__}{about}); "
        f"{args.limit} validation photos at "
        f"{args.size} px, cropped by {TRIM[0]} rows and {TRIM[1]} columns to sizes that are not a "
        f"multiple of 16; border = the last {BAND} rows and columns; RGB PSNR in dB, fp32, whole images."
    )
    write_report("nafnet-padding", "NAFNet padding: reflect against zeros", rows, columns, notes)


if __name__ == "__main__":
    main()
