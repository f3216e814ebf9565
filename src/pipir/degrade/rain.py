"""Synthetic rain streaks in the manner of Rain100L: sparse seeds smeared along one direction."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from pipir.degrade.common import draw, fft_convolve


def streak_kernel(length: float, width: float, angle: float) -> np.ndarray:
    """A line of the given length and width (Gaussian profile across), peak 1, at ``angle`` degrees
    from vertical, positive leaning the top to the right."""
    theta = np.deg2rad(angle)
    half = int(np.ceil(length / 2 + 2 * width))
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    ux, uy = np.sin(theta), -np.cos(theta)  # along the streak, upwards (image y points down)
    along = x * ux + y * uy
    across = -x * uy + y * ux
    sd = width / 2.0
    profile = np.exp(-0.5 * (across / sd) ** 2)
    ends = np.clip(length / 2 + 0.5 - np.abs(along), 0, 1)  # anti-aliased ends
    return (profile * ends).astype(np.float32)


def rain(
    image: np.ndarray,
    rng: np.random.Generator,
    density: float | None = None,
    length: float | None = None,
    width: float | None = None,
    angle: float | None = None,
    brightness: float | None = None,
    blur: float | None = None,
) -> tuple[np.ndarray, dict]:
    """Random seeds (``density`` of the pixels, random strength) smeared by a streak kernel (and
    blurred by ``blur`` pixels) form a rain layer S; it is screen-blended
    (out = 1 − (1 − I)(1 − b·S)), so rain only brightens."""
    params = {
        name: draw("rain", name, value, rng)
        for name, value in dict(
            density=density, length=length, width=width, angle=angle, brightness=brightness, blur=blur
        ).items()
    }
    h, w = image.shape[:2]
    seeds = (rng.random((h, w), dtype=np.float32) < params["density"]).astype(np.float32)
    seeds *= rng.uniform(0.4, 1.0, size=(h, w)).astype(np.float32)
    kernel = streak_kernel(params["length"], params["width"], params["angle"])
    layer = np.clip(fft_convolve(seeds[:, :, None], kernel)[:, :, 0], 0, 1)
    if params["blur"] > 0.3:  # streaks out of focus, in front of the focused scene
        layer = gaussian_filter(layer, params["blur"], mode="reflect")
    layer = layer * np.float32(params["brightness"])
    out = 1.0 - (1.0 - image) * (1.0 - layer[:, :, None])
    return np.clip(out, 0, 1), params
