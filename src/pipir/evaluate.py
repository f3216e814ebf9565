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
from pipir.layout import from_batch, to_batch
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
# Real photos of a split: (column, task or "clean", degradation kind, its parameters). Two safety
# columns: an intact photo (the output should equal the input) and a JPEG q40 one (no worse).
PHOTO_COLUMNS = [
    ("noise σ15", "denoise", "noise", {"sigma": 15, "protocol": "official"}),
    ("noise σ25", "denoise", "noise", {"sigma": 25, "protocol": "official"}),
    ("noise σ50", "denoise", "noise", {"sigma": 50, "protocol": "official"}),
    ("camera noise", "denoise", "camera", {}),
    ("rain", "derain", "rain", {}),
    ("haze", "dehaze", "haze", {}),
    ("motion blur", "deblur", "blur", {"kernel": "motion"}),
    ("low light", "lowlight", "lowlight", {}),
    ("clean", "clean", "clean", {}),
    ("JPEG q40", "clean", "jpeg", {"quality": 40}),
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
        # an output equal to its target (the intact input itself) would be infinitely good: cap at 100 dB
        self.psnr.append(min(100.0, psnr(restored, clean).item()))
        self.ssim.append(ssim(restored, clean).item())
        self.psnr_y.append(min(100.0, psnr(restored, clean, y_channel=True).item()))
        self.ssim_y.append(ssim(restored, clean, y_channel=True).item())

    def mean(self) -> dict:
        """The means, the number of images, and each image's RGB PSNR in the order scored (so that
        two methods' cells can be compared photo by photo: ``benchmarks/compare_evals.py``,
        ``targets.py``)."""
        means = {k: float(np.mean(v)) for k, v in vars(self).items()}
        return means | {"images": len(self.psnr), "psnr_each": [round(v, 4) for v in self.psnr]}


@dataclass
class Item:
    column: str
    task: str
    degraded: torch.Tensor  # 1×3×H×W
    clean: torch.Tensor
    sigma: float | None = None  # the noise level, for denoising items
    kind: str = ""  # the degradation (pipir.degrade kind), where it is synthetic
    name: str = ""  # the clean image's name (photo file stem, sample name or benchmark index)


Method = Callable[[Item], torch.Tensor]


def restorer_method(
    restorer: Restorer, weights: str, heard: list | None = None, ensemble: int | str = "auto"
) -> Method:
    """Restore with oracle prompt weights (the task label, as the official code reports) or with
    the classifier's (``auto``, blind); whole images in fp32, as the protocol says, averaged over
    ``ensemble`` views as ``pipir restore`` does (1: one pass, as the papers report). Blind, what the
    classifier answered for each item is appended to ``heard`` as (item, probabilities)."""

    def run(item: Item) -> torch.Tensor | None:
        if weights == "oracle" and item.task not in restorer.tasks:
            return None  # an intact photo has no task to be told
        task = item.task if weights == "oracle" else "auto"
        result = restorer.restore_tensor(item.degraded, task=task, precision="fp32", ensemble=ensemble)
        if heard is not None and (answer := result.answer()) is not None:
            heard.append((item, answer[0].cpu().numpy()))
        return result.image.cpu()

    return run


def classical_method(item: Item) -> torch.Tensor | None:
    """A classical baseline where scikit-image has one: non-local means for noise (told the true σ,
    so it is a non-blind baseline; camera noise: σ estimated), CLAHE for low light, the dark
    channel prior for haze. None where there is none."""
    from skimage import exposure, restoration

    image = from_batch(item.degraded).astype(np.float64)
    if item.task == "dehaze":
        out = dark_channel_prior(image)
    elif item.task == "denoise":
        sigma = item.sigma / 255.0 if item.sigma else estimate_noise_sigma(image)
        out = restoration.denoise_nl_means(
            image, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True, channel_axis=-1
        )
    elif item.task == "lowlight":
        out = exposure.equalize_adapthist(image, clip_limit=0.02)
    else:
        return None
    return to_batch(np.clip(out, 0, 1).astype(np.float32))


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Immerkær's fast estimate of white-noise std (1996): the mean absolute response to a
    Laplacian difference mask, which cancels smooth image content; averaged over channels."""
    from scipy.ndimage import convolve

    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
    h, w = image.shape[:2]
    responses = [np.abs(convolve(image[:, :, c], mask))[1:-1, 1:-1].sum() for c in range(image.shape[2])]
    return float(np.mean(responses) * np.sqrt(np.pi / 2) / (6 * (w - 2) * (h - 2)))


def bm3d_method(item: Item) -> torch.Tensor | None:
    """BM3D told the true σ (the ``bm3d`` package, ``pip install pipir[baselines]``), for white noise."""
    if item.task != "denoise" or not item.sigma:
        return None
    import bm3d

    image = from_batch(item.degraded).astype(np.float64)
    out = bm3d.bm3d_rgb(image, item.sigma / 255.0)
    return to_batch(np.clip(out, 0, 1).astype(np.float32))


def dark_channel_prior(
    image: np.ndarray, patch: int = 15, omega: float = 0.95, t0: float = 0.1
) -> np.ndarray:
    """He, Sun and Tang's dark channel prior (CVPR 2009): airlight from the brightest 0.1 % of the
    dark channel, transmission 1 − ω·dark(I/A), refined by a guided filter on the grey image."""
    from scipy.ndimage import minimum_filter, uniform_filter

    dark = minimum_filter(image.min(axis=2), size=patch)
    top = np.argsort(dark.ravel())[-max(1, dark.size // 1000) :]
    airlight = image.reshape(-1, 3)[top].max(axis=0).clip(1e-3)
    t = 1 - omega * minimum_filter((image / airlight).min(axis=2), size=patch)
    grey = image.mean(axis=2)
    size, eps = 4 * patch + 1, 1e-3

    def box(a):
        return uniform_filter(a, size=size, mode="reflect")

    mean_i, mean_t = box(grey), box(t)
    a = (box(grey * t) - mean_i * mean_t) / (box(grey * grey) - mean_i**2 + eps)
    b = mean_t - a * mean_i
    t = np.clip(box(a) * grey + box(b), t0, 1)[:, :, None]
    return np.clip((image - airlight) / t + airlight, 0, 1)


def photo_items(
    folder: str | Path,
    split: str = "validation",
    size: int = 320,
    seed: int = 0,
    limit: int | None = None,
    columns: Iterable[str] | None = None,
) -> list[Item]:
    """Photos of one split, downscaled (Lanczos) to ``size`` pixels on the long side and cropped to a
    multiple of 16, each degraded once per column of ``PHOTO_COLUMNS`` with a seed of its own; only
    the ``columns`` named, if given (each column's degradation stays the one the full table has)."""
    from PIL import Image

    from pipir.data.photos import normalise, photo_files

    every = {c for c, *_ in PHOTO_COLUMNS}
    wanted = every if columns is None else set(columns)
    if unknown := wanted - every:
        raise PipirError(f"no photo column {', '.join(sorted(unknown))}")
    items = []
    for p, path in enumerate(photo_files(folder, split)[:limit]):
        with Image.open(path) as im:
            photo = np.asarray(normalise(im, max_side=size), dtype=np.float32) / 255.0
        clean = center_crop_multiple(photo)
        for c, (column, task, kind, params) in enumerate(PHOTO_COLUMNS):
            if column not in wanted:
                continue
            degraded = degrade.apply(clean, kind, seed=[seed, p, c], **params)
            sigma = params.get("sigma")
            items.append(Item(column, task, to_batch(degraded), to_batch(clean), sigma, kind, path.stem))
    return items


def synthetic_items(
    photos: Iterable[str] = HELD_OUT, seed: int = 0, tasks: Iterable[str] | None = None
) -> list[Item]:
    """Held-out bundled photos, centre-cropped to a multiple of 16, with seeded degradations."""
    wanted = set(tasks) if tasks is not None else None
    items = []
    for p, (name, image) in enumerate(samples(tuple(photos)).items()):
        clean = center_crop_multiple(degrade.to_float(image))
        for c, (column, task, params) in enumerate(SYNTHETIC_COLUMNS):
            if wanted is not None and task not in wanted:
                continue
            kind = degrade.KIND_OF[task]
            degraded = degrade.apply(clean, kind, seed=[seed, p, c], **params)
            items.append(
                Item(column, task, to_batch(degraded), to_batch(clean), params.get("sigma"), kind, name)
            )
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
            yield Item(column, task, sample["degraded"][None], sample["clean"][None], sigma, name=f"{i:04d}")


def evaluate(
    items: Iterable[Item],
    methods: dict[str, Method | None],
    progress: Callable | None = None,
    average_over: Iterable[str] | None = None,
    on_result: Callable[[int, Item, str, torch.Tensor, float, float], None] | None = None,
) -> dict:
    """``{method: {column: mean scores}}`` plus an ``Average`` column per method over its columns
    (only those of ``average_over`` when given: the safety columns are no task).
    ``on_result(index, item, method, restored, psnr, ssim)`` is told every image's result."""
    scores: dict[str, dict[str, Score]] = {m: {} for m in methods}
    for index, item in enumerate(items):
        for name, method in methods.items():
            restored = item.degraded if method is None else method(item)
            if restored is None:
                continue
            score = scores[name].setdefault(item.column, Score())
            score.add(restored, item.clean)
            if on_result is not None:
                on_result(index, item, name, restored, score.psnr[-1], score.ssim[-1])
        if progress is not None:
            progress()
    table: dict[str, dict] = {}
    for name, columns in scores.items():
        table[name] = {col: s.mean() for col, s in columns.items()}
        averaged = [c for c in columns if average_over is None or c in average_over]
        if averaged:
            table[name]["Average"] = {
                k: float(np.mean([table[name][c][k] for c in averaged]))
                for k in ("psnr", "ssim", "psnr_y", "ssim_y")
            }
            table[name]["Average"]["columns"] = len(averaged)
    return table


def markdown(table: dict, title: str, columns: list[str]) -> str:
    """Two tables shaped like the papers': RGB PSNR/SSIM (the protocol), then Y-channel. An Average
    over fewer columns than the fullest row's says how many (classical methods have no cell for
    some tasks), so that no two averages over different columns read as comparable."""
    out = [f"## {title}", ""]
    full = max((row["Average"].get("columns", 0) for row in table.values() if "Average" in row), default=0)

    def cell(row: dict, column: str, p: str, s: str) -> str:
        if column not in row:
            return "—"
        text = f"{row[column][p]:.2f} / {row[column][s]:.4f}"
        n = row[column].get("columns", full) if column == "Average" else full
        return text + (f" ({n} of {full} columns)" if n < full else "")

    for label, (p, s) in (
        ("RGB PSNR (dB) / SSIM", ("psnr", "ssim")),
        ("Y-channel PSNR (dB) / SSIM", ("psnr_y", "ssim_y")),
    ):
        cols = [c for c in columns + ["Average"] if any(c in row for row in table.values())]
        out += [f"**{label}**", "", "| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for method, row in table.items():
            cells = [cell(row, c, p, s) for c in cols]
            out.append(f"| {method} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def write_results(
    table: dict, out: Path, title: str, columns: list[str], meta: dict, answers: dict | None = None
) -> str:
    text = markdown(table, title, columns)
    payload = {"meta": meta, "results": table}
    if answers is not None:
        text += "\n" + answers_markdown(answers)
        payload["classifier"] = answers
    write_report(out, text, payload)
    return text


def write_report(out: Path, text: str, payload: dict) -> None:
    """``out``.md (the page) and ``out``.json (its figures), each written whole or not at all."""
    atomic_write(out.with_suffix(".md"), lambda tmp: tmp.write_text(text + "\n"))
    atomic_write(out.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(payload, indent=2) + "\n"))


def classify_items(restorer: Restorer, items: Iterable[Item]) -> Iterable[tuple[Item, np.ndarray]]:
    """(item, the classifier's probabilities) as ``task="auto"`` asks it (:meth:`Restorer.classify`)."""
    for item in items:
        yield item, restorer.classify_tensor(item.degraded)[0].cpu().numpy()


def classifier_answers(restorer: Restorer, heard: Iterable[tuple[Item, np.ndarray]]) -> dict:
    """What the classifier said (``heard``: :func:`classify_items`, or what a blind
    :func:`restorer_method` recorded), per column: its mean probability of each class over the
    column's images, and the share of images whose most probable class is the column's own task
    ("clean" for the intact and JPEG photos)."""
    classes = classifier_classes(restorer)
    probs: dict[str, list[np.ndarray]] = {}
    hits: dict[str, list[bool]] = {}
    for item, p in heard:
        probs.setdefault(item.column, []).append(p)
        hits.setdefault(item.column, []).append(classes[int(p.argmax())] == item.task)
    return {
        column: {c: float(v) for c, v in zip(classes, np.mean(ps, axis=0))}
        | {"right": float(np.mean(hits[column])), "images": len(ps)}
        for column, ps in probs.items()
    }


def answers_markdown(answers: dict) -> str:
    classes = [k for k in next(iter(answers.values())) if k not in ("right", "images")]
    lines = [
        "**What the classifier said** (mean probability per class; right: share of images whose most",
        "probable class is the column's task, or clean for the intact and JPEG photos)",
        "",
        "| column | " + " | ".join(classes) + " | right |",
        "|---" * (len(classes) + 2) + "|",
    ]
    for column, row in answers.items():
        cells = [f"{row[c]:.2f}" for c in classes] + [f"{100 * row['right']:.0f}%"]
        lines.append(f"| {column} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def classifier_confusion(
    restorer: Restorer, photos: Iterable[str] = HELD_OUT, crops: int = 100, size: int = 128, seed: int = 0
) -> tuple[np.ndarray, float]:
    """Confusion matrix (true task × predicted task) of the classifier on ``crops`` random
    ``size``-pixel crops per task of held-out photos, each with a fresh seeded degradation, and
    the overall accuracy. Prediction = :meth:`Restorer.classify`, as ``task="auto"`` uses it."""
    images = [degrade.to_float(im) for im in samples(tuple(photos)).values()]
    tasks = classifier_classes(restorer)
    matrix = np.zeros((len(tasks), len(tasks)), dtype=int)
    rng = np.random.default_rng(seed)
    for t, task in enumerate(tasks):
        for _ in range(crops):
            image = images[int(rng.integers(len(images)))]
            top = int(rng.integers(0, image.shape[0] - size + 1))
            left = int(rng.integers(0, image.shape[1] - size + 1))
            crop = degrade.apply(
                image[top : top + size, left : left + size], degrade.KIND_OF.get(task, task), seed=rng
            )
            probs = restorer.classify_tensor(to_batch(crop))
            matrix[t, int(probs.argmax())] += 1
    return matrix, float(np.trace(matrix) / matrix.sum())


def classifier_classes(restorer: Restorer) -> tuple[str, ...]:
    """The classifier's answers: the tasks, and "clean" where it has one more output."""
    extra = getattr(restorer.sensor, "num_tasks", len(restorer.tasks)) - len(restorer.tasks)
    return (*restorer.tasks, "clean") if extra == 1 else tuple(restorer.tasks)


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
