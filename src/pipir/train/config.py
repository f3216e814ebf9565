"""Training configuration: typed dataclasses read from YAML, with ``key.sub=value`` overrides.

Unknown keys, wrong types, missing folders and tasks a dataset lacks fail before training starts,
with one sentence naming the key or path.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipir.errors import PipirError
from pipir.models.pip import TASKS

# Lightning's precisions, and "auto" (pipir.train.run.training_precision)
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true")


@dataclass
class ModelConfig:
    name: str = "pip_restormer"  # restormer | nafnet | pip_restormer | pip_nafnet
    variant: str = "tiny"  # paper | tiny | sidd (nafnet)
    options: dict[str, Any] = field(default_factory=dict)  # create_model overrides
    backbone_weights: str | None = None  # an official .pth to start the backbone from
    # Zero the backbone's last convolution so that the untrained model returns its input (the global
    # residual): training then only learns the correction. Ignored when either weights are given.
    identity_init: bool = False
    # A pipir checkpoint (a shipped model's name or a .safetensors path) whose restorer starts this
    # one: training continues a model (with this config's schedule) instead of starting afresh, so
    # that short runs on a lent GPU add up. Its architecture must be this config's.
    init_weights: str | None = None


@dataclass
class SensorConfig:
    enabled: bool = True  # train the degradation classifier alongside (blind restoration)
    width: int = 32
    loss_weight: float = 0.1  # weight of its cross-entropy in the total loss
    only: bool = False  # train the classifier alone (no restorer)
    # A pipir checkpoint (a shipped model's name or a .safetensors path) whose classifier starts this
    # one, as model.init_weights does for the restorer; its width and classes must be this config's.
    init_weights: str | None = None


@dataclass
class DataConfig:
    # synthetic: clean photos degraded on the CPU per sample (pipir.degrade);
    # photos: clean photo windows degraded on the training device per batch (pipir.degrade.batch);
    # benchmark: the standard datasets' pairs
    kind: str = "synthetic"
    # synthetic: "samples" (bundled colour photos minus pipir.data.HELD_OUT), "samples+grey" (plus the
    # bundled greyscale photos as RGB), or a folder of clean images
    images: str = "samples"
    split: str | None = None  # photos: a split of the committed list (train) or None for every image
    clean_prob: float = 0.0  # photos: share of "clean" samples (target = input; the classifier's 6th class)
    jpeg_prob: float = 0.0  # photos: share of samples JPEG-compressed after their degradation
    # photos: that share for some classes (a task or "clean") where it differs, e.g. {denoise: 0.1}
    jpeg_by_class: dict[str, float] = field(default_factory=dict)
    camera_prob: float = 0.0  # photos: share of denoising samples with camera noise instead of white
    # photos: share of windows given a random global tone (exposure, curve, contrast, saturation)
    # before their degradation, target included, so that a pale, dark or muted photo is not taken
    # for a hazy or under-exposed one (pipir.degrade.batch.retone)
    tone_prob: float = 0.0
    # photos: the target of a clean sample that was JPEG-compressed: "input" (itself: leave a JPEG
    # photo as it is) or "photo" (the uncompressed window: take the blocks out)
    jpeg_target: str = "input"
    # photos: share of samples whose one-hot prompt is blended with a random mixture, so that the
    # restorer still does the right thing when a classifier's weights are unsure or wrong (blind use)
    prompt_mix: float = 0.0
    # photos: what the prompt weights say: "label" (the task, one-hot) or "uniform" (1/K for every
    # sample: PIP without task information, the control that separates the label from the prompts)
    prompts: str = "label"
    # photos: each photo also enters downscaled by these factors (1.0: as stored), so that what is
    # learnt does not depend on the one scale the photos were packed at (users' photos come at any)
    scales: list[float] = field(default_factory=lambda: [1.0])
    root: str | None = None  # benchmark: dataset root in the official layout
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    patch: int = 64
    mix_prob: float = 0.0  # synthetic and photos: share of samples with two degradations (1/2 each)
    sigmas: list[float] = field(default_factory=lambda: [15.0, 25.0, 50.0])
    # benchmark: how many times each task's list repeats in one pass (the official data mix)
    repeats: dict[str, int] = field(
        default_factory=lambda: {"denoise": 9, "derain": 120, "dehaze": 1, "deblur": 5, "lowlight": 20}
    )
    num_workers: int = 0

    @property
    def deblock(self) -> bool:
        """Whether compressed clean samples train toward the uncompressed window (jpeg_target photo)."""
        return self.jpeg_target == "photo"


@dataclass
class LossConfig:
    pixel: str = "smooth_l1"  # l1 | smooth_l1 (official)
    regularization: str = "angle"  # angle (official) | cosine | none
    # Official: 0.002 (trainer) × 0.01 (inside the model) = 2e-5 on the plain sum of relu(cos).
    regularization_weight: float = 2.0e-5
    # Weight of an L1 loss on the images' 2-D Fourier transforms (0: none): every spatial frequency
    # counts alike, so the fine detail a blur takes out weighs as much as coarse structure (MIMO-UNet
    # uses 0.1).
    frequency_weight: float = 0.0


@dataclass
class OptimConfig:
    lr: float = 3.6e-4
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    warmup_steps: int = 100
    warmup_start_factor: float = 0.1  # official: warm-up starts at lr/10
    min_lr: float = 0.0  # cosine decays to this at max_steps, and stays there
    # Glob patterns of the parameter names to train (e.g. ["model.pip.*.prompt.task_prompts"]:
    # prompt tuning); every other parameter is frozen. None: all of them.
    trainable: list[str] | None = None


@dataclass
class TrainerConfig:
    max_steps: int = 1000
    batch_size: int = 8  # per device
    accelerator: str = "auto"  # cpu | gpu | auto
    devices: Any = 1  # int or "auto"
    num_nodes: int = 1
    strategy: str = "auto"  # auto | ddp
    # 32-true | bf16-mixed | 16-mixed (or Lightning's other precisions) | auto: bf16-mixed where the
    # device trained on computes bf16 natively (bf16 GPUs, AMX and Zen 5 CPUs:
    # pipir.device.bf16_is_native), else 32-true
    precision: str = "32-true"
    checkpoint_every: int = 500  # steps
    log_every: int = 10  # steps
    stop_at_step: int | None = None  # stop early, as if interrupted (the schedule keeps max_steps)
    threads: int | None = None  # torch CPU threads per process
    compile: bool = False  # torch.compile the restorer in place (state-dict keys unchanged)
    # Clip the gradients' total norm to this (None: no clipping). The official code instead rescales a
    # loss above 5× its running minimum; a tiny model at lr 2e-3 diverged once without either.
    gradient_clip_val: float | None = None


@dataclass
class Config:
    seed: int = 0
    output: str = "runs/default"
    model: ModelConfig = field(default_factory=ModelConfig)
    sensor: SensorConfig = field(default_factory=SensorConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _check_type(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(value, option, key)
            except PipirError as err:
                errors.append(err)
        raise errors[0]
    if origin is list:
        if not isinstance(value, list):
            raise PipirError(f"config key {key!r} must be a list, not {value!r}")
        (item,) = typing.get_args(hint)
        return [_check_type(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise PipirError(f"config key {key!r} must be a mapping, not {value!r}")
        _, item = typing.get_args(hint)
        return {k: _check_type(v, item, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
        return float(value)  # YAML 1.1 reads 3e-4 (no dot) as a string
    if hint is bool and not isinstance(value, bool) or not isinstance(value, hint):
        raise PipirError(f"config key {key!r} must be {hint.__name__}, not {value!r}")
    if hint is int and isinstance(value, bool):
        raise PipirError(f"config key {key!r} must be int, not {value!r}")
    return value


def _build(cls: type, data: Any, prefix: str = "") -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PipirError(f"config section {prefix or 'top level'!r} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            where = f"{prefix}.{key}" if prefix else key
            raise PipirError(f"unknown config key {where!r}")
    values = {k: _check_type(v, hints[k], f"{prefix}.{k}" if prefix else k) for k, v in data.items()}
    return cls(**values)


def _apply_override(data: dict, assignment: str) -> None:
    if "=" not in assignment:
        raise PipirError(f"override {assignment!r} must look like key.sub=value")
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise PipirError(f"config key {key!r} does not name a section")
    node[parts[-1]] = yaml.safe_load(raw)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML config (or the defaults), apply ``key.sub=value`` overrides, validate."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise PipirError(f"config file {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise PipirError(f"config file {path} is not valid YAML ({err.__class__.__name__})") from None
    for assignment in overrides:
        _apply_override(data, assignment)
    config = _build(Config, data)
    validate(config)
    return config


def sensor_classes(data: DataConfig) -> int:
    """How many classes the classifier answers: the tasks, plus "clean" for the photos data kind."""
    from pipir.degrade.batch import CLASSES

    return len(CLASSES) if data.kind == "photos" else len(TASKS)


def _check_init_weights(key: str, name: str, part: str, wanted: dict) -> None:
    """``key`` (a ``*.init_weights`` config key) names a pipir checkpoint whose ``part`` ("model" or
    "sensor") is described exactly as ``wanted``: the architecture this config trains."""
    from pipir.checkpoints import bundle_info
    from pipir.hub import is_bundle, model_path

    try:
        path = model_path(name)
    except PipirError as error:
        raise PipirError(f"config key {key!r}: {error}") from None
    if not is_bundle(path):
        raise PipirError(f"config key {key!r}: {path.name} is not a pipir checkpoint")
    stored = bundle_info(path).get(part)
    if stored != wanted:
        what = {"model": "restorer", "sensor": "classifier"}[part]
        held = f"a {what} {stored}" if stored else f"no {what}"
        raise PipirError(f"config key {key!r}: {path.name} holds {held}, not the {wanted} this config trains")


def check_init_weights(model: ModelConfig) -> None:
    """``model.init_weights`` names a pipir checkpoint holding a restorer of ``model``'s architecture."""
    wanted = {"name": model.name, "variant": model.variant, **model.options}
    _check_init_weights("model.init_weights", model.init_weights, "model", wanted)


