"""Is blind restoration safe on compressed photos? Validation photos JPEG-compressed at a range of
qualities and sizes, restored blind, against the photo as it came.

    python benchmarks/blind_safety.py [--models pipir-small OTHER.safetensors] [--qualities 20 30 40 60 80]
                                      [--sizes 320 640] [--limit N] [--name blind-safety]

``pipir eval --photos`` has one compressed column (quality 40 at 320 px); a photo a user brings may
be compressed harder or softer and be larger. Each intact validation photo (downscaled as ``pipir
eval --photos`` does, to each ``--sizes``) is compressed once per quality (``pipir.degrade`` "jpeg",
seeded per photo and quality) and restored blind (``Restorer.restore_tensor``, task auto, the whole
photo). Per model, size and quality: the degraded input's PSNR against the uncompressed photo, the
output's, the mean and worst change per photo, the share of photos made more than 0.5 dB worse, the
mean strength applied (1 − P(clean), after the tone rule) and the classifier's most common answer
other than "clean". None of these photos needs one of the five tasks, so the safe answer is to leave
them (nearly) as they are. Writes docs/benchmarks/<name>.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_photo_options, load_with_clean_class, write_report  # noqa: E402

from pipir import degrade  # noqa: E402
from pipir.evaluate import photo_items  # noqa: E402
from pipir.layout import from_batch, to_batch  # noqa: E402
from pipir.metrics import psnr  # noqa: E402


def compressed(photo: torch.Tensor, quality: int, seed: list[int]) -> torch.Tensor:
    """The photo (1×3×H×W) as JPEG of ``quality`` compresses it; 100 leaves it intact."""
    if quality >= 100:
        return photo
    out = degrade.apply(from_batch(photo), "jpeg", seed=seed, quality=quality)
    return to_batch(out)


def row_for(restorer, photos: list, size: int, quality: int) -> dict:
    """One row: the photos (``pipir.evaluate.Item``) at one quality restored blind, scored against
    the uncompressed photos."""
    change, before, after, strength, others = [], [], [], [], Counter()
    clean_class = len(restorer.tasks)
    intact = quality >= 100  # then the output's PSNR is against the input itself
    for p, item in enumerate(photos):
        photo = item.clean
        x = compressed(photo, quality, [0, p, quality])
        result = restorer.restore_tensor(x, task="auto", ensemble=1)
        b, a = psnr(x, photo).item(), psnr(result.image, photo).item()
        before.append(min(b, 100.0))
        after.append(min(a, 100.0))
        change.append(a - b)
        strength.append(float(result.strength[0]))
        top = int(result.answer()[0].argmax())
        if top != clean_class:
            others[restorer.tasks[top]] += 1
    worst = int(np.argmin(after if intact else change))
    worst_figure = f"{after[worst]:.2f} dB" if intact else f"{change[worst]:+.2f}"
    worse = sum(c < -0.5 for c in change) / len(change)
    return {
        "model": restorer.name,
        "size": size,
        "photo": "intact" if intact else f"JPEG q{quality}",
        "input PSNR": "—" if intact else f"{np.mean(before):.2f}",
        "output PSNR": f"{np.mean(after):.2f}",
        "mean change": "—" if intact else f"{np.mean(change):+.2f}",
        "worst photo": f"{photos[worst].name} ({worst_figure})",
        "made >0.5 dB worse": "—" if intact else f"{worse:.0%}",
        "mean strength": f"{np.mean(strength):.2f}",
        "top answer not clean": ", ".join(f"{t} {n}" for t, n in others.most_common(3)) or "—",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["pipir-small"])
    parser.add_argument("--qualities", type=int, nargs="+", default=[20, 30, 40, 60, 80, 100])
    parser.add_argument("--sizes", type=int, nargs="+", default=[320, 640])
    parser.add_argument("--name", default="blind-safety")
    add_photo_options(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for size in args.sizes:
        photos = photo_items(args.photos, "validation", size, 0, args.limit, columns=["clean"])
        for name in args.models:
            restorer = load_with_clean_class(name)
            for quality in args.qualities:
                rows.append(row_for(restorer, photos, size, quality))
                print(rows[-1], flush=True)
    notes = (
        f"`python benchmarks/blind_safety.py --models {' '.join(args.models)} --qualities "
        f"{' '.join(map(str, args.qualities))} --sizes {' '.join(map(str, args.sizes))}"
        f"{' --limit ' + str(args.limit) if args.limit else ''}`: {len(photos)} validation photos, "
        'downscaled to each size on the long side, JPEG-compressed (`pipir.degrade` "jpeg", quality '
        "100: intact) and restored blind. PSNR in dB (RGB) against the uncompressed photo; change: "
        "output minus input per photo (intact photos: the output's PSNR against the input itself, so "
        "no change is shown, and the worst photo is the one that came back least like itself, with "
        "that PSNR); strength: the share of the correction applied, 1 − P(clean) after the tone rule; "
        "last column: photos whose most probable class is a task, by task."
    )
    write_report(args.name, "Blind restoration of compressed photos", rows, list(rows[0]), notes)


if __name__ == "__main__":
    main()
