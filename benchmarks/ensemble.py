"""What the self-ensemble (pipir.ensemble) costs: seconds to restore a small photo in 1, 2 and 8 views.

    python benchmarks/ensemble.py [--sides 320 512] [--views 1 2 8] [--threads 2] [--repeats 2]

The default model restores the bundled coffee photo, resized to ``side`` pixels on the long side
(4:3) and given white noise σ 25, blind (``task="auto"``, the classifier included, as ``pipir
restore`` runs it) with each ``--views``, on ``--threads`` torch threads in this one process, after
one untimed restore. Per row: the fastest of ``--repeats`` restores and its ratio to one view, and
PSNR against the clean photo. 320 pixels is the size ``pipir eval --photos`` measures at; 512×384
is within the largest photo ``--ensemble auto`` gives eight views (``AUTO_PIXELS``). Writes
docs/benchmarks/ensemble.json and .md; what the views gain is measured by ``pipir eval``
(docs/model-card.md).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

try:
    from benchmarks.common import write_report
except ImportError:  # run as a script
    from common import write_report


def photo(side: int) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy) float32 H×W×3: the coffee photo at ``side`` × 3/4 ``side``, σ 25 noise."""
    from PIL import Image

    from pipir import degrade
    from pipir.data import samples

    base = Image.fromarray(samples(["coffee"])["coffee"]).resize((side, side * 3 // 4), Image.LANCZOS)
    clean = np.asarray(base, dtype=np.float32) / 255
    return clean, degrade.apply(clean, "noise", seed=0, sigma=25).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[320, 512])
    parser.add_argument("--views", type=int, nargs="+", default=[1, 2, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    args.views = sorted(set(args.views) | {1})  # the ratio column is against one view
    torch.set_num_threads(args.threads)
    import pipir
    from pipir.layout import to_batch
    from pipir.metrics import psnr

    restorer = pipir.load()
    rows = []
    for side in args.sides:
        clean, noisy = photo(side)
        reference = to_batch(clean)
        first = None
        for n in args.views:
            restorer.restore(noisy, task="auto", ensemble=n)  # untimed: allocations, caches
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                result = restorer.restore(noisy, task="auto", ensemble=n)
                times.append(time.perf_counter() - start)
            seconds = min(times)
            first = first or seconds
            out = to_batch(result.image)
            rows.append(
                {
                    "photo": f"{side}×{side * 3 // 4}",
                    "views": n,
                    "seconds": f"{seconds:.2f}",
                    "× one view": f"{seconds / first:.2f}",
                    "PSNR (dB)": f"{psnr(out, reference).item():.2f}",
                }
            )
            print(rows[-1], flush=True)
    notes = (
        f"`python benchmarks/ensemble.py --sides {' '.join(map(str, args.sides))} --views "
        f"{' '.join(map(str, args.views))} --threads {args.threads} --repeats {args.repeats}`: default "
        f"model `{restorer.name}`, blind, precision {restorer.resolve_precision('auto')}, the fastest of "
        f"{args.repeats} restores after one untimed; PSNR of the σ 25 coffee photo against the clean one."
    )
    write_report(
        "ensemble", "Self-ensemble: time per photo against the views averaged", rows, list(rows[0]), notes
    )


if __name__ == "__main__":
    main()
