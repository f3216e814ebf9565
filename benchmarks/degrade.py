"""Time of every degradation on a 512×512 photo (target: ≤ 50 ms each on the 2-core CPU).

    python benchmarks/degrade.py [--runs 11]

Writes docs/benchmarks/degrade.json and .md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from pipir import degrade
from pipir.data import samples

try:
    from benchmarks.common import write_report
except ImportError:  # run as a script
    from common import write_report

CASES = {
    "noise": {},
    "noise (official uint8)": {"protocol": "official"},
    "rain": {},
    "haze": {},
    "blur (motion)": {"kernel": "motion", "size": 25},
    "blur (defocus)": {"kernel": "defocus", "radius": 5},
    "blur (gaussian)": {"kernel": "gaussian", "sigma": 3},
    "lowlight": {},
    "haze + rain + noise": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    torch.set_num_threads(2)
    image = degrade.to_float(samples(["astronaut"])["astronaut"])  # 512×512
    rows = []
    for label, params in CASES.items():
        kind = label.split(" ")[0] if "+" not in label else ["haze", "rain", "noise"]
        times = []
        for seed in range(args.runs + 1):
            start = time.perf_counter()
            degrade.apply(image, kind, seed=seed, **params)
            times.append(time.perf_counter() - start)
        median = statistics.median(times[1:]) * 1e3
        rows.append(
            {
                "degradation": label,
                "median ms": f"{median:.1f}",
                "max ms": f"{max(times[1:]) * 1e3:.1f}",
                "target ≤ 50 ms": ("yes" if median <= 50 else "NO")
                if "+" not in label
                else "n/a (3 in a row)",
            }
        )
    write_report(
        "degrade",
        "Degradation speed on a 512×512 photo (CPU)",
        rows,
        list(rows[0]),
        notes=f"`python benchmarks/degrade.py --runs {args.runs}`: median over {args.runs} seeds "
        "after one warm-up; blur kernels at the top of their documented ranges.",
    )


if __name__ == "__main__":
    main()
