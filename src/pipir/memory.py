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


def auto_tile(model: nn.Module, tile_batch: int = 1, device: torch.device | str = "cpu") -> int:
    """The largest tile (a multiple of 64, 128–2048) whose activations fit in the budget: on a CPU
    1.25 GiB or a quarter of the free memory, whichever is less (larger tiles are not faster there:
    a 12 MP photo took 85.2 s in 640 tiles and 85.7 s in 768 tiles, with a 0.17 GB higher peak);
    on a GPU a quarter of its free memory. Peak activation memory is ~200 bytes per input pixel per
    first-level channel (measured for the tiny models: 3.1 kB/pixel fp32, 1.9 kB/pixel bf16)."""
    device = torch.device(device)
    if device.type == "cuda":
        budget = torch.cuda.mem_get_info(device)[0] // 4
    else:
        budget = min(5 << 28, available_memory() // 4)
    backbone = getattr(model, "backbone", model)
    bytes_per_pixel = 200 * getattr(backbone, "skip_channels", (48,))[0]
    side = int(math.sqrt(budget / (bytes_per_pixel * tile_batch)))
    return int(max(128, min(2048, side // 64 * 64)))
