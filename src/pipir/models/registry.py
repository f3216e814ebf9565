"""``create_model(name, variant, **overrides)`` over a table of named configurations (data, not code)."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from pipir.errors import PipirError
from pipir.models.nafnet import NAFNet
from pipir.models.pip import PIPBlock, PIPNet
from pipir.models.promptir import PromptIR
from pipir.models.restormer import Restormer

# Backbones that PIP plugs into (``pip_<name>``), and models that stand alone.
BACKBONES: dict[str, type[nn.Module]] = {"restormer": Restormer, "nafnet": NAFNet}
STANDALONE: dict[str, type[nn.Module]] = {"promptir": PromptIR}

# Backbone hyper-parameters per variant. "paper" is the published model each PIP paper row uses.
VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "restormer": {
        "paper": dict(dim=48, num_blocks=(4, 6, 6, 8), num_refinement_blocks=4),
        "tiny": dict(dim=16, num_blocks=(1, 1, 1, 2), num_refinement_blocks=1),
        # 3x tiny's parameters for 1.5x its time per pixel: the extra blocks sit on the coarse levels
        "small": dict(dim=24, num_blocks=(1, 2, 3, 4), num_refinement_blocks=1),
    },
    "nafnet": {
        # The GoPro deblurring model (NAFNet-GoPro-width32).
        "paper": dict(width=32, enc_blk_nums=(1, 1, 1, 28), middle_blk_num=1, dec_blk_nums=(1, 1, 1, 1)),
        # The SIDD denoising model (NAFNet-SIDD-width64).
        "sidd": dict(width=64, enc_blk_nums=(2, 2, 4, 8), middle_blk_num=12, dec_blk_nums=(2, 2, 2, 2)),
        "tiny": dict(width=16, enc_blk_nums=(1, 1, 1, 1), middle_blk_num=1, dec_blk_nums=(1, 1, 1, 1)),
    },
    "promptir": {
        # The published 3-task model (decoder prompts on); prompt D = (64, 128, 320), S = (64, 32, 16).
        "paper": dict(dim=48, num_blocks=(4, 6, 6, 8), num_refinement_blocks=4),
        # Restormer tiny's backbone with PIP tiny's prompt sizes (S halved for 64-pixel patches).
        "tiny": dict(
            dim=16,
            num_blocks=(1, 1, 1, 2),
            num_refinement_blocks=1,
            prompt_dims=(24, 48, 96),
            prompt_sizes=(32, 16, 8),
        ),
    },
}

# Prompt sizes per backbone and variant: D per skip level and S (half the 128 training patch at that
# level's resolution; tiny trains on 64-pixel patches). Restormer follows the paper (D = 4C/3); NAFNet
# is a much lighter backbone (16 GMACs at 256² against Restormer's 155), so its prompts use D = C.
PROMPTS: dict[str, dict[str, dict[str, Any]]] = {
    "restormer": {
        "paper": dict(prompt_dims=(64, 128, 256), prompt_sizes=(64, 32, 16)),
        "tiny": dict(prompt_dims=(24, 48, 96), prompt_sizes=(32, 16, 8)),
        "small": dict(prompt_dims=(32, 64, 128), prompt_sizes=(32, 16, 8)),
    },
    "nafnet": {
        "paper": dict(prompt_dims=(32, 64, 128), prompt_sizes=(64, 32, 16)),
        "sidd": dict(prompt_dims=(64, 128, 256), prompt_sizes=(64, 32, 16)),
        "tiny": dict(prompt_dims=(16, 32, 64), prompt_sizes=(32, 16, 8)),
    },
}

_BLOCK_OPTIONS = set(inspect.signature(PIPBlock).parameters) - {
    "channels",
    "prompt_dim",
    "prompt_size",
    "num_tasks",
}
_PIP_OPTIONS = _BLOCK_OPTIONS | {"prompt_dims", "prompt_sizes", "tasks"}


def model_names() -> list[str]:
    return [*BACKBONES, *(f"pip_{b}" for b in BACKBONES), *STANDALONE]


def create_model(name: str, variant: str = "paper", **overrides: Any) -> nn.Module:
    """Build a model by name (``restormer``, ``nafnet``, ``pip_restormer``, ``pip_nafnet``,
    ``promptir``).

    ``variant`` picks the sizes (``paper``, ``tiny``; ``sidd`` for NAFNet); ``overrides`` change any
    backbone argument or, for PIP models, any PIP option (``topm=False``, ``passthrough=True`` ...).
    The configuration is kept on the model as ``model.pipir_config`` so checkpoints can rebuild it.
    """
    classes = {**BACKBONES, **STANDALONE}
    is_pip = name.startswith("pip_") and name.removeprefix("pip_") in BACKBONES
    backbone_name = name.removeprefix("pip_") if is_pip else name
    if backbone_name not in classes:
        raise PipirError(f"unknown model {name!r}: choose from {', '.join(model_names())}")
    variants = VARIANTS[backbone_name]
    if variant not in variants:
        raise PipirError(f"{backbone_name} has no variant {variant!r}: choose from {', '.join(variants)}")
    pip_args = {k: v for k, v in overrides.items() if k in _PIP_OPTIONS} if is_pip else {}
    backbone_args = {**variants[variant]}
    backbone_params = set(inspect.signature(classes[backbone_name]).parameters)
    for key, value in overrides.items():
        if key in pip_args:
            continue
        if key not in backbone_params:
            raise PipirError(f"{name} has no option {key!r}")
        backbone_args[key] = value
    backbone = classes[backbone_name](**backbone_args)
    model = PIPNet(backbone, **{**PROMPTS[backbone_name][variant], **pip_args}) if is_pip else backbone
    model.pipir_config = {"name": name, "variant": variant, **overrides}
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
