"""Synthetic degradations: each does what its physics says, deterministically, and rejects bad input."""

import numpy as np
import pytest
import skimage.data
from scipy.ndimage import gaussian_filter

import pipir
from pipir import degrade
from pipir.degrade.blur import blur_kernel, defocus_kernel, gaussian_kernel, motion_kernel
from pipir.degrade.common import luminance


@pytest.fixture(scope="module")
def photo():
    return degrade.to_float(skimage.data.astronaut()[::2, ::2])


def flat(value=0.5, size=128):
    return np.full((size, size, 3), value, dtype=np.float32)


def high_frequency_energy(image):
    y = luminance(image)
    return float(np.mean(np.diff(y, axis=0) ** 2) + np.mean(np.diff(y, axis=1) ** 2))


@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_noise_sigma_on_flat_grey_is_within_3_percent(sigma):
    noisy = degrade.apply(flat(0.5, 512), "noise", seed=1, sigma=sigma)
    measured = float((noisy - 0.5).std()) * 255
    assert abs(measured - sigma) / sigma < 0.03


def test_official_noise_protocol_reproduces_the_uint8_recipe(photo):
    noisy = degrade.apply(photo, "noise", seed=7, sigma=25, protocol="official")
    clean_u8 = np.round(photo * 255).astype(np.uint8)
    draws = np.random.default_rng(7).standard_normal(photo.shape) * 25
    expected = np.clip(clean_u8 + draws, 0, 255).astype(np.uint8)  # truncation, not rounding
    assert np.array_equal(np.round(noisy * 255).astype(np.uint8), expected)
    # truncation makes the noisy image darker on average than rounding would
    assert expected.mean() < np.clip(clean_u8 + draws, 0, 255).mean()


def test_haze_transmission_falls_with_beta_and_output_is_brighter_flatter(photo):
    means = []
    for beta in (0.5, 1.0, 2.0):
        hazy, params = degrade.apply(photo, "haze", seed=0, beta=beta, airlight=0.95, return_params=True)
        means.append(params["transmission_mean"])
        assert hazy.min() >= 0 and hazy.max() <= 1
        assert hazy.mean() > photo.mean()
        assert luminance(hazy).std() < luminance(photo).std()
    assert means[0] > means[1] > means[2]


def test_blur_kernels_sum_to_one_and_remove_high_frequencies(photo):
    rng = np.random.default_rng(0)
    for kernel in (motion_kernel(21, rng), defocus_kernel(3.0), gaussian_kernel(1.5)):
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5)
        assert (kernel >= 0).all()
    for kind in ("motion", "defocus", "gaussian"):
        blurred = degrade.apply(photo, "blur", seed=3, kernel=kind)
        assert high_frequency_energy(blurred) < 0.7 * high_frequency_energy(photo)


def test_blur_keeps_borders_bright():
    blurred = degrade.apply(flat(0.8), "blur", seed=0, kernel="defocus", radius=5)
    assert np.allclose(blurred, 0.8, atol=1e-4)  # no dark frame from zero padding


def test_motion_kernels_differ_by_seed():
    a, _ = blur_kernel(np.random.default_rng(1), "motion", size=21)
    b, _ = blur_kernel(np.random.default_rng(2), "motion", size=21)
    assert not np.allclose(a, b)


def test_lowlight_darkens_into_the_documented_range(photo):
    low, params = degrade.apply(photo, "lowlight", seed=0, return_params=True)
    lo, hi = degrade.RANGES["lowlight"]["luminance"]
    assert lo * 0.8 <= luminance(low).mean() <= hi * 1.2
    assert luminance(low).mean() == pytest.approx(params["luminance"], rel=0.2)
    for seed in range(5):
        y = luminance(degrade.apply(photo, "lowlight", seed=seed)).mean()
        assert 0.02 <= y <= 0.2


def test_lowlight_noise_grows_in_dark_regions():
    image = flat(0.8, 256)
    image[:, :128] = 0.3
    low = degrade.apply(image, "lowlight", seed=0, luminance=0.1, gamma=1.5)
    dark, bright = low[:, :128], low[:, 128:]
    assert dark.mean() < bright.mean()
    assert dark.std() / dark.mean() > 1.3 * (bright.std() / bright.mean())


@pytest.mark.parametrize("angle", [-25.0, 0.0, 20.0])
def test_rain_adds_brighter_streaks_at_the_requested_angle(angle):
    base = flat(0.3, 256)
    rainy = degrade.apply(base, "rain", seed=0, angle=angle, length=30, width=1.5)
    layer = luminance(rainy - base)
    assert (rainy >= base - 1e-6).all() and layer.mean() > 0.005
    # structure tensor with Gaussian-derivative gradients (plain differences are biased on thin lines)
    gy = gaussian_filter(layer, 1.5, order=(1, 0))
    gx = gaussian_filter(layer, 1.5, order=(0, 1))
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    estimated = np.rad2deg(0.5 * np.arctan2(2 * jxy, jxx - jyy))
    assert abs(estimated - angle) < 5


