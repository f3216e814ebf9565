"""PromptIR (Potlapalli et al., NeurIPS 2023) with the official state-dict layout.

A Restormer whose decoder is prompted blindly: after the latent and after decoder levels 3 and 2, a
prompt-generation block predicts weights over a bank of learned spatial prompts from the feature
itself, and a transformer block fuses the feature with the mixed prompt (concatenation, then a 1×1
convolution back). Unlike PIP, nothing steers the prompts from outside, so ``model(x)`` takes no
prompt weights. The official checkpoint's five unused convolutions (``chnl_reduce*``,
``reduce_noise_channel_*``) are not built; :data:`UNUSED_KEYS` lets a loader drop them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pipir.models.common import pad_to_multiple
from pipir.models.restormer import _down, _up
from pipir.nn import TransformerBlock

# Keys of official checkpoints that the official forward pass never reads.
UNUSED_KEYS = ("chnl_reduce1.", "chnl_reduce2.", "chnl_reduce3.", "reduce_noise_channel_")


class PromptGenBlock(nn.Module):
    """``prompt_len`` learned D×S×S prompts, mixed by a softmax over a linear map of the input's
    global average, resized to the input's H×W and passed through a 3×3 convolution."""

    def __init__(self, prompt_dim: int, prompt_size: int, in_channels: int, prompt_len: int = 5) -> None:
        super().__init__()
        self.prompt_param = nn.Parameter(torch.rand(1, prompt_len, prompt_dim, prompt_size, prompt_size))
        self.linear_layer = nn.Linear(in_channels, prompt_len)
        self.conv3x3 = nn.Conv2d(prompt_dim, prompt_dim, 3, padding=1, bias=False)

    def mixing_weights(self, x: torch.Tensor) -> torch.Tensor:
        """B×prompt_len weights (sum 1) predicted from the feature ``x``."""
        return self.linear_layer(x.mean(dim=(-2, -1))).softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.mixing_weights(x)
        prompt = torch.einsum("bk,kdhw->bdhw", weights, self.prompt_param[0])
        prompt = F.interpolate(prompt, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv3x3(prompt)


class PromptIR(nn.Module):
    """Four-level Restormer with prompt blocks on the decoder path (``decoder=True`` in the
    official code, the configuration that was trained and published)."""

    multiple = 8
    padding = "reflect"  # of inputs that are not a multiple of 8, as the official test scripts pad
    unused_official_keys = UNUSED_KEYS  # dropped by pipir.checkpoints.load_weights

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        dim: int = 48,
        num_blocks: tuple[int, int, int, int] = (4, 6, 6, 8),
        num_refinement_blocks: int = 4,
        heads: tuple[int, int, int, int] = (1, 2, 4, 8),
        ffn_expansion_factor: float = 2.66,
        bias: bool = False,
        layernorm: str = "WithBias",
        prompt_dims: tuple[int, int, int] = (64, 128, 320),
        prompt_sizes: tuple[int, int, int] = (64, 32, 16),
        prompt_len: int = 5,
    ) -> None:
        super().__init__()

        def block(width: int, h: int) -> TransformerBlock:
            return TransformerBlock(width, h, ffn_expansion_factor, bias, layernorm)

        def stage(width: int, n: int, h: int) -> nn.Sequential:
            return nn.Sequential(*(block(width, h) for _ in range(n)))

        d1, d2, d3, d4 = dim, dim * 2, dim * 4, dim * 8
        p1, p2, p3 = prompt_dims
        s1, s2, s3 = prompt_sizes
        # Attribute order is the official state-dict order.
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(in_channels, dim, 3, padding=1, bias=bias)
        self.prompt1 = PromptGenBlock(p1, s1, d2, prompt_len)
        self.prompt2 = PromptGenBlock(p2, s2, d3, prompt_len)
        self.prompt3 = PromptGenBlock(p3, s3, d4, prompt_len)
        self.encoder_level1 = stage(d1, num_blocks[0], heads[0])
        self.down1_2 = _down(d1)
        self.encoder_level2 = stage(d2, num_blocks[1], heads[1])
        self.down2_3 = _down(d2)
        self.encoder_level3 = stage(d3, num_blocks[2], heads[2])
        self.down3_4 = _down(d3)
        self.latent = stage(d4, num_blocks[3], heads[3])
        # Unlike Restormer, the latent is reduced to d3 before up-sampling (so up4_3 is _up(d3)).
        self.up4_3 = _up(d3)
        self.reduce_chan_level3 = nn.Conv2d(d3 // 2 + d3, d3, 1, bias=bias)
        self.noise_level3 = block(d4 + p3, heads[2])
        self.reduce_noise_level3 = nn.Conv2d(d4 + p3, d3, 1, bias=bias)
        self.decoder_level3 = stage(d3, num_blocks[2], heads[2])
        self.up3_2 = _up(d3)
        self.reduce_chan_level2 = nn.Conv2d(d3, d2, 1, bias=bias)
        self.noise_level2 = block(d3 + p2, heads[2])
        self.reduce_noise_level2 = nn.Conv2d(d3 + p2, d3, 1, bias=bias)
        self.decoder_level2 = stage(d2, num_blocks[1], heads[1])
        self.up2_1 = _up(d2)
        self.noise_level1 = block(d2 + p1, heads[2])
        self.reduce_noise_level1 = nn.Conv2d(d2 + p1, d2, 1, bias=bias)
        self.decoder_level1 = stage(d2, num_blocks[0], heads[0])
        self.refinement = stage(d2, num_refinement_blocks, heads[0])
        self.output = nn.Conv2d(d2, out_channels, 3, padding=1, bias=bias)

    def output_layer(self) -> nn.Module:
        """The last convolution, whose output is added to the input."""
        return self.output

    @staticmethod
    def _prompted(x: torch.Tensor, prompt: nn.Module, fuse: nn.Module, reduce: nn.Module) -> torch.Tensor:
        """Concatenate ``x`` with its prompt, fuse with a transformer block, reduce by a 1×1 conv."""
        return reduce(fuse(torch.cat([x, prompt(x)], 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        inp = pad_to_multiple(x, self.multiple, self.padding)
        e1 = self.encoder_level1(self.patch_embed.proj(inp))
        e2 = self.encoder_level2(self.down1_2(e1))
        e3 = self.encoder_level3(self.down2_3(e2))
        z = self.latent(self.down3_4(e3))
        z = self._prompted(z, self.prompt3, self.noise_level3, self.reduce_noise_level3)
        d3 = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(z), e3], 1)))
        d3 = self._prompted(d3, self.prompt2, self.noise_level2, self.reduce_noise_level2)
        d2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(d3), e2], 1)))
        d2 = self._prompted(d2, self.prompt1, self.noise_level1, self.reduce_noise_level1)
        d1 = self.decoder_level1(torch.cat([self.up2_1(d2), e1], 1))
        out = self.output(self.refinement(d1)) + inp
        return out[..., :h, :w]
