"""The batched torch degradations agree with their NumPy twins: the same image for the same
parameters where the model is deterministic, the same statistics where it draws random fields."""

import numpy as np
import pytest
import skimage.data
import torch

from pipir import degrade
from pipir.degrade import batch as B
from pipir.degrade.blur import motion_kernel
from pipir.degrade.common import fft_convolve
from pipir.degrade.rain import streak_kernel


@pytest.fixture(scope="module")
def photo():
    return degrade.to_float(skimage.data.astronaut()[100:228, 150:278])


def tensor(image):
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]


def array(x):
    return x[0].permute(1, 2, 0).numpy()


def db(a, b):
    return float(-10 * np.log10(np.mean((np.asarray(a) - np.asarray(b)) ** 2) + 1e-12))


def t(*values):
    return torch.tensor(values, dtype=torch.float32)


def test_haze_matches_numpy(photo):
    expected = degrade.apply(photo, "haze", seed=0, beta=1.3, airlight=0.85)
    assert db(expected, array(B.haze(tensor(photo), t(1.3), t(0.85)))) > 60


def test_lowlight_without_noise_matches_numpy(photo):
    expected = degrade.apply(photo, "lowlight", seed=0, luminance=0.08, gamma=1.6, shot=0, read=0)
    out = B.lowlight(tensor(photo), t(0.08), t(1.6), t(0.0), t(0.0), torch.Generator().manual_seed(0))
    assert db(expected, array(out)) > 60


def test_blur_with_the_same_kernel_matches_numpy(photo):
    k = motion_kernel(21, np.random.default_rng(3))
    padded = torch.zeros(1, 25, 25)
    padded[0, 2:23, 2:23] = torch.from_numpy(k)
    assert db(np.clip(fft_convolve(photo, k), 0, 1), array(B.blur(tensor(photo), padded))) > 60


@pytest.mark.parametrize("length,width,angle", [(20, 2.0, 15.0), (33, 1.2, -28.0)])
def test_streak_kernels_match_numpy(length, width, angle):
    expected = torch.from_numpy(streak_kernel(length, width, angle))
    half = expected.shape[0] // 2
    assert torch.allclose(B.streak_kernels(t(length), t(width), t(angle), half)[0], expected, atol=1e-5)


@pytest.mark.parametrize("quality", [30, 60, 95])
def test_jpeg_is_close_to_libjpeg_and_loses_as_much(photo, quality):
    pil = degrade.apply(photo, "jpeg", seed=0, quality=quality)
    ours = array(B.jpeg(tensor(photo), t(quality)))
    assert db(pil, ours) > 40
    assert abs(db(pil, photo) - db(ours, photo)) < 0.5
    assert np.allclose(ours * 255, np.round(ours * 255), atol=1e-4)  # 8-bit levels


def test_noise_and_camera_noise_statistics_match_numpy():
    flat = np.full((96, 96, 3), 0.5, np.float32)
    g = torch.Generator().manual_seed(0)
    params = dict(shot=0.006, read=0.02, blur=0.9, rho=0.6)
    ref = np.stack([degrade.apply(flat, "camera", seed=s, **params) for s in range(8)]) - 0.5
    ours = B.camera(torch.full((8, 3, 96, 96), 0.5), *(t(v).expand(8) for v in params.values()), g) - 0.5
    ours = ours.permute(0, 2, 3, 1).numpy()
    expected_std = np.sqrt(0.006 * 0.5 + 0.02**2)
    for n in (ref, ours):
        assert n.std() == pytest.approx(expected_std, rel=0.05)
        channels = np.corrcoef(n[..., 0].ravel(), n[..., 1].ravel())[0, 1]
        assert channels == pytest.approx(0.6, abs=0.05)
    neighbours = [np.corrcoef(n[:, :, 1:, 0].ravel(), n[:, :, :-1, 0].ravel())[0, 1] for n in (ref, ours)]
    assert neighbours[0] > 0.3 and neighbours[0] == pytest.approx(neighbours[1], abs=0.05)
    white = B.noise(torch.full((4, 3, 96, 96), 0.5), t(25, 25, 25, 25), g) - 0.5
    assert float(white.std()) * 255 == pytest.approx(25, rel=0.03)


def test_rain_statistics_match_numpy():
    flat = np.full((128, 128, 3), 0.4, np.float32)
    params = dict(density=0.006, length=24.0, width=1.5, angle=12.0, brightness=0.8, blur=0.8)
    ref = np.stack([degrade.apply(flat, "rain", seed=s, **params) for s in range(16)])
    g = torch.Generator().manual_seed(0)
    ours = B.rain(torch.full((16, 3, 128, 128), 0.4), *(t(v).expand(16) for v in params.values()), g)
    assert float(ours.mean()) == pytest.approx(ref.mean(), rel=0.03)
    assert float(ours.std()) == pytest.approx(ref.std(), rel=0.08)
    assert float(ours.min()) >= 0.4 - 1e-6  # rain only brightens


def test_motion_kernels_are_normalised_and_as_long_as_numpys():
    g = torch.Generator().manual_seed(0)
    ours = B.motion_kernels(t(*[21.0] * 64), g)
    assert torch.allclose(ours.sum((1, 2)), torch.ones(64), atol=1e-5)
    rng = np.random.default_rng(0)
    ref = [motion_kernel(21, rng) for _ in range(64)]

    def spread(k):  # second moment of the kernel about its centre of mass
        y, x = np.mgrid[: k.shape[0], : k.shape[1]]
        cy, cx = (k * y).sum(), (k * x).sum()
        return float((k * ((y - cy) ** 2 + (x - cx) ** 2)).sum())

    expected = np.mean([spread(k) for k in ref])
    assert np.mean([spread(k.numpy()) for k in ours]) == pytest.approx(expected, rel=0.2)


