"""How much memory a restore may use, and the largest tile that fits in it."""

from __future__ import annotations

import math
import os

import torch
from torch import nn


def available_memory(meminfo: str = "/proc/meminfo") -> int:
    """Bytes this machine can give a process now: Linux's ``MemAvailable`` (free memory plus the
    page cache it can drop: "free" alone shrinks after every large file read or written, and with
    it the tile), else the free pages, else 8 GiB."""
    try:
        with open(meminfo) as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) << 10
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


# The CPU's tile when memory allows it: the fastest of those measured for a 12 MP `pipir restore`
# with the blocks in bands (2-core Zen 2 EPYC, fp32: 512 → 176 s / 1.02 GB, 768 → 143 s / 1.40 GB,
# 1024 → 151 s / 2.42 GB; docs/benchmarks/restore-zen2.md). Fewer tiles cost fewer overlapping
# pixels, each computed twice (prompt pass and restore pass); beyond this, the tensors that are not
# banded outgrow the caches.
CPU_TILE = 768


def bytes_per_pixel(model: nn.Module) -> int:
    """Peak activation bytes per input pixel: ~200 per first-level channel computed whole
    (measured for the tiny models: 3.1 kB/pixel fp32, 1.9 kB/pixel bf16), ~50 with the blocks in
    bands of rows as :func:`pipir.device.prepare_model` sets them on a CPU (the default model,
    two tiles side by side: 1.2 GB above the process's own for 768² tiles, 2.2 GB for 1024²)."""
    backbone = getattr(model, "backbone", model)
    banded = any(getattr(m, "band_rows", None) for m in model.modules())
    return (50 if banded else 200) * getattr(backbone, "skip_channels", (48,))[0]


def auto_tile(model: nn.Module, tile_batch: int = 1, device: torch.device | str = "cpu") -> int:
    """The largest tile (a multiple of 64, 128–2048) whose activations fit in the budget: on a CPU
    1.25 GiB or a quarter of the free memory, whichever is less, and at most :data:`CPU_TILE`
    (larger tiles are not faster there); on a GPU a quarter of its free memory."""
    device = torch.device(device)
    if device.type == "cuda":
        budget = torch.cuda.mem_get_info(device)[0] // 4
    else:
        budget = min(5 << 28, available_memory() // 4)
    side = int(math.sqrt(budget / (bytes_per_pixel(model) * tile_batch)))
    if device.type == "cpu":
        side = min(side, CPU_TILE)
    return int(max(128, min(2048, side // 64 * 64)))
