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
    Keys that the official code stores but never uses (``model.unused_official_keys`` prefixes,
    e.g. PromptIR's ``chnl_reduce*``) are dropped first.
    """
    if isinstance(source, Mapping):
        state, label = unwrap_state_dict(source), "the state dict"
    else:
        state, label = read_state_dict(source), Path(source).name
    unused = tuple(getattr(model, "unused_official_keys", ()))
    if unused:
        state = {k: v for k, v in state.items() if not k.startswith(unused)}
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


# ---- pipir's own checkpoints: one .safetensors file, JSON description in its metadata ----

BUNDLE_KEY = "pipir"


def save_bundle(path: str | Path, model: nn.Module | None, sensor: nn.Module | None, info: dict) -> Path:
    """Save a restorer and/or classifier as ``model.*`` / ``sensor.*`` tensors; ``info`` (JSON) holds
    how to rebuild them (``model.pipir_config``, sensor width, tasks) and what trained them."""
    import json

    from safetensors.torch import save_file

    from pipir.io import atomic_write

    tensors: dict[str, torch.Tensor] = {}
    meta = dict(info)
    if model is not None:
        tensors.update({f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()})
        meta["model"] = model.pipir_config
    if sensor is not None:
        tensors.update({f"sensor.{k}": v.detach().cpu().contiguous() for k, v in sensor.state_dict().items()})
        meta["sensor"] = {"width": sensor.width, "num_tasks": sensor.num_tasks}
    header = {BUNDLE_KEY: json.dumps(meta)}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=header))


def bundle_info(path: str | Path) -> dict | None:
    """The description :func:`save_bundle` writes into a checkpoint's safetensors metadata (what
    the model and classifier are, what trained them), read without the tensors; None for a
    safetensors file without one."""
    import json

    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        header = (f.metadata() or {}).get(BUNDLE_KEY)
    return None if header is None else json.loads(header)


def load_bundle(
    path: str | Path, parts: tuple[str, ...] = ("model", "sensor")
) -> tuple[nn.Module | None, nn.Module | None, dict]:
    """Rebuild (model, sensor, info) from :func:`save_bundle`'s file; no pickle involved.
    ``parts`` picks what to rebuild (the others come back as None)."""
    from pipir.models.registry import create_model
    from pipir.models.sensor import DegradationSensor

    path = Path(path)
    if path.is_file() and path.suffix != ".safetensors":
        raise PipirError(
            f"{path.name} is not a pipir checkpoint (a .safetensors file from pipir train or pipir "
            "combine): make one from a run's Lightning .ckpt with pipir export checkpoint"
        )
    state = read_state_dict(path)
    info = bundle_info(path)
    if info is None:
        raise PipirError(
            f"{path.name} is a safetensors file but not a pipir checkpoint (no '{BUNDLE_KEY}' metadata)"
        )
    model = sensor = None
    if "model" in info and "model" in parts:
        config = dict(info["model"])
        model = create_model(config.pop("name"), config.pop("variant"), **config)
        load_weights(model, {k[6:]: v for k, v in state.items() if k.startswith("model.")})
    if "sensor" in info and "sensor" in parts:
        sensor = DegradationSensor(**info["sensor"])
        load_weights(sensor, {k[7:]: v for k, v in state.items() if k.startswith("sensor.")})
    return model, sensor, info


def _stored_dtype(path: str | Path, prefix: str) -> torch.dtype:
    """The dtype a bundle stores its ``prefix`` part in (bf16 for restorers trained in bf16)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.get_tensor(next(k for k in f.keys() if k.startswith(prefix))).dtype


def combine_bundles(restorer: str | Path, sensor: str | Path, out: str | Path) -> Path:
    """One checkpoint with the restorer of one training run and the classifier of another, each in
    the dtype its file stores it in."""
    model, _, info = load_bundle(restorer, parts=("model",))
    _, classifier, sensor_info = load_bundle(sensor, parts=("sensor",))
    if model is None or classifier is None:
        raise PipirError("the first file must hold a restorer and the second a degradation classifier")
    model = model.to(_stored_dtype(restorer, "model."))
    classifier = classifier.to(_stored_dtype(sensor, "sensor."))
    info = {k: v for k, v in info.items() if k not in ("model", "sensor")}
    # a classifier taken from a combined file was trained by that file's sensor_training
    info["sensor_training"] = sensor_info.get("sensor_training") or sensor_info.get("training", {})
    info["sensor_patch"] = sensor_info.get("sensor_patch", info.get("sensor_patch", 64))
    return save_bundle(out, model, classifier, info)


def average_bundles(first: str | Path, second: str | Path, share: float, out: str | Path) -> Path:
    """One checkpoint whose restorer is ``(1 − share)·first + share·second``, parameter by
    parameter, for two restorers of one architecture (``first`` the restorer a training run
    started from, ``second`` the run's: the average can keep most of what the run gained and
    little of what it broke). The classifier and the description are ``second``'s, the description noting
    the average; the restorer is stored in fp32."""
    if not 0 <= share <= 1:
        raise PipirError(f"the share of the second restorer must lie in [0, 1], not {share}")
    start, _, first_info = load_bundle(first, parts=("model",))
    model, sensor, info = load_bundle(second)
    if start is None or model is None:
        raise PipirError("both files must hold a restorer")
    if first_info["model"] != info["model"]:
        raise PipirError(
            f"the two restorers differ in architecture: {first_info['model']} and {info['model']}"
        )
    ends = start.state_dict()
    averaged = {
        k: (1 - share) * ends[k] + share * v if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    model.load_state_dict(averaged)
    if sensor is not None:
        sensor = sensor.to(_stored_dtype(second, "sensor."))
    info = {k: v for k, v in info.items() if k not in ("model", "sensor")}
    info["average"] = {
        "share": share,
        "first": Path(first).name,
        "first_training": first_info.get("training", {}),
    }
    return save_bundle(out, model, sensor, info)
