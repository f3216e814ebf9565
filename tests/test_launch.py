"""The ``pipir`` command's process settings (pipir.launch): made before torch starts, kept when the
user chose otherwise, and doing to glibc's allocator what the restore benchmark relies on."""

import ctypes
import json
import os
import platform
import subprocess
import sys

import pytest

PROBE = r"""
import ctypes, json, os, sys
from pipir.launch import tune_memory
applied = tune_memory() if sys.argv[1] == "tuned" else {}
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def mapped_after(size):  # bytes glibc mapped on their own for a block of this size
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(size)
    grown = libc.mallinfo2().hblkhd - before
    return block, grown
first, grown_first = mapped_after(16 << 20)
libc.free(first)  # untuned, glibc now raises its threshold to 16 MB and keeps such blocks in its heap
second, grown_second = mapped_after(16 << 20)
small, grown_small = mapped_after(4 << 20)
print(json.dumps({"applied": applied, "first": grown_first, "second": grown_second, "small": grown_small,
                  "thp": os.environ.get("THP_MEM_ALLOC_ENABLE"), "torch": "torch" in sys.modules}))
"""


def probe(mode, **env):
    """Run PROBE in a fresh process with only the given allocator settings in its environment."""
    base = {k: v for k, v in os.environ.items() if k not in ("THP_MEM_ALLOC_ENABLE", "GLIBC_TUNABLES")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env={**base, **env}, check=True
    )
    return json.loads(result.stdout)


def test_importing_pipir_and_its_entry_point_leaves_torch_unloaded():
    code = "import sys, pipir, pipir.launch; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


glibc = pytest.mark.skipif(
    sys.platform != "linux"
    or platform.libc_ver()[0] != "glibc"
    or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="glibc's allocator only",
)


@glibc
def test_large_blocks_stay_mapped_after_one_is_freed():
    plain = probe("plain")
    assert plain["first"] >= 16 << 20 and plain["second"] == 0  # glibc's own rule: the heap keeps it
    tuned = probe("tuned")
    assert tuned["applied"] == {"huge_pages": True, "mmap_threshold": True} and not tuned["torch"]
    assert tuned["thp"] == "1"
    assert tuned["first"] >= 16 << 20 and tuned["second"] >= 16 << 20 and tuned["small"] == 0


@glibc
def test_the_users_own_settings_win():
    tuned = probe("tuned", THP_MEM_ALLOC_ENABLE="0", GLIBC_TUNABLES="glibc.malloc.mmap_threshold=1048576")
    assert tuned["applied"] == {"huge_pages": False, "mmap_threshold": False} and tuned["thp"] == "0"
    assert tuned["small"] >= 4 << 20  # the user's 1 MB threshold maps it
