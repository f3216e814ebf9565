"""How much does a model deblur, kernel by kernel? Told the task, on the validation photos.

    python benchmarks/deblur.py [--models pipir-small OTHER.safetensors] [--about TEXT] [--limit N]

The photo columns of ``pipir eval`` hold one kind of blur (camera-shake motion, 9-25 px, drawn per
photo), so they say that a model does not deblur but not which blur it fails on. Here every
validation photo (downscaled as ``pipir eval --photos`` does) is blurred with each kernel below by
:func:`pipir.degrade.apply` (the NumPy degradations, not the training path's) and restored told
"deblur", one view. The gain over the blurred input is the restorer's deblurring skill alone: the
classifier and the orientation ensemble play no part. Writes docs/benchmarks/deblur.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_photo_options, validation_photos, write_report  # noqa: E402

from pipir import degrade  # noqa: E402
from pipir.hub import load  # noqa: E402
from pipir.layout import from_batch, to_batch  # noqa: E402
from pipir.metrics import psnr  # noqa: E402

# name -> keyword arguments of pipir.degrade.apply(..., "blur", ...)
KERNELS = {
    "motion 9 px": {"kernel": "motion", "size": 9},
    "motion 17 px": {"kernel": "motion", "size": 17},
    "motion 25 px": {"kernel": "motion", "size": 25},
    "defocus r 1.5": {"kernel": "defocus", "radius": 1.5},
    "defocus r 3": {"kernel": "defocus", "radius": 3.0},
    "defocus r 5": {"kernel": "defocus", "radius": 5.0},
    "Gaussian σ 0.8": {"kernel": "gaussian", "sigma": 0.8},
    "Gaussian σ 1.8": {"kernel": "gaussian", "sigma": 1.8},
    "Gaussian σ 3": {"kernel": "gaussian", "sigma": 3.0},
}


def blurred(photos: list[torch.Tensor], params: dict) -> list[torch.Tensor]:
    """Each photo blurred once, seeded by its index (the same motion trajectory for every model)."""
    out = []
    for i, x in enumerate(photos):
        out.append(to_batch(degrade.apply(from_batch(x), "blur", seed=[1, i], **params)))
    return out


def rows_for(name: str, photos: list[torch.Tensor], cases: dict[str, list[torch.Tensor]]) -> list[dict]:
    """One row per kernel: ``cases`` maps each to the photos blurred by it (made once for every model)."""
    restorer = load(name)
    rows = []
    for kernel, inputs in cases.items():
        scores = []
        for x, y in zip(photos, inputs):
            out = restorer.restore_tensor(y, task="deblur", ensemble=1).image
            scores.append((float(psnr(y, x)), float(psnr(out, x))))
        before, after = np.mean(scores, axis=0)
        rows.append(
            {
                "model": name,
                "kernel": kernel,
                "blurred input": f"{before:.2f}",
                "told deblur": f"{after:.2f}",
                "gain": f"{after - before:+.2f}",
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["pipir-small"])
    parser.add_argument("--about", default="", help="what the models other than shipped ones are")
    parser.add_argument("--name", default="deblur", help="writes docs/benchmarks/NAME.{json,md}")
    add_photo_options(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    photos = validation_photos(args)
    cases = {kernel: blurred(photos, params) for kernel, params in KERNELS.items()}
    rows = [row for name in args.models for row in rows_for(name, photos, cases)]
    notes = (
        f"`python benchmarks/deblur.py --models {' '.join(args.models)}"
        f"{' --limit ' + str(args.limit) if args.limit else ''}"
        f"{' --name ' + args.name if args.name != 'deblur' else ''}`: {len(photos)} validation photos at "
        f"{args.size} px, each blurred by `pipir.degrade.apply(photo, 'blur', ...)` with the kernel of "
        "the row (motion: one seeded camera-shake trajectory per photo, the same for every model), "
        "restored told 'deblur' with one view. Mean RGB PSNR (dB) against the sharp photo. The "
        "`pipir eval` motion blur column draws its size from 9-25 px."
    ) + (f" {args.about}" if args.about else "")
    write_report(args.name, "Deblurring, told the task, by kernel", rows, list(rows[0]), notes)


if __name__ == "__main__":
    main()
