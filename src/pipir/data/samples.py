"""Natural colour photos that ship inside scikit-image: usable with no download."""

from __future__ import annotations

import numpy as np

from pipir.errors import PipirError

# name -> (skimage.data function, index into its result when it returns several images)
_SOURCES = {
    "astronaut": ("astronaut", None),
    "coffee": ("coffee", None),
    "chelsea": ("chelsea", None),
    "rocket": ("rocket", None),
    "motorcycle_left": ("stereo_motorcycle", 0),
    "motorcycle_right": ("stereo_motorcycle", 1),
}
SAMPLE_NAMES = tuple(_SOURCES)
# Greyscale photos that also ship with scikit-image (repeated to RGB): extra texture for training.
GREY_NAMES = ("camera", "brick", "grass", "gravel", "coins", "clock")
_SOURCES.update({name: (name, None) for name in GREY_NAMES})
# Photos the default model never trains on, kept for its evaluation (the stereo pair stays together
# on one side, since its two views show the same scene).
HELD_OUT = ("chelsea", "coffee")
TRAIN = tuple(n for n in SAMPLE_NAMES if n not in HELD_OUT)


def samples(names: tuple[str, ...] | list[str] | None = None) -> dict[str, np.ndarray]:
    """``{name: uint8 H×W×3}`` for the requested photos (the six colour ones by default; the names
    in ``GREY_NAMES`` are also available, repeated to three channels)."""
    try:
        import skimage.data
    except ImportError:
        raise PipirError("the sample photos come with scikit-image: pip install scikit-image") from None
    out = {}
    for name in names or SAMPLE_NAMES:
        if name not in _SOURCES:
            raise PipirError(f"unknown sample {name!r}: choose from {', '.join(_SOURCES)}")
        function, index = _SOURCES[name]
        image = getattr(skimage.data, function)()
        image = image if index is None else image[index]
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        out[name] = np.ascontiguousarray(image)
    return out
