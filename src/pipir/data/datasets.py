"""Datasets: synthetic degradations of clean photos, and the standard benchmarks' pairs.

Items are looked up by ``index`` or by ``(index, position)``, where position is the sample's place in
the whole training stream (see ``pipir.train.module.StreamSampler``). Every random choice of a sample
is a function of (seed, position) only, so a resumed run sees exactly the samples an uninterrupted
run would have seen, whatever the worker count.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from pipir import degrade
from pipir.data.benchmark import benchmark_pairs
from pipir.errors import PipirError
from pipir.io import read_rgb
from pipir.models.pip import TASKS


def dihedral(image: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 orientations of the square's symmetry group; k = 0 is the image as it is
    (the official augmentation never returns the identity — a bug we do not copy)."""
    out = np.rot90(image, k % 4, axes=(0, 1))
    return out[:, ::-1] if k >= 4 else out


def center_crop_multiple(image: np.ndarray, base: int = 16) -> np.ndarray:
    """Centre crop to a multiple of ``base`` (the papers' test protocol)."""
    h, w = image.shape[:2]
    nh, nw = h - h % base, w - w % base
    top, left = (h - nh) // 2, (w - nw) // 2
    return image[top : top + nh, left : left + nw]


def random_window(shape: tuple[int, ...], patch: int, rng: np.random.Generator) -> tuple[slice, slice]:
    h, w = shape[:2]
    top = int(rng.integers(0, h - patch + 1))
    left = int(rng.integers(0, w - patch + 1))
    return slice(top, top + patch), slice(left, left + patch)


def reflect_to(image: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad an image smaller than ``size`` on either side."""
    h, w = image.shape[:2]
    if h >= size and w >= size:
        return image
    return np.pad(image, ((0, max(0, size - h)), (0, max(0, size - w)), (0, 0)), mode="reflect")


def random_photo_window(images: Sequence[np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    """A ``size``-pixel window of a random photo (reflected if smaller) in a random one of 8 orientations."""
    image = reflect_to(images[int(rng.integers(len(images)))], size)
    return dihedral(image[random_window(image.shape, size, rng)], int(rng.integers(8)))


def _key(key) -> tuple[int, int]:
    return (int(key[0]), int(key[1])) if isinstance(key, tuple) else (int(key), int(key))


def to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))


def one_hot(task: str, tasks: Sequence[str] = TASKS) -> torch.Tensor:
    w = torch.zeros(len(tasks))
    w[list(tasks).index(task)] = 1.0
    return w


class SyntheticDataset(Dataset):
    """Random crops of clean photos, each degraded by one task's synthetic degradation.

    The sample at stream position p has task ``tasks[p % len(tasks)]`` (task-balanced); photo, crop,
    orientation (all 8) and degradation parameters come from ``(seed, p)``. With ``mix_prob > 0``
    that share of the samples gets two degradations and label weights 1/2, 1/2.
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        patch: int = 64,
        length: int = 1000,
        tasks: Sequence[str] = TASKS,
        seed: int = 0,
        mix_prob: float = 0.0,
        margin: int = 16,
    ) -> None:
        if not images:
            raise PipirError("the synthetic dataset needs at least one clean image")
        unknown = [t for t in tasks if t not in TASKS]
        if unknown:
            raise PipirError(f"unknown task(s) {unknown}: choose from {', '.join(TASKS)}")
        self.images = [degrade.check_image(degrade.to_float(im)) for im in images]
        self.patch, self.length, self.tasks = patch, length, tuple(tasks)
        self.seed, self.mix_prob, self.margin = seed, mix_prob, margin

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        _, position = _key(key)
        rng = np.random.default_rng([self.seed, position])
        task = self.tasks[position % len(self.tasks)]
        labels = [task]
        if self.mix_prob > 0 and len(self.tasks) > 1 and rng.random() < self.mix_prob:
            labels.append(str(rng.choice([t for t in self.tasks if t != task])))
        # Degrade a window with a margin, then cut the margin: blur and rain see real neighbours.
        window = random_photo_window(self.images, self.patch + 2 * self.margin, rng)
        kinds = [degrade.KIND_OF[t] for t in labels]
        degraded = degrade.apply(np.ascontiguousarray(window), kinds, seed=rng)
        inner = (slice(self.margin, self.margin + self.patch),) * 2
        weights = sum(one_hot(t) for t in labels) / len(labels)
        return {
            "degraded": to_tensor(degraded[inner]),
            "clean": to_tensor(window[inner]),
            "task": TASKS.index(task),
            "weights": weights,
            "position": position,
        }


