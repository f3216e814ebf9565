"""The Prompt-In-Prompt plug-in (Li et al., arXiv 2312.05038) for the skip connections of a U-Net.

Per skip level (feature F, B×C×H×W) and prompt weights w (B×K):

1. degradation-aware prompt  P_d = Σ_k w_k · bank_k                      (B×D)
2. basic restoration prompt  P_b                                         (1×D×S×S, shared by all tasks)
3. prompt-to-prompt          P_u = conv3×3(resize_HW(CrossBlock(q=P_b, kv=P_d ⊙ align(resize_SS(F)))))
4. prompt-to-feature         F' = F + TopM-CrossAttn(q=F, kv=P_u);  F' = F' + DualGateFFN(F')

Only F' replaces the skip feature; the backbone is untouched, so its pretrained weights load as they
are. See ``docs/deviations.md`` for where this differs from the official code, and why.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from pipir.errors import PipirError
from pipir.nn import CrossChannelAttention, CrossTransformerBlock, DualGateFFN, RestormerNorm, banded

TASKS: tuple[str, ...] = ("denoise", "derain", "dehaze", "deblur", "lowlight")


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if not torch.onnx.is_in_onnx_export() and tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@functools.lru_cache(maxsize=64)
def _interpolation_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """``n_out × n_in`` weights of 1-D linear resizing exactly as ``F.interpolate`` computes them
    (align_corners=False, no antialias); bilinear 2-D resizing is this along rows and columns."""
    src = ((torch.arange(n_out, dtype=torch.float64) + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
    i0 = src.floor().long().clamp(max=n_in - 1)
    i1 = (i0 + 1).clamp(max=n_in - 1)
    lam = (src - i0).to(torch.float32)
    m = torch.zeros(n_out, n_in)
    rows = torch.arange(n_out)
    m.index_put_((rows, i0), 1 - lam, accumulate=True)
    m.index_put_((rows, i1), lam, accumulate=True)
    return m


def resize_part(x: torch.Tensor, size: tuple[int, int], rows: tuple[int, int], cols: tuple[int, int]):
    """Rows ``rows`` and columns ``cols`` (half-open ranges) of ``x`` resized to ``size``, without
    computing the rest: a tile's share of a prompt resized to the whole image."""
    ry = _interpolation_matrix(x.shape[-2], size[0])[rows[0] : rows[1]].to(x)
    rx = _interpolation_matrix(x.shape[-1], size[1])[cols[0] : cols[1]].to(x)
    return ry @ x @ rx.t()


def sample_part(part: torch.Tensor, size: tuple[int, int], origin: tuple[int, int], out: int) -> torch.Tensor:
    """What ``part`` — the block of a ``size`` map whose top-left corner is at ``origin`` —
    contributes to that whole map resized to ``out × out``. Summed over blocks that tile the map,
    this equals ``_resize(map, (out, out))``."""
    (t, s), (h, w) = origin, part.shape[-2:]
    ry = _interpolation_matrix(size[0], out)[:, t : t + h].to(part)
    rx = _interpolation_matrix(size[1], out)[:, s : s + w].to(part)
    return ry @ part @ rx.t()


