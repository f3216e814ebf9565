"""Numpy images in the caller's layout (grey, RGB, RGBA; uint8, uint16, float) to the float RGB the
models take, and back."""

from __future__ import annotations

import numpy as np
import torch

from pipir.errors import PipirError


def split_layout(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, str, float]:
    """(RGB view in the input's dtype, alpha or None, layout, the dtype's full scale)."""
    if image.dtype == np.uint8:
        scale = 255.0
    elif image.dtype == np.uint16:
        scale = 65535.0
    elif image.dtype in (np.float32, np.float64):
        scale = 1.0
        if image.size and (not np.isfinite(image).all() or image.min() < 0 or image.max() > 1):
            raise PipirError("float images must hold finite values in [0, 1]")
    else:
        raise PipirError(f"unsupported image dtype {image.dtype}: use uint8, uint16 or float in [0, 1]")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        layout, rgb, alpha = "grey", np.broadcast_to(image[:, :, None], (*image.shape, 3)), None
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        layout = "rgba" if image.shape[2] == 4 else "rgb"
        rgb, alpha = image[:, :, :3], (image[:, :, 3] if image.shape[2] == 4 else None)
    else:
        raise PipirError(f"image must be H×W, H×W×3 or H×W×4, got shape {image.shape}")
    if min(rgb.shape[:2]) < 1:
        raise PipirError("image is empty")
    return rgb, alpha, layout, scale


def to_layout(rgb: torch.Tensor, layout: str, dtype: np.dtype) -> np.ndarray:
    """A float RGB block (n×m×3 in [0, 1], changed in place) → the caller's layout (grey: BT.601
    luma) and dtype."""
    out = rgb @ torch.tensor([0.299, 0.587, 0.114], device=rgb.device) if layout == "grey" else rgb
    if np.issubdtype(dtype, np.integer):
        out = out.clamp_(0, 1).mul_(np.iinfo(dtype).max).round_()
    return out.cpu().numpy().astype(dtype, copy=False)


def to_batch(image: np.ndarray) -> torch.Tensor:
    """An H×W×3 array → a batch of one, 1×3×H×W, in the array's dtype (a copy: the tensor never
    shares memory with the caller's array)."""
    return torch.from_numpy(image.transpose(2, 0, 1).copy())[None]


def from_batch(x: torch.Tensor) -> np.ndarray:
    """The first image of an N×3×H×W tensor → an H×W×3 array on the CPU, in the tensor's dtype."""
    return x[0].permute(1, 2, 0).cpu().numpy()
