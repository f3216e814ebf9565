"""The one restore path: prompt weights (label, mixture or classifier) and the tiled restore loop.

The CLI, ``pipir eval`` and the web demo all call :meth:`Restorer.restore_tensor` (through
:meth:`Restorer.restore` for numpy images). Beside it: ``tiling`` (tile geometry), ``layout`` (numpy
layouts), ``memory`` (the tile that fits), ``device`` (where, and bf16 or fp32) and ``hub`` (loading).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn.functional import avg_pool2d

from pipir.device import (
    input_layout,
    precision_context,
    prepare_model,
    resolve_device,
    resolve_precision,
    side_by_side,
    tile_workers,
)
from pipir.ensemble import average_views, count_views, upright_share
from pipir.errors import PipirError
from pipir.layout import split_layout, to_batch, to_layout
from pipir.memory import auto_tile
from pipir.models.common import pad_to_multiple
from pipir.models.pip import TASKS, PIPNet, task_weights
from pipir.tiling import Grid, fit_tile, grid_starts, owned_spans, window

TaskSpec = str | int | dict | list | torch.Tensor
Fetch = Callable[[int, int, int, int], torch.Tensor]  # (top, left, height, width) -> B×3×h×w
Emit = Callable[[int, int, torch.Tensor], None]  # (top, left, B×3×n×m finished block)
Progress = Callable[[int, int], None]  # (tile passes done, tile passes in all)


# Tasks that re-grade the whole photo rather than mend local detail: a small share of either, mixed
# into the weights, shifts a photo's colours, so blind use keeps one only when the classifier gives
# it at least TONE_SURE and otherwise counts its share as "clean" (docs/benchmarks/blind-strength.md).
TONE_TASKS = ("dehaze", "lowlight")
TONE_SURE = 0.5
# Haze covers the whole photo and survives downscaling, so on a photo larger than OVERVIEW_SIDE
# pixels dehaze is kept only when the photo seen whole at that size (the size ``pipir eval
# --photos`` validates at) reads as hazy too: a pale wall filling a large photo's native crops is
# not read as haze there (docs/benchmarks/blind-safety.md). Low light is not checked this way: the
# downscaled view averages away the noise that marks it, and true low-light photos were missed.
OVERVIEW_TASKS = ("dehaze",)
OVERVIEW_SIDE = 320
# Tasks whose correction, once the classifier keeps it, is applied whole rather than scaled by
# 1 − P(clean): a low-light photo brightened by a fraction of the correction is still dark, and
# scores far below either end (docs/benchmarks/blind-strength-whole-*.md).
WHOLE_TASKS: tuple[str, ...] = ("lowlight",)


def has_clean_class(classes: int, tasks: tuple[str, ...]) -> bool:
    """Whether a classifier with ``classes`` answers has the "nothing to fix" one after ``tasks``."""
    return classes == len(tasks) + 1


def blind_weights(
    probs: torch.Tensor,
    tasks: tuple[str, ...],
    tone_sure: float = TONE_SURE,
    overview: torch.Tensor | None = None,
    tone_full: float | None = None,
    whole: tuple[str, ...] = WHOLE_TASKS,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Prompt weights and strength from classifier probabilities (B×classes, ``tasks`` then maybe
    "clean").

    A classifier with a class more than the tasks has a "nothing to fix" answer: a tone task
    (:data:`TONE_TASKS`) below ``tone_sure`` — or, for :data:`OVERVIEW_TASKS`, below it in
    ``overview``, the classifier's answer on the downscaled photo — has its probability moved to
    "clean"; with ``tone_full``, a tone task between the two keeps a share of its probability that
    rises linearly from none at ``tone_sure`` to all at ``tone_full``, the rest moved to "clean".
    The weights are then the task probabilities renormalised, and the strength 1 − P(clean), so
    that a photo the classifier finds intact, or is unsure about, stays close to the input; the
    weight ``w`` of the ``whole`` tasks is exempt from that: strength 1 − P(clean)·(1 − w).
    Otherwise: the probabilities, no strength."""
    if not has_clean_class(probs.shape[-1], tasks):
        return probs, None
    probs = probs.double().clone()
    for i in [tasks.index(t) for t in TONE_TASKS if t in tasks]:
        p = probs[:, i]
        if tone_full is None:
            kept = (p >= tone_sure).double()
        else:
            kept = ((p - tone_sure) / (tone_full - tone_sure)).clamp(0, 1)
        if overview is not None and tasks[i] in OVERVIEW_TASKS:
            kept = torch.where(overview[:, i].to(p.device) < tone_sure, 0.0, kept)
        moved = p * (1 - kept)
        probs[:, -1] += moved
        probs[:, i] = p - moved
    task_probs = probs[:, :-1]  # renormalised even when P(clean) is ~1
    total = task_probs.sum(-1, keepdim=True)
    share = torch.where(total > 0, task_probs / total, 0.0)  # none of any task: nothing exempt
    weights = torch.where(total > 0, share, 1 / task_probs.shape[-1]).float()
    exempt = share[:, [i for i, t in enumerate(tasks) if t in whole]].sum(-1)
    return weights, (1 - probs[:, -1] * (1 - exempt)).float()


