"""Images in and out: decoding with one clear error per bad file, atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipir.errors import PipirError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def open_image(path: str | Path) -> Image.Image:
    """Decode an image file fully (EXIF orientation applied), or raise one clear sentence."""
    path = Path(path)
    if not path.exists():
        raise PipirError(f"{path} does not exist")
    if path.is_dir():
        raise PipirError(f"{path} is a folder, not an image")
    try:
        with Image.open(path) as im:
            im.load()
            return ImageOps.exif_transpose(im)
    except UnidentifiedImageError:
        raise PipirError(f"{path} is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise PipirError(f"{path} is damaged or truncated ({err})") from None


def read_rgb(path: str | Path) -> np.ndarray:
    """An image file as float32 H×W×3 in [0, 1] (grey is repeated, alpha dropped, 16-bit kept)."""
    im = open_image(path)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = np.asarray(im, dtype=np.float32) / (65535.0 if im.mode.startswith("I;16") else 1.0)
        return np.repeat(np.clip(grey, 0, 1)[:, :, None], 3, axis=2)
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def atomic_write(path: str | Path, write) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``path`` only when it succeeded."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_rgb(path: str | Path, image: np.ndarray) -> Path:
    """Save a float H×W×3 image in [0, 1] as 8-bit, atomically."""
    data = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return atomic_write(path, lambda tmp: Image.fromarray(data).save(tmp, format=_format(path)))


def _format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(suffix, suffix[1:].upper())
