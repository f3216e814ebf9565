"""Pairing degraded and clean files by the naming rules of the standard datasets."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

from pipir.errors import PipirError
from pipir.io import is_image_name


def _same(stem: str) -> str:
    return stem


def _rain100l(stem: str) -> str:
    """Rain100L: ``rain-12`` ↔ ``norain-12``."""
    return "no" + stem if stem.startswith("rain") else stem


def _sots(stem: str) -> str:
    """SOTS/RESIDE: ``0001_0.8_0.2`` (id, airlight, beta) ↔ ``0001``."""
    return stem.split("_")[0]


RULES: dict[str, Callable[[str], str]] = {"same": _same, "rain100l": _rain100l, "sots": _sots}


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """Sorted image files of a folder; a missing or image-less folder is one clear error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PipirError(f"folder {folder} does not exist")
    files = sorted(p for p in (folder.rglob("*") if recursive else folder.iterdir()) if is_image_name(p))
    if not files:
        raise PipirError(f"folder {folder} holds no images")
    return files


def match_files(
    degraded_dir: Path, clean_dir: Path, rule: str = "same", recursive: bool = False
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(pairs, files without a partner) under ``rule``; several degraded files may share one clean
    file (SOTS)."""
    if rule not in RULES:
        raise PipirError(f"unknown pairing rule {rule!r}: choose from {', '.join(RULES)}")
    to_clean = RULES[rule]
    clean = {p.stem: p for p in list_images(clean_dir)}
    pairs, lonely = [], []
    for path in list_images(degraded_dir, recursive):
        target = clean.get(to_clean(path.stem))
        if target is None:
            lonely.append(path)
        else:
            pairs.append((path, target))
    used = {c for _, c in pairs}
    return pairs, lonely + [p for p in clean.values() if p not in used]


def describe_unpaired(lonely: list[Path], folder: Path) -> str:
    names = ", ".join(str(p.relative_to(p.parents[1])) for p in lonely[:5])
    more = f" and {len(lonely) - 5} more" if len(lonely) > 5 else ""
    return f"{len(lonely)} file(s) under {folder} have no partner: {names}{more}"


def pair_files(
    degraded_dir: Path,
    clean_dir: Path,
    rule: str = "same",
    recursive: bool = False,
    on_unpaired: str = "error",
) -> list[tuple[Path, Path]]:
    """(degraded, clean) pairs under ``rule``. Files that do not pair are named in one error, or
    skipped with a warning when ``on_unpaired="skip"`` — never dropped silently."""
    if on_unpaired not in ("error", "skip"):
        raise PipirError("on_unpaired must be 'error' or 'skip'")
    pairs, lonely = match_files(Path(degraded_dir), Path(clean_dir), rule, recursive)
    if lonely:
        message = describe_unpaired(lonely, Path(degraded_dir).parent)
        if on_unpaired == "error":
            raise PipirError(message)
        warnings.warn(message + " (skipped)", stacklevel=2)
    return pairs
