"""``fit(config)``: a Lightning Trainer with atomic checkpoints, exact resume, CSV/TensorBoard logs,
and the final restorer (+ classifier) exported as one safetensors file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import lightning as L
import torch
import yaml
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO

from pipir.checkpoints import save_bundle
from pipir.device import bf16_is_native, resolve_device
from pipir.errors import PipirError
from pipir.io import atomic_write
from pipir.models.pip import TASKS
from pipir.train.config import Config, TrainerConfig
from pipir.train.module import RestorationModule


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write each checkpoint to a temporary file and rename it into place: a run killed while saving
    leaves the previous checkpoint intact, never a truncated one."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))


class StopAtStep(Callback):
    """Stop after ``step`` optimiser steps, as an interrupted run would (the schedule is unchanged),
    leaving ``last.ckpt`` at that step, saved mid-stream like the periodic checkpoints."""

    def __init__(self, step: int, last: Path) -> None:
        self.step, self.last = step, last

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= self.step and not trainer.should_stop:
            trainer.save_checkpoint(self.last)
            trainer.should_stop = True


def _loggers(output: Path) -> list:
    # A new version folder per launch: a resumed run keeps the logs of the runs before it.
    loggers = [CSVLogger(output, name="logs")]
    try:
        loggers.append(TensorBoardLogger(output, name="tensorboard"))
    except ModuleNotFoundError:  # tensorboard is optional
        pass
    return loggers


def resume_path(config: Config, resume: str | None) -> str | None:
    """``"auto"`` → the run's last checkpoint (or None when there is none yet); a path → that file."""
    if resume is None:
        return None
    if resume == "auto":
        last = Path(config.output) / "checkpoints" / "last.ckpt"
        return str(last) if last.is_file() else None
    if not Path(resume).is_file():
        raise PipirError(f"checkpoint to resume from {resume} does not exist")
    return resume


def training_precision(trainer: TrainerConfig) -> str:
    """Lightning's precision for ``trainer.precision``: ``auto`` → bf16 autocast where the device
    the run trains on computes bf16 natively (pipir.device.bf16_is_native, as restoring's ``auto``
    decides), else fp32."""
    if trainer.precision != "auto":
        return trainer.precision
    device = resolve_device("auto" if trainer.accelerator == "gpu" else trainer.accelerator)
    return "bf16-mixed" if bf16_is_native(device) else "32-true"


def fit(
    config: Config, resume: str | None = None, progress: bool = True, callbacks: tuple[Callback, ...] = ()
) -> Path:
    """Train as ``config`` says (``callbacks`` are added to the Trainer's); return the exported
    ``model.safetensors`` path."""
    if config.trainer.threads:
        torch.set_num_threads(config.trainer.threads)
    # the precision resolved here is the one config.yaml and the exported bundle record
    trainer_config = dataclasses.replace(config.trainer, precision=training_precision(config.trainer))
    config = dataclasses.replace(config, trainer=trainer_config)
    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    ckpt_path = resume_path(config, resume)
    L.seed_everything(config.seed, workers=True, verbose=False)
    module = RestorationModule(config)
    t = config.trainer
    if t.compile and module.model is not None:
        module.model.compile()  # in place: checkpoints and the export keep the plain keys
    callbacks = [
        *callbacks,
        ModelCheckpoint(
            dirpath=output / "checkpoints",
            filename="step{step:07d}",
            auto_insert_metric_name=False,
            every_n_train_steps=t.checkpoint_every,
            save_top_k=-1,
            save_last=True,
        ),
    ]
    if t.stop_at_step is not None:
        callbacks.append(StopAtStep(t.stop_at_step, output / "checkpoints" / "last.ckpt"))
    trainer = L.Trainer(
        max_steps=t.max_steps,
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        precision=t.precision,
        gradient_clip_val=t.gradient_clip_val,
        callbacks=callbacks,
        logger=_loggers(output),
        log_every_n_steps=t.log_every,
        plugins=[AtomicCheckpointIO()],
        use_distributed_sampler=False,  # StreamSampler splits the stream across ranks itself
        enable_progress_bar=progress,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        # "warn": CUDA has no deterministic kernels for some backward passes (bilinear resizing);
        # on a CPU every op is deterministic anyway, so exact resume holds there bit for bit.
        deterministic="warn",
    )
    if trainer.is_global_zero:
        atomic_write(output / "config.yaml", lambda tmp: tmp.write_text(yaml.safe_dump(config.to_dict())))
    # No checkpoint after fit: one saved once the loop has ended its pass would make a resumed
    # run re-open the data stream; the periodic and stop checkpoints are all mid-stream.
    trainer.fit(module, ckpt_path=ckpt_path)
    export = output / "model.safetensors"
    if trainer.is_global_zero:
        info = bundle_info(config, trainer.global_step, trainer.world_size)
        save_bundle(export, module.model, module.sensor, info)
    return export


def bundle_info(config: Config, steps: int, world_size: int | None) -> dict:
    """The description a trained model's checkpoint carries: its tasks and what trained it
    (``world_size`` None where it is not known)."""
    return {
        "tasks": list(TASKS),
        "training": {"config": config.to_dict(), "steps": steps, "world_size": world_size},
        "sensor_patch": config.data.patch,
    }


def load_run_checkpoint(ckpt: Path) -> tuple[RestorationModule, int]:
    """The training module stored in one of a run's Lightning checkpoints (``RUN/checkpoints/*.ckpt``),
    rebuilt with the run's ``RUN/config.yaml``, and the step it was saved at."""
    from pipir.train.config import load_config

    config_path = ckpt.parent.parent / "config.yaml"
    if not ckpt.is_file():
        raise PipirError(f"checkpoint {str(ckpt)!r} does not exist")
    if not config_path.is_file():
        raise PipirError(f"{ckpt.name} has no run config beside its folder ({config_path} is missing)")
    try:
        saved = torch.load(ckpt, map_location="cpu", weights_only=True)
        state, steps = saved["state_dict"], int(saved["global_step"])
    except Exception as err:  # noqa: BLE001 - unreadable or not Lightning's: the same user mistake
        raise PipirError(
            f"{ckpt.name} is not a Lightning checkpoint of a pipir run ({type(err).__name__})"
        ) from None
    module = RestorationModule(load_config(config_path, []))
    try:
        module.load_state_dict(state)
    except RuntimeError:
        raise PipirError(f"{ckpt.name} does not match the model its run's config.yaml describes") from None
    return module, steps


def export_checkpoint(ckpt: Path, out: Path) -> Path:
    """A pipir checkpoint (``.safetensors``) from one of a run's Lightning checkpoints: to try a run
    that has not finished, or an earlier step of one that has."""
    if out.suffix != ".safetensors":
        raise PipirError(f"the output file must end in .safetensors, not {out.name!r}")
    module, steps = load_run_checkpoint(ckpt)
    return save_bundle(out, module.model, module.sensor, bundle_info(module.config, steps, None))
