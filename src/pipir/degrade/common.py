"""Validation, conversion and parameter drawing shared by every degradation."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipir.errors import PipirError

# The ranges parameters are drawn from when not given, and the ranges a given value must lie in.
# (low, high) is a uniform draw; a list is a choice. See docs/degradations.md for the reasons.
RANGES: dict[str, dict[str, Any]] = {
    "noise": {"sigma": [15, 25, 50]},  # 0–255 scale; the official training levels
    "rain": {
        "density": (0.002, 0.012),  # fraction of pixels that start a streak
        "length": (12.0, 36.0),  # pixels
        "width": (1.0, 2.5),  # pixels
        "angle": (-30.0, 30.0),  # degrees from vertical, positive leans the top to the right
        "brightness": (0.55, 0.95),  # streak intensity
        "blur": (0.0, 1.5),  # defocus of the streaks (Gaussian std, pixels; below 0.3: sharp)
    },
    "haze": {"beta": (0.6, 2.0), "airlight": (0.75, 1.0)},
    # Poisson-Gaussian camera noise: at mid-grey its std is 0.02-0.08 (5-20 on the 0-255 scale)
    "camera": {
        "shot": (0.0005, 0.012),  # variance per unit signal
        "read": (0.002, 0.03),  # signal-independent std
        "blur": (0.0, 1.2),  # spatial correlation: Gaussian std in pixels (below 0.3: white)
        "rho": (0.0, 0.8),  # correlation between the colour channels
    },
    "jpeg": {"quality": (30.0, 95.0)},
    "blur": {
        "kernel": ["motion", "motion", "defocus", "gaussian"],
        "size": (9, 25),  # motion kernel support, pixels
        "radius": (1.5, 5.0),  # defocus disk radius, pixels
        "sigma": (0.8, 3.0),  # gaussian std, pixels
    },
    "lowlight": {
        "luminance": (0.03, 0.15),  # target mean luminance (LOL low-light images: ~0.02–0.2)
        "gamma": (1.2, 2.0),  # exposure curve: dark tones lose more than bright ones
        "shot": (0.0005, 0.004),  # Poisson-like variance per unit signal
        "read": (0.002, 0.01),  # Gaussian read-noise std
    },
    # Global tone as cameras and editors leave it (not a degradation: the photo stays intact). Dark
    # enough to meet low light's brightest (0.15 mean luminance from ~0.4) only without its noise.
    "tone": {
        "exposure": (0.6, 1.25),  # gain after the curve
        "gamma": (0.75, 1.35),  # tone curve x^γ
        "contrast": (0.6, 1.0),  # towards the photo's mean luminance
        "saturation": (0.4, 1.2),  # towards each pixel's luma
    },
}
LIMITS: dict[str, dict[str, tuple[float, float]]] = {
    "noise": {"sigma": (0.0, 255.0)},
    "rain": {
        "density": (0.0, 0.2),
        "length": (1.0, 200.0),
        "width": (0.5, 10.0),
        "angle": (-90.0, 90.0),
        "brightness": (0.0, 1.0),
        "blur": (0.0, 10.0),
    },
    "haze": {"beta": (0.0, 10.0), "airlight": (0.0, 1.0)},
    "camera": {"shot": (0.0, 0.1), "read": (0.0, 0.2), "blur": (0.0, 5.0), "rho": (0.0, 1.0)},
    "jpeg": {"quality": (1.0, 100.0)},
    "blur": {"size": (3, 101), "radius": (0.5, 30.0), "sigma": (0.1, 30.0)},
    "lowlight": {"luminance": (0.001, 0.5), "gamma": (0.5, 4.0), "shot": (0.0, 0.1), "read": (0.0, 0.2)},
}


def draw(kind: str, name: str, value: Any, rng: np.random.Generator) -> Any:
    """The given value, checked against its limits, or one drawn from ``RANGES``."""
    if value is None:
        spec = RANGES[kind][name]
        if isinstance(spec, list):
            return spec[int(rng.integers(len(spec)))]
        return float(rng.uniform(*spec))
    if isinstance(RANGES[kind][name], list) and isinstance(RANGES[kind][name][0], str):
        if value not in RANGES[kind][name]:
            raise PipirError(f"{kind} {name} must be one of {sorted(set(RANGES[kind][name]))}, not {value!r}")
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PipirError(f"{kind} {name} must be a number, not {value!r}") from None
    low, high = LIMITS[kind][name]
    if not low <= number <= high:
        raise PipirError(f"{kind} {name}={value} is out of range [{low}, {high}]")
    return number


def check_image(image: Any) -> np.ndarray:
    """A float32/float64 H×W×3 array in [0, 1], or one clear error."""
    if not isinstance(image, np.ndarray):
        raise PipirError(f"image must be a numpy array, not {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise PipirError(f"image must be H×W×3, got shape {image.shape}")
    if image.dtype not in (np.float32, np.float64):
        raise PipirError(
            f"image must be float32 in [0, 1], got {image.dtype}; convert with pipir.degrade.to_float"
        )
    if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise PipirError("image values must be finite and in [0, 1]")
    return image.astype(np.float32, copy=False)


def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 / uint16 (or float) image → float32 in [0, 1]."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    if image.dtype in (np.float32, np.float64):
        return np.clip(image, 0, 1).astype(np.float32)
    raise PipirError(f"cannot convert {image.dtype} images: use uint8, uint16 or float")


def to_uint(image: np.ndarray, dtype: type = np.uint8) -> np.ndarray:
    """float image in [0, 1] → uint8/uint16, rounded."""
    peak = np.iinfo(dtype).max
    return np.round(np.clip(image, 0, 1) * peak).astype(dtype)


def luminance(image: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB image (H×W)."""
    return image @ np.array([0.299, 0.587, 0.114], dtype=image.dtype)


def fft_convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve every channel of H×W×C with a 2-D kernel; borders reflected (no dark frames)."""
    from scipy.signal import oaconvolve

    kh, kw = kernel.shape
    ph, pw = kh // 2, kw // 2
    padded = np.pad(image, ((ph, kh - 1 - ph), (pw, kw - 1 - pw), (0, 0)), mode="reflect")
    return oaconvolve(padded, kernel[:, :, None].astype(image.dtype), mode="valid", axes=(0, 1))