@dataclass
class Restored:
    """A restored image and what produced it."""

    image: np.ndarray
    weights: dict[str, float] = field(default_factory=dict)  # prompt weights used (empty: plain model)
    source: str = ""  # "classifier", "given" or "none"
    # The tiles as they ran, height × width (fitted to the image from the requested size); None: whole
    tile: tuple[int, int] | None = None
    # How much of the correction was applied: 1 − P(clean) when blind, with the unsure tone shares
    # counted clean and a kept low-light weight exempt (:func:`blind_weights`; output = input +
    # strength · (restored − input)); 1 when the task was given.
    strength: float = 1.0
    views: int = 1  # orientations averaged (pipir.ensemble): 1, 2, 4 or 8

    def top(self, n: int = 3) -> list[tuple[str, float]]:
        return [kv for kv in sorted(self.weights.items(), key=lambda kv: -kv[1])[:n] if kv[1] >= 0.005]

    def describe(self, n: int = 3) -> str:
        """``classifier: derain 0.97, denoise 0.02; strength 0.95`` (strength shown when below 1)."""
        used = ", ".join(f"{name} {weight:.2f}" for name, weight in self.top(n)) or "no prompts"
        strength = f"; strength {self.strength:.2f}" if self.strength < 0.995 else ""
        views = f"; self-ensemble ×{self.views}" if self.views > 1 else ""
        return f"{self.source}: {used}{strength}{views}"


class Prompting(NamedTuple):
    """How a restore is steered: prompt weights, where they came from, and, blind, the strength and
    what the classifier answered."""

    weights: torch.Tensor | None  # B×K prompt weights (None: a plain backbone)
    source: str  # "classifier", "given" or "none"
    strength: torch.Tensor | None = None  # B blind strengths (None: told the task, or no "clean")
    probs: torch.Tensor | None = None  # B×classes classifier probabilities (None: not blind)


class RestoredTensor(NamedTuple):
    """What :meth:`Restorer.restore_tensor` returns."""

    image: torch.Tensor  # B×3×H×W in [0, 1]
    weights: torch.Tensor | None  # B×K prompt weights (None: a plain backbone)
    source: str  # "classifier", "given" or "none"
    strength: torch.Tensor | None  # B blind strengths (None: told the task)
    probs: torch.Tensor | None = None  # B×classes classifier probabilities (None: not blind)
    views: int = 1  # orientations averaged (pipir.ensemble)

    def answer(self) -> torch.Tensor | None:
        """The classifier's probabilities (tasks, then "clean" where it has that class), as it
        answered before :func:`blind_weights` made weights and strength of them; None unless blind."""
        return self.probs if self.source == "classifier" else None


