"""The ``pipir`` command's entry point: process-wide memory settings first, then the CLI.

Restoring a large photo allocates and frees a few GB of tile activations per tile. Two settings
that only the process's owner may choose (a library must not change them for its caller) make that
faster and its peak lower and steadier (measured with benchmarks/restore.py, whose ``cli`` mode
runs with them and ``api`` mode without):

- ``THP_MEM_ALLOC_ENABLE=1``: torch backs tensors of 2 MB and more with transparent huge pages,
  which cuts the page faults of the freshly mapped activations several-fold (a 12 MP ``pipir
  restore`` on a 2-core Zen 5 EPYC: 70 s with it, 110 s without; benchmarks/restore.py's whole run
  had 11 M page faults against 69 M). torch reads it once, at its first allocation, so it is set
  before torch is imported.
- ``mallopt(M_MMAP_THRESHOLD, 8 MB)``: glibc maps allocations of 8 MB and more on their own and
  returns them when freed, instead of raising its threshold to the largest freed block (up to
  32 MB) and keeping those in its heap, where they fragment and the peak grows with the number of
  tiles.

Serving every allocation from glibc's heap instead (``M_MMAP_MAX`` 0) is faster but holds more:
a 12 MP ``pipir restore`` on the 2-core EPYC took 371 s / 1.21 GB peak with the settings above,
262 s / 2.63 GB heap-only with huge pages and 1 GiB kept free, 304 s / 2.31 GB with 256 MB kept,
338 s / 1.86 GB without huge pages; past the 2 GB a 12 MP photo may use, so not taken.

A setting the user made (the environment variable, or ``mmap_threshold`` in ``GLIBC_TUNABLES``)
is left alone; off Linux/glibc both are no-ops. In your own program, call :func:`tune_memory`
before importing torch to get the same.
"""

from __future__ import annotations

import ctypes
import os
import sys

MMAP_THRESHOLD = 8 << 20
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def tune_memory(mmap_threshold: int = MMAP_THRESHOLD) -> dict[str, bool]:
    """Apply the settings above to this process; returns which of them took effect."""
    applied = {"huge_pages": False, "mmap_threshold": False}
    if not sys.platform.startswith("linux"):
        return applied
    if "torch" not in sys.modules:
        applied["huge_pages"] = os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1") == "1"
    if "mmap_threshold" not in os.environ.get("GLIBC_TUNABLES", ""):
        try:
            applied["mmap_threshold"] = ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
        except (OSError, AttributeError):  # not glibc (musl has no mallopt)
            pass
    return applied


def main() -> None:
    tune_memory()
    from pipir.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
