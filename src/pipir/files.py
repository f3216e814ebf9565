"""Restoring image files, as ``pipir restore`` does: the files the inputs name, where each result
goes, and one file read, restored in place and written with its colour profile, EXIF and DPI."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipir.errors import PipirError
from pipir.io import image_bytes, is_image_name, read_image, read_image_bytes, read_metadata, write_image

STDIN = Path("-")  # an input or output of "-": standard input or output


def expand_inputs(inputs: list[str], recursive: bool = False) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(image file, its folder relative to the folder named) for the files, folders (their images,
    sorted; with ``recursive`` those of their subfolders too) and quoted globs named, and a line for
    each item of a folder left out."""
    import glob

    found: list[tuple[Path, Path]] = []
    skipped: list[str] = []
    for item in inputs:
        if item == "-":
            if len(inputs) > 1:
                raise PipirError("- (standard input) must be the only input")
            found.append((STDIN, Path()))
            continue
        matches = sorted(glob.glob(item)) if any(ch in item for ch in "*?[") else [item]
        if not matches:
            raise PipirError(f"no file matches {item!r}")
        for match in map(Path, matches):
            if not match.is_dir():
                found.append((match, Path()))
                continue
            entries = sorted(match.rglob("*") if recursive else match.iterdir())
            images = [p for p in entries if p.is_file() and is_image_name(p)]
            if not images:
                raise PipirError(
                    f"folder {match} holds no images" + ("" if recursive else " (-r: subfolders too)")
                )
            found += [(p, p.parent.relative_to(match)) for p in images]
            for entry in entries:
                if entry.is_dir() and not recursive:
                    skipped.append(f"skipped {entry}: a folder (-r restores subfolders too)")
                elif entry.is_file() and not is_image_name(entry):
                    skipped.append(f"skipped {entry}: not an image name")
    return found, skipped


def output_path(
    source: Path,
    output: Path,
    one_file: bool,
    colour_16bit: bool,
    suffix: str = "",
    ext: str | None = None,
    subfolder: Path = Path(),
) -> Path:
    """Where a result goes: ``output`` itself when it names one file for one input, else
    ``output/<subfolder>/<stem><suffix>.<ext>`` (the input's extension unless ``ext``; TIFF for
    16-bit colour; ``subfolder`` mirrors where a recursive search found it)."""
    if one_file:
        return output
    extension = "." + ext.lower().lstrip(".") if ext else source.suffix.lower() or ".png"
    if colour_16bit and extension not in (".tif", ".tiff"):
        extension = ".tif"
    return output / subfolder / f"{source.stem}{suffix}{extension}"


def result_record(path: Path, target: Path, result, seconds: float) -> dict:
    """What ``--json`` prints for one image."""
    return {
        "input": str(path),
        "output": str(target),
        "weights": {k: round(v, 4) for k, v in result.weights.items()},
        "source": result.source,
        "strength": round(result.strength, 4),
        "tile": result.tile,
        "views": result.views,
        "seconds": round(seconds, 3),
    }


@dataclass
class Destination:
    """Where and how results are written: the ``-o``, ``--suffix``, ``--ext``, ``--quality`` and
    ``--compare`` options, checked once for ``count`` images before any work."""

    output: Path
    count: int
    suffix: str = ""
    ext: str | None = None
    quality: int = 95
    compare: bool = False
    sources: set[Path] = field(default_factory=set)  # the inputs, never overwritten

    def __post_init__(self) -> None:
        if self.ext is not None and not is_image_name(Path(f"x.{self.ext.lstrip('.')}")):
            raise PipirError(f"--ext must name an image format (png, jpg, webp, tif), not {self.ext!r}")
        if not 1 <= self.quality <= 100:
            raise PipirError(f"--quality must be between 1 and 100, not {self.quality}")
        if self.to_stdout and self.compare:
            raise PipirError("--compare writes a file beside each result: give -o a file or folder, not -")
        if self.one_file and self.count != 1:
            raise PipirError(
                f"-o {self.output} names one file, but {self.count} images were given: name a folder"
            )

    @property
    def to_stdout(self) -> bool:
        return self.output == STDIN

    @property
    def one_file(self) -> bool:
        return self.to_stdout or (is_image_name(self.output) and not self.output.is_dir())

    def target(self, path: Path, colour_16bit: bool, subfolder: Path) -> Path:
        """The result's path; refuses one that would overwrite an input."""
        target = output_path(path, self.output, self.one_file, colour_16bit, self.suffix, self.ext, subfolder)
        if not self.to_stdout and target.resolve() in self.sources:
            raise PipirError(f"{target} would overwrite an input; choose another --output folder")
        return target


def restore_file(restorer, path: Path, subfolder: Path, to: Destination, max_pixels: int, **restore_args):
    """Read one image (or standard input), restore it in place and write it where ``to`` says, with
    the input's colour profile, EXIF and DPI; returns (where it went, :class:`pipir.infer.Restored`,
    seconds from the start of restoring to the result written)."""
    from pipir.sheet import comparison, preview

    if path == STDIN:
        image, metadata = read_image_bytes(sys.stdin.buffer.read(), max_pixels), {}
    else:
        image, metadata = read_image(path, max_pixels), read_metadata(path)
    colour_16bit = image.dtype == np.uint16 and image.ndim == 3
    target = to.target(path, colour_16bit, subfolder)
    before = preview(image) if to.compare else None  # the input is restored in place below
    start = time.perf_counter()
    # in place: the file is untouched, and a large photo is held once
    result = restorer.restore(image, out=image, **restore_args)
    if to.to_stdout:  # the format: --ext, else the input's, else PNG
        kind = output_path(path, Path(), False, colour_16bit, "", to.ext).suffix
        sys.stdout.buffer.write(image_bytes(result.image, kind, to.quality, metadata))
        sys.stdout.buffer.flush()
    else:
        write_image(target, result.image, to.quality, metadata)
    if before is not None:
        sheet = comparison(before, preview(result.image), "input", result.describe(), result.weights)
        write_image(target.with_name(f"{target.stem}-compare.png"), sheet)
    return target, result, time.perf_counter() - start