class PromptGenerator(nn.Module):
    """Steps 1–3: the universal restoration prompt P_u (B×D×H×W) for one skip level."""

    def __init__(
        self,
        channels: int,
        prompt_dim: int,
        prompt_size: int,
        num_tasks: int = len(TASKS),
        heads: int = 2,
        ffn_expansion: float = 2.66,
        prompt_to_prompt: bool = True,
        conv_at_prompt_size: bool = False,
    ) -> None:
        super().__init__()
        self.prompt_size = prompt_size
        self.conv_at_prompt_size = conv_at_prompt_size
        self.task_prompts = nn.Parameter(torch.randn(num_tasks, prompt_dim))
        self.basic_prompt = nn.Parameter(torch.randn(1, prompt_dim, prompt_size, prompt_size))
        self.prompt_to_prompt = prompt_to_prompt
        if prompt_to_prompt:
            # A learned 1×1 map aligns C to D (the official code zero-pads, leaving prompt channels
            # that modulate nothing); it runs at S×S, so it costs next to nothing.
            self.align = (
                nn.Identity() if channels == prompt_dim else nn.Conv2d(channels, prompt_dim, 1, bias=False)
            )
            self.interaction = CrossTransformerBlock(prompt_dim, heads, ffn_expansion)
        self.out_conv = nn.Conv2d(prompt_dim, prompt_dim, 3, padding=1, bias=False)

    def degradation_prompt(self, weights: torch.Tensor) -> torch.Tensor:
        """P_d = Σ_k w_k · bank_k: a one-hot weight selects one prompt as it is (no 1/K)."""
        return (weights.to(self.task_prompts.dtype) @ self.task_prompts)[:, :, None, None]

    def universal(self, sampled: torch.Tensor | None, weights: torch.Tensor) -> torch.Tensor:
        """P_u at S×S (before the resize to H×W) from the skip feature resized to S×S."""
        p_d = self.degradation_prompt(weights)
        if not self.prompt_to_prompt:  # ablation: the two prompts combined without interaction
            return self.basic_prompt * p_d
        return self.interaction(self.basic_prompt, p_d * self.align(sampled))

    def expand(
        self, universal: torch.Tensor, size: tuple[int, int], window: tuple[int, int, int, int] | None = None
    ) -> torch.Tensor:
        """P_u resized to a ``size`` feature map; with ``window = (top, left, h, w)`` only that part
        of it (a tile's share of the whole image's prompt, equal to cropping the whole one)."""
        if self.conv_at_prompt_size:  # proposal: same weights, S×S instead of H×W positions
            universal = self.out_conv(universal)
            if window is None:
                return _resize(universal, size)
            top, left, h, w = window
            return resize_part(universal, size, (top, top + h), (left, left + w))
        if window is None:
            return self.out_conv(_resize(universal, size))
        # The 3×3 convolution needs a one-pixel halo: resized values inside the map, zeros outside
        # (the convolution's own zero padding at the borders of the whole map).
        top, left, h, w = window
        r0, r1 = max(top - 1, 0), min(top + h + 1, size[0])
        c0, c1 = max(left - 1, 0), min(left + w + 1, size[1])
        part = resize_part(universal, size, (r0, r1), (c0, c1))
        part = F.pad(part, (c0 - left + 1, left + w + 1 - c1, r0 - top + 1, top + h + 1 - r1))
        return F.conv2d(part, self.out_conv.weight, self.out_conv.bias)

    def forward(self, feature: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        s = self.prompt_size
        sampled = _resize(feature, (s, s)) if self.prompt_to_prompt else None
        return self.expand(self.universal(sampled, weights), feature.shape[-2:])


class PromptToFeature(nn.Module):
    """Step 4: skip feature as query, universal prompt as key/value, top-m channel attention.

    The residual is the raw skip feature, so a zero output projection makes the block an exact
    identity (``passthrough``) and a pretrained backbone starts from its own behaviour.
    """

    def __init__(
        self,
        channels: int,
        prompt_dim: int,
        heads: int = 4,
        ffn_expansion: float = 2.66,
        topm: bool = True,
    ) -> None:
        super().__init__()
        self.norm_q = RestormerNorm(channels)
        self.norm_kv = RestormerNorm(prompt_dim)
        self.attn = CrossChannelAttention(channels, prompt_dim, prompt_dim, channels, heads, topm=topm)
        self.norm2 = RestormerNorm(channels)
        self.ffn = DualGateFFN(channels, ffn_expansion)
        self.band_rows: int | None = None  # an execution choice of pipir.device.prepare_model

    def forward(self, feature: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        if banded.applies(self.band_rows, feature):
            return banded.prompt_to_feature_forward(self, feature, prompt, self.band_rows)
        x = feature + self.attn(self.norm_q(feature), self.norm_kv(prompt))
        return x + self.ffn(self.norm2(x))


class PIPBlock(nn.Module):
    """The plug-in for one skip level: ``block(skip, weights) -> skip'`` with the same shape.

    ``channels`` is the skip's channel count; ``prompt_dim`` (D) and ``prompt_size`` (S) size the
    prompts (paper: D = 4C/3, S = half the training patch at that level).
    """

    def __init__(
        self,
        channels: int,
        prompt_dim: int | None = None,
        prompt_size: int = 16,
        num_tasks: int = len(TASKS),
        p2p_heads: int = 2,
        p2f_heads: int = 4,
        ffn_expansion: float = 2.66,
        topm: bool = True,
        prompt_to_prompt: bool = True,
        conv_at_prompt_size: bool = False,
        passthrough: bool = False,
    ) -> None:
        super().__init__()
        if prompt_dim is None:
            prompt_dim = default_prompt_dim(channels)
        self.num_tasks = num_tasks
        self.prompt = PromptGenerator(
            channels,
            prompt_dim,
            prompt_size,
            num_tasks,
            p2p_heads,
            ffn_expansion,
            prompt_to_prompt,
            conv_at_prompt_size,
        )
        self.to_feature = PromptToFeature(channels, prompt_dim, p2f_heads, ffn_expansion, topm)
        if passthrough:
            nn.init.zeros_(self.to_feature.attn.project_out.weight)
            nn.init.zeros_(self.to_feature.ffn.project_out.weight)

    def forward(self, feature: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return self.to_feature(feature, self.prompt(feature, weights))

    def prompt_regularization(self, kind: str = "angle") -> torch.Tensor:
        """Keeps the K degradation-aware prompts apart (official: weight 0.01 inside, ×0.002 outside).

        ``angle``: Σ_{i<j} relu(cos(p_i, p_j)); ``cosine``: Σ_{i,j} |cos(p_i, p_j) − δ_ij|.
        """
        p = F.normalize(self.prompt.task_prompts, dim=1)
        cos = p @ p.t()
        if kind == "angle":
            i, j = torch.triu_indices(len(p), len(p), offset=1, device=p.device)
            return F.relu(cos[i, j]).sum()
        if kind == "cosine":
            return (cos - torch.eye(len(p), device=p.device, dtype=p.dtype)).abs().sum()
        raise PipirError(f"unknown prompt regularization {kind!r}: use 'angle' or 'cosine'")


def default_prompt_dim(channels: int) -> int:
    """4C/3 rounded up to a multiple of 4 (48 → 64, 96 → 128, 192 → 256, the paper's sizes)."""
    return -(-channels * 4 // 12) * 4


def task_weights(spec, batch: int | None = None, tasks: tuple[str, ...] = TASKS) -> torch.Tensor:
    """Prompt weights (B×K) from a task name, an index, a mixture dict, a list of those, or a tensor.

    ``"derain"`` → one-hot; ``{"dehaze": 0.5, "denoise": 0.5}`` → that mixture; ``[...]`` → one row
    per sample; ``batch`` repeats a single spec. Rows are checked and normalised to sum 1.
    """
    if isinstance(spec, torch.Tensor):
        w = spec.detach().to(torch.float32)
        if w.ndim == 1:
            w = w[None]
    elif isinstance(spec, (list, tuple)) and spec and not isinstance(spec[0], (int, float)):
        w = torch.cat([task_weights(s, tasks=tasks) for s in spec])
    else:
        w = torch.zeros(1, len(tasks))
        if isinstance(spec, str):
            w[0, _task_index(spec, tasks)] = 1.0
        elif isinstance(spec, int) and not isinstance(spec, bool):
            if not 0 <= spec < len(tasks):
                raise PipirError(f"task index {spec} is out of range 0–{len(tasks) - 1}")
            w[0, spec] = 1.0
        elif isinstance(spec, dict):
            for name, value in spec.items():
                w[0, _task_index(name, tasks)] = float(value)
        elif isinstance(spec, (list, tuple)):
            w = torch.tensor([list(map(float, spec))])
        else:
            raise PipirError(f"cannot read prompt weights from {type(spec).__name__}")
    if batch is not None and w.shape[0] == 1:
        w = w.expand(batch, -1)
    return check_weights(w, w.shape[0], len(tasks))


def _task_index(name: str, tasks: tuple[str, ...]) -> int:
    if name not in tasks:
        raise PipirError(f"unknown task {name!r}: choose from {', '.join(tasks)}")
    return tasks.index(name)


def check_weights(weights: torch.Tensor, batch: int, num_tasks: int) -> torch.Tensor:
    """Validate B×K prompt weights and normalise each row to sum 1."""
    if not isinstance(weights, torch.Tensor):
        raise PipirError("prompt weights must be a B×K tensor; use pipir.task_weights(...) to build one")
    if weights.ndim != 2 or weights.shape[1] != num_tasks or weights.shape[0] not in (1, batch):
        raise PipirError(
            f"prompt weights must have shape {batch}×{num_tasks} (or 1×{num_tasks}), "
            f"got {'×'.join(map(str, weights.shape))}"
        )
    if not torch.jit.is_tracing() and not torch.compiler.is_compiling():
        if not torch.isfinite(weights).all():
            raise PipirError("prompt weights must be finite numbers")
        if (weights < 0).any():
            raise PipirError("prompt weights must not be negative")
        if (weights.sum(dim=1) <= 0).any():
            raise PipirError("each row of prompt weights needs at least one positive entry")
    return weights / weights.sum(dim=1, keepdim=True)


class PIPNet(nn.Module):
    """A backbone with one :class:`PIPBlock` on each of its first ``len(prompt_dims)`` skips.

    The backbone is stored unchanged as ``self.backbone``: its state dict loads into it as it is.
    """

    def __init__(
        self,
        backbone: nn.Module,
        prompt_dims: tuple[int, ...],
        prompt_sizes: tuple[int, ...],
        tasks: tuple[str, ...] = TASKS,
        **block_options,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.tasks = tuple(tasks)
        self.pip = nn.ModuleList(
            PIPBlock(c, d, s, num_tasks=len(tasks), **block_options)
            for c, d, s in zip(backbone.skip_channels, prompt_dims, prompt_sizes)
        )

    def _weights(self, weights: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
        if weights is None:
            raise PipirError(
                "a PIP model needs prompt weights: pass a B×K tensor, e.g. pipir.task_weights('derain')"
            )
        w = check_weights(weights, x.shape[0], len(self.tasks)).to(x.device)
        return w.expand(x.shape[0], -1)

    def forward(
        self,
        x: torch.Tensor,
        weights: torch.Tensor | None = None,
        prompts: list[torch.Tensor] | None = None,
        windows: list[tuple[int, int, int, int]] | None = None,
    ) -> torch.Tensor:
        """Restore ``x`` (B×3×H×W) with prompt weights ``weights`` (B×K).

        Tiles of larger images: ``prompts`` are those images' universal prompts
        (:meth:`universal_prompts`, batch N; tile i belongs to image i % N) and
        ``windows[i] = (top, left, H, W)`` places tile i in its image padded to ``backbone.multiple``
        (top and left multiples of it), so every tile uses its share of the whole image's prompts
        instead of prompts of its own.
        """
        w = self._weights(weights, x)

        def transform(level: int, feature: torch.Tensor) -> torch.Tensor:
            if level >= len(self.pip):
                return feature
            block = self.pip[level]
            if prompts is None:
                return block(feature, w)
            f, (h, wd) = 2**level, feature.shape[-2:]
            universal = prompts[level]  # one per image: tile i belongs to image i % len(universal)
            prompt = torch.cat(
                [
                    block.prompt.expand(
                        universal[i % len(universal)][None], (hh // f, ww // f), (t // f, s // f, h, wd)
                    )
                    for i, (t, s, hh, ww) in enumerate(windows)
                ]
            )
            return block.to_feature(feature, prompt)

        return self.backbone(x, skip_transform=transform)

    def prompt_samples(
        self,
        x: torch.Tensor,
        windows: list[tuple[int, int, int, int]],
        owned: list[tuple[int, int, int, int]],
    ) -> list[torch.Tensor | None]:
        """First pass of tiled restoration: tile i (``x[i]``, placed by ``windows[i]`` as in
        :meth:`forward`, its size a multiple of ``backbone.multiple``) contributes the rows and
        columns ``owned[i] = (r0, r1, c0, c1)`` of the image (multiples of the same) to each level's
        skip feature resized to S×S. Summed over tiles whose owned parts cover the image once, the
        result is what the whole image would give, up to the tiles' borders and attention
        statistics; :meth:`universal_prompts` turns it into prompts."""
        levels = [block.prompt.prompt_to_prompt for block in self.pip]
        if not any(levels):
            return [None] * len(self.pip)
        skips = self.backbone.encode(x, len(self.pip))
        out: list[torch.Tensor | None] = []
        for level, (block, feature) in enumerate(zip(self.pip, skips)):
            if not levels[level]:
                out.append(None)
                continue
            f, parts = 2**level, []
            for i, ((t, s, hh, ww), (r0, r1, c0, c1)) in enumerate(zip(windows, owned)):
                part = feature[i : i + 1, :, (r0 - t) // f : (r1 - t) // f, (c0 - s) // f : (c1 - s) // f]
                size = (hh // f, ww // f)
                parts.append(sample_part(part.float(), size, (r0 // f, c0 // f), block.prompt.prompt_size))
            out.append(torch.cat(parts))
        return out

    def universal_prompts(
        self, samples: list[torch.Tensor | None], weights: torch.Tensor
    ) -> list[torch.Tensor]:
        """Each level's universal prompt at S×S from the summed :meth:`prompt_samples`."""
        w = check_weights(weights, weights.shape[0], len(self.tasks))
        return [
            block.prompt.universal(s, w.to(block.prompt.task_prompts.device))
            for block, s in zip(self.pip, samples)
        ]

    def prompt_regularization(self, kind: str = "angle") -> torch.Tensor:
        """Sum over levels of each block's prompt regularization term."""
        return sum(block.prompt_regularization(kind) for block in self.pip)