class BenchmarkDataset(Dataset):
    """One task of the standard benchmarks, in the official layout (:mod:`pipir.data.benchmark`).

    ``split="train"``: random ``patch`` crops (same window for both images) in all 8 orientations.
    ``split="test"``: whole images centre-cropped to a multiple of 16, as the papers evaluate.
    Denoising synthesises its noise with the official uint8 recipe at ``sigma`` (test: one seed per
    image, so every run sees the same noise; train: σ drawn from ``sigmas``).
    """

    def __init__(
        self,
        root: str | Path,
        task: str,
        split: str = "test",
        patch: int = 128,
        sigma: float | None = None,
        sigmas: Sequence[float] = (15, 25, 50),
        seed: int = 0,
    ) -> None:
        self.pairs = benchmark_pairs(root, task, split)
        self.task, self.split, self.patch = task, split, patch
        self.sigma, self.sigmas, self.seed = sigma, tuple(sigmas), seed
        if task == "denoise" and split == "test" and sigma is None:
            raise PipirError("denoising test sets need a noise level: pass sigma=15, 25 or 50")

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, position = _key(key)
        degraded_path, clean_path = self.pairs[index]
        # test: one fixed draw per image; train: a fresh draw per stream position
        rng = np.random.default_rng([self.seed, position if self.split == "train" else index])
        clean = read_rgb(clean_path)
        degraded = None if degraded_path is None else read_rgb(degraded_path)
        if degraded is not None and degraded.shape != clean.shape:
            raise PipirError(f"{degraded_path.name} and {clean_path.name} differ in size")
        if self.split == "train":
            clean = reflect_to(clean, self.patch)
            window = random_window(clean.shape, self.patch, rng)
            k = int(rng.integers(8))
            clean = dihedral(clean[window], k)
            degraded = None if degraded is None else dihedral(reflect_to(degraded, self.patch)[window], k)
        else:
            clean = center_crop_multiple(clean)
            degraded = None if degraded is None else center_crop_multiple(degraded)
        if degraded is None:
            sigma = self.sigma if self.sigma is not None else float(rng.choice(self.sigmas))
            degraded = degrade.apply(
                np.ascontiguousarray(clean), "noise", seed=rng, sigma=sigma, protocol="official"
            )
        return {
            "degraded": to_tensor(degraded),
            "clean": to_tensor(clean),
            "task": TASKS.index(self.task),
            "weights": one_hot(self.task),
            "name": clean_path.name if degraded_path is None else degraded_path.name,
            "position": position,
        }


PHOTO_MARGIN = 16  # pixels of real neighbours a photo window carries on each side


class PhotoWindows(Dataset):
    """Clean windows of photos, each with the class its degradation will have; the degradation
    itself is made later on the training device, a batch at a time (:func:`pipir.degrade.batch.synthesize`).

    The sample at stream position p has class ``tasks[p % len(tasks)]``, or "clean" with probability
    ``clean_prob``; photo, window and orientation (all 8) come from ``(seed, p)``. Windows are
    ``patch + 2·margin`` pixels of uint8 (a quarter of float32's bytes through the loader).
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        patch: int = 64,
        length: int = 1000,
        tasks: Sequence[str] = TASKS,
        seed: int = 0,
        clean_prob: float = 0.0,
        margin: int = PHOTO_MARGIN,
    ) -> None:
        if not images:
            raise PipirError("training needs at least one clean photo")
        self.images = [im if im.dtype == np.uint8 else degrade.to_uint(degrade.to_float(im)) for im in images]
        self.patch, self.length, self.tasks = patch, length, tuple(tasks)
        self.seed, self.clean_prob, self.margin = seed, clean_prob, margin

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        _, position = _key(key)
        rng = np.random.default_rng([self.seed, position])
        label = TASKS.index(self.tasks[position % len(self.tasks)])
        if rng.random() < self.clean_prob:
            label = len(TASKS)  # "clean", the classifier's last class
        window = random_photo_window(self.images, self.patch + 2 * self.margin, rng)
        return {
            "window": torch.from_numpy(np.ascontiguousarray(window.transpose(2, 0, 1))),
            "label": label,
            "position": position,
        }
