"""A tiny benchmark tree with the official file naming, for tests and for trying the tools.

The clean images are crops of the bundled photos and the degraded ones are made with
:mod:`pipir.degrade`, so restoration on them is meaningful, not just file plumbing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipir import degrade
from pipir.data.benchmark import LAYOUT
from pipir.data.samples import samples
from pipir.io import write_rgb

# (degraded name, clean name) per task, following each dataset's own naming.
NAMES = {
    "denoise": lambda i: (None, f"{i + 1:03d}.png"),
    "derain": lambda i: (f"rain-{i + 1}.png", f"norain-{i + 1}.png"),
    "dehaze": lambda i: (f"{i + 1:04d}_0.8_0.2.jpg", f"{i + 1:04d}.png"),
    "deblur": lambda i: (f"GOPR0384_11_00_{i + 1:06d}.png",) * 2,
    "lowlight": lambda i: (f"{i + 1}.png",) * 2,
}
KIND = {"derain": "rain", "dehaze": "haze", "deblur": "blur", "lowlight": "lowlight"}


def write_fake_benchmark(
    root: str | Path, n: int = 2, size: int = 48, tasks: tuple[str, ...] = tuple(NAMES), seed: int = 0
) -> Path:
    """Write ``n`` pairs per task and split under ``root/data`` and return ``root``."""
    root = Path(root)
    base = root / "data"
    photos = list(samples(("astronaut", "rocket")).values())
    rng = np.random.default_rng(seed)
    for sources in LAYOUT.values():
        for task in tasks:
            source = sources[task]
            for i in range(n):
                photo = degrade.to_float(photos[i % len(photos)])
                top = int(rng.integers(0, photo.shape[0] - size))
                left = int(rng.integers(0, photo.shape[1] - size))
                clean = photo[top : top + size, left : left + size]
                degraded_name, clean_name = NAMES[task](i)
                write_rgb(base / source.clean / clean_name, clean)
                if degraded_name is not None:
                    folder = base / source.degraded / ("part1" if source.recursive else "")
                    write_rgb(folder / degraded_name, degrade.apply(clean, KIND[task], seed=rng))
    return root
