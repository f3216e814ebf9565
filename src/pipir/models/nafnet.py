"""NAFNet (Chen et al., ECCV 2022) with the official state-dict layout."""

from __future__ import annotations

import torch
from torch import nn

from pipir.models.common import SkipTransform, identity_skip, pad_to_multiple
from pipir.nn import ChannelLayerNorm
from pipir.nn.layers import pointwise_depthwise_parts


class NAFBlock(nn.Module):
    """Activation-free block: simple gate (x1·x2) and simplified channel attention."""

    def __init__(self, c: int) -> None:
        super().__init__()
        dw = c * 2
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.conv4 = nn.Conv2d(c, c * 2, 1)
        self.conv5 = nn.Conv2d(c, c, 1)
        self.norm1 = ChannelLayerNorm(c, eps=1e-6)
        self.norm2 = ChannelLayerNorm(c, eps=1e-6)
        self.split_parts = False  # an execution choice of pipir.device.prepare_model, not a weight

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x1, x2 = pointwise_depthwise_parts(self.norm1(inp), self.conv1, self.conv2, 2, self.split_parts)
        x = x1 * x2
        y = inp + self.conv3(x * self.sca(x)) * self.beta
        x1, x2 = pointwise_depthwise_parts(self.norm2(y), self.conv4, None, 2, self.split_parts)
        return y + self.conv5(x1 * x2) * self.gamma


class NAFNet(nn.Module):
    """U-Net of NAF blocks; one skip per encoder level (``width·2^level`` channels), added, not
    concatenated, to the decoder."""

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 32,
        enc_blk_nums: tuple[int, ...] = (1, 1, 1, 28),
        middle_blk_num: int = 1,
        dec_blk_nums: tuple[int, ...] = (1, 1, 1, 1),
        padding: str = "reflect",
    ) -> None:
        super().__init__()
        if len(enc_blk_nums) != len(dec_blk_nums):
            raise ValueError("NAFNet needs as many decoder levels as encoder levels")
        if padding not in ("reflect", "zeros"):
            raise ValueError(f"padding must be 'reflect' or 'zeros', not {padding!r}")
        # How inputs that are not a multiple of 2^levels are padded: "zeros" as the official code
        self.padding = padding
        self.intro = nn.Conv2d(in_channels, width, 3, padding=1)
        self.ending = nn.Conv2d(width, in_channels, 3, padding=1)
        # Attribute order follows the official state dict.
        widths = [width * 2**i for i in range(len(enc_blk_nums))]
        self.encoders = nn.ModuleList(
            nn.Sequential(*(NAFBlock(c) for _ in range(n))) for c, n in zip(widths, enc_blk_nums)
        )
        self.decoders = nn.ModuleList(
            nn.Sequential(*(NAFBlock(c) for _ in range(n))) for c, n in zip(reversed(widths), dec_blk_nums)
        )
        bottom = widths[-1] * 2
        self.middle_blks = nn.Sequential(*(NAFBlock(bottom) for _ in range(middle_blk_num)))
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c * 2, c * 4, 1, bias=False), nn.PixelShuffle(2))
            for c in reversed(widths)
        )
        self.downs = nn.ModuleList(nn.Conv2d(c, c * 2, 2, stride=2) for c in widths)
        self.skip_channels = tuple(widths)
        self.multiple = 2 ** len(enc_blk_nums)

    def output_layer(self) -> nn.Module:
        """The last convolution, whose output is added to the input."""
        return self.ending

    def encode(self, inp: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
        """The first ``levels`` (default: all) skip features of an input already padded to
        ``self.multiple``."""
        skips = [self.encoders[0](self.intro(inp))]
        for encoder, down in zip(self.encoders[1:], self.downs):
            if len(skips) == levels:
                break
            skips.append(encoder(down(skips[-1])))
        return skips

    def forward(self, x: torch.Tensor, skip_transform: SkipTransform = identity_skip) -> torch.Tensor:
        h, w = x.shape[-2:]
        inp = pad_to_multiple(x, self.multiple, self.padding)
        skips = self.encode(inp)
        y = self.middle_blks(self.downs[-1](skips[-1]))
        for level, decoder, up in zip(reversed(range(len(skips))), self.decoders, self.ups):
            y = decoder(up(y) + skip_transform(level, skips[level]))
        out = self.ending(y) + inp
        return out[..., :h, :w]
