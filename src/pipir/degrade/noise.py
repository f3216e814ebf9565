"""Additive white Gaussian noise, σ on the 0–255 scale."""

from __future__ import annotations

import numpy as np

from pipir.degrade.common import draw, to_uint
from pipir.errors import PipirError


def noise(
    image: np.ndarray,
    rng: np.random.Generator,
    sigma: float | None = None,
    protocol: str = "float",
) -> tuple[np.ndarray, dict]:
    """``protocol="float"``: add N(0, σ/255) to the float image and clip.

    ``protocol="official"``: the PIP/PromptIR recipe — round to uint8, add N(0, σ) in 0–255 space
    (float64 draws), clip to [0, 255] and *truncate* to uint8 — so that evaluation matches the papers.
    """
    sigma = draw("noise", "sigma", sigma, rng)
    if protocol == "official":
        clean = to_uint(image).astype(np.float64)
        noisy = np.clip(clean + rng.standard_normal(image.shape) * sigma, 0, 255).astype(np.uint8)
        out = noisy.astype(np.float32) / 255.0
    elif protocol == "float":
        out = image + rng.standard_normal(image.shape, dtype=np.float32) * np.float32(sigma / 255.0)
    else:
        raise PipirError(f"noise protocol must be 'float' or 'official', not {protocol!r}")
    return np.clip(out, 0, 1), {"sigma": sigma, "protocol": protocol}
