"""Restormer (Zamir et al., CVPR 2022) with the official state-dict layout.

Only the default single-image configuration (no dual-pixel branch) is built; it matches
``restormer_default_keys.tsv`` key for key and shape for shape.
"""

from __future__ import annotations

import torch
from torch import nn

from pipir.models.common import SkipTransform, identity_skip, pad_to_multiple
from pipir.nn import TransformerBlock


class _Resample(nn.Module):
    """3×3 conv then pixel (un)shuffle by 2: ``body.0`` is the conv, as in the official keys."""

    def __init__(self, dim_in: int, dim_out: int, shuffle: nn.Module) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(dim_in, dim_out, 3, padding=1, bias=False), shuffle)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _down(dim: int) -> _Resample:
    return _Resample(dim, dim // 2, nn.PixelUnshuffle(2))


def _up(dim: int) -> _Resample:
    return _Resample(dim, dim * 2, nn.PixelShuffle(2))


class Restormer(nn.Module):
    """Four-level transformer U-Net. Skip levels 0–2 carry ``dim·2^level`` channels."""

    multiple = 8
    padding = "reflect"  # of inputs that are not a multiple of 8, as the official test scripts pad

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
    ) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"Restormer's dim must be even (each down-sampling halves it), not {dim}")

        def stage(width: int, n: int, h: int) -> nn.Sequential:
            return nn.Sequential(
                *(TransformerBlock(width, h, ffn_expansion_factor, bias, layernorm) for _ in range(n))
            )

        d1, d2, d3, d4 = dim, dim * 2, dim * 4, dim * 8
        self.skip_channels = (d1, d2, d3)
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(in_channels, dim, 3, padding=1, bias=bias)
        self.encoder_level1 = stage(d1, num_blocks[0], heads[0])
        self.down1_2 = _down(d1)
        self.encoder_level2 = stage(d2, num_blocks[1], heads[1])
        self.down2_3 = _down(d2)
        self.encoder_level3 = stage(d3, num_blocks[2], heads[2])
        self.down3_4 = _down(d3)
        self.latent = stage(d4, num_blocks[3], heads[3])
        self.up4_3 = _up(d4)
        self.reduce_chan_level3 = nn.Conv2d(d4, d3, 1, bias=bias)
        self.decoder_level3 = stage(d3, num_blocks[2], heads[2])
        self.up3_2 = _up(d3)
        self.reduce_chan_level2 = nn.Conv2d(d3, d2, 1, bias=bias)
        self.decoder_level2 = stage(d2, num_blocks[1], heads[1])
        self.up2_1 = _up(d2)
        # Level 1 of the decoder keeps the concatenated 2·dim channels (official design).
        self.decoder_level1 = stage(d2, num_blocks[0], heads[0])
        self.refinement = stage(d2, num_refinement_blocks, heads[0])
        self.output = nn.Conv2d(d2, out_channels, 3, padding=1, bias=bias)

    def output_layer(self) -> nn.Module:
        """The last convolution, whose output is added to the input."""
        return self.output

    def encode(self, inp: torch.Tensor, levels: int = 3) -> list[torch.Tensor]:
        """The first ``levels`` skip features of an input already padded to ``self.multiple``."""
        skips = [self.encoder_level1(self.patch_embed.proj(inp))]
        for down, stage in ((self.down1_2, self.encoder_level2), (self.down2_3, self.encoder_level3)):
            if len(skips) == levels:
                break
            skips.append(stage(down(skips[-1])))
        return skips

    def forward(self, x: torch.Tensor, skip_transform: SkipTransform = identity_skip) -> torch.Tensor:
        h, w = x.shape[-2:]
        inp = pad_to_multiple(x, self.multiple, self.padding)
        e1, e2, e3 = self.encode(inp)
        z = self.latent(self.down3_4(e3))
        d3 = self.reduce_chan_level3(torch.cat([self.up4_3(z), skip_transform(2, e3)], 1))
        d3 = self.decoder_level3(d3)
        d2 = self.reduce_chan_level2(torch.cat([self.up3_2(d3), skip_transform(1, e2)], 1))
        d2 = self.decoder_level2(d2)
        d1 = self.decoder_level1(torch.cat([self.up2_1(d2), skip_transform(0, e1)], 1))
        out = self.output(self.refinement(d1)) + inp
        return out[..., :h, :w]
