"""Camera noise: signal-dependent (Poisson–Gaussian), correlated across colour channels (demosaicing
and colour conversion mix the sensor's noise) and across neighbouring pixels (demosaicing and
in-camera denoising blur it)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from pipir.degrade.common import draw


def correlated_field(
    shape: tuple[int, int, int], rng: np.random.Generator, blur: float, rho: float
) -> np.ndarray:
    """Unit-variance noise, channel correlation ``rho`` and a Gaussian spatial correlation of std
    ``blur`` pixels (renormalised so the variance stays 1)."""
    n = rng.standard_normal(shape, dtype=np.float32)
    shared = rng.standard_normal(shape[:2] + (1,), dtype=np.float32)
    n = np.float32(np.sqrt(1 - rho)) * n + np.float32(np.sqrt(rho)) * shared
    if blur > 0.3:
        n = gaussian_filter(n, sigma=(blur, blur, 0), mode="reflect")
        n /= np.float32(spatial_gain(blur))
    return n


def spatial_gain(blur: float) -> float:
    """Std of unit white noise after scipy's 2-D Gaussian filter of std ``blur``: the L2 norm of the
    separable kernel outer(g, g), which is sum(g²)."""
    half = int(4 * blur + 0.5)
    g = np.exp(-0.5 * (np.arange(-half, half + 1) / blur) ** 2)
    g /= g.sum()
    return float((g**2).sum())


def camera(
    image: np.ndarray,
    rng: np.random.Generator,
    shot: float | None = None,
    read: float | None = None,
    blur: float | None = None,
    rho: float | None = None,
) -> tuple[np.ndarray, dict]:
    """``I + sqrt(shot·I + read²)·n`` with ``n`` from :func:`correlated_field`."""
    params = {
        name: draw("camera", name, value, rng)
        for name, value in dict(shot=shot, read=read, blur=blur, rho=rho).items()
    }
    std = np.sqrt(np.float32(params["shot"]) * image + np.float32(params["read"] ** 2))
    n = correlated_field(image.shape, rng, params["blur"], params["rho"])
    return np.clip(image + std * n, 0, 1), params
