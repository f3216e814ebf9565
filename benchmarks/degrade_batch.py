"""Training pairs per second: the batched degradations (CPU, and the GPU when there is one) against
the NumPy ones a sample at a time.

    python benchmarks/degrade_batch.py [--batch 64] [--patch 64] [--runs 5]

Every class in equal shares, 30 % JPEG, half the noise camera-like, 16-pixel margins (as training
makes them). Writes docs/benchmarks/degrade-batch.json and .md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from pipir import degrade
from pipir.data import samples
from pipir.degrade.batch import CLASSES, synthesize

try:
    from benchmarks.common import write_report
except ImportError:  # run as a script
    from common import write_report


def batched(device: str, batch: int, patch: int, runs: int) -> list[float]:
    g = torch.Generator(device=device).manual_seed(0)
    windows = torch.rand(batch, 3, patch + 32, patch + 32, device=device, generator=g)
    labels = torch.arange(batch, device=device) % len(CLASSES)
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        synthesize(windows, labels, g, 16, 0.3, 0.5)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return [batch / t for t in times[1:]]


def per_sample(batch: int, patch: int, runs: int) -> list[float]:
    image = degrade.to_float(samples(["astronaut"])["astronaut"])
    kinds = ["noise", "camera", "rain", "haze", "blur", "lowlight", "clean"]
    rates = []
    for r in range(runs):
        rng = np.random.default_rng(r)
        start = time.perf_counter()
        for i in range(batch):
            top, left = rng.integers(0, 512 - patch - 32, size=2)
            window = image[top : top + patch + 32, left : left + patch + 32]
            out = degrade.apply(window, kinds[i % len(kinds)], seed=rng)
            if rng.random() < 0.3:
                degrade.apply(np.ascontiguousarray(out[16:-16, 16:-16]), "jpeg", seed=rng)
        rates.append(batch / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    cases = {"NumPy, one sample at a time (CPU)": per_sample(args.batch, args.patch, args.runs)}
    cases["pipir.degrade.batch (CPU)"] = batched("cpu", args.batch, args.patch, args.runs)
    if torch.cuda.is_available():
        cases[f"pipir.degrade.batch ({torch.cuda.get_device_name()})"] = batched(
            "cuda", args.batch, args.patch, args.runs
        )
    rows = [
        {"how": how, "median pairs/s": f"{statistics.median(r):.0f}", "min pairs/s": f"{min(r):.0f}"}
        for how, r in cases.items()
    ]
    write_report(
        "degrade-batch",
        f"Training pairs per second, {args.patch}² patches",
        rows,
        list(rows[0]),
        notes=f"`python benchmarks/degrade_batch.py --batch {args.batch} --patch {args.patch} --runs "
        f"{args.runs}`: median and minimum over {args.runs} batches of {args.batch} after one warm-up; all "
        "classes in equal shares, 30 % JPEG, half the noise camera-like, 16-pixel margins.",
    )


if __name__ == "__main__":
    main()