@pytest.mark.parametrize("kind", [k for k in degrade.KINDS if k != "clean"])
def test_same_seed_same_output_other_seed_other_output(photo, kind):
    a = degrade.apply(photo, kind, seed=11)
    b = degrade.apply(photo, kind, seed=11)
    c = degrade.apply(photo, kind, seed=12)
    assert a.dtype == np.float32 and a.shape == photo.shape
    assert a.min() >= 0 and a.max() <= 1
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_mixture_applies_in_physical_order_with_prefixed_params(photo):
    mixed, params = degrade.apply(
        photo, ["noise", "haze"], seed=0, noise_sigma=15, haze={"beta": 1.0}, return_params=True
    )
    assert list(params) == ["haze", "noise"]
    assert params["noise"]["sigma"] == 15 and params["haze"]["beta"] == 1.0
    hazy = degrade.apply(photo, "haze", seed=0, beta=1.0, airlight=params["haze"]["airlight"])
    # the noise was added on top of the haze: their difference is noise-like, zero-mean
    assert abs(float((mixed - hazy).mean())) < 0.01 and 0.03 < float((mixed - hazy).std()) < 0.09


@pytest.mark.parametrize(
    "image,kind,params,message",
    [
        (flat(), "snow", {}, "unknown degradation 'snow'"),
        (flat(), "noise", {"sigma": -5}, "out of range"),
        (flat(), "noise", {"sigma": "high"}, "must be a number"),
        (flat(), "haze", {"beta": 50}, "out of range"),
        (flat(), "blur", {"kernel": "box"}, "must be one of"),
        (flat(), "noise", {"protocol": "matlab"}, "protocol"),
        (flat(), ["haze", "haze"], {}, "repeat"),
        (flat(), ["haze", "noise"], {"sigma": 5}, "names no degradation"),
        (np.zeros((8, 8), np.float32), "noise", {}, "H×W×3"),
        (np.zeros((8, 8, 3), np.uint8), "noise", {}, "float32"),
        (flat(2.0), "noise", {}, "in \\[0, 1\\]"),
        ([[0.5]], "noise", {}, "numpy array"),
    ],
)
def test_bad_arguments_are_clear_errors(image, kind, params, message):
    with pytest.raises(pipir.PipirError, match=message):
        degrade.apply(image, kind, seed=0, **params)


def test_uint_conversion_round_trips():
    u8 = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    assert np.array_equal(degrade.to_uint(degrade.to_float(u8)), u8)
    u16 = (np.arange(256, dtype=np.uint16) * 257).reshape(16, 16, 1).repeat(3, axis=2)
    assert np.array_equal(degrade.to_uint(degrade.to_float(u16), np.uint16), u16)


def test_jpeg_quality_controls_the_loss_and_clean_changes_nothing(photo):
    low = degrade.apply(photo, "jpeg", seed=0, quality=30)
    high = degrade.apply(photo, "jpeg", seed=0, quality=95)
    assert np.abs(low - photo).mean() > np.abs(high - photo).mean() > 0
    assert np.array_equal(degrade.apply(photo, "clean", seed=0), photo)
    _, params = degrade.apply(photo, "jpeg", seed=5, return_params=True)
    lo, hi = degrade.RANGES["jpeg"]["quality"]
    assert lo <= params["quality"] <= hi


def test_camera_noise_grows_with_the_signal_and_is_correlated_as_asked():
    dark = degrade.apply(flat(0.1, 256), "camera", seed=0, shot=0.01, read=0.005, blur=0, rho=0)
    bright = degrade.apply(flat(0.8, 256), "camera", seed=0, shot=0.01, read=0.005, blur=0, rho=0)
    assert (bright - 0.8).std() == pytest.approx(np.sqrt(0.01 * 0.8 + 0.005**2), rel=0.05)
    assert (dark - 0.1).std() < 0.5 * (bright - 0.8).std()
    white = degrade.apply(flat(0.5, 256), "camera", seed=0, shot=0.01, read=0.01, blur=0, rho=0) - 0.5
    smooth = degrade.apply(flat(0.5, 256), "camera", seed=0, shot=0.01, read=0.01, blur=1.0, rho=0.7) - 0.5
    for n, rho in ((white, 0.0), (smooth, 0.7)):
        assert np.corrcoef(n[..., 0].ravel(), n[..., 2].ravel())[0, 1] == pytest.approx(rho, abs=0.05)
        assert n.std() == pytest.approx(np.sqrt(0.01 * 0.5 + 0.01**2), rel=0.05)
    assert abs(np.corrcoef(white[1:, :, 0].ravel(), white[:-1, :, 0].ravel())[0, 1]) < 0.05
    assert np.corrcoef(smooth[1:, :, 0].ravel(), smooth[:-1, :, 0].ravel())[0, 1] > 0.5


def test_rain_blur_softens_the_streaks():
    sharp = degrade.apply(flat(0.3, 128), "rain", seed=0, blur=0.0)
    soft = degrade.apply(flat(0.3, 128), "rain", seed=0, blur=1.5)
    assert high_frequency_energy(soft) < 0.5 * high_frequency_energy(sharp)
