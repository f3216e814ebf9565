"""Images in and out: decoding with one clear error per bad file, atomic writes."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipir.errors import PipirError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


# Larger images are refused before they are decoded: a few KB of PNG can declare 30000×30000 pixels
# (a decompression bomb). Real panoramas can be let in with a higher limit (--max-megapixels).
MAX_PIXELS = 180_000_000


def check_pixels(path: Path, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise PipirError(
            f"{path} declares {width}×{height} pixels ({width * height / 1e6:.0f} MP), more than the "
            f"limit of {max_pixels / 1e6:g} MP: raise it with --max-megapixels if the image is real"
        )


@contextlib.contextmanager
def _own_pixel_limit():
    """Pillow's own bomb check off while pipir applies its limit (a library's global, restored)."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def open_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode an image file fully (EXIF orientation applied), or raise one clear sentence; files
    declaring more than ``max_pixels`` pixels are refused before decoding."""
    path = Path(path)
    if not path.exists():
        raise PipirError(f"{path} does not exist")
    if path.is_dir():
        raise PipirError(f"{path} is a folder, not an image")
    try:
        with _own_pixel_limit(), Image.open(path) as im:
            check_pixels(path, *im.size, max_pixels)
            im.load()
            if im.getexif().get(0x0112, 1) != 1:  # transpose only when needed: no extra full copy
                return ImageOps.exif_transpose(im)
            return im
    except UnidentifiedImageError:
        raise PipirError(f"{path} is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise PipirError(f"{path} is damaged or truncated ({err})") from None


def read_metadata(path: str | Path) -> dict:
    """What a photo carries besides its pixels, as Pillow's ``save`` takes it: the ICC colour profile,
    EXIF (orientation reset to 1: :func:`read_image` has applied it to the pixels) and DPI. Empty
    when the file has none or Pillow cannot read it."""
    try:
        with Image.open(path) as im:
            meta = {k: im.info[k] for k in ("icc_profile", "dpi") if im.info.get(k)}
            exif = im.getexif()
    except (OSError, SyntaxError, ValueError):
        return {}
    if exif:
        if 0x0112 in exif:
            exif[0x0112] = 1
        meta["exif"] = exif.tobytes()
    return meta


def read_image_bytes(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An image given as the bytes of its file (``pipir restore -`` reads standard input), as
    :func:`read_image` reads files."""
    if not data:
        raise PipirError("standard input is empty: pipe an image file into it")
    try:
        with Image.open(io.BytesIO(data)) as im:
            kind = (im.format or "png").lower()
    except UnidentifiedImageError:
        raise PipirError("standard input is not an image Pillow can read") from None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"stdin.{'tif' if kind == 'tiff' else kind}"
        path.write_bytes(data)
        return read_image(path, max_pixels)


def image_bytes(image: np.ndarray, suffix: str, quality: int = 95, metadata: dict | None = None) -> bytes:
    """The file :func:`write_image` would write for ``suffix`` (".png", ".jpg" ...), as bytes."""
    with tempfile.TemporaryDirectory() as folder:
        return write_image(Path(folder) / f"out{suffix}", image, quality, metadata).read_bytes()


