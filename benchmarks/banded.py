"""What computing the blocks a band of rows at a time (pipir.nn.banded) gains on this CPU.

    python benchmarks/banded.py [--size 512] [--rows 16 32 64] [--precision fp32 bf16] [--repeats 3]

The default model prepared for the CPU (``pipir.device.prepare_model``) restores one noisy
``size``² tile (the 512² astronaut, the tile ``--tile auto`` takes on a CPU) on one torch thread, as
each of the two tiles a 2-core CPU runs side by side does; its blocks computed whole
(``band_rows`` off) and in bands of each ``--rows``. Per row: the median seconds of ``--repeats``
forwards (after one untimed), the peak memory the forward added (``tracemalloc`` cannot see
torch's allocations, so it is read from /proc: VmHWM after against VmRSS before, in a fresh
process per setting), and PSNR against the whole computation in the same precision. bf16 is
measured only when asked. Run in a process of its own, with the command's huge-page setting
(pipir.launch). Writes docs/benchmarks/banded.json and .md.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile

import numpy as np
import torch

try:
    from benchmarks.common import write_report
except ImportError:  # run as a script
    from common import write_report

CHILD = r"""
import json, statistics, sys, time
from pipir.launch import tune_memory
tune_memory()
import numpy as np, torch
torch.set_num_threads(1)
import pipir
from pipir import degrade
from pipir.data import samples
from pipir.device import input_layout, precision_context, prepare_model
from pipir.layout import to_batch

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) << 10

size, rows, precision, repeats = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
cpu = torch.device("cpu")
model = prepare_model(pipir.load().model, cpu)
for module in model.modules():
    if hasattr(module, "band_rows"):
        module.band_rows = rows or None
image = degrade.to_float(samples(["astronaut"])["astronaut"])[:size, :size]
noisy = degrade.apply(image, "noise", seed=0, sigma=25)
x = to_batch(noisy)
x = x.contiguous(memory_format=input_layout(cpu))
weights = pipir.task_weights("denoise")
with torch.inference_mode(), precision_context(cpu, precision):
    model(x, weights)
    before = status("VmRSS:")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        y = model(x, weights)
        times.append(time.perf_counter() - start)
np.save(sys.argv[5], y.float().numpy())
print(json.dumps({"seconds": statistics.median(times), "peak_added_gb": (status("VmHWM:") - before) / 1e9}))
"""


def run(size: int, rows: int, precision: str, repeats: int, out: str) -> dict:
    text = subprocess.run(
        [sys.executable, "-c", CHILD, str(size), str(rows), precision, str(repeats), out],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(text.strip().splitlines()[-1])


def row(precision: str, rows: int, result: dict, whole_seconds: float, mse: float) -> dict:
    psnr = "—" if not rows else ("identical" if mse == 0 else round(10 * math.log10(1 / mse), 1))
    return {
        "precision": precision,
        "band_rows": rows or "whole",
        "seconds": round(result["seconds"], 3),
        "speed-up": round(whole_seconds / result["seconds"], 2),
        "peak_added_gb": round(result["peak_added_gb"], 3),
        "psnr_vs_whole_db": psnr,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rows", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--precision", nargs="+", default=["fp32"], choices=["fp32", "bf16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--name", default="banded")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the measuring processes: the report's machine line says so
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        for precision in args.precision:
            whole = None
            for rows in [0, *args.rows]:
                path = f"{tmp}/{precision}-{rows}.npy"
                result = run(args.size, rows, precision, args.repeats, path)
                y = np.load(path)
                if whole is None:
                    whole, whole_seconds = y, result["seconds"]
                rows_out.append(row(precision, rows, result, whole_seconds, float(np.mean((y - whole) ** 2))))
                print(rows_out[-1], flush=True)
    write_report(
        args.name,
        "Blocks computed in bands of rows against whole (one CPU thread)",
        rows_out,
        ["precision", "band_rows", "seconds", "speed-up", "peak_added_gb", "psnr_vs_whole_db"],
        notes=(
            f"`python benchmarks/banded.py --size {args.size} --rows {' '.join(map(str, args.rows))} "
            f"--precision {' '.join(args.precision)} --repeats {args.repeats}`: the default model, one noisy "
            f"{args.size}² tile (σ 25, told denoise), one torch thread, median of {args.repeats} forwards; "
            "peak memory added by the forwards (VmHWM after minus VmRSS before); PSNR against the blocks "
            "computed whole in the same precision. The CPU restore uses 32 rows (`pipir.device.BAND_ROWS`)."
        ),
    )


if __name__ == "__main__":
    main()