def test_drawn_parameters_stay_in_their_ranges():
    g = torch.Generator().manual_seed(0)
    for kind in ("rain", "haze", "camera", "lowlight", "jpeg", "tone"):
        for name, spec in degrade.RANGES[kind].items():
            values = B.draw(kind, name, 500, g)
            assert spec[0] <= float(values.min()) and float(values.max()) <= spec[1]
    sigmas = B.draw("noise", "sigma", 500, g)
    assert set(sigmas.tolist()) == set(map(float, degrade.RANGES["noise"]["sigma"]))


def test_synthesize_is_seeded_cuts_the_margin_and_keeps_clean_targets(photo):
    windows = tensor(photo).repeat(12, 1, 1, 1)
    labels = torch.arange(12) % len(B.CLASSES)

    def run(seed, **kw):
        return B.synthesize(windows, labels, torch.Generator().manual_seed(seed), margin=16, **kw)

    (a, ta), (b, _), (c, _) = run(1, jpeg_prob=0.5), run(1, jpeg_prob=0.5), run(2, jpeg_prob=0.5)
    assert a.shape == ta.shape == (12, 3, 96, 96)
    assert torch.equal(a, b) and not torch.equal(a, c)
    inner = windows[..., 16:-16, 16:-16]
    is_clean = labels == B.CLASSES.index("clean")
    assert torch.equal(ta[is_clean], a[is_clean])  # the clean class's target is its own input
    assert torch.equal(ta[~is_clean], inner[~is_clean])
    degraded, _ = run(3)
    changed = (degraded - inner).abs().flatten(1).mean(1) > 1e-3
    assert changed.tolist() == (~is_clean).tolist()  # every task changes its image, clean does not
    compressed, target = run(4, jpeg_prob=1.0)
    assert torch.allclose(compressed * 255, (compressed * 255).round(), atol=1e-3)
    assert torch.equal(target[is_clean], compressed[is_clean])
    blocky, deblock_target = run(4, jpeg_prob=1.0, deblock=True)
    assert torch.equal(blocky, compressed)  # the same samples; only the clean class's target differs
    assert torch.equal(deblock_target, inner)  # every target uncompressed, the clean class's too
    assert (blocky[is_clean] - inner[is_clean]).abs().mean() > 1e-3


def test_tone_is_identity_at_neutral_settings_and_moves_each_setting_its_way(photo):
    x = tensor(photo)
    one = torch.ones(1)
    assert torch.allclose(B.tone(x, one, one, one, one), x, atol=1e-6)
    luma = (x * torch.tensor(B.LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
    dark = B.tone(x, one * 0.6, one * 1.3, one, one)
    assert dark.mean() < 0.7 * x.mean()
    pale = B.tone(x, one, one, one * 0.6, one)
    assert float(pale.std()) == pytest.approx(0.6 * float(x.std()), rel=0.05)  # nothing clipped
    grey = B.tone(x, one, one, one, torch.zeros(1))
    assert torch.allclose(grey, luma.expand_as(x).clamp(0, 1), atol=1e-6)


def test_synthesize_retones_a_share_of_windows_targets_included(photo):
    windows = tensor(photo).repeat(12, 1, 1, 1)
    labels = torch.arange(12) % len(B.CLASSES)
    is_clean = labels == B.CLASSES.index("clean")

    def run(**kw):
        return B.synthesize(windows, labels, torch.Generator().manual_seed(5), margin=16, **kw)

    plain, plain_target = run()
    same, same_target = run(tone_prob=0.0)
    assert torch.equal(plain, same) and torch.equal(plain_target, same_target)  # no draws at share 0
    toned, target = run(tone_prob=1.0)
    inner = windows[..., 16:-16, 16:-16]
    moved = (target - inner).abs().flatten(1).mean(1) > 1e-3
    assert moved.all()  # every target is its retoned window, not the photo as it came
    assert torch.equal(toned[is_clean], target[is_clean])  # an intact retoned photo is left as it is
    half, half_target = run(tone_prob=0.5)
    share = ((half_target - inner).abs().flatten(1).mean(1) > 1e-3).float().mean()
    assert 0 < share < 1


def test_synthesize_compresses_each_class_by_its_own_share(photo):
    """A per-class ``jpeg_prob`` (data.jpeg_by_class) leaves a class with share 0 exactly as without
    JPEG and compresses a class with share 1; the same share for every class makes the same batch
    as the plain number (same random draws, so runs with the default stay as they were)."""
    windows = tensor(photo).repeat(12, 1, 1, 1)
    labels = torch.arange(12) % len(B.CLASSES)

    def run(share):
        return B.synthesize(windows, labels, torch.Generator().manual_seed(5), margin=16, jpeg_prob=share)

    plain, _ = run(0.0)
    denoise = labels == B.CLASSES.index("denoise")
    shares = torch.ones(len(B.CLASSES))
    shares[B.CLASSES.index("denoise")] = 0.0
    mixed, _ = run(shares)
    assert torch.equal(mixed[denoise], plain[denoise])
    assert ((mixed[~denoise] - plain[~denoise]).abs().flatten(1).amax(1) > 1e-3).all()
    assert torch.equal(run(torch.full((len(B.CLASSES),), 0.4))[0], run(0.4)[0])
