"""Synthetic degradations of clean photos: noise, rain, haze, blur, low light, and their mixtures.

Images are float32 H×W×3 arrays in [0, 1] (:func:`to_float` converts uint8/uint16). Every function
is deterministic for a given ``seed``; parameters not given are drawn from the documented ranges in
``RANGES``; every result is clipped to [0, 1].

    >>> hazy = pipir.degrade.apply(image, "haze", seed=0, beta=1.2)
    >>> both, params = pipir.degrade.apply(image, ["haze", "noise"], seed=0, return_params=True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pipir.degrade.blur import blur
from pipir.degrade.camera import camera
from pipir.degrade.common import RANGES, check_image, to_float, to_uint
from pipir.degrade.haze import haze
from pipir.degrade.jpeg import clean, jpeg
from pipir.degrade.lowlight import lowlight
from pipir.degrade.noise import noise
from pipir.degrade.rain import rain
from pipir.errors import PipirError

Degradation = Callable[..., tuple[np.ndarray, dict[str, Any]]]

# Physical order for mixtures: the scene's atmosphere (haze), then what is close to the camera
# (rain streaks, unattenuated), then the optics and camera motion (blur), then exposure with its
# sensor noise (low light), then sensor noise (white or camera-like), then the JPEG encoder.
KINDS: dict[str, Degradation] = {
    "clean": clean,
    "haze": haze,
    "rain": rain,
    "blur": blur,
    "lowlight": lowlight,
    "noise": noise,
    "camera": camera,
    "jpeg": jpeg,
}
# Which restoration task removes each degradation (index into pipir.TASKS); "clean" and "jpeg" have
# no prompt of their own ("clean" is the classifier's sixth answer, JPEG comes with every task).
TASK_OF = {
    "noise": "denoise",
    "camera": "denoise",
    "rain": "derain",
    "haze": "dehaze",
    "blur": "deblur",
    "lowlight": "lowlight",
}
KIND_OF = {"denoise": "noise", "derain": "rain", "dehaze": "haze", "deblur": "blur", "lowlight": "lowlight"}


def apply(
    image: np.ndarray,
    kind: str | Sequence[str],
    seed: int | np.random.Generator | None = None,
    return_params: bool = False,
    **params: Any,
) -> np.ndarray | tuple[np.ndarray, dict[str, Any]]:
    """Degrade ``image`` by one kind or a list of kinds (applied in physical order).

    ``params`` go to the kind they belong to; with a mixture, prefix them with the kind
    (``noise_sigma=25``) or pass a dict per kind (``noise={"sigma": 25}``).
    """
    kinds = [kind] if isinstance(kind, str) else list(kind)
    if not kinds:
        raise PipirError("no degradation kind given")
    for k in kinds:
        if k not in KINDS:
            raise PipirError(f"unknown degradation {k!r}: choose from {', '.join(KINDS)}")
    if len(set(kinds)) != len(kinds):
        raise PipirError(f"degradation kinds repeat in {kinds}")
    image = check_image(image)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    per_kind = _split_params(kinds, params)
    used: dict[str, Any] = {}
    for k in (k for k in KINDS if k in kinds):
        image, p = KINDS[k](image, rng, **per_kind[k])
        used[k] = p
    image = np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)
    if len(kinds) == 1:
        used = used[kinds[0]]
    return (image, used) if return_params else image


def _split_params(kinds: list[str], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    per_kind: dict[str, dict[str, Any]] = {k: {} for k in kinds}
    for key, value in params.items():
        if key in per_kind and isinstance(value, dict):
            per_kind[key].update(value)
            continue
        prefix = next((k for k in kinds if key.startswith(k + "_")), None)
        if len(kinds) > 1 and prefix is not None:
            per_kind[prefix][key[len(prefix) + 1 :]] = value
        elif len(kinds) == 1:
            per_kind[kinds[0]][key] = value
        else:
            raise PipirError(f"parameter {key!r} names no degradation of the mixture {kinds}")
    return per_kind


__all__ = [
    "KINDS",
    "KIND_OF",
    "RANGES",
    "TASK_OF",
    "apply",
    "blur",
    "camera",
    "check_image",
    "clean",
    "haze",
    "jpeg",
    "lowlight",
    "noise",
    "rain",
    "to_float",
    "to_uint",
]