class Restorer:
    """A restoration model with (optionally) its degradation classifier."""

    def __init__(
        self,
        model: nn.Module,
        sensor: nn.Module | None = None,
        tasks: tuple[str, ...] = TASKS,
        name: str = "",
        info: dict | None = None,
        device: str = "auto",
    ) -> None:
        self.device = resolve_device(device)
        self.model = prepare_model(model, self.device)
        self.sensor = None if sensor is None else sensor.eval().to(self.device)
        self.tasks, self.name, self.info = tuple(tasks), name, info or {}
        self.sensor_patch = int(self.info.get("sensor_patch", 64))
        # Tiles share the whole image's prompts (an extra encoder-only pass, ~1/5 of the time);
        # False gives each tile prompts of its own (docs/benchmarks/tiling.md compares the two).
        self.share_prompts = True
        # Tiles run side by side (None: as many as suit the device, pipir.device.tile_workers).
        self.tile_workers: int | None = None

    @property
    def default_tile_batch(self) -> int:
        """Tiles per forward pass: batching pays on a GPU; on a CPU it only multiplies memory."""
        return 4 if self.device.type == "cuda" else 1

    @property
    def workers(self) -> int:
        """Tile batches run at once: :attr:`tile_workers`, or the device's default."""
        return self.tile_workers or tile_workers(self.device)

    @property
    def uses_prompts(self) -> bool:
        return isinstance(self.model, PIPNet)

    # ---- prompt weights -------------------------------------------------------------------------
    @torch.inference_mode()
    def classify(self, fetch: Fetch, h: int, w: int, max_crops: int = 16) -> torch.Tensor:
        """Classifier probabilities (B×K) from up to ``max_crops`` native-resolution crops (the
        classifier was trained on crops of this size; a whole large image would shift its pooled
        statistics), combined as the normalised geometric mean of the crops' answers: a degradation
        covers the whole photo, so each crop is evidence, and a class that some crops rule out loses
        more than under an arithmetic mean. ``fetch(top, left, height, width)`` returns a B×3 crop."""
        if self.sensor is None:
            raise PipirError(
                f"model {self.name} has no degradation classifier: pass a task instead of 'auto'"
            )
        p = self.sensor_patch
        n = max(1, int(math.sqrt(max_crops)))
        tops = sorted({int(t) for t in np.linspace(0, max(0, h - p), n)})
        lefts = sorted({int(t) for t in np.linspace(0, max(0, w - p), n)})
        log_probs = [
            self.sensor(fetch(t, s, min(p, h), min(p, w)).to(self.device)).float().log_softmax(-1)
            for t in tops
            for s in lefts
        ]
        return torch.stack(log_probs).mean(0).softmax(-1)

    def classify_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`classify` on a whole B×3×H×W tensor held in memory."""
        return self.classify(lambda t, s, h, w: x[:, :, t : t + h, s : s + w], *x.shape[-2:])

    @torch.inference_mode()
    def classify_overview(self, fetch: Fetch, h: int, w: int) -> torch.Tensor | None:
        """:meth:`classify` on the image averaged down by a whole factor to at most
        :data:`OVERVIEW_SIDE` pixels on the long side, read in bands so that a large photo is never
        held whole as floats; None for an image already that small (the overview would be itself), or
        so narrow that the overview would have no pixels across."""
        f = math.ceil(max(h, w) / OVERVIEW_SIDE)
        if f == 1 or min(h, w) < f:
            return None
        rows, band = h - h % f, f * max(1, 256 // f)
        bands = [avg_pool2d(fetch(t, 0, min(band, rows - t), w), f) for t in range(0, rows, band)]
        return self.classify_tensor(torch.cat(bands, 2))

    def prompt_weights(self, fetch: Fetch, batch: int, h: int, w: int, task: TaskSpec = "auto") -> Prompting:
        """The weights for ``task``: given, or from the classifier (:func:`blind_weights`)."""
        if not self.uses_prompts:
            return Prompting(None, "none")
        if isinstance(task, str) and task == "auto":
            probs = self.classify(fetch, h, w)
            clean = has_clean_class(probs.shape[-1], self.tasks)  # else blind_weights reads no overview
            overview = self.classify_overview(fetch, h, w) if clean else None
            weights, strength = blind_weights(probs, self.tasks, overview=overview)
            return Prompting(weights, "classifier", strength, probs)
        return Prompting(task_weights(task, batch=batch, tasks=self.tasks).to(self.device), "given")

    # ---- restoration ----------------------------------------------------------------------------
    def resolve_precision(self, precision: str) -> str:
        """``auto`` → bf16 where this device computes it natively, else fp32 (:mod:`pipir.device`)."""
        return resolve_precision(self.device, precision)

    def _precision_context(self, precision: str):
        return precision_context(self.device, precision)

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device).contiguous(memory_format=input_layout(self.device))

    def _forward(
        self,
        x: torch.Tensor,
        weights: torch.Tensor | None,
        precision: str,
        strength: torch.Tensor | None = None,
        **tiling,
    ) -> torch.Tensor:
        with self._precision_context(precision):
            y = self.model(x, weights, **tiling) if weights is not None else self.model(x)
        y = y.float().clamp(0, 1)
        if strength is not None:  # linear in y, so tiles blended afterwards give the same image
            y = x + strength.view(-1, 1, 1, 1) * (y - x)
        return y

    def _batches(self, fetch: Fetch, grid: Grid, tile_batch: int):
        """The tiles in raster order, ``tile_batch`` at a time: (band index, indices into
        ``grid.lefts``, the batch of tiles on the device, their windows for the shared prompts)."""
        for i, top in enumerate(grid.tops):
            for j in range(0, len(grid.lefts), tile_batch):
                cols = range(j, min(j + tile_batch, len(grid.lefts)))
                tiles = self._input(torch.cat([fetch(top, grid.lefts[c], grid.th, grid.tw) for c in cols]))
                windows = [(top, grid.lefts[c], grid.hp, grid.wp) for c in cols for _ in range(grid.b)]
                yield i, cols, tiles, windows

    def _whole_image_prompts(
        self, fetch: Fetch, grid: Grid, weights, precision, tile_batch, tick: Callable[[int], None]
    ) -> list[torch.Tensor]:
        """First pass of tiled restoration: every tile runs the encoder and adds its own part of the
        image to the S×S samples from which the prompts are made, so that all tiles then share the
        prompts of the whole image (PSNR against whole-image restoration rises from ~37 to ~43 dB)."""
        rows = owned_spans(grid.tops, grid.th, grid.hp, self.multiple)
        cols = owned_spans(grid.lefts, grid.tw, grid.wp, self.multiple)
        sums: list[torch.Tensor | None] | None = None

        def samples(item: tuple) -> list[torch.Tensor | None]:
            i, batch, tiles, windows = item
            owned = [(*rows[i], *cols[c]) for c in batch for _ in range(grid.b)]
            with self._precision_context(precision):
                parts = self.model.prompt_samples(tiles, windows, owned)
            return [None if p is None else p.view(len(batch), grid.b, *p.shape[1:]).sum(0) for p in parts]

        batches = self._batches(fetch, grid, tile_batch)
        for (_, batch, _, _), parts in side_by_side(samples, batches, self.workers):
            sums = parts if sums is None else [None if a is None else a + p for a, p in zip(sums, parts)]
            tick(len(batch))
        with self._precision_context(precision):
            return self.model.universal_prompts(sums, weights)

    @property
    def multiple(self) -> int:
        """Tiles start at multiples of this, so that their features line up with the whole image's."""
        return getattr(getattr(self.model, "backbone", self.model), "multiple", 8)

    @property
    def padding(self) -> str:
        """How the backbone pads a size that is not a multiple of :attr:`multiple`."""
        return getattr(getattr(self.model, "backbone", self.model), "padding", "reflect")

    @torch.inference_mode()
    def _run(
        self,
        fetch: Fetch,
        emit: Emit,
        shape: tuple[int, int, int],
        task: TaskSpec,
        tile: int | str | None,
        overlap: int,
        precision: str,
        tile_batch: int | None,
        progress: Progress | None = None,
        ensemble: int | str = 1,
    ) -> tuple[Prompting, tuple[int, int] | None, int]:
        """The one restore loop; returns how it was steered (:meth:`prompt_weights`), the tile
        height × width that ran (None: the whole image) and the views averaged (``ensemble``:
        :func:`pipir.ensemble.count_views`; the prompt weights are the same for every view).
        ``fetch(top, left, height, width)`` gives a B×3 float crop of the input, ``emit(top, left,
        block)`` takes a finished B×3×n×m block of the output. Tiles run in raster order and each
        hands on the block that no later tile touches (with an in-place ``emit``, no later tile
        reads it either), so memory depends on the tile size and the :attr:`workers` tiles in
        flight, and on the image width only through a strip as high as the tiles' overlap. Tiles
        run side by side are handed on in the same order.

        Tiles cover the image padded (by reflection, as the model pads a whole image) to a multiple
        of the model's down-sampling factor, start at multiples of it, and share the whole image's
        prompts (a first, encoder-only pass), so that tiling changes the result little.
        ``progress(done, total)`` is called after every batch of tiles (tiles of both passes)."""
        precision = self.resolve_precision(precision)
        tile_batch = tile_batch or self.default_tile_batch
        progress = progress or (lambda done, total: None)
        if tile == "auto":
            tile = auto_tile(self.model, tile_batch, self.device)
        if tile is not None and tile <= 2 * overlap:
            raise PipirError(f"tile ({tile}) must be larger than twice the overlap ({overlap})")
        b, h, w = shape
        whole = tile is None or (h <= tile and w <= tile)
        steer = self.prompt_weights(fetch, b, h, w, task)
        weights, strength = steer.weights, steer.strength
        n = count_views(ensemble, h * w, whole, upright_share(weights, self.tasks))
        if whole:

            def forward(view: torch.Tensor) -> torch.Tensor:
                return self._forward(self._input(view), weights, precision, strength)

            emit(0, 0, average_views(forward, self._input(fetch(0, 0, h, w)), n))
            progress(1, 1)
            return steer, None, n
        m = self.multiple
        hp, wp = h + (-h) % m, w + (-w) % m
        th, tw = fit_tile(hp, tile, overlap, m), fit_tile(wp, tile, overlap, m)

        def padded(t: int, s: int, hh: int, ww: int) -> torch.Tensor:
            return pad_to_multiple(fetch(t, s, min(hh, h - t), min(ww, w - s)), m, self.padding)

        grid = Grid(grid_starts(hp, th, overlap, m), grid_starts(wp, tw, overlap, m), th, tw, hp, wp, b)
        shared = self.uses_prompts and self.share_prompts
        done, total = 0, len(grid.tops) * len(grid.lefts) * (2 if shared else 1)

        def tick(n: int) -> None:
            nonlocal done
            done += n
            progress(done, total)

        prompts = None
        if shared:
            prompts = self._whole_image_prompts(padded, grid, weights, precision, tile_batch, tick)

        def forward(tiles: torch.Tensor, n: int, windows: list) -> torch.Tensor:
            """``n`` tiles of every image in the batch, with the whole image's weights and prompts."""
            tiling = {} if prompts is None else {"prompts": prompts, "windows": windows}
            tiled_weights = None if weights is None else weights.repeat(n, 1)
            tiled_strength = None if strength is None else strength.repeat(n)
            return self._forward(tiles, tiled_weights, precision, tiled_strength, **tiling)

        self._stitch(padded, emit, grid, (h, w), overlap, forward, tile_batch, tick)
        return steer, (th, tw), 1

    def _stitch(
        self,
        fetch: Fetch,
        emit: Emit,
        grid: Grid,
        size: tuple[int, int],
        overlap: int,
        forward: Callable[[torch.Tensor, int, list], torch.Tensor],
        tile_batch: int,
        tick: Callable[[int], None],
    ) -> None:
        """Second pass of tiled restoration: run ``forward`` on the tiles in raster order and blend
        them with a window that fades over the overlaps, emitting each block of the ``size`` image as
        soon as no later tile touches it."""
        (h, w), (th, tw, hp, wp, b) = size, (grid.th, grid.tw, grid.hp, grid.wp, grid.b)
        # The tiles form a grid and share one separable window, so the blending weights' sum is
        # the product of a row sum and a column sum: no image-wide weight buffer.
        wr, wc = window(th, overlap if hp > th else 0), window(tw, overlap if wp > tw else 0)
        row_sum, col_sum = torch.zeros(hp), torch.zeros(wp)
        for t in grid.tops:
            row_sum[t : t + th] += wr
        for s in grid.lefts:
            col_sum[s : s + tw] += wc
        win = (wr[:, None] * wc[None]).to(self.device)
        row_sum, col_sum = row_sum.to(self.device), col_sum.to(self.device)
        # Weighted sums still waiting for a neighbour: ``below`` holds the band's contributions to
        # the rows it shares with the next band (image-wide, but only as high as that overlap),
        # ``right`` the last tile's contributions to the columns it shares with the next tile. A tile
        # adds both to its own output, and the block that no later tile touches is then finished.
        tops, lefts = [*grid.tops, hp], [*grid.lefts, wp]
        shared_rows = [t0 + th - t1 for t0, t1 in zip(tops[:-2], tops[1:-1])]
        below = torch.zeros(b, 3, max(shared_rows, default=0), wp, device=self.device)
        # Buffers made once: a tile's blocks, allocated afresh and some kept into the next tile's
        # forward pass, would fragment the heap a little more with every tile.
        q, right = (
            torch.empty(b, 3, th, tw, device=self.device),
            torch.empty(b, 3, th, tw, device=self.device),
        )

        def run(item: tuple) -> torch.Tensor:
            _, batch, tiles, windows = item
            return forward(tiles, len(batch), windows).view(len(batch), b, 3, th, tw)

        for (i, batch, _, _), pred in side_by_side(run, self._batches(fetch, grid, tile_batch), self.workers):
            top, done_rows = tops[i], tops[i + 1] - tops[i]  # rows no later band touches
            above = shared_rows[i - 1] if i else 0
            for c, p in zip(batch, pred):
                s, done_cols = lefts[c], lefts[c + 1] - lefts[c]
                torch.mul(p, win, out=q)
                first = lefts[c - 1] + tw - s if c else 0  # columns the tile to the left covered
                q[..., :first] += right[..., :first]
                q[:, :, :above, first:] += below[:, :, :above, s + first : s + tw]
                right[..., : tw - done_cols] = q[..., done_cols:]
                if i + 1 < len(grid.tops):
                    below[:, :, : th - done_rows, s : s + done_cols] = q[:, :, done_rows:, :done_cols]
                rows, cols = min(done_rows, h - top), min(done_cols, w - s)
                if rows > 0 and cols > 0:
                    block = q[:, :, :rows, :cols].div_(row_sum[top : top + rows, None])
                    emit(top, s, block.div_(col_sum[None, s : s + cols]))
            tick(len(batch))

    def restore_tensor(
        self,
        x: torch.Tensor,
        task: TaskSpec = "auto",
        tile: int | str | None = None,
        overlap: int = 32,
        precision: str = "auto",
        tile_batch: int | None = None,
        progress: Progress | None = None,
        ensemble: int | str = "auto",
    ) -> RestoredTensor:
        """Restore B×3×H×W in [0, 1]; returns it with the prompt weights, their source, the blind
        strength and the views averaged (``ensemble``: 1, 2, 4, 8 or ``"auto"``,
        :mod:`pipir.ensemble`)."""
        x = x.to(torch.float32)
        out = torch.empty_like(x)

        def fetch(t: int, s: int, hh: int, ww: int) -> torch.Tensor:
            return x[:, :, t : t + hh, s : s + ww]

        def emit(t: int, s: int, block: torch.Tensor) -> None:
            out[:, :, t : t + block.shape[2], s : s + block.shape[3]] = block.to(out.device)

        shape = (x.shape[0], *x.shape[-2:])
        steer, _, n = self._run(
            fetch, emit, shape, task, tile, overlap, precision, tile_batch, progress, ensemble
        )
        return RestoredTensor(out, **steer._asdict(), views=n)

    def restore(
        self,
        image: np.ndarray,
        task: TaskSpec = "auto",
        tile: int | str | None = None,
        overlap: int = 32,
        precision: str = "auto",
        tile_batch: int | None = None,
        out: np.ndarray | None = None,
        progress: Progress | None = None,
        ensemble: int | str = "auto",
    ) -> Restored:
        """Restore a numpy image: H×W (grey), H×W×3 or H×W×4 (alpha passed through); uint8, uint16
        or float in [0, 1]. The result keeps the input's layout and dtype. Only the tiles being
        processed are ever held as floats.

        ``out``: an array of the result's shape and dtype to write into instead of a new one; it may
        be ``image`` itself (in place: each output pixel is written only after the last tile that
        reads it has run), which saves a copy of the photo (``pipir restore`` does this).
        ``progress(done, total)`` is told after every batch of tiles how far the restoration is.
        ``ensemble``: orientations averaged (1, 2, 4, 8; ``"auto"``: on a small photo restored whole,
        eight views where it has little rain or haze, else the photo and its mirror image; one on a
        larger photo; :func:`pipir.ensemble.count_views`)."""
        image = np.asarray(image)
        rgb, alpha, layout, scale = split_layout(image)
        h, w = rgb.shape[:2]
        shape = (h, w) if layout == "grey" else (h, w, 3 if alpha is None else 4)
        if out is None:
            out = np.empty(shape, dtype=image.dtype)
        elif out.shape not in (shape, image.shape) or out.dtype != image.dtype or not out.flags.writeable:
            raise PipirError(
                f"out must be a writeable {image.dtype} array of shape {shape}, not "
                f"{out.dtype} {out.shape}{'' if out.flags.writeable else ' (read-only)'}"
            )
        result = out.reshape(shape) if out.ndim == 3 and out.shape[2] == 1 else out  # H×W×1 grey
        target = result if alpha is None else result[:, :, :3]

        def fetch(t: int, s: int, hh: int, ww: int) -> torch.Tensor:
            crop = rgb[t : t + hh, s : s + ww].astype(np.float32) / np.float32(scale)
            return to_batch(crop)

        def emit(t: int, s: int, block: torch.Tensor) -> None:
            rows, cols = block.shape[2:]
            target[t : t + rows, s : s + cols] = to_layout(block[0].permute(1, 2, 0), layout, image.dtype)

        steer, tile, n = self._run(
            fetch, emit, (1, h, w), task, tile, overlap, precision, tile_batch, progress, ensemble
        )
        if alpha is not None:
            result[:, :, 3] = alpha  # a no-op in place
        weights, strength = steer.weights, steer.strength
        names = {} if weights is None else dict(zip(self.tasks, (float(v) for v in weights[0])))
        return Restored(result, names, steer.source, tile, 1.0 if strength is None else float(strength[0]), n)


__all__ = ["Prompting", "Restored", "Restorer", "TaskSpec"]
