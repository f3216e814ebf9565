"""Atmospheric scattering I = J·t + A·(1 − t), t = exp(−β·d), with a depth map guessed from the image."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

from pipir.degrade.common import draw


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None, None]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()


def depth_map(image: np.ndarray) -> np.ndarray:
    """Relative depth in [0.1, 1] from two cues that hold in most outdoor photos: scenes recede
    towards the top of the frame, and bright, colourless regions (sky, distant walls — a high
    "dark channel", the per-pixel minimum over RGB) tend to be far. Both are smoothed heavily so that
    the haze varies at the scale of objects, not texture."""
    h, w = image.shape[:2]
    scale = 32.0 / max(h, w)
    small = (max(1, round(h * scale)), max(1, round(w * scale)))
    dark = gaussian_filter(_resize(image.min(axis=2), small), sigma=1.5, mode="nearest")
    vertical = np.linspace(1.0, 0.0, small[0], dtype=np.float32)[:, None]
    cue = 0.6 * vertical + 0.4 * dark
    cue = (cue - cue.min()) / max(float(cue.max() - cue.min()), 1e-6)
    return 0.1 + 0.9 * _resize(cue, (h, w))


def haze(
    image: np.ndarray,
    rng: np.random.Generator,
    beta: float | None = None,
    airlight: float | None = None,
) -> tuple[np.ndarray, dict]:
    """β (scattering) and A (airlight, grey) from ``RANGES["haze"]`` unless given."""
    beta = draw("haze", "beta", beta, rng)
    airlight = draw("haze", "airlight", airlight, rng)
    t = np.exp(-beta * depth_map(image)).astype(np.float32)[:, :, None]
    out = image * t + np.float32(airlight) * (1.0 - t)
    return np.clip(out, 0, 1), {"beta": beta, "airlight": airlight, "transmission_mean": float(t.mean())}
