"""Our torch PSNR/SSIM against scikit-image's, on random and real photos, RGB and Y."""

import numpy as np
import pytest
import skimage.data
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from pipir import degrade
from pipir.metrics import psnr, ssim


def pairs():
    rng = np.random.default_rng(0)
    yield rng.random((37, 53, 3), dtype=np.float32), rng.random((37, 53, 3), dtype=np.float32)
    clean = degrade.to_float(skimage.data.chelsea())
    yield clean, degrade.apply(clean, "noise", seed=1, sigma=25)
    clean = degrade.to_float(skimage.data.coffee()[:200, :300])
    yield clean, degrade.apply(clean, "blur", seed=2)
    yield clean, degrade.apply(clean, "haze", seed=3)


def tensor(image):
    return torch.from_numpy(image.transpose(2, 0, 1).copy())


@pytest.mark.parametrize("index", range(4))
def test_rgb_metrics_match_scikit_image(index):
    clean, other = list(pairs())[index]
    ref_psnr = peak_signal_noise_ratio(clean, other, data_range=1)
    ref_ssim = structural_similarity(clean, other, data_range=1, channel_axis=-1)
    assert abs(psnr(tensor(other), tensor(clean)).item() - ref_psnr) <= 1e-3
    assert abs(ssim(tensor(other), tensor(clean)).item() - ref_ssim) <= 1e-4


@pytest.mark.parametrize("index", range(4))
def test_y_channel_metrics_match_scikit_image_on_bt601_luma(index):
    clean, other = list(pairs())[index]
    y_clean = rgb2ycbcr(clean)[..., 0] / 255.0  # skimage: 16 + 65.481 R + 128.553 G + 24.966 B
    y_other = rgb2ycbcr(other)[..., 0] / 255.0
    ref_psnr = peak_signal_noise_ratio(y_clean, y_other, data_range=1)
    ref_ssim = structural_similarity(y_clean, y_other, data_range=1)
    assert abs(psnr(tensor(other), tensor(clean), y_channel=True).item() - ref_psnr) <= 1e-3
    assert abs(ssim(tensor(other), tensor(clean), y_channel=True).item() - ref_ssim) <= 1e-4


def test_batches_give_one_value_per_image_and_identity_is_perfect():
    x = torch.rand(3, 3, 16, 20)
    y = (x + 0.05 * torch.randn_like(x)).clamp(0, 1)
    values = psnr(y, x)
    assert values.shape == (3,)
    for i in range(3):
        assert torch.allclose(values[i], psnr(y[i], x[i])[0])
    assert torch.allclose(ssim(x, x), torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(x, y[:, :, :8])
