"""The benchmark root layout of the official PIP and PromptIR code, found by globbing.

``ROOT`` may be the official ``$dataset_path`` (holding ``data/``) or that ``data/`` folder itself::

    data/Train/Denoise/*                              clean BSD400 + WED images (noise is synthesised)
    data/Train/Derain/{rainy,gt}                      Rain100L train: rain-N.png ↔ norain-N.png
    data/Train/Dehaze/{synthetic/part*,original}      RESIDE OTS: 0001_0.8_0.2.jpg ↔ 0001.jpg
    data/Train/GOPRO_deblur/train/{blur,sharp}        GoPro train, flattened, same names
    data/Train/Enhance/{low,high}                     LOL train, same names
    data/test/denoise/bsd68/original                  BSD68 (σ = 15/25/50 added at test time)
    data/test/derain/Rain100L/{input,target}          Rain100L test
    data/test/dehaze/outdoor/{input,target}           SOTS outdoor: 0001_0.8_0.2.jpg ↔ 0001.png
    data/test/GOPRO_deblur/test/{blur,sharp}          GoPro test (all 1111 images)
    data/test/enhance/{low,high}                      LOL eval15
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipir.data.pairs import describe_unpaired, list_images, match_files, pair_files
from pipir.errors import PipirError
from pipir.io import open_image


@dataclass(frozen=True)
class Source:
    """One split of one task: clean images only (``degraded is None``) or degraded/clean pairs."""

    clean: str
    degraded: str | None = None
    rule: str = "same"
    recursive: bool = False

    def folders(self, root: Path) -> list[Path]:
        return [root / f for f in (self.degraded, self.clean) if f is not None]

    def pairs(self, root: Path, on_unpaired: str = "error") -> list[tuple[Path | None, Path]]:
        if self.degraded is None:
            return [(None, p) for p in list_images(root / self.clean, recursive=True)]
        return pair_files(root / self.degraded, root / self.clean, self.rule, self.recursive, on_unpaired)


LAYOUT: dict[str, dict[str, Source]] = {
    "train": {
        "denoise": Source("Train/Denoise"),
        "derain": Source("Train/Derain/gt", "Train/Derain/rainy", "rain100l"),
        "dehaze": Source("Train/Dehaze/original", "Train/Dehaze/synthetic", "sots", recursive=True),
        "deblur": Source("Train/GOPRO_deblur/train/sharp", "Train/GOPRO_deblur/train/blur"),
        "lowlight": Source("Train/Enhance/high", "Train/Enhance/low"),
    },
    "test": {
        "denoise": Source("test/denoise/bsd68/original"),
        "derain": Source("test/derain/Rain100L/target", "test/derain/Rain100L/input", "rain100l"),
        "dehaze": Source("test/dehaze/outdoor/target", "test/dehaze/outdoor/input", "sots"),
        "deblur": Source("test/GOPRO_deblur/test/sharp", "test/GOPRO_deblur/test/blur"),
        "lowlight": Source("test/enhance/high", "test/enhance/low"),
    },
}
SETTINGS = {
    "3task": ("denoise", "derain", "dehaze"),
    "5task": ("denoise", "derain", "dehaze", "deblur", "lowlight"),
}


def data_root(root: str | Path) -> Path:
    """``root/data`` when it exists (the official ``$dataset_path``), else ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise PipirError(f"dataset root {root} does not exist")
    return root / "data" if (root / "data").is_dir() else root


def benchmark_pairs(root: str | Path, task: str, split: str) -> list[tuple[Path | None, Path]]:
    """(degraded, clean) files of one task and split; degraded is None for denoising."""
    if split not in LAYOUT:
        raise PipirError(f"split must be 'train' or 'test', not {split!r}")
    if task not in LAYOUT[split]:
        raise PipirError(f"unknown task {task!r}: choose from {', '.join(LAYOUT[split])}")
    return LAYOUT[split][task].pairs(data_root(root))


@dataclass
class CheckRow:
    task: str
    counts: dict[str, int | None]  # split -> pairs, None when the split is missing
    problems: list[str]


def check(
    root: str | Path, tasks: tuple[str, ...], splits: tuple[str, ...] = ("train", "test"), decode: bool = True
) -> list[CheckRow]:
    """Count the pairs of each task and split and collect every problem found (missing folders,
    unpaired files, images that do not decode) instead of stopping at the first."""
    base = data_root(root)
    rows = []
    for task in tasks:
        counts: dict[str, int | None] = {}
        problems: list[str] = []
        for split in splits:
            source = LAYOUT[split][task]
            missing = [f for f in source.folders(base) if not f.is_dir()]
            if missing:
                counts[split] = None
                problems.append(f"{split}: missing {', '.join(str(f.relative_to(base)) for f in missing)}")
                continue
            try:
                if source.degraded is None:
                    pairs, lonely = source.pairs(base), []
                else:
                    pairs, lonely = match_files(
                        base / source.degraded, base / source.clean, source.rule, source.recursive
                    )
            except PipirError as err:
                counts[split] = 0
                problems.append(f"{split}: {err}")
                continue
            if lonely:
                problems.append(f"{split}: {describe_unpaired(lonely, base / source.clean)}")
            counts[split] = len(pairs)
            if decode:
                for path in {p for pair in pairs for p in pair if p is not None}:
                    try:
                        open_image(path)
                    except PipirError as err:
                        problems.append(f"{split}: {err}")
        rows.append(CheckRow(task, counts, problems))
    return rows
