"""The shipped models and loading any checkpoint into a :class:`~pipir.infer.Restorer`; ``restore``
for one image with a cached default model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipir.errors import PipirError
from pipir.infer import Progress, Restored, Restorer, TaskSpec
from pipir.models.pip import TASKS

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_MODEL = "pipir-small"


def shipped_models() -> dict[str, Path]:
    return {p.stem: p for p in sorted(WEIGHTS_DIR.glob("*.safetensors"))}


def model_path(path_or_name: str | Path | None) -> Path:
    """The file of a shipped model name (``None``: the default) or of a checkpoint path."""
    if path_or_name is None:
        path_or_name = DEFAULT_MODEL
    shipped = shipped_models()
    if str(path_or_name) in shipped:
        return shipped[str(path_or_name)]
    path = Path(path_or_name)
    if not path.exists():
        names = ", ".join(shipped) or "none"
        raise PipirError(f"model {str(path_or_name)!r} is neither a file nor a shipped model ({names})")
    return path


def is_bundle(path: Path) -> bool:
    """Whether ``path`` is a pipir checkpoint (safetensors with pipir's description), not an
    official Restormer/NAFNet file."""
    if path.suffix != ".safetensors":
        return False
    from pipir.checkpoints import bundle_info

    try:
        return bundle_info(path) is not None
    except Exception:  # noqa: BLE001 - unreadable: reported by read_state_dict with a clear sentence
        return False


def load(path_or_name: str | Path | None = None, device: str = "auto") -> Restorer:
    """A :class:`Restorer` from a shipped model name (default ``pipir-small``), a pipir
    ``.safetensors`` checkpoint, or an official Restormer/NAFNet file (architecture and sizes are
    read from the tensors). Nothing is downloaded and no pickle is executed."""
    from pipir.checkpoints import load_bundle, read_state_dict
    from pipir.models.detect import model_from_state_dict

    path = model_path(path_or_name)
    if is_bundle(path):
        model, sensor, info = load_bundle(path)
        if model is None:
            raise PipirError(f"{path.name} holds only a degradation classifier, not a restorer")
        return Restorer(model, sensor, tuple(info.get("tasks", TASKS)), path.stem, info, device)
    model = model_from_state_dict(read_state_dict(path), path.name)
    return Restorer(model, None, TASKS, path.stem, {}, device)


_DEFAULT: dict[str, Restorer] = {}


def restore(
    image: np.ndarray | str | Path,
    task: TaskSpec = "auto",
    tile: int | str | None = None,
    overlap: int = 32,
    device: str = "auto",
    precision: str = "auto",
    model: str | Path | Restorer | None = None,
    out: np.ndarray | None = None,
    tile_batch: int | None = None,
    progress: Progress | None = None,
    ensemble: int | str = "auto",
) -> Restored:
    """Restore one image (a numpy array, or the path of an image file) with ``model`` (default: the
    shipped ``pipir-small``).

    ``task``: ``"auto"`` (the classifier decides), a task name, or a mixture such as
    ``{"dehaze": 0.5, "denoise": 0.5}``. Returns a :class:`Restored` (``.image``, ``.weights``).
    ``out=image`` restores in place; ``tile_batch``, ``progress(done, total)`` and ``ensemble``
    (orientations averaged, :mod:`pipir.ensemble`) as in :meth:`Restorer.restore`.
    """
    if isinstance(image, (str, Path)):
        from pipir.io import read_image

        image = read_image(image)
    if isinstance(model, Restorer):
        restorer = model
    else:
        key = f"{model}|{device}"
        if key not in _DEFAULT:
            _DEFAULT[key] = load(model, device)
        restorer = _DEFAULT[key]
    return restorer.restore(
        image,
        task=task,
        tile=tile,
        overlap=overlap,
        precision=precision,
        tile_batch=tile_batch,
        out=out,
        progress=progress,
        ensemble=ensemble,
    )


def describe(path_or_name: str | Path) -> dict[str, str]:
    """What a checkpoint or shipped model holds and what made it, as label → text (``pipir info``)."""
    from pipir.checkpoints import load_bundle
    from pipir.models import count_parameters
    from pipir.models.pip import PIPNet

    path = model_path(path_or_name)
    if is_bundle(path):  # a restorer, a classifier, or both
        model, sensor, info = load_bundle(path)
        tasks = tuple(info.get("tasks", TASKS))
    else:  # an official Restormer/NAFNet file
        restorer = load(path, device="cpu")
        model, sensor, info, tasks = restorer.model, None, {}, restorer.tasks
    rows = {"file": f"{path} ({path.stat().st_size / 1e6:.1f} MB)"}
    if model is None:
        rows["restorer"] = "none: a classifier alone (join it to a restorer with pipir combine)"
    else:
        model_info = info.get("model", {})
        name = f"{model_info.get('name', type(model).__name__)} {model_info.get('variant', '')}".strip()
        uses_prompts = isinstance(model, PIPNet)
        rows["restorer"] = f"{name}, {count_parameters(model):,} parameters" + (
            ", prompt weights over " + ", ".join(tasks) if uses_prompts else ", no prompts"
        )
    if sensor is not None:
        names = [*tasks, "clean"][: sensor.num_tasks]
        rows["classifier"] = f"{', '.join(names)}; {count_parameters(sensor):,} parameters (blind use)"
    else:
        rows["classifier"] = "none: give a task (--task)"
    for key, label in (("training", "trained"), ("sensor_training", "classifier trained")):
        record = info.get(key)
        if record:
            config = record.get("config", {})
            data, trainer = config.get("data", {}), config.get("trainer", {})
            rows[label] = (
                f"{record.get('steps', '?')} steps × batch {trainer.get('batch_size', '?')} × "
                f"{data.get('patch', '?')}² patches, {trainer.get('precision', '?')}, "
                f"data {data.get('kind', '?')} ({data.get('images', '?')})"
            )
    if "average" in info:
        share = info["average"]["share"]
        rows["averaged"] = (
            f"restorer = {share:g} × the one trained above + {1 - share:g} × {info['average']['first']}'s"
        )
    return rows
