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

import torch
import torch.nn.functional as F
from torch import nn

from pipir.errors import PipirError
from pipir.nn import CrossChannelAttention, CrossTransformerBlock, DualGateFFN, RestormerNorm

TASKS: tuple[str, ...] = ("denoise", "derain", "dehaze", "deblur", "lowlight")


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if not torch.onnx.is_in_onnx_export() and tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


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

    def forward(self, feature: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        p_d = self.degradation_prompt(weights)
        if self.prompt_to_prompt:
            s = self.prompt_size
            modulated = p_d * self.align(_resize(feature, (s, s)))
            universal = self.interaction(self.basic_prompt, modulated)
        else:  # ablation: the two prompts combined without interaction
            universal = self.basic_prompt * p_d
        if self.conv_at_prompt_size:  # proposal: same weights, S×S instead of H×W positions
            return _resize(self.out_conv(universal), feature.shape[-2:])
        return self.out_conv(_resize(universal, feature.shape[-2:]))


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

    def forward(self, feature: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
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

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        if weights is None:
            raise PipirError(
                "a PIP model needs prompt weights: pass a B×K tensor, e.g. pipir.task_weights('derain')"
            )
        w = check_weights(weights, x.shape[0], len(self.tasks)).to(x.device)
        w = w.expand(x.shape[0], -1)

        def transform(level: int, feature: torch.Tensor) -> torch.Tensor:
            return self.pip[level](feature, w) if level < len(self.pip) else feature

        return self.backbone(x, skip_transform=transform)

    def prompt_regularization(self, kind: str = "angle") -> torch.Tensor:
        """Sum over levels of each block's prompt regularization term."""
        return sum(block.prompt_regularization(kind) for block in self.pip)
