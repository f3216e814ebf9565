"""PSNR and SSIM exactly as the PIP/PromptIR papers compute them, in torch, for batches.

The papers call scikit-image on float RGB images in [0, 1] (``data_range=1``): PSNR on all three
channels, SSIM with the 7×7 uniform window and sample covariance per channel, averaged over channels,
with the 3-pixel border that the window cannot cover left out. ``y_channel=True`` first converts to
BT.601 luma the way BasicSR/MATLAB do (Y = 16/255 + (65.481 R + 128.553 G + 24.966 B)/255) and applies
the same formulas to Y. Computations run in float64 so results match scikit-image to ~1e-6.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_Y = torch.tensor([65.481, 128.553, 24.966], dtype=torch.float64) / 255.0


def _prepare(x: torch.Tensor, y: torch.Tensor, y_channel: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.ndim == 3:
        x, y = x[None], y[None]
    x = x.to(torch.float64).clamp(0, 1)
    y = y.to(torch.float64).clamp(0, 1)
    if y_channel:
        weights = _Y.to(x.device)[None, :, None, None]
        x = (x * weights).sum(1, keepdim=True) + 16 / 255
        y = (y * weights).sum(1, keepdim=True) + 16 / 255
    return x, y


def psnr(x: torch.Tensor, y: torch.Tensor, y_channel: bool = False) -> torch.Tensor:
    """Per-image PSNR in dB (B) of B×C×H×W (or C×H×W) tensors in [0, 1] (clipped first)."""
    x, y = _prepare(x, y, y_channel)
    mse = (x - y).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse)


def ssim(x: torch.Tensor, y: torch.Tensor, y_channel: bool = False, window: int = 7) -> torch.Tensor:
    """Per-image SSIM (B): scikit-image's ``structural_similarity`` defaults, channel-averaged."""
    x, y = _prepare(x, y, y_channel)
    if min(x.shape[-2:]) < window:
        raise ValueError(f"SSIM needs images of at least {window}×{window} pixels")
    c1, c2 = 0.01**2, 0.03**2
    n = window * window
    cov_norm = n / (n - 1)

    def mean(t: torch.Tensor) -> torch.Tensor:  # 'valid' window means = skimage's filter + crop
        return F.avg_pool2d(t, window, stride=1)

    ux, uy = mean(x), mean(y)
    vx = cov_norm * (mean(x * x) - ux * ux)
    vy = cov_norm * (mean(y * y) - uy * uy)
    vxy = cov_norm * (mean(x * y) - ux * uy)
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean(dim=(2, 3)).mean(dim=1)
