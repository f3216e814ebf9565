"""The Lightning side of training: loss, optimiser, schedule, and a data stream that resumes exactly.

The models stay pure ``torch.nn``; this module only wires them to Lightning.
"""

from __future__ import annotations

import collections
import fnmatch
import math
import time
from collections.abc import Iterator

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Sampler

from pipir.checkpoints import load_bundle, load_weights
from pipir.data import GREY_NAMES, TRAIN, BenchmarkDataset, SyntheticDataset, list_images, samples
from pipir.data.datasets import PHOTO_MARGIN, PhotoWindows
from pipir.data.photos import photo_files, rescaled
from pipir.degrade import to_uint
from pipir.degrade.batch import CLASSES, synthesize
from pipir.device import input_layout, set_execution
from pipir.errors import PipirError
from pipir.hub import model_path
from pipir.io import read_rgb
from pipir.models import create_model
from pipir.models.pip import TASKS, PIPNet
from pipir.models.sensor import DegradationSensor
from pipir.train.config import Config, sensor_classes


class StreamSampler(Sampler):
    """Yields ``(index, position)`` for global sample positions ``start, start+1, …`` of a run.

    Position p belongs to rank ``p % world``; its dataset index comes from a per-pass permutation
    seeded by (seed, pass), and the dataset draws all its randomness from p. Restarting at
    ``start = step × batch × world`` therefore replays exactly the samples an uninterrupted run
    would have seen next, on any number of workers.
    """

    def __init__(self, size: int, total: int, start: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.size, self.total, self.start = size, total, start
        self.seed, self.rank, self.world = seed, rank, world

    def _positions(self) -> range:
        first = self.start + (self.rank - self.start) % self.world
        return range(first, self.total, self.world)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        perm, current = None, -1
        for p in self._positions():
            epoch = p // self.size
            if epoch != current:
                perm = np.random.default_rng([self.seed, 1, epoch]).permutation(self.size)
                current = epoch
            yield int(perm[p % self.size]), p

    def __len__(self) -> int:
        return len(self._positions())


class _Repeat(Dataset):
    """A dataset listed ``times`` times in one pass (the official data mix's repetition)."""

    def __init__(self, dataset: Dataset, times: int) -> None:
        self.dataset, self.times = dataset, times

    def __len__(self) -> int:
        return len(self.dataset) * self.times

    def __getitem__(self, key):
        index, position = key
        return self.dataset[(index % len(self.dataset), position)]


class _Concat(ConcatDataset):
    def __getitem__(self, key):
        index, position = key
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        offset = index - (self.cumulative_sizes[which - 1] if which else 0)
        return self.datasets[which][(offset, position)]


def build_dataset(config: Config) -> Dataset:
    data = config.data
    if data.kind == "photos":
        # uint8 one photo at a time: 190 full-size photos as float32 would take ~4 GB at once
        images = [to_uint(read_rgb(p)) for p in photo_files(data.images, data.split)]
        images = [im for image in images for im in rescaled(image, data.scales)]
        return PhotoWindows(
            images,
            data.patch,
            length=len(images) * 100,
            tasks=data.tasks,
            seed=config.seed,
            clean_prob=data.clean_prob,
        )
    if data.kind == "synthetic":
        if data.images in ("samples", "samples+grey"):
            names = TRAIN + (GREY_NAMES if data.images == "samples+grey" else ())
            images = list(samples(names).values())
        else:
            images = [read_rgb(p) for p in list_images(data.images, recursive=True)]
        return SyntheticDataset(
            images, data.patch, tasks=data.tasks, seed=config.seed, mix_prob=data.mix_prob
        )
    parts = [
        _Repeat(
            BenchmarkDataset(
                data.root, task, "train", patch=data.patch, sigmas=data.sigmas, seed=config.seed
            ),
            data.repeats.get(task, 1),
        )
        for task in data.tasks
    ]
    return _Concat(parts)


def build_models(config: Config) -> tuple[torch.nn.Module | None, torch.nn.Module | None]:
    model = None
    if not config.sensor.only:
        model = create_model(config.model.name, config.model.variant, **config.model.options)
        backbone = model.backbone if isinstance(model, PIPNet) else model
        if config.model.init_weights:
            start, _, _ = load_bundle(model_path(config.model.init_weights), parts=("model",))
            model.load_state_dict(start.state_dict())
        elif config.model.backbone_weights:
            load_weights(backbone, config.model.backbone_weights)
        elif config.model.identity_init:
            for tensor in backbone.output_layer().parameters():
                torch.nn.init.zeros_(tensor)
    sensor = None
    if config.sensor.enabled:
        sensor = DegradationSensor(sensor_classes(config.data), width=config.sensor.width)
        if config.sensor.init_weights:
            _, start, _ = load_bundle(model_path(config.sensor.init_weights), parts=("sensor",))
            sensor.load_state_dict(start.state_dict())
    return model, sensor


def lr_factor(step: int, warmup: int, total: int, start_factor: float, floor: float) -> float:
    """Linear warm-up from ``start_factor`` to 1, then a cosine down to ``floor`` at ``total``, flat
    after (the official scheduler climbs again after its end; this one does not)."""
    if step < warmup:
        return start_factor + (1 - start_factor) * step / max(1, warmup)
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def mixture_tasks(labels: torch.Tensor, share: float, g: torch.Generator) -> torch.Tensor:
    """A second task (≠ the first) for a ``share`` of the degraded samples, −1 for the others and
    for clean ones."""
    k = len(TASKS)
    chosen = (torch.rand(labels.shape, generator=g, device=labels.device) < share) & (labels < k)
    other = (labels + torch.randint(1, k, labels.shape, generator=g, device=labels.device)) % k
    return torch.where(chosen, other, torch.full_like(labels, -1))


def blend_prompts(weights: torch.Tensor, share: float, g: torch.Generator) -> torch.Tensor:
    """Blend a ``share`` of the rows of B×K one-hot ``weights`` with a random mixture: ``(1 − λ)·w +
    λ·r``, λ uniform in [0, 1), r uniform on the simplex (normalised exponential draws). Every row
    stays a valid weight vector; the true task keeps weight 1 − λ plus its share of r."""
    b, k = weights.shape
    chosen = torch.rand(b, 1, generator=g, device=weights.device) < share
    lam = torch.rand(b, 1, generator=g, device=weights.device)
    draws = -torch.log1p(-torch.rand(b, k, generator=g, device=weights.device))
    mixture = draws / draws.sum(1, keepdim=True)
    return torch.where(chosen, (1 - lam) * weights + lam * mixture, weights)


def freeze_except(module: torch.nn.Module, patterns: list[str]) -> None:
    """Train only the parameters whose names (``model.…``, ``sensor.…``) match one of the glob
    ``patterns``; freeze the rest. A pattern that matches nothing is a mistake, not a no-op."""
    parameters = dict(module.named_parameters())
    if not patterns:
        raise PipirError("optim.trainable is empty: nothing would train (null trains every parameter)")
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in parameters):
            example = next(iter(parameters))
            raise PipirError(f"optim.trainable: {pattern!r} matches no parameter (e.g. {example})")
    for name, parameter in parameters.items():
        parameter.requires_grad_(any(fnmatch.fnmatchcase(name, p) for p in patterns))


