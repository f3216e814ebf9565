"""Shared layers of the backbones and the PIP plug-in (pure ``torch.nn``)."""

from pipir.nn.layers import (
    ChannelAttention,
    ChannelLayerNorm,
    CrossChannelAttention,
    CrossTransformerBlock,
    DualGateFFN,
    GatedDconvFFN,
    RestormerNorm,
    TransformerBlock,
    topm_softmax,
)

__all__ = [
    "ChannelAttention",
    "ChannelLayerNorm",
    "CrossChannelAttention",
    "CrossTransformerBlock",
    "DualGateFFN",
    "GatedDconvFFN",
    "RestormerNorm",
    "TransformerBlock",
    "topm_softmax",
]
