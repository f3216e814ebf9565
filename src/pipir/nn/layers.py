"""Layers shared by Restormer, NAFNet and the PIP plug-in.

Attribute names follow the official Restormer code (``norm1.body.weight``, ``attn.qkv_dwconv`` ...)
so that official checkpoints load with ``strict=True``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from pipir.nn import banded


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of every pixel of a B×C×H×W tensor.

    ``bias=False`` is Restormer's "BiasFree" norm: the input is scaled by 1/std but not centred.
    """

    def __init__(self, dim: int, bias: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is not None:
            y = F.layer_norm(x.permute(0, 2, 3, 1), self.weight.shape, self.weight, self.bias, self.eps)
            return y.permute(0, 3, 1, 2)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        return x * torch.rsqrt(var + self.eps) * self.weight[:, None, None]


class RestormerNorm(nn.Module):
    """Restormer's wrapper: the norm lives in ``.body`` (the official key layout)."""

    def __init__(self, dim: int, kind: str = "WithBias") -> None:
        super().__init__()
        if kind not in ("WithBias", "BiasFree"):
            raise ValueError(f"layernorm must be 'WithBias' or 'BiasFree', not {kind!r}")
        self.body = ChannelLayerNorm(dim, bias=kind == "WithBias")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _pointwise_depthwise(dim_in: int, dim_out: int, bias: bool) -> tuple[nn.Conv2d, nn.Conv2d]:
    return (
        nn.Conv2d(dim_in, dim_out, 1, bias=bias),
        nn.Conv2d(dim_out, dim_out, 3, padding=1, groups=dim_out, bias=bias),
    )


def conv_part(conv: nn.Conv2d, i: int, parts: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Weight and bias of output-channel group ``i`` of ``parts`` of ``conv``."""
    n = conv.out_channels // parts
    return conv.weight[i * n : (i + 1) * n], None if conv.bias is None else conv.bias[i * n : (i + 1) * n]


def pointwise_depthwise_parts(
    x: torch.Tensor, pointwise: nn.Conv2d, depthwise: nn.Conv2d | None, parts: int, split: bool = False
) -> list[torch.Tensor]:
    """``depthwise(pointwise(x)).chunk(parts, dim=1)``: one 1×1 and one depthwise 3×3 convolution,
    as the papers write them.

    ``split=True`` gives the same numbers computed one channel group at a time, each part a dense
    tensor: chunks of a channels-last tensor are strided views, on which the element-wise ops that
    follow run slower on a CPU. :func:`pipir.device.prepare_model` switches it on for the CPU."""
    if not split:
        y = pointwise(x)
        return list((y if depthwise is None else depthwise(y)).chunk(parts, dim=1))
    n = pointwise.out_channels // parts
    out = []
    for i in range(parts):
        y = F.conv2d(x, *conv_part(pointwise, i, parts))
        if depthwise is not None:
            y = F.conv2d(y, *conv_part(depthwise, i, parts), padding=depthwise.padding, groups=n)
        out.append(y)
    return out


class GatedDconvFFN(nn.Module):
    """Restormer's GDFN: gelu(x1) * x2 after a 1×1 expansion and a depthwise 3×3."""

    def __init__(self, dim: int, expansion: float = 2.66, bias: bool = False) -> None:
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in, self.dwconv = _pointwise_depthwise(dim, hidden * 2, bias)
        self.project_out = nn.Conv2d(hidden, dim, 1, bias=bias)
        self.split_parts = False  # an execution choice of pipir.device.prepare_model, not a weight

    def gate(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return F.gelu(x1) * x2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = pointwise_depthwise_parts(x, self.project_in, self.dwconv, 2, self.split_parts)
        return self.project_out(self.gate(x1, x2))


class DualGateFFN(GatedDconvFFN):
    """The dual-gated FFN of the selective prompt-to-feature block: each half gates the other."""

    def gate(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        g1, g2 = F.gelu(x1), F.gelu(x2)
        if torch.is_grad_enabled():
            return g2 * x1 + g1 * x2
        # Inference: the same sum without two full-size temporaries (2.5× faster at 256², CPU).
        return g2.mul_(x1).addcmul_(g1, x2)


def topm_softmax(logits: torch.Tensor, ks: tuple[int, ...], mix: torch.Tensor) -> torch.Tensor:
    """``Σ_i mix_i · softmax(logits restricted to its top-k_i entries per row)``.

    One descending sort serves every k (the top-k sets are nested), instead of one full top-k pass
    and one masked softmax per k as in the official code: entry of rank r gets
    ``exp(l_r - l_max) · Σ_{i: r < k_i} mix_i / Σ_{s < k_i} exp(l_s - l_max)``.
    """
    kmax = max(ks)
    values, index = logits.sort(dim=-1, descending=True)
    values, index = values[..., :kmax], index[..., :kmax]
    expv = (values - values[..., :1]).exp()
    cumsum = expv.cumsum(dim=-1)
    rank = torch.arange(kmax, device=logits.device)
    rank_weight = torch.zeros_like(expv)
    for i, k in enumerate(ks):
        rank_weight = rank_weight + (rank < k).to(expv.dtype) * (mix[i] / cumsum[..., k - 1 : k])
    return torch.zeros_like(logits).scatter(-1, index, expv * rank_weight)


def topm_sizes(channels_per_head: int) -> tuple[int, ...]:
    """The paper's m: 1/2, 2/3, 3/4 and 4/5 of the channels of a head (at least 1 each)."""
    c = channels_per_head
    return tuple(max(1, int(c * f)) for f in (1 / 2, 2 / 3, 3 / 4, 4 / 5))


def _transposed_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    heads: int,
    temperature: torch.Tensor,
    normalise: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Channel ("transposed") attention: a C/h × C/h map per head, cost linear in H·W.

    ``softmax(temperature · q̂ k̂ᵀ) v`` with q̂, k̂ the rows of q, k (one per channel, over the pixels)
    normalised to unit length. Works on B×C×H×W tensors in either memory layout without copying
    them: each is viewed as (B, heads, H·W, C/h) matrices, and the row norms come from the diagonal
    of q qᵀ (a matrix product) rather than a strided reduction; a channels-last ``v`` gives a
    channels-last result."""
    c, h, w = v.shape[1:]

    def by_head(t: torch.Tensor) -> torch.Tensor:  # q may have batch 1 against a batch of k, v
        return t.permute(0, 2, 3, 1).reshape(t.shape[0], h * w, heads, c // heads).transpose(1, 2)

    def inverse_norms(t: torch.Tensor) -> torch.Tensor:
        squares = (t.transpose(-2, -1) @ t).diagonal(dim1=-2, dim2=-1)
        squares = squares.float() if squares.element_size() < 4 else squares  # bf16 under autocast
        return squares.sqrt().clamp_min(1e-12).reciprocal()  # F.normalize's eps

    q, k, v = by_head(q), by_head(k), by_head(v)
    scale = inverse_norms(q)[..., :, None] * inverse_norms(k)[..., None, :]
    logits = (q.transpose(-2, -1) @ k) * scale * temperature
    attn = logits.softmax(dim=-1) if normalise is None else normalise(logits)
    if v.stride(-2) == 1:  # B×C×H×W layout
        out = attn.to(v.dtype) @ v.transpose(-2, -1)
        return out.reshape(out.shape[0], c, h, w)
    out = v @ attn.to(v.dtype).transpose(-2, -1)  # B, heads, H·W, C/h
    return out.transpose(1, 2).reshape(out.shape[0], h, w, c).permute(0, 3, 1, 2)


class ChannelAttention(nn.Module):
    """Restormer's MDTA (multi-Dconv head transposed attention) on one input."""

    def __init__(self, dim: int, heads: int, bias: bool = False) -> None:
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv, self.qkv_dwconv = _pointwise_depthwise(dim, dim * 3, bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)
        self.split_parts = False  # an execution choice of pipir.device.prepare_model, not a weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = pointwise_depthwise_parts(x, self.qkv, self.qkv_dwconv, 3, self.split_parts)
        return self.project_out(_transposed_attention(q, k, v, self.heads, self.temperature))


class TransformerBlock(nn.Module):
    """Restormer's block: pre-norm MDTA then pre-norm GDFN, both residual."""

    def __init__(self, dim: int, heads: int, ffn_expansion: float, bias: bool, layernorm: str) -> None:
        super().__init__()
        self.norm1 = RestormerNorm(dim, layernorm)
        self.attn = ChannelAttention(dim, heads, bias)
        self.norm2 = RestormerNorm(dim, layernorm)
        self.ffn = GatedDconvFFN(dim, ffn_expansion, bias)
        self.band_rows: int | None = None  # an execution choice of pipir.device.prepare_model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if banded.applies(self.band_rows, x):
            return banded.block_forward(self, x, self.band_rows)
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class CrossChannelAttention(nn.Module):
    """Channel attention with the query from one tensor and key/value from another.

    ``q_in`` channels → ``dim`` for the query, ``kv_in`` → ``dim`` for key and value, output projected
    to ``out`` channels. A query of batch 1 broadcasts against key/value of batch B (a learned prompt
    as the query is computed once, not B times). ``topm=True`` keeps only the top-m entries of each
    row of the attention map for several m and mixes the results with learned scalars.
    """

    def __init__(
        self,
        q_in: int,
        kv_in: int,
        dim: int,
        out: int,
        heads: int,
        bias: bool = False,
        topm: bool = False,
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.q, self.q_dwconv = _pointwise_depthwise(q_in, dim, bias)
        self.kv, self.kv_dwconv = _pointwise_depthwise(kv_in, dim * 2, bias)
        self.project_out = nn.Conv2d(dim, out, 1, bias=bias)
        self.topm = topm_sizes(dim // heads) if topm else None
        # Official init of the four mixing scalars: 0.2 each.
        self.topm_mix = nn.Parameter(torch.full((4,), 0.2)) if topm else None
        # Set record_map to keep the last attention map (B×heads×rows×cols) in attention_map, for
        # `pipir explain` to show which prompt channels each feature channel attends to.
        self.record_map = False
        self.attention_map: torch.Tensor | None = None
        self.split_parts = False  # an execution choice of pipir.device.prepare_model, not a weight

    def _normalise(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax over each row, or the top-m mixture of softmaxes; recorded when asked."""
        attn = logits.softmax(dim=-1) if self.topm is None else topm_softmax(logits, self.topm, self.topm_mix)
        if self.record_map:
            self.attention_map = attn.detach()
        return attn

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor) -> torch.Tensor:
        q = self.q_dwconv(self.q(x_q))
        k, v = pointwise_depthwise_parts(x_kv, self.kv, self.kv_dwconv, 2, self.split_parts)
        normalise = self._normalise if self.topm is not None or self.record_map else None
        return self.project_out(_transposed_attention(q, k, v, self.heads, self.temperature, normalise))


class CrossTransformerBlock(nn.Module):
    """Pre-norm cross-attention + pre-norm GDFN, residual on the query (the prompt-to-prompt block)."""

    def __init__(self, dim: int, heads: int, ffn_expansion: float = 2.66, bias: bool = False) -> None:
        super().__init__()
        self.norm_q = RestormerNorm(dim)
        self.norm_kv = RestormerNorm(dim)
        self.attn = CrossChannelAttention(dim, dim, dim, dim, heads, bias)
        self.norm2 = RestormerNorm(dim)
        self.ffn = GatedDconvFFN(dim, ffn_expansion, bias)

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor) -> torch.Tensor:
        x = x_q + self.attn(self.norm_q(x_q), self.norm_kv(x_kv))
        return x + self.ffn(self.norm2(x))
