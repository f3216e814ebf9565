"""The degradations of :mod:`pipir.degrade` for a batch of patches, on whatever device holds them.

Training data made on the CPU one photo at a time cannot keep a GPU busy; these functions degrade a
B×3×H×W float batch in a few tensor operations where the model trains. Each kind has the same model
and the same parameter ranges (``pipir.degrade.RANGES``) as its NumPy twin, takes its parameters as
per-sample tensors, and draws its randomness from one ``torch.Generator``, so a batch is a function
of the generator's seed. Same parameters give the NumPy result within a small tolerance (tested);
the random fields (noise, rain seeds, motion paths) agree in distribution.

:func:`synthesize` turns clean windows and class labels into (degraded, target) training pairs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from pipir.degrade import KIND_OF
from pipir.degrade.common import RANGES
from pipir.models.pip import TASKS

CLASSES = (*TASKS, "clean")  # what the degradation classifier answers
LUMA = (0.299, 0.587, 0.114)


def draw(kind: str, name: str, n: int, g: torch.Generator) -> torch.Tensor:
    """``n`` values of one parameter from its range in ``RANGES`` (uniform, or a choice from a list)."""
    spec = RANGES[kind][name]
    if isinstance(spec, list):
        values = torch.tensor(spec, dtype=torch.float32, device=g.device)
        return values[torch.randint(len(spec), (n,), generator=g, device=g.device)]
    low, high = spec
    return low + (high - low) * torch.rand(n, generator=g, device=g.device)


def _randn(like: torch.Tensor, g: torch.Generator, shape=None) -> torch.Tensor:
    return torch.randn(shape or like.shape, generator=g, device=like.device, dtype=like.dtype)


def _col(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, 1, 1, 1)


def _luma(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of a B×3×H×W batch, B×1×H×W."""
    return (x * torch.tensor(LUMA, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)


def convolve(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolve every channel of sample i with ``kernels[i]`` (n×k×k, k odd); borders reflected, as
    :func:`pipir.degrade.common.fft_convolve` does."""
    n, c, h, w = x.shape
    k = kernels.shape[-1]
    padded = F.pad(x.reshape(1, n * c, h, w), (k // 2,) * 4, mode="reflect")
    weight = kernels.flip(-1, -2).repeat_interleave(c, dim=0)[:, None].to(x.dtype)
    return F.conv2d(padded, weight, groups=n * c).view(n, c, h, w)


def gaussian_kernels(sigma: torch.Tensor, half: int | None = None) -> torch.Tensor:
    """n×k×k Gaussians (scipy's support: 4σ each side unless ``half`` is given); σ ≤ 0.3 gives a delta."""
    half = half if half is not None else int(4 * float(sigma.max()) + 0.5)
    x = torch.arange(-half, half + 1, device=sigma.device, dtype=torch.float32)
    s = sigma.clamp_min(1e-3)[:, None]
    g = torch.exp(-0.5 * (x / s) ** 2) * (x.abs() <= (4 * s + 0.5).floor())
    g = torch.where(sigma[:, None] > 0.3, g, (x == 0).float().expand_as(g))
    g = g / g.sum(1, keepdim=True)
    return g[:, :, None] * g[:, None, :]


# --- the kinds ----------------------------------------------------------------------------------------


def noise(x: torch.Tensor, sigma: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """White Gaussian noise, σ on the 0–255 scale."""
    return (x + _randn(x, g) * _col(sigma / 255.0)).clamp(0, 1)


def correlated_field(x: torch.Tensor, blur: torch.Tensor, rho: torch.Tensor, g: torch.Generator):
    """Unit-variance noise with channel correlation ρ and a Gaussian spatial correlation."""
    n = _randn(x, g)
    shared = _randn(x, g, (x.shape[0], 1, *x.shape[2:]))
    n = _col((1 - rho).sqrt()) * n + _col(rho.sqrt()) * shared
    kernels = gaussian_kernels(blur, half=max(1, int(4 * float(blur.max()) + 0.5)))
    gain = kernels.pow(2).sum((1, 2)).sqrt()
    return convolve(n, kernels) / _col(gain)


def camera(x, shot, read, blur, rho, g):
    """Poisson–Gaussian noise, correlated across channels and neighbours (NumPy twin: ``camera``)."""
    std = (_col(shot) * x + _col(read) ** 2).sqrt()
    return (x + std * correlated_field(x, blur, rho, g)).clamp(0, 1)


def _smooth(x: torch.Tensor, sigma: float) -> torch.Tensor:
    half = int(4 * sigma + 0.5)
    k = gaussian_kernels(torch.tensor([sigma], device=x.device), half)[0]
    row = k.sum(0)
    n, c, h, w = x.shape
    y = F.pad(x.reshape(n * c, 1, h, w), (half, half, 0, 0), mode="replicate")
    y = F.conv2d(y, row.view(1, 1, 1, -1))
    y = F.pad(y, (0, 0, half, half), mode="replicate")
    return F.conv2d(y, row.view(1, 1, -1, 1)).view(n, c, h, w)


def depth_map(x: torch.Tensor) -> torch.Tensor:
    """The haze depth cue of ``pipir.degrade.haze.depth_map`` for each sample: n×1×H×W in [0.1, 1]."""
    n, _, h, w = x.shape
    scale = 32.0 / max(h, w)
    small = (max(1, round(h * scale)), max(1, round(w * scale)))
    dark = F.interpolate(x.amin(1, keepdim=True), size=small, mode="bilinear", align_corners=False)
    dark = _smooth(dark, 1.5)
    vertical = torch.linspace(1.0, 0.0, small[0], device=x.device).view(1, 1, -1, 1)
    cue = 0.6 * vertical + 0.4 * dark
    low = cue.amin((2, 3), keepdim=True)
    cue = (cue - low) / (cue.amax((2, 3), keepdim=True) - low).clamp_min(1e-6)
    return 0.1 + 0.9 * F.interpolate(cue, size=(h, w), mode="bilinear", align_corners=False)


def haze(x: torch.Tensor, beta: torch.Tensor, airlight: torch.Tensor) -> torch.Tensor:
    t = torch.exp(-_col(beta) * depth_map(x))
    return (x * t + _col(airlight) * (1 - t)).clamp(0, 1)


def lowlight(x, luminance, gamma, shot, read, g):
    """Exposure drop along a tone curve, then Poisson–Gaussian sensor noise."""
    curved = x.clamp_min(0) ** _col(gamma)
    luma = _luma(curved)[:, 0].mean((1, 2))
    dark = (curved * _col(luminance / luma.clamp_min(1e-6))).clamp(0, 1)
    std = (_col(shot) * dark + _col(read) ** 2).sqrt()
    return (dark + _randn(x, g) * std).clamp(0, 1)


def tone(x, exposure, gamma, contrast, saturation):
    """A photo's global tone changed as exposure, a tone curve and contrast or saturation settings
    change it: ``exposure·x^γ``, colours towards each pixel's luma, then values towards the mean luma."""
    y = (x.clamp_min(0) ** _col(gamma) * _col(exposure)).clamp(0, 1)
    luma = _luma(y)
    y = luma + _col(saturation) * (y - luma)
    mean = luma.mean((2, 3), keepdim=True)
    return (mean + _col(contrast) * (y - mean)).clamp(0, 1)


def retone(x: torch.Tensor, share: float, g: torch.Generator) -> torch.Tensor:
    """``x`` with a ``share`` of its samples given a random global tone (:func:`tone`, ranges from
    ``RANGES["tone"]``); draws nothing from ``g`` when the share is 0."""
    if share <= 0:
        return x
    chosen = (torch.rand(len(x), generator=g, device=g.device) < share).nonzero().flatten()
    if not chosen.numel():
        return x
    params = [draw("tone", name, chosen.numel(), g) for name in RANGES["tone"]]
    out = x.clone()
    out[chosen] = tone(x[chosen], *params)
    return out


def streak_kernels(length, width, angle, half: int) -> torch.Tensor:
    """n×k×k rain streaks (peak 1), as ``pipir.degrade.rain.streak_kernel``."""
    r = torch.arange(-half, half + 1, device=length.device, dtype=torch.float32)
    y, x = torch.meshgrid(r, r, indexing="ij")
    theta = torch.deg2rad(angle).view(-1, 1, 1)
    ux, uy = torch.sin(theta), -torch.cos(theta)
    along = x * ux + y * uy
    across = -x * uy + y * ux
    profile = torch.exp(-0.5 * (across / (width.view(-1, 1, 1) / 2)) ** 2)
    ends = (length.view(-1, 1, 1) / 2 + 0.5 - along.abs()).clamp(0, 1)
    inside = (x.abs() <= _streak_half(length, width).view(-1, 1, 1)) & (
        y.abs() <= _streak_half(length, width).view(-1, 1, 1)
    )
    return profile * ends * inside


def _streak_half(length: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
    return torch.ceil(length / 2 + 2 * width)


def rain(x, density, length, width, angle, brightness, blur, g):
    """Seeds smeared into streaks, blurred, screen-blended (NumPy twin: ``rain``)."""
    n, _, h, w = x.shape
    seeds = (torch.rand(n, 1, h, w, generator=g, device=x.device) < _col(density)).float()
    seeds = seeds * (0.4 + 0.6 * torch.rand(n, 1, h, w, generator=g, device=x.device))
    half = int(_streak_half(length, width).max())
    layer = convolve(seeds, streak_kernels(length, width, angle, half)).clamp(0, 1)
    layer = convolve(layer, gaussian_kernels(blur, half=max(1, int(4 * float(blur.max()) + 0.5))))
    return 1 - (1 - x) * (1 - _col(brightness) * layer)


def motion_kernels(size: torch.Tensor, g: torch.Generator, k: int = 25, steps: int = 96) -> torch.Tensor:
    """Camera-shake kernels (random walks with inertia and occasional jerks), each scaled into
    ``size`` pixels and splatted bilinearly into a k×k grid (NumPy twin: ``motion_kernel``)."""
    n, dev = size.shape[0], size.device
    velocity = torch.randn(n, 2, generator=g, device=dev)
    velocity = velocity / (velocity.norm(dim=1, keepdim=True) + 1e-8)
    position = torch.zeros(n, 2, device=dev)
    path = []
    for _ in range(steps):
        jerk = (
            (torch.rand(n, 1, generator=g, device=dev) < 0.05)
            * torch.randn(n, 2, generator=g, device=dev)
            * 0.8
        )
        velocity = velocity + torch.randn(n, 2, generator=g, device=dev) * 0.15 - 0.02 * position + jerk
        position = position + velocity / steps * 8
        path.append(position)
    p = torch.stack(path, 1)  # n×steps×2
    p = p - p.mean(1, keepdim=True)
    extent = p.abs().amax((1, 2)) + 1e-8
    side = (size.round().long() | 1).float()
    p = p * ((side - 1) / 2 * (0.6 + 0.4 * torch.rand(n, generator=g, device=dev)) / extent).view(-1, 1, 1)
    p = p + (k - 1) / 2
    x0 = p[..., 0].floor().clamp(0, k - 2)
    y0 = p[..., 1].floor().clamp(0, k - 2)
    fx, fy = p[..., 0] - x0, p[..., 1] - y0
    kernel = torch.zeros(n, k * k, device=dev)
    for dy, dx, wgt in (
        (0, 0, (1 - fx) * (1 - fy)),
        (0, 1, fx * (1 - fy)),
        (1, 0, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        kernel.scatter_add_(1, ((y0 + dy) * k + x0 + dx).long(), wgt)
    kernel = kernel.view(n, k, k)
    return kernel / kernel.sum((1, 2), keepdim=True)


def defocus_kernels(radius: torch.Tensor, k: int = 25) -> torch.Tensor:
    r = torch.arange(k, device=radius.device, dtype=torch.float32) - k // 2
    y, x = torch.meshgrid(r, r, indexing="ij")
    disk = (radius.view(-1, 1, 1) + 0.5 - torch.hypot(x, y)).clamp(0, 1)
    return disk / disk.sum((1, 2), keepdim=True)


def blur_kernels(n: int, g: torch.Generator, k: int = 25) -> torch.Tensor:
    """Kernels drawn as ``pipir.degrade.blur`` draws them: motion, defocus or Gaussian."""
    choices = RANGES["blur"]["kernel"]
    which = torch.randint(len(choices), (n,), generator=g, device=g.device)
    motion = motion_kernels(draw("blur", "size", n, g), g, k)
    defocus = defocus_kernels(draw("blur", "radius", n, g), k)
    gauss = gaussian_kernels(draw("blur", "sigma", n, g), half=k // 2)
    kind = torch.tensor([["motion", "defocus", "gaussian"].index(c) for c in choices], device=g.device)[which]
    return torch.where(_col(kind)[:, 0] == 0, motion, torch.where(_col(kind)[:, 0] == 1, defocus, gauss))


def blur(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    return convolve(x, kernels).clamp(0, 1)


# --- JPEG --------------------------------------------------------------------------------------------

_LUMA_Q = [
    16,
    11,
    10,
    16,
    24,
    40,
    51,
    61,
    12,
    12,
    14,
    19,
    26,
    58,
    60,
    55,
    14,
    13,
    16,
    24,
    40,
    57,
    69,
    56,
    14,
    17,
    22,
    29,
    51,
    87,
    80,
    62,
    18,
    22,
    37,
    56,
    68,
    109,
    103,
    77,
    24,
    35,
    55,
    64,
    81,
    104,
    113,
    92,
    49,
    64,
    78,
    87,
    103,
    121,
    120,
    101,
    72,
    92,
    95,
    98,
    112,
    100,
    103,
    99,
]
_CHROMA_Q = [
    17,
    18,
    24,
    47,
    99,
    99,
    99,
    99,
    18,
    21,
    26,
    66,
    99,
    99,
    99,
    99,
    24,
    26,
    56,
    99,
    99,
    99,
    99,
    99,
    47,
    66,
    99,
    99,
    99,
    99,
    99,
    99,
] + [99] * 32


def quant_tables(quality: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """libjpeg's quality scaling of the standard tables: n×8×8 for luma and chroma."""
    q = quality.round().clamp(1, 100)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q).view(-1, 1, 1)
    tables = []
    for base in (_LUMA_Q, _CHROMA_Q):
        t = torch.tensor(base, dtype=torch.float32, device=quality.device).view(1, 8, 8)
        tables.append(((t * scale + 50) / 100).floor().clamp(1, 255))
    return tables[0], tables[1]


def _dct_matrix(device) -> torch.Tensor:
    i = torch.arange(8, dtype=torch.float32, device=device)
    m = torch.cos((2 * i[None, :] + 1) * i[:, None] * math.pi / 16) * 0.5
    m[0] /= math.sqrt(2)
    return m


def _quantise(plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Blockwise DCT, rounding to the table's steps, inverse DCT (n×H×W, multiples of 8)."""
    n, h, w = plane.shape
    d = _dct_matrix(plane.device)
    blocks = plane.view(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4) - 128
    coef = d @ blocks @ d.T
    t = table.view(n, 1, 1, 8, 8)
    blocks = d.T @ (torch.round(coef / t) * t) @ d + 128
    return blocks.permute(0, 1, 3, 2, 4).reshape(n, h, w)


def jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Baseline JPEG with 4:2:0 chroma (H and W multiples of 16), decoded back to 8-bit levels."""
    v = (x.clamp(0, 1) * 255).round()
    r, gch, b = v[:, 0], v[:, 1], v[:, 2]
    y = 0.299 * r + 0.587 * gch + 0.114 * b
    cb = -0.168736 * r - 0.331264 * gch + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * gch - 0.081312 * b + 128
    luma_t, chroma_t = quant_tables(quality)
    y = _quantise(y, luma_t)
    chroma = F.avg_pool2d(torch.stack([cb, cr], 1), 2)
    chroma = torch.stack([_quantise(chroma[:, i], chroma_t) for i in range(2)], 1)
    chroma = F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False) - 128
    cb, cr = chroma[:, 0], chroma[:, 1]
    rgb = torch.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)
    return rgb.round().clamp(0, 255) / 255


# --- training pairs ----------------------------------------------------------------------------------


def degrade_kind(x: torch.Tensor, kind: str, g: torch.Generator) -> torch.Tensor:
    """Degrade every sample of ``x`` by ``kind`` with parameters drawn from ``RANGES``."""
    n = x.shape[0]
    if kind == "clean":
        return x
    if kind == "blur":
        return blur(x, blur_kernels(n, g))
    names = {
        "noise": ("sigma",),
        "haze": ("beta", "airlight"),
        "camera": ("shot", "read", "blur", "rho"),
        "lowlight": ("luminance", "gamma", "shot", "read"),
        "rain": ("density", "length", "width", "angle", "brightness", "blur"),
    }[kind]
    params = [draw(kind, name, n, g) for name in names]
    function = {"noise": noise, "haze": haze, "camera": camera, "lowlight": lowlight, "rain": rain}[kind]
    return function(x, *params, g) if kind != "haze" else haze(x, *params)


# The order in which two degradations of one sample happen: the scene's (haze, low light), then the
# lens's (blur), then rain on the glass, then the sensor's noise.
MIX_ORDER = ("dehaze", "lowlight", "deblur", "derain", "denoise")


def _degrade_classes(out: torch.Tensor, labels: torch.Tensor, g: torch.Generator, camera_prob: float) -> None:
    """Degrade each sample of ``out`` in place by its class (``labels``: indices into CLASSES, −1
    for none). Denoising samples get camera noise with probability ``camera_prob``."""
    for c, name in enumerate(CLASSES):
        index = (labels == c).nonzero().flatten()
        if index.numel() == 0:
            continue
        if name == "denoise":
            is_camera = torch.rand(index.numel(), generator=g, device=g.device) < camera_prob
            parts = [(index[~is_camera], "noise"), (index[is_camera], "camera")]
        else:
            parts = [(index, KIND_OF.get(name, name))]
        for part, kind in parts:
            if part.numel():
                out[part] = degrade_kind(out[part], kind, g)


def synthesize(
    windows: torch.Tensor,
    labels: torch.Tensor,
    g: torch.Generator,
    margin: int = 0,
    jpeg_prob: float | torch.Tensor = 0.0,
    camera_prob: float = 0.0,
    second: torch.Tensor | None = None,
    deblock: bool = False,
    tone_prob: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(degraded, target) for clean ``windows`` (B×3×H×W in [0, 1]) and ``labels`` (indices into
    ``CLASSES``). ``second`` (task indices, −1 for none) gives a sample a second degradation; the
    two happen in ``MIX_ORDER``. Degradations see ``margin`` pixels of real neighbours, then the
    margin is cut. A share ``jpeg_prob`` of every class (or, as a tensor, ``jpeg_prob[c]`` of class
    c) is then JPEG-compressed (quality from ``RANGES["jpeg"]``); the target is the clean window,
    except for the clean class, whose target is its own (compressed) input, so that a photo with
    nothing to fix is left as it came, or, with ``deblock``, the uncompressed window, so that a JPEG
    photo with nothing else to fix loses its blocks.
    First, a share ``tone_prob`` of the windows gets a random global tone (:func:`retone`), target
    included: photos come pale, dark or muted and intact, so tone alone is no sign of haze or low light.
    """
    windows = retone(windows, tone_prob, g)
    out = windows.clone()
    first = labels
    if second is not None:
        rank = torch.tensor([MIX_ORDER.index(t) for t in TASKS] + [len(MIX_ORDER)], device=labels.device)
        later = (second >= 0) & (rank[second.clamp(min=0)] < rank[labels])
        first, second = torch.where(later, second, labels), torch.where(later, labels, second)
    _degrade_classes(out, first, g, camera_prob)
    if second is not None:
        _degrade_classes(out, second, g, camera_prob)
    if margin:
        out, windows = out[..., margin:-margin, margin:-margin], windows[..., margin:-margin, margin:-margin]
    target = windows.clone()
    share = jpeg_prob.to(labels.device)[labels] if torch.is_tensor(jpeg_prob) else jpeg_prob
    compress = (torch.rand(len(out), generator=g, device=g.device) < share).nonzero().flatten()
    if compress.numel():
        out[compress] = jpeg(out[compress], draw("jpeg", "quality", compress.numel(), g))
    if not deblock:
        is_clean = labels == CLASSES.index("clean")
        target[is_clean] = out[is_clean]
    return out.contiguous(), target.contiguous()
