"""What every U-shaped backbone here shares: padding to the size its down-sampling needs, and the
skip hook through which the PIP plug-in (or a user's own module) transforms the encoder skips."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

# skip_transform(level, feature) -> feature, level 0 being the full-resolution skip.
SkipTransform = Callable[[int, torch.Tensor], torch.Tensor]


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "reflect") -> torch.Tensor:
    """Pad the bottom/right of a B×C×H×W tensor so that H and W are multiples of ``multiple``.

    ``reflect``: keeps image statistics at the border (images too small to reflect are replicated);
    ``zeros``: as the official NAFNet code pads.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if mode == "zeros":
        return F.pad(x, (0, pw, 0, ph)) if ph or pw or torch.onnx.is_in_onnx_export() else x
    if torch.onnx.is_in_onnx_export():  # sizes are symbolic: pad always (by 0 where none is due)
        return F.pad(x, (0, pw, 0, ph), mode="reflect")
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def identity_skip(level: int, feature: torch.Tensor) -> torch.Tensor:
    return feature
