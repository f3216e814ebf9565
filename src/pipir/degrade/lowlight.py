"""Low light: exposure drop along a tone curve, then signal-dependent (Poisson-Gaussian) sensor noise."""

from __future__ import annotations

import numpy as np

from pipir.degrade import common


def lowlight(
    image: np.ndarray,
    rng: np.random.Generator,
    luminance: float | None = None,
    gamma: float | None = None,
    shot: float | None = None,
    read: float | None = None,
) -> tuple[np.ndarray, dict]:
    """``x = e·I^γ`` with the exposure e chosen so the mean luminance hits ``luminance`` (drawn from
    the range of LOL's low-light images), then noise of variance ``shot·x + read²``: the signal-to-
    noise ratio falls in the dark regions, as on a real sensor."""
    params = {
        name: common.draw("lowlight", name, value, rng)
        for name, value in dict(luminance=luminance, gamma=gamma, shot=shot, read=read).items()
    }
    curved = image ** np.float32(params["gamma"])
    exposure = params["luminance"] / max(float(common.luminance(curved).mean()), 1e-6)
    dark = np.clip(curved * np.float32(exposure), 0, 1)
    std = np.sqrt(np.float32(params["shot"]) * dark + np.float32(params["read"] ** 2))
    out = dark + rng.standard_normal(dark.shape, dtype=np.float32) * std
    return np.clip(out, 0, 1), params
