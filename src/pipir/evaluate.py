"""Evaluation under the papers' protocol, on the standard benchmarks or on held-out bundled photos.

Protocol (PAPER.md §2.7): whole test images centre-cropped to a multiple of 16, batch 1, no tiling;
PSNR/SSIM on RGB floats in [0, 1] (scikit-image's definitions, here in torch), averaged per image.
Y-channel (BT.601) figures are reported as extra columns. Every image goes through
:meth:`pipir.infer.Restorer.restore_tensor`, the same path as ``pipir restore``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pipir import degrade
from pipir.data import HELD_OUT, BenchmarkDataset, center_crop_multiple, samples
from pipir.data.benchmark import SETTINGS
from pipir.errors import PipirError
from pipir.infer import Restorer
from pipir.io import atomic_write
from pipir.metrics import psnr, ssim

# (column, task, extra degradation parameters); noise follows the official uint8 recipe
SYNTHETIC_COLUMNS = [
    ("noise σ15", "denoise", {"sigma": 15, "protocol": "official"}),
    ("noise σ25", "denoise", {"sigma": 25, "protocol": "official"}),
    ("noise σ50", "denoise", {"sigma": 50, "protocol": "official"}),
    ("rain", "derain", {}),
    ("haze", "dehaze", {}),
    ("blur", "deblur", {}),
    ("low light", "lowlight", {}),
]
BENCHMARK_COLUMNS = [
    ("BSD68 σ15", "denoise", 15),
    ("BSD68 σ25", "denoise", 25),
    ("BSD68 σ50", "denoise", 50),
    ("Rain100L", "derain", None),
    ("SOTS", "dehaze", None),
    ("GoPro", "deblur", None),
    ("LOL", "lowlight", None),
]


@dataclass
class Score:
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    psnr_y: list[float] = field(default_factory=list)
    ssim_y: list[float] = field(default_factory=list)

    def add(self, restored: torch.Tensor, clean: torch.Tensor) -> None:
        self.psnr.append(psnr(restored, clean).item())
        self.ssim.append(ssim(restored, clean).item())
        self.psnr_y.append(psnr(restored, clean, y_channel=True).item())
        self.ssim_y.append(ssim(restored, clean, y_channel=True).item())

    def mean(self) -> dict[str, float]:
        return {k: float(np.mean(v)) for k, v in vars(self).items()} | {"images": len(self.psnr)}


@dataclass
class Item:
    column: str
    task: str
    degraded: torch.Tensor  # 1×3×H×W
    clean: torch.Tensor
    sigma: float | None = None  # the noise level, for denoising items


Method = Callable[[Item], torch.Tensor]


def restorer_method(restorer: Restorer, weights: str) -> Method:
    """Restore with oracle prompt weights (the task label, as the official code reports) or with
    the classifier's (``auto``, blind); whole images in fp32, as the protocol says."""

    def run(item: Item) -> torch.Tensor:
        task = item.task if weights == "oracle" else "auto"
        return restorer.restore_tensor(item.degraded, task=task, precision="fp32")[0].cpu()

    return run


def classical_method(item: Item) -> torch.Tensor | None:
    """A classical baseline where scikit-image has one: non-local means for noise (told the true σ,
    so it is a non-blind baseline), CLAHE for low light. None where there is none."""
    from skimage import exposure, restoration

    image = item.degraded[0].permute(1, 2, 0).numpy().astype(np.float64)
    if item.task == "denoise":
        sigma = item.sigma / 255.0
        out = restoration.denoise_nl_means(
            image, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True, channel_axis=-1
        )
    elif item.task == "lowlight":
        out = exposure.equalize_adapthist(image, clip_limit=0.02)
    else:
        return None
    return torch.from_numpy(np.clip(out, 0, 1).astype(np.float32)).permute(2, 0, 1)[None]


def synthetic_items(
    photos: Iterable[str] = HELD_OUT, seed: int = 0, tasks: Iterable[str] | None = None
) -> list[Item]:
    """Held-out bundled photos, centre-cropped to a multiple of 16, with seeded degradations."""
    wanted = set(tasks) if tasks is not None else None
    items = []
    for p, image in enumerate(samples(tuple(photos)).values()):
        clean = center_crop_multiple(degrade.to_float(image))
        for c, (column, task, params) in enumerate(SYNTHETIC_COLUMNS):
            if wanted is not None and task not in wanted:
                continue
            kind = degrade.KIND_OF[task]
            degraded = degrade.apply(clean, kind, seed=[seed, p, c], **params)
            items.append(Item(column, task, _tensor(degraded), _tensor(clean), params.get("sigma")))
    return items


