"""The shipped models and loading any checkpoint into a :class:`~pipir.infer.Restorer`; ``restore``
for one image with a cached default model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipir.errors import PipirError
from pipir.infer import Restored, Restorer, TaskSpec
from pipir.models.pip import TASKS

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_MODEL = "pipir-small"


def shipped_models() -> dict[str, Path]:
    return {p.stem: p for p in sorted(WEIGHTS_DIR.glob("*.safetensors"))}


def load(path_or_name: str | Path | None = None, device: str = "auto") -> Restorer:
    """A :class:`Restorer` from a shipped model name (default ``pipir-small``), a pipir
    ``.safetensors`` checkpoint, or an official Restormer/NAFNet file (architecture and sizes are
    read from the tensors). Nothing is downloaded and no pickle is executed."""
    from pipir.checkpoints import load_bundle, read_state_dict
    from pipir.models.detect import model_from_state_dict

    if path_or_name is None:
        path_or_name = DEFAULT_MODEL
    shipped = shipped_models()
    if str(path_or_name) in shipped:
        path = shipped[str(path_or_name)]
    else:
        path = Path(path_or_name)
        if not path.exists():
            names = ", ".join(shipped) or "none"
            raise PipirError(f"model {str(path_or_name)!r} is neither a file nor a shipped model ({names})")
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                is_bundle = "pipir" in (f.metadata() or {})
        except Exception:  # noqa: BLE001 - reported by read_state_dict below with a clear sentence
            is_bundle = False
        if is_bundle:
            model, sensor, info = load_bundle(path)
            if model is None:
                raise PipirError(f"{path.name} holds only a degradation classifier, not a restorer")
            return Restorer(model, sensor, tuple(info.get("tasks", TASKS)), path.stem, info, device)
    model = model_from_state_dict(read_state_dict(path), path.name)
    return Restorer(model, None, TASKS, path.stem, {}, device)


_DEFAULT: dict[str, Restorer] = {}


def restore(
    image: np.ndarray,
    task: TaskSpec = "auto",
    tile: int | str | None = None,
    overlap: int = 32,
    device: str = "auto",
    precision: str = "auto",
    model: str | Path | Restorer | None = None,
    out: np.ndarray | None = None,
) -> Restored:
    """Restore one numpy image with ``model`` (default: the shipped ``pipir-small``).

    ``task``: ``"auto"`` (the classifier decides), a task name, or a mixture such as
    ``{"dehaze": 0.5, "denoise": 0.5}``. Returns a :class:`Restored` (``.image``, ``.weights``).
    ``out=image`` restores in place (see :meth:`Restorer.restore`).
    """
    if isinstance(model, Restorer):
        restorer = model
    else:
        key = f"{model}|{device}"
        if key not in _DEFAULT:
            _DEFAULT[key] = load(model, device)
        restorer = _DEFAULT[key]
    return restorer.restore(image, task=task, tile=tile, overlap=overlap, precision=precision, out=out)
