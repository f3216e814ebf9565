"""Restormer's block and PIP's prompt-to-feature block computed a band of rows at a time
(inference on a CPU).

The same numbers as the layers' own ``forward`` (up to the order of floating-point sums), in less
memory traffic: computed whole, a block writes and reads back several full-size tensors (the
1×1 expansion, its depthwise 3×3, the gate, q, k and v), each many times the size of a CPU's
caches. A band of rows keeps them small:

- the 1×1 and depthwise 3×3 convolutions are local, so a band needs only its own rows plus a halo
  of one row (the depthwise padding) above and below, cut off again after the depthwise;
- the channel attention is global, but only through the small ``heads × C/h × C/h`` map
  ``q kᵀ`` and the row norms of q and k, which are sums over pixels: a first pass adds them up band
  by band (q and k are never whole), a second computes v, ``attention · v`` and the output
  projection band by band. The same holds for PIP's top-m cross attention (q from the skip
  feature, k and v from the prompt).

:func:`pipir.device.prepare_model` switches it on for the CPU (the layers' ``band_rows``); the
layers call :func:`block_forward` / :func:`prompt_to_feature_forward` where :func:`applies` says
so.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from pipir.nn import layers  # used at call time: layers imports this module while it loads

Rows = tuple[int, int, int, int]  # band start, band end, halo start, halo end
Normalise = Callable[[torch.Tensor], torch.Tensor]  # attention logits → weights
HALO = 1  # rows above and below a band that its depthwise 3×3 convolutions read


def applies(rows: int | None, x: torch.Tensor) -> bool:
    """Whether a layer with ``band_rows = rows`` computes ``x`` in bands: only when it is taller
    than one band, without autograd (the bands are written into one output), and not while a
    graph is traced for export (the bands' count would be fixed to the traced size)."""
    tracing = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
    return bool(rows) and x.shape[-2] > rows and not torch.is_grad_enabled() and not tracing


def bands(height: int, rows: int, halo: int) -> list[Rows]:
    """Bands of ``rows`` rows covering ``height`` once, each with the rows it reads: its own
    widened by ``halo`` above and below, within the image."""
    return [
        (top, min(height, top + rows), max(0, top - halo), min(height, top + rows + halo))
        for top in range(0, height, rows)
    ]


def expand(
    x: torch.Tensor, band: Rows, pointwise: nn.Conv2d, depthwise: nn.Conv2d, i: int, parts: int
) -> torch.Tensor:
    """Part ``i`` of ``parts`` of ``depthwise(pointwise(x))`` on the band's rows, from ``x`` holding
    the band's halo rows. The depthwise convolution pads with zeros: right at the image's top and
    bottom, and wrong only on halo rows, which are cut off."""
    top, end, h0, _ = band
    if depthwise.padding != (HALO, HALO):
        raise ValueError(f"banded layers need a depthwise 3×3 with padding {HALO}, not {depthwise.padding}")
    y = F.conv2d(x, *layers.conv_part(pointwise, i, parts))
    n = y.shape[1]
    y = F.conv2d(y, *layers.conv_part(depthwise, i, parts), padding=depthwise.padding, groups=n)
    return y[:, :, top - h0 : end - h0]


def ffn_forward(ffn: nn.Module, x: torch.Tensor, rows: int, norm: nn.Module) -> torch.Tensor:
    """``x + ffn(norm(x))``; ``ffn`` a GatedDconvFFN or DualGateFFN (its ``gate`` is kept)."""
    out = torch.empty_like(x)
    for band in bands(x.shape[2], rows, HALO):
        top, end, h0, h1 = band
        xb = x[:, :, h0:h1]
        xn = norm(xb)
        x1, x2 = (expand(xn, band, ffn.project_in, ffn.dwconv, i, 2) for i in range(2))
        out[:, :, top:end] = ffn.project_out(ffn.gate(x1, x2)).add_(xb[:, :, top - h0 : end - h0])
    return out


def _by_head(t: torch.Tensor, heads: int) -> torch.Tensor:
    b, c, h, w = t.shape
    return t.permute(0, 2, 3, 1).reshape(b, h * w, heads, c // heads).transpose(1, 2)


QK = Callable[[Rows], tuple[torch.Tensor, torch.Tensor]]


def attention_map(attn: nn.Module, height: int, rows: int, qk: QK, normalise: Normalise) -> torch.Tensor:
    """First pass: ``normalise(temperature · q̂ k̂ᵀ)`` (B × heads × C/h × C/h), from sums over bands;
    ``qk(band)`` gives the band's q and k, q̂ and k̂ are their rows normalised to unit length."""
    gram = squares_q = squares_k = 0
    for band in bands(height, rows, HALO):
        q, k = (_by_head(t, attn.heads) for t in qk(band))
        gram = gram + (q.transpose(-2, -1) @ k).float()  # bf16 under autocast, as unbanded
        squares_q = squares_q + q.float().square().sum(dim=-2)
        squares_k = squares_k + k.float().square().sum(dim=-2)

    def inverse(squares: torch.Tensor) -> torch.Tensor:
        return squares.sqrt().clamp_min(1e-12).reciprocal()  # F.normalize's eps

    scale = inverse(squares_q)[..., :, None] * inverse(squares_k)[..., None, :]
    return normalise(gram * scale * attn.temperature)


def attend(
    attn: nn.Module,
    residual: torch.Tensor,
    rows: int,
    qk: QK,
    v: Callable[[Rows], torch.Tensor],
    normalise: Normalise,
) -> torch.Tensor:
    """``residual + attn(...)`` for a channel attention whose q, k and v of a band are ``qk(band)``
    and ``v(band)``: the map from a first pass, then ``map · v`` and the projection band by band."""
    weights = attention_map(attn, residual.shape[2], rows, qk, normalise)
    out = torch.empty_like(residual)
    for band in bands(residual.shape[2], rows, HALO):
        vb = v(band)
        b, c, h, w = vb.shape
        mixed = _by_head(vb, attn.heads) @ weights.to(vb.dtype).transpose(-2, -1)  # B, heads, h·w, C/h
        mixed = mixed.transpose(1, 2).reshape(b, h, w, c).permute(0, 3, 1, 2)
        top, end = band[:2]
        out[:, :, top:end] = attn.project_out(mixed).add_(residual[:, :, top:end])
    return out


def block_forward(block: nn.Module, x: torch.Tensor, rows: int) -> torch.Tensor:
    """Restormer's ``TransformerBlock``: ``x + attn(norm1(x))``, then ``+ ffn(norm2(·))``."""
    attn = block.attn

    def part(band: Rows, i: int) -> torch.Tensor:
        return expand(block.norm1(x[:, :, band[2] : band[3]]), band, attn.qkv, attn.qkv_dwconv, i, 3)

    def qk(band: Rows) -> tuple[torch.Tensor, torch.Tensor]:
        xn = block.norm1(x[:, :, band[2] : band[3]])
        return tuple(expand(xn, band, attn.qkv, attn.qkv_dwconv, i, 3) for i in range(2))

    y = attend(attn, x, rows, qk, lambda band: part(band, 2), lambda logits: logits.softmax(dim=-1))
    return ffn_forward(block.ffn, y, rows, block.norm2)


def prompt_to_feature_forward(block: nn.Module, feature: torch.Tensor, prompt: torch.Tensor, rows: int):
    """PIP's prompt-to-feature block: ``x = feature + attn(norm_q(feature), norm_kv(prompt))`` (the
    top-m cross attention), then ``x + ffn(norm2(x))``."""
    attn = block.attn

    def kv(band: Rows, i: int) -> torch.Tensor:
        return expand(block.norm_kv(prompt[:, :, band[2] : band[3]]), band, attn.kv, attn.kv_dwconv, i, 2)

    def qk(band: Rows) -> tuple[torch.Tensor, torch.Tensor]:
        q = expand(block.norm_q(feature[:, :, band[2] : band[3]]), band, attn.q, attn.q_dwconv, 0, 1)
        return q, kv(band, 0)

    x = attend(attn, feature, rows, qk, lambda band: kv(band, 1), attn._normalise)
    return ffn_forward(block.ffn, x, rows, block.norm2)