def benchmark_items(root: str | Path, setting: str = "5task", seed: int = 0) -> Iterable[Item]:
    if setting not in SETTINGS:
        raise PipirError(f"setting must be one of {', '.join(SETTINGS)}, not {setting!r}")
    for column, task, sigma in BENCHMARK_COLUMNS:
        if task not in SETTINGS[setting]:
            continue
        dataset = BenchmarkDataset(root, task, "test", sigma=sigma, seed=seed)
        for i in range(len(dataset)):
            sample = dataset[i]
            yield Item(column, task, sample["degraded"][None], sample["clean"][None], sigma)


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]


def evaluate(
    items: Iterable[Item], methods: dict[str, Method | None], progress: Callable | None = None
) -> dict:
    """``{method: {column: mean scores}}`` plus an ``Average`` column per method (over columns)."""
    scores: dict[str, dict[str, Score]] = {m: {} for m in methods}
    for item in items:
        for name, method in methods.items():
            restored = item.degraded if method is None else method(item)
            if restored is None:
                continue
            scores[name].setdefault(item.column, Score()).add(restored, item.clean)
        if progress is not None:
            progress()
    table: dict[str, dict] = {}
    for name, columns in scores.items():
        table[name] = {col: s.mean() for col, s in columns.items()}
        if columns:
            table[name]["Average"] = {
                k: float(np.mean([v[k] for v in table[name].values()]))
                for k in ("psnr", "ssim", "psnr_y", "ssim_y")
            }
    return table


def markdown(table: dict, title: str, columns: list[str]) -> str:
    """Two tables shaped like the papers': RGB PSNR/SSIM (the protocol), then Y-channel."""
    out = [f"## {title}", ""]
    for label, (p, s) in (
        ("RGB PSNR (dB) / SSIM", ("psnr", "ssim")),
        ("Y-channel PSNR (dB) / SSIM", ("psnr_y", "ssim_y")),
    ):
        cols = [c for c in columns + ["Average"] if any(c in row for row in table.values())]
        out += [f"**{label}**", "", "| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for method, row in table.items():
            cells = [f"{row[c][p]:.2f} / {row[c][s]:.4f}" if c in row else "—" for c in cols]
            out.append(f"| {method} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def write_results(table: dict, out: Path, title: str, columns: list[str], meta: dict) -> str:
    text = markdown(table, title, columns)
    atomic_write(out.with_suffix(".md"), lambda tmp: tmp.write_text(text + "\n"))
    atomic_write(
        out.with_suffix(".json"),
        lambda tmp: tmp.write_text(json.dumps({"meta": meta, "results": table}, indent=2) + "\n"),
    )
    return text


def classifier_confusion(
    restorer: Restorer, photos: Iterable[str] = HELD_OUT, crops: int = 100, size: int = 128, seed: int = 0
) -> tuple[np.ndarray, float]:
    """Confusion matrix (true task × predicted task) of the classifier on ``crops`` random
    ``size``-pixel crops per task of held-out photos, each with a fresh seeded degradation, and
    the overall accuracy. Prediction = :meth:`Restorer.classify`, as ``task="auto"`` uses it."""
    images = [degrade.to_float(im) for im in samples(tuple(photos)).values()]
    tasks = restorer.tasks
    matrix = np.zeros((len(tasks), len(tasks)), dtype=int)
    rng = np.random.default_rng(seed)
    for t, task in enumerate(tasks):
        for _ in range(crops):
            image = images[int(rng.integers(len(images)))]
            top = int(rng.integers(0, image.shape[0] - size + 1))
            left = int(rng.integers(0, image.shape[1] - size + 1))
            crop = degrade.apply(image[top : top + size, left : left + size], degrade.KIND_OF[task], seed=rng)
            x = _tensor(crop)
            probs = restorer.classify(lambda a, b, h, w, x=x: x[:, :, a : a + h, b : b + w], size, size)
            matrix[t, int(probs.argmax())] += 1
    return matrix, float(np.trace(matrix) / matrix.sum())


def confusion_markdown(matrix: np.ndarray, accuracy: float, tasks: Iterable[str], note: str) -> str:
    tasks = list(tasks)
    lines = [
        f"Accuracy: **{100 * accuracy:.2f}%** ({int(np.trace(matrix))} of {int(matrix.sum())}). {note}",
        "",
        "| true \\ predicted | " + " | ".join(tasks) + " |",
        "|---" * (len(tasks) + 1) + "|",
    ]
    lines += [f"| {task} | " + " | ".join(str(v) for v in row) + " |" for task, row in zip(tasks, matrix)]
    return "\n".join(lines)
