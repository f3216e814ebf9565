"""What ``pipir eval`` leaves besides its tables: a per-column chart of every method against the
baselines, and (``--save-images``) every restored image with a CSV of per-image scores."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import torch

from pipir.evaluate import Item
from pipir.io import write_image
from pipir.layout import from_batch


def slug(text: str) -> str:
    """A file-name-safe form of a method or column name: ``noise σ25`` → ``noise-σ25``."""
    return re.sub(r"[^\w]+", "-", text).strip("-").lower() or "x"


class ImageSaver:
    """``on_result`` for :func:`pipir.evaluate.evaluate`: writes FOLDER/METHOD/NNNN-NAME-COLUMN.png
    (8-bit PNG), FOLDER/clean/… once per item, and one CSV row per image in FOLDER/scores.csv."""

    FIELDS = ("index", "image", "column", "method", "file", "psnr", "ssim")

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict] = []
        self._cleans: set[int] = set()

    def _write(self, sub: str, index: int, item: Item, image: torch.Tensor) -> str:
        name = f"{index:04d}-{slug(item.name or 'image')}-{slug(item.column)}.png"
        path = self.folder / sub / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = from_batch(image.clamp(0, 1))
        write_image(path, np.round(pixels * 255).astype(np.uint8))
        return str(path.relative_to(self.folder))

    def __call__(
        self, index: int, item: Item, method: str, restored: torch.Tensor, psnr: float, ssim: float
    ) -> None:
        if index not in self._cleans:
            self._cleans.add(index)
            self._write("clean", index, item, item.clean)
        file = self._write(slug(method), index, item, restored)
        row = dict(index=index, image=item.name, column=item.column, method=method, file=file)
        self.rows.append(row | {"psnr": round(psnr, 4), "ssim": round(ssim, 5)})

    def write_csv(self) -> Path:
        path = self.folder / "scores.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=self.FIELDS)
            writer.writeheader()
            writer.writerows(self.rows)
        return path


def chart(table: dict, columns: list[str], path: str | Path, title: str) -> Path:
    """Grouped bars: RGB PSNR per column, one bar per method (baselines included), value on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(table)
    cols = [c for c in columns if any(c in row for row in table.values())]
    width = 0.8 / max(1, len(methods))
    fig, ax = plt.subplots(figsize=(min(16.0, 3 + 1.2 * len(cols)), 4.8), dpi=110)
    for m, method in enumerate(methods):
        xs = [i + (m - (len(methods) - 1) / 2) * width for i, c in enumerate(cols) if c in table[method]]
        ys = [table[method][c]["psnr"] for c in cols if c in table[method]]
        bars = ax.bar(xs, ys, width, label=method)
        ax.bar_label(bars, fmt="%.1f", fontsize=6, padding=1)
    # An output equal to its target scores 100 dB (the cap): keep the axis to the real scores
    finite = [v["psnr"] for row in table.values() for c, v in row.items() if c in cols and v["psnr"] < 100]
    if finite:
        ax.set_ylim(0, max(finite) + 4)
    ax.set_xticks(range(len(cols)), cols, rotation=20, ha="right")
    ax.set_ylabel("RGB PSNR (dB)")
    ax.set_title(f"{title} (bars cut at the top: output identical to the target, 100 dB)", fontsize=9)
    ax.legend(fontsize=7, ncols=min(5, len(methods)), loc="upper center", bbox_to_anchor=(0.5, -0.2))
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return Path(path)
