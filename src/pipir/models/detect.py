"""Architecture and sizes of an official checkpoint, read from its keys and tensor shapes."""

from __future__ import annotations

import re

import torch
from torch import nn

from pipir.checkpoints import load_weights
from pipir.errors import PipirError
from pipir.models.registry import create_model


def _count(state: dict[str, torch.Tensor], pattern: str) -> int:
    """How many distinct block indices match ``pattern`` (with one ``(\\d+)`` group)."""
    regex = re.compile(pattern)
    return len({m.group(1) for k in state if (m := regex.match(k))})


def restormer_options(state: dict[str, torch.Tensor]) -> dict:
    dim, in_channels = state["patch_embed.proj.weight"].shape[:2]
    levels = ["encoder_level1", "encoder_level2", "encoder_level3", "latent"]
    hidden = [state[f"{lv}.0.ffn.project_in.weight"].shape[0] // 2 for lv in levels]
    widths = [dim * 2**i for i in range(4)]
    # The factor is stored only through int(width × factor) per level: take the official 2.66 when
    # it explains every level, else the smallest factor that does.
    candidates = [2.66] + [h / w for h, w in zip(hidden, widths)]
    factor = next(
        (f for f in candidates if all(int(w * f) == h for h, w in zip(hidden, widths))), candidates[1]
    )
    return dict(
        in_channels=int(in_channels),
        out_channels=int(state["output.weight"].shape[0]),
        dim=int(dim),
        num_blocks=tuple(_count(state, rf"{lv}\.(\d+)\.") for lv in levels),
        num_refinement_blocks=_count(state, r"refinement\.(\d+)\."),
        heads=tuple(int(state[f"{lv}.0.attn.temperature"].shape[0]) for lv in levels),
        ffn_expansion_factor=factor,
        bias="patch_embed.proj.bias" in state,
        layernorm="WithBias" if "encoder_level1.0.norm1.body.bias" in state else "BiasFree",
    )


def nafnet_options(state: dict[str, torch.Tensor]) -> dict:
    width, in_channels = state["intro.weight"].shape[:2]
    levels = _count(state, r"encoders\.(\d+)\.")
    return dict(
        in_channels=int(in_channels),
        width=int(width),
        enc_blk_nums=tuple(_count(state, rf"encoders\.{i}\.(\d+)\.") for i in range(levels)),
        middle_blk_num=_count(state, r"middle_blks\.(\d+)\."),
        dec_blk_nums=tuple(_count(state, rf"decoders\.{i}\.(\d+)\.") for i in range(levels)),
    )


def promptir_options(state: dict[str, torch.Tensor]) -> dict:
    """Restormer's sizes plus the prompt bank's: D, S and the number of prompts per level."""
    shapes = [state[f"prompt{i}.prompt_param"].shape for i in (1, 2, 3)]
    return dict(
        restormer_options(state),
        prompt_dims=tuple(int(s[2]) for s in shapes),
        prompt_sizes=tuple(int(s[3]) for s in shapes),
        prompt_len=int(shapes[0][1]),
    )


def model_from_state_dict(state: dict[str, torch.Tensor], source: str = "checkpoint") -> nn.Module:
    """Build the matching Restormer, PromptIR or NAFNet and load ``state`` into it strictly."""
    if "prompt1.prompt_param" in state and "output.weight" in state:
        name, options = "promptir", promptir_options(state)
    elif "patch_embed.proj.weight" in state and "output.weight" in state:
        name, options = "restormer", restormer_options(state)
    elif "intro.weight" in state and "ending.weight" in state:
        name, options = "nafnet", nafnet_options(state)
    else:
        raise PipirError(f"{source} is not a Restormer, PromptIR, NAFNet or pipir checkpoint")
    if options["in_channels"] != 3:
        raise PipirError(f"{source} is a {options['in_channels']}-channel {name}; pipir restores RGB images")
    model = create_model(name, "paper", **options)
    return load_weights(model, state)
