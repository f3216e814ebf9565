"""Blur: camera-shake motion kernels (random trajectories), defocus disks and Gaussians."""

from __future__ import annotations

import numpy as np

from pipir.degrade.common import draw, fft_convolve


def motion_kernel(size: float, rng: np.random.Generator) -> np.ndarray:
    """A camera-shake kernel: a random walk with inertia (smooth velocity changes, occasional jerks),
    scaled to fit ``size`` pixels, splatted bilinearly and normalised to sum 1."""
    steps = 96
    velocity = rng.normal(size=2)
    velocity /= np.linalg.norm(velocity) + 1e-8
    position = np.zeros(2)
    path = np.empty((steps, 2))
    for i in range(steps):
        jerk = rng.normal(scale=0.8, size=2) if rng.random() < 0.05 else 0.0
        velocity = velocity + rng.normal(scale=0.15, size=2) - 0.02 * position + jerk
        position = position + velocity / steps * 8
        path[i] = position
    path -= path.mean(axis=0)
    extent = np.abs(path).max() + 1e-8
    n = int(round(size)) | 1
    path *= (n - 1) / 2 * rng.uniform(0.6, 1.0) / extent
    path += (n - 1) / 2
    kernel = np.zeros((n, n), dtype=np.float64)
    x0 = np.floor(path[:, 0]).astype(int).clip(0, n - 2)
    y0 = np.floor(path[:, 1]).astype(int).clip(0, n - 2)
    fx, fy = path[:, 0] - x0, path[:, 1] - y0
    for dy, dx, wgt in (
        (0, 0, (1 - fx) * (1 - fy)),
        (0, 1, fx * (1 - fy)),
        (1, 0, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        np.add.at(kernel, (y0 + dy, x0 + dx), wgt)
    return (kernel / kernel.sum()).astype(np.float32)


def defocus_kernel(radius: float) -> np.ndarray:
    """An anti-aliased disk of the given radius, normalised to sum 1."""
    half = int(np.ceil(radius)) + 1
    y, x = np.mgrid[-half : half + 1, -half : half + 1]
    kernel = np.clip(radius + 0.5 - np.hypot(x, y), 0, 1)
    return (kernel / kernel.sum()).astype(np.float32)


def gaussian_kernel(sigma: float) -> np.ndarray:
    half = int(np.ceil(3 * sigma))
    g = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel = np.outer(g, g)
    return (kernel / kernel.sum()).astype(np.float32)


def blur_kernel(rng: np.random.Generator, kernel: str | None = None, **params) -> tuple[np.ndarray, dict]:
    """Draw a kernel (type and its size) and return it with the parameters used."""
    kind = draw("blur", "kernel", kernel, rng)
    if kind == "motion":
        size = draw("blur", "size", params.get("size"), rng)
        return motion_kernel(size, rng), {"kernel": kind, "size": size}
    if kind == "defocus":
        radius = draw("blur", "radius", params.get("radius"), rng)
        return defocus_kernel(radius), {"kernel": kind, "radius": radius}
    sigma = draw("blur", "sigma", params.get("sigma"), rng)
    return gaussian_kernel(sigma), {"kernel": kind, "sigma": sigma}


def blur(
    image: np.ndarray,
    rng: np.random.Generator,
    kernel: str | None = None,
    size: float | None = None,
    radius: float | None = None,
    sigma: float | None = None,
) -> tuple[np.ndarray, dict]:
    """Convolve with a drawn kernel; borders are reflected, so no dark frame appears."""
    k, params = blur_kernel(rng, kernel, size=size, radius=radius, sigma=sigma)
    return np.clip(fft_convolve(image, k), 0, 1), params
