"""Does the classifier take a photo's tone for a degradation? Its answer on intact validation photos
given a global tone (paler, muted, darker) that leaves them intact.

    python benchmarks/tone_probe.py [--models pipir-small OTHER.safetensors] [--limit N] [--size 320]

Each intact validation photo (downscaled as ``pipir eval --photos`` does) is retoned with
:func:`pipir.degrade.batch.tone` at a few fixed settings and classified as blind restoration does
(``Restorer.classify_tensor``). A classifier that reads tone as haze or low light gives these photos
a low P(clean), and blind restoration then dehazes or brightens a photo that needed nothing.
Writes docs/benchmarks/tone-probe.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_photo_options, load_with_clean_class, validation_photos, write_report  # noqa: E402

from pipir.degrade.batch import tone  # noqa: E402

# name -> (exposure, gamma, contrast, saturation)
VARIANTS = {
    "as it is": (1.0, 1.0, 1.0, 1.0),
    "paler (contrast 0.6, exposure 1.2)": (1.2, 1.0, 0.6, 1.0),
    "muted (saturation 0.4)": (1.0, 1.0, 1.0, 0.4),
    "pale and muted (contrast 0.6, exposure 1.15, saturation 0.5)": (1.15, 1.0, 0.6, 0.5),
    "darker (exposure 0.6, gamma 1.3)": (0.6, 1.3, 1.0, 1.0),
}


def answers(restorer, images: list[torch.Tensor], setting: tuple[float, ...]) -> torch.Tensor:
    """Classifier probabilities (photos × classes) of the retoned photos."""
    params = [torch.tensor([v]) for v in setting]
    return torch.cat([restorer.classify_tensor(tone(x, *params)) for x in images])


def rows_for(name: str, images: list[torch.Tensor]) -> list[dict]:
    restorer = load_with_clean_class(name)
    rows = []
    for variant, setting in VARIANTS.items():
        probs = answers(restorer, images, setting)
        clean = probs.shape[1] - 1
        rows.append(
            {
                "model": name,
                "intact photo": variant,
                "P(clean)": f"{probs[:, clean].mean():.2f}",
                "P(dehaze)": f"{probs[:, restorer.tasks.index('dehaze')].mean():.2f}",
                "P(lowlight)": f"{probs[:, restorer.tasks.index('lowlight')].mean():.2f}",
                "clean not the top answer": f"{(probs.argmax(1) != clean).float().mean():.0%}",
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["pipir-small"])
    add_photo_options(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = validation_photos(args)
    rows = [row for name in args.models for row in rows_for(name, images)]
    notes = (
        f"`python benchmarks/tone_probe.py --models {' '.join(args.models)}"
        f"{' --limit ' + str(args.limit) if args.limit else ''}`: {len(images)} intact validation photos "
        f"at {args.size} px, retoned by `pipir.degrade.batch.tone` (exposure·x^γ, then saturation and "
        "contrast towards the luma), classified as blind restoration does (up to 16 crops, geometric "
        "mean). Mean probabilities; every row is an intact photo, so P(clean) should stay high."
    )
    write_report("tone-probe", "Classifier answers on retoned intact photos", rows, list(rows[0]), notes)


if __name__ == "__main__":
    main()
