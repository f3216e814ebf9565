"""JPEG compression (baseline, 4:2:0 chroma, the libjpeg quality scale), as nearly every photo has."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from pipir.degrade.common import draw, to_uint


def jpeg(
    image: np.ndarray, rng: np.random.Generator, quality: float | None = None
) -> tuple[np.ndarray, dict]:
    """Encode at ``quality`` with Pillow (libjpeg), decode, back to float."""
    quality = int(round(draw("jpeg", "quality", quality, rng)))
    buffer = io.BytesIO()
    Image.fromarray(to_uint(image)).save(buffer, format="JPEG", quality=quality, subsampling="4:2:0")
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return decoded.astype(np.float32) / 255.0, {"quality": quality}


def clean(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """No degradation: the "nothing to fix" case (its target is the image itself)."""
    return image, {}