def check_sensor_init_weights(config: Config) -> None:
    """``sensor.init_weights`` names a pipir checkpoint holding a classifier of this config's width and
    classes."""
    wanted = {"width": config.sensor.width, "num_tasks": sensor_classes(config.data)}
    _check_init_weights("sensor.init_weights", config.sensor.init_weights, "sensor", wanted)


def _check_jpeg_by_class(shares: dict[str, float]) -> None:
    from pipir.degrade.batch import CLASSES

    for name, share in shares.items():
        if name not in CLASSES:
            known = ", ".join(CLASSES)
            raise PipirError(f"config key 'data.jpeg_by_class': no class {name!r} (one of {known})")
        if not 0 <= share <= 1:
            raise PipirError(f"config key 'data.jpeg_by_class.{name}' must lie in [0, 1], not {share}")


def validate(config: Config) -> None:
    """Checks that need more than types: choices, folders, tasks the dataset has."""
    from pipir.data.benchmark import LAYOUT, data_root

    choices = {
        "loss.pixel": (config.loss.pixel, ("l1", "smooth_l1")),
        "loss.regularization": (config.loss.regularization, ("angle", "cosine", "none")),
        "data.kind": (config.data.kind, ("synthetic", "photos", "benchmark")),
        "data.prompts": (config.data.prompts, ("label", "uniform")),
        "data.jpeg_target": (config.data.jpeg_target, ("input", "photo")),
        "trainer.precision": (config.trainer.precision, PRECISIONS),
    }
    for key, (value, allowed) in choices.items():
        if value not in allowed:
            raise PipirError(f"config key {key!r} must be one of {', '.join(allowed)}, not {value!r}")
    for task in config.data.tasks:
        if task not in TASKS:
            raise PipirError(
                f"config key 'data.tasks' names unknown task {task!r}: choose from {', '.join(TASKS)}"
            )
    if not config.data.tasks:
        raise PipirError("config key 'data.tasks' is empty")
    positive = {
        "trainer.max_steps": config.trainer.max_steps,
        "trainer.batch_size": config.trainer.batch_size,
        "data.patch": config.data.patch,
        "optim.lr": config.optim.lr,
        "trainer.checkpoint_every": config.trainer.checkpoint_every,
    }
    for key, value in positive.items():
        if value <= 0:
            raise PipirError(f"config key {key!r} must be positive, not {value}")
    if (weight := config.loss.frequency_weight) < 0:
        raise PipirError(f"config key 'loss.frequency_weight' must be 0 or more, not {weight}")
    if config.data.kind == "photos" and not Path(config.data.images).is_dir():
        raise PipirError(f"config key 'data.images': folder {config.data.images} does not exist")
    for key in ("clean_prob", "jpeg_prob", "camera_prob", "tone_prob", "mix_prob", "prompt_mix"):
        if not 0 <= getattr(config.data, key) <= 1:
            raise PipirError(f"config key 'data.{key}' must lie in [0, 1], not {getattr(config.data, key)}")
    _check_jpeg_by_class(config.data.jpeg_by_class)
    if not config.data.scales or not all(0 < f <= 1 for f in config.data.scales):
        raise PipirError(f"config key 'data.scales' must list factors in (0, 1], not {config.data.scales}")
    if config.data.kind == "synthetic" and config.data.images not in ("samples", "samples+grey"):
        if not Path(config.data.images).is_dir():
            raise PipirError(f"config key 'data.images': folder {config.data.images} does not exist")
    if config.data.kind == "benchmark":
        if config.data.root is None:
            raise PipirError("config key 'data.root' must name the dataset root when data.kind is benchmark")
        base = data_root(config.data.root)
        for task in config.data.tasks:
            for folder in LAYOUT["train"][task].folders(base):
                if not folder.is_dir():
                    raise PipirError(f"the dataset has no {task} training data: {folder} does not exist")
    if config.model.backbone_weights is not None and not Path(config.model.backbone_weights).is_file():
        raise PipirError(
            f"config key 'model.backbone_weights': {config.model.backbone_weights} does not exist"
        )
    if config.model.init_weights is not None:
        check_init_weights(config.model)
    if config.sensor.only and not config.sensor.enabled:
        raise PipirError("config key 'sensor.only' needs sensor.enabled: true")
    if config.sensor.init_weights is not None:
        if not config.sensor.enabled:
            raise PipirError("config key 'sensor.init_weights' needs sensor.enabled: true")
        check_sensor_init_weights(config)