def frequency_loss(restored: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the real and imaginary parts of the images' 2-D FFTs."""
    difference = torch.fft.rfft2(restored.float()) - torch.fft.rfft2(clean.float())
    return torch.view_as_real(difference).abs().mean()


class RestorationModule(L.LightningModule):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.model, self.sensor = build_models(config)
        if config.optim.trainable is not None:
            freeze_except(self, config.optim.trainable)
        self._last_time: float | None = None
        # Share of each class's samples JPEG-compressed: data.jpeg_prob, or per class where
        # data.jpeg_by_class sets some classes apart. A buffer, so it moves with the module.
        d = config.data
        self.register_buffer(
            "jpeg_shares",
            torch.tensor([d.jpeg_by_class.get(c, d.jpeg_prob) for c in CLASSES]),
            persistent=False,
        )
        # A task listed n times in data.tasks is sampled n times as often; the classifier's loss
        # weighs its class by 1/n so that over-sampling a task does not bias the classifier to it.
        counts = collections.Counter(config.data.tasks)
        self.register_buffer(
            "class_weights",
            torch.tensor([1.0 / counts[t] if t in counts else 1.0 for t in CLASSES])[
                : sensor_classes(config.data)
            ],
            persistent=False,
        )

    def setup(self, stage: str) -> None:
        """The models set up for the device they train on (channels-last and the other CPU choices
        of :func:`pipir.device.set_execution`), before a checkpoint's weights are copied in."""
        device = self.trainer.strategy.root_device
        for part in (self.model, self.sensor):
            if part is not None:
                set_execution(part, device)

    def _pixel_loss(self, restored: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        if self.config.loss.pixel == "l1":
            return F.l1_loss(restored, clean)
        return F.smooth_l1_loss(restored, clean)

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        """Photo windows become training pairs here, on the training device: the degradations of
        the batch are drawn from a generator seeded by the batch's first stream position, so a
        resumed run makes exactly the batches an uninterrupted one would."""
        if "window" not in batch:
            return batch
        d = self.config.data
        g = torch.Generator(device=batch["window"].device)
        g.manual_seed(self.config.seed * 1_000_003 + int(batch["position"][0]))
        windows = batch["window"].float() / 255
        labels = batch["label"]
        second = mixture_tasks(labels, d.mix_prob, g) if d.mix_prob > 0 else None
        degraded, clean = synthesize(
            windows,
            labels,
            g,
            PHOTO_MARGIN,
            self.jpeg_shares,
            d.camera_prob,
            second,
            d.deblock,
            tone_prob=d.tone_prob,
        )
        # Clean samples teach the restorer to leave an intact photo alone under any prompt.
        random_task = torch.randint(len(TASKS), labels.shape, generator=g, device=labels.device)
        task = torch.where(labels < len(TASKS), labels, random_task)
        weights = F.one_hot(task, len(TASKS)).float()
        target = labels
        if second is not None:  # two degradations: half each, for the prompts and the classifier
            mixed = second >= 0
            other = F.one_hot(second.clamp(min=0), len(TASKS)).float()
            weights = torch.where(mixed[:, None], (weights + other) / 2, weights)
            target = F.one_hot(labels, len(CLASSES)).float()
            target[mixed] = (target[mixed] + F.one_hot(second[mixed], len(CLASSES)).float()) / 2
        if d.prompts == "uniform":
            weights = torch.full_like(weights, 1 / len(TASKS))
        elif d.prompt_mix > 0:
            weights = blend_prompts(weights, d.prompt_mix, g)
        return {"degraded": degraded, "clean": clean, "weights": weights, "label": target}

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        degraded, clean, weights = batch["degraded"], batch["clean"], batch["weights"]
        degraded = degraded.contiguous(memory_format=input_layout(degraded.device))  # every data kind
        loss = degraded.new_zeros(())
        if self.model is not None:
            restored = (
                self.model(degraded, weights) if isinstance(self.model, PIPNet) else self.model(degraded)
            )
            pixel = self._pixel_loss(restored, clean)
            loss = loss + pixel
            self.log("pixel", pixel, prog_bar=True)
            if self.config.loss.frequency_weight > 0:
                frequency = frequency_loss(restored, clean)
                loss = loss + self.config.loss.frequency_weight * frequency
                self.log("frequency", frequency)
            if isinstance(self.model, PIPNet) and self.config.loss.regularization != "none":
                reg = self.model.prompt_regularization(self.config.loss.regularization)
                loss = loss + self.config.loss.regularization_weight * reg
                self.log("reg", reg)
        if self.sensor is not None:
            logits = self.sensor(degraded)
            target = batch["label"] if "label" in batch else weights  # photos: six classes
            ce = F.cross_entropy(logits, target, weight=self.class_weights)
            truth = target if target.ndim == 1 else target.argmax(1)
            accuracy = (logits.argmax(1) == truth).float().mean()
            loss = loss + self.config.sensor.loss_weight * ce
            self.log_dict({"sensor_ce": ce, "sensor_acc": accuracy}, prog_bar=self.model is None)
        self.log("loss", loss, prog_bar=True)
        self.log("lr", self.optimizers().param_groups[0]["lr"], prog_bar=True)
        now = time.perf_counter()
        if self._last_time is not None:
            self.log("img/s", degraded.shape[0] / (now - self._last_time), prog_bar=True)
        self._last_time = now
        return loss

    def configure_optimizers(self):
        o, t = self.config.optim, self.config.trainer
        optimizer = torch.optim.AdamW(
            [p for p in self.parameters() if p.requires_grad],
            lr=o.lr,
            betas=tuple(o.betas),
            weight_decay=o.weight_decay,
        )
        floor = o.min_lr / o.lr

        def factor(step: int) -> float:
            return lr_factor(step, o.warmup_steps, t.max_steps, o.warmup_start_factor, floor)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def train_dataloader(self) -> DataLoader:
        config = self.config
        dataset = build_dataset(config)
        world = self.trainer.world_size
        batch = config.trainer.batch_size
        sampler = StreamSampler(
            size=len(dataset),
            total=config.trainer.max_steps * batch * world,
            start=self.trainer.global_step * batch * world,
            seed=config.seed,
            rank=self.trainer.global_rank,
            world=world,
        )
        return DataLoader(
            dataset,
            batch_size=batch,
            sampler=sampler,
            num_workers=config.data.num_workers,
            drop_last=True,
            persistent_workers=config.data.num_workers > 0,
        )
