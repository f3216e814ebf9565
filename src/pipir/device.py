"""Which device a restore runs on, and in which precision: bf16 where the hardware runs it natively."""

from __future__ import annotations

import collections
import contextlib
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import torch

from pipir.errors import PipirError

Item = TypeVar("Item")
Result = TypeVar("Result")


def mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()


def resolve_device(device: str) -> torch.device:
    """``auto`` → a CUDA GPU when torch sees one, else Apple's MPS where present, else the CPU;
    ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` as asked, with one sentence when this torch cannot give it."""
    text = str(device).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_available() else "cpu")
    if text == "mps":
        if not mps_available():
            raise PipirError("device 'mps' asked for, but this torch sees no Apple GPU: use cpu or auto")
        return torch.device("mps")
    if text != "cpu" and not (text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit())):
        raise PipirError(f"device must be auto, cpu, cuda, cuda:N or mps, not {device!r}")
    if text.startswith("cuda"):
        if not torch.cuda.is_available():
            raise PipirError(f"device {device!r} asked for, but this torch sees no CUDA GPU: use cpu or auto")
        index = int(text[5:]) if ":" in text else 0
        if index >= torch.cuda.device_count():
            raise PipirError(
                f"device {device!r} asked for, but torch sees {torch.cuda.device_count()} GPU(s)"
            )
    return torch.device(text)


CPUINFO = Path("/proc/cpuinfo")

# With AVX-512 BF16 but no AMX, whether bf16 pays depends on the CPU: a 512² forward of the default
# model ran 18× slower than fp32 on an earlier AMD EPYC and 3.1× faster on a Zen 5 EPYC (2.33 s
# against 7.22 s, docs/benchmarks/restore-zen5.md). The choice is made from the CPU's identity, not
# timed at start: a timing taken while other work shares the cores can differ between processes,
# and then so would the same photo's restore.
ZEN5_FAMILY = 26  # AMD's CPU family number of Zen 5


def bf16_is_native(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":  # MPS and others: not known to compute bf16 fast
        return False
    try:
        info = CPUINFO.read_text()
    except OSError:
        return False
    flags = set(info.split())
    if "amx_bf16" in flags:
        return True
    family = re.search(r"^cpu family\s*:\s*(\d+)", info, re.MULTILINE)
    zen5 = "AuthenticAMD" in info and family is not None and int(family.group(1)) >= ZEN5_FAMILY
    return "avx512_bf16" in flags and zen5


def resolve_precision(device: torch.device, precision: str) -> str:
    """``auto`` → bf16 where the hardware computes it natively and fast (AMX CPUs, Zen 5 CPUs with
    AVX-512 BF16, bf16 GPUs), else fp32.
    bf16 output stays ~58 dB PSNR from fp32 on the default model (docs/benchmarks/restore.md)."""
    if precision not in ("auto", "fp32", "bf16"):
        raise PipirError(f"precision must be 'auto', 'fp32' or 'bf16', not {precision!r}")
    if precision != "auto":
        return precision
    return "bf16" if bf16_is_native(device) else "fp32"


def precision_context(device: torch.device, precision: str):
    """bf16 autocast for ``bf16``, nothing for ``fp32``."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


# Rows per band of the banded blocks on a CPU (pipir.nn.banded): their largest temporaries are then
# 32 rows high, a few MB for a 512-pixel-wide tile (docs/benchmarks/banded.md measures the choice).
BAND_ROWS = 32


def prepare_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` in eval mode on ``device``, set up to run fast there (:func:`set_execution`)."""
    model = model.eval().to(device)
    set_execution(model, device)
    return model


def set_execution(model: torch.nn.Module, device: torch.device) -> None:
    """Set ``model`` up, in place, to run fast on ``device``: the one place that knows about
    hardware (the model code itself is the same on every device). Restoring (:func:`prepare_model`)
    and training (``pipir.train.module``) both use it; the numbers are the same either way, to
    float rounding, gradients included.

    CPU: convolution weights channels-last (the layers keep that layout; with bf16 the convolutions
    run several times faster in it) and the fused 1×1 + depthwise convolutions computed one channel
    group at a time (``split_parts``: chunks of a channels-last tensor are strided views, slow for the
    element-wise ops that follow), and Restormer's blocks and PIP's prompt-to-feature blocks computed
    :data:`BAND_ROWS` rows at a time (``band_rows``, :mod:`pipir.nn.banded`: the same numbers, less
    memory traffic; without autograd only, so not in training; what the rest buys a training step:
    ``docs/benchmarks/train-speed.md``). Other devices: the model as written, in the default layout.
    Tensors of other ranks (PromptIR's 5-D prompt bank) keep their layout."""
    if device.type != "cpu":
        return
    for module in model.modules():
        if hasattr(module, "split_parts"):
            module.split_parts = True
        if hasattr(module, "band_rows"):
            module.band_rows = BAND_ROWS
    for param in model.parameters():
        if param.dim() == 4:
            param.data = param.data.contiguous(memory_format=torch.channels_last)


def input_layout(device: torch.device) -> torch.memory_format:
    """The memory format :func:`prepare_model`'s model takes its inputs in on ``device``."""
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def tile_workers(device: torch.device) -> int:
    """How many tiles a restore runs side by side: two on a CPU with two or more torch threads, each
    tile on half of them. A 512² tile of the default model ran ~1.2× faster per pixel as two tiles
    on one thread each than one after another on two threads (fp32 and bf16, 2-core Xeon); its
    operations do not spread well over two cores. On a GPU one tile at a time (batched instead)."""
    return 2 if device.type == "cpu" and torch.get_num_threads() >= 2 else 1


def side_by_side(
    fn: Callable[[Item], Result], items: Iterable[Item], workers: int
) -> Iterator[tuple[Item, Result]]:
    """``(item, fn(item))`` for every item, in order, with up to ``workers`` calls running at once,
    each in a thread of its own with an equal share of torch's CPU threads and in inference mode
    (grad mode and autocast are per thread: ``fn`` enters its own precision context). Items are
    drawn from ``items`` only as a worker frees up, so at most ``workers`` are held at a time besides
    the one the caller is using. torch's thread count is restored when the iteration ends."""
    if workers <= 1:
        for item in items:
            yield item, fn(item)
        return
    threads = torch.get_num_threads()
    each = max(1, threads // workers)

    def run(item: Item) -> Result:
        torch.set_num_threads(each)  # this thread's own OpenMP count
        with torch.inference_mode():
            return fn(item)

    pending: collections.deque = collections.deque()
    with ThreadPoolExecutor(workers) as pool:
        try:
            for item in items:
                pending.append((item, pool.submit(run, item)))
                if len(pending) == workers:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            for _, future in pending:
                future.cancel()
            torch.set_num_threads(threads)
