"""Draw docs/figures/degradations.png: one validation photo under every degradation kind.

    python docs/figures.py [--photos data/photos]

Figures are made on demand, not stored in the repository.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pipir import degrade  # noqa: E402
from pipir.data.photos import normalise, photo_files  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", default="data/photos")
    parser.add_argument("--out", default=str(Path(__file__).with_name("figures") / "degradations.png"))
    args = parser.parse_args()
    path = photo_files(args.photos, "validation")[3]
    with Image.open(path) as im:
        clean = np.asarray(normalise(im, max_side=384), dtype=np.float32) / 255
    kinds = list(degrade.KINDS)
    fig, axes = plt.subplots(2, (len(kinds) + 1) // 2, figsize=(4 * ((len(kinds) + 1) // 2), 6.5))
    for ax, kind in zip(axes.flat, kinds):
        image, params = degrade.apply(clean, kind, seed=1, return_params=True)
        ax.imshow(image)
        shown = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in params.items())
        ax.set_title(f"{kind}\n{shown}", fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
