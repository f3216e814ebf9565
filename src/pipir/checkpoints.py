"""Reading official Restormer / NAFNet checkpoints (``.pth``) without executing pickles."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from pipir.errors import PipirError

WRAPPER_KEYS = ("params", "params_ema", "state_dict", "model", "net")
PREFIXES = ("module.", "net.", "model.")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.pth``/``.ckpt`` (``weights_only=True``) or ``.safetensors`` file."""
    path = Path(path)
    if not path.is_file():
        raise PipirError(f"checkpoint {str(path)!r} does not exist")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(path)
        except (SafetensorError, OSError) as err:
            raise PipirError(f"{path.name} is not a readable safetensors file ({err})") from None
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure is the same user mistake
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise PipirError(f"{path.name} is not a readable PyTorch checkpoint ({first})") from None
    return unwrap_state_dict(raw, path.name)


def unwrap_state_dict(raw: object, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Find the tensors inside BasicSR/Lightning/DDP wrappers and strip ``module.``/``net.``."""
    while isinstance(raw, Mapping) and not _is_flat(raw):
        inner = next((raw[k] for k in WRAPPER_KEYS if isinstance(raw.get(k), Mapping)), None)
        if inner is None:
            break
        raw = inner
    if not isinstance(raw, Mapping) or not _is_flat(raw):
        raise PipirError(f"{source} holds no state dict of tensors")
    state = dict(raw)
    for prefix in PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def _is_flat(d: Mapping) -> bool:
    return bool(d) and all(isinstance(v, torch.Tensor) for v in d.values())


def load_weights(model: nn.Module, source: str | Path | Mapping[str, torch.Tensor]) -> nn.Module:
    """Load an official checkpoint (path or state dict) into ``model`` with ``strict=True``.

    A file for another architecture or size fails with one sentence naming the differing keys.
    """
    if isinstance(source, Mapping):
        state, label = unwrap_state_dict(source), "the state dict"
    else:
        state, label = read_state_dict(source), Path(source).name
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)}≠{tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        parts = [
            f"{n} {what} (e.g. {', '.join(keys[:3])})"
            for n, what, keys in (
                (len(missing), "missing keys", missing),
                (len(unexpected), "unexpected keys", unexpected),
                (len(wrong), "shape mismatches", wrong),
            )
            if keys
        ]
        kind = getattr(model, "pipir_config", {}).get("name", type(model).__name__)
        raise PipirError(
            f"{label} does not fit this {kind} model: {'; '.join(parts)} — "
            "is it for another architecture or size?"
        )
    model.load_state_dict(state, strict=True)
    return model