def read_rgb(path: str | Path) -> np.ndarray:
    """An image file as float32 H×W×3 in [0, 1] (grey is repeated, alpha dropped, 16-bit kept)."""
    image = read_image(path)
    scale = np.float32(np.iinfo(image.dtype).max)
    if image.ndim == 2:
        image = image[:, :, None]
    image = image[:, :, :3] if image.shape[2] >= 3 else np.repeat(image[:, :, :1], 3, axis=2)
    return image.astype(np.float32) / scale


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An image file in its own depth and layout: uint8 or uint16; H×W, H×W×3 or H×W×4.

    EXIF orientation is applied. 16-bit RGB is read from TIFF (Pillow reads 16-bit RGB PNG only at
    8 bits); 16-bit grey works in PNG and TIFF. The array is writeable (``pipir restore`` restores
    into it)."""
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff") and path.is_file():
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                check_pixels(path, page.imagewidth, page.imagelength, max_pixels)
                data = tif.asarray()
        except PipirError:
            raise
        except Exception as err:  # noqa: BLE001 - any decoder failure is the same user mistake
            raise PipirError(f"{path} is not a readable TIFF image ({str(err).splitlines()[0]})") from None
        if data.dtype not in (np.uint8, np.uint16) or not (
            data.ndim == 2 or (data.ndim == 3 and data.shape[2] in (1, 3, 4))
        ):
            raise PipirError(
                f"{path} is a {data.dtype} TIFF of shape {data.shape}; use 8/16-bit grey, RGB or RGBA"
            )
        return data
    im = open_image(path, max_pixels)
    if im.mode.startswith("I;16"):
        return np.array(im, dtype=np.uint16)
    if im.mode == "I":
        data = np.asarray(im)
        return np.clip(data, 0, 65535).astype(np.uint16)
    if im.mode == "L":
        return _pixels(im)
    if im.mode == "1":
        return _pixels(im.convert("L"))
    has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    mode = "RGBA" if has_alpha else "RGB"
    return _pixels(im if im.mode == mode else im.convert(mode))


def _pixels(im: Image.Image, band: int = 256) -> np.ndarray:
    """An 8-bit L/RGB/RGBA image as a numpy array, copied a band of rows at a time: ``np.asarray``
    goes through ``tobytes()``, which holds the image twice more while it joins its chunks (a 48 MP
    photo: 0.45 GB to read instead of 0.33 GB)."""
    w, h = im.size
    if w * h <= 1 << 22:
        return np.array(im)  # a writeable copy (np.asarray's is read-only)
    out = np.empty((h, w) if im.mode == "L" else (h, w, len(im.getbands())), dtype=np.uint8)
    for top in range(0, h, band):
        out[top : top + band] = np.asarray(im.crop((0, top, w, min(h, top + band))))
    return out


def write_image(path: str | Path, image: np.ndarray, quality: int = 95, metadata: dict | None = None) -> Path:
    """Save a uint8/uint16 image atomically; 16-bit colour goes to TIFF (say so with a .tif path).
    ``quality`` (1–100) is JPEG's and WebP's; ``metadata`` (:func:`read_metadata`: ICC profile,
    EXIF, DPI) is written where the format holds it (not into 16-bit colour TIFFs)."""
    if not 1 <= quality <= 100:
        raise PipirError(f"quality must be between 1 and 100, not {quality}")
    path = Path(path)
    if image.dtype == np.uint16 and (image.ndim == 3 or path.suffix.lower() in (".tif", ".tiff")):
        if path.suffix.lower() not in (".tif", ".tiff"):
            raise PipirError(f"16-bit colour images are written as TIFF, not {path.suffix}")
        import tifffile

        return atomic_write(path, lambda tmp: tifffile.imwrite(tmp, image))
    if image.dtype == np.uint16:
        return atomic_write(path, lambda tmp: Image.fromarray(image).save(tmp, format="PNG"))
    fmt = _format(path)
    if fmt == "JPEG" and image.ndim == 3 and image.shape[2] == 4:
        raise PipirError("JPEG cannot hold an alpha channel: write PNG instead")
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    kept = {
        "JPEG": ("icc_profile", "exif", "dpi"),
        "PNG": ("icc_profile", "exif", "dpi"),
        "WEBP": ("icc_profile", "exif"),
        "TIFF": ("icc_profile", "exif", "dpi"),
    }.get(fmt, ())
    options.update({k: v for k, v in (metadata or {}).items() if k in kept})
    return atomic_write(path, lambda tmp: Image.fromarray(image).save(tmp, format=fmt, **options))


def atomic_write(path: str | Path, write) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``path`` only when it succeeded."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_rgb(path: str | Path, image: np.ndarray) -> Path:
    """Save a float H×W×3 image in [0, 1] as 8-bit, atomically."""
    return write_image(path, np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))


def _format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(suffix, suffix[1:].upper())
