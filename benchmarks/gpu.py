"""The GPU path, measured: inference and training steps of Restormer, PIP-Restormer, NAFNet and
PIP-NAFNet in fp32, TF32 and bf16 autocast, eager and compiled, in one run under a time budget.

    python benchmarks/gpu.py                       # one CUDA GPU, about 7 minutes
    python benchmarks/gpu.py --device cpu --smoke  # the same code at toy sizes, to check it runs

Inference: batch 1 at 256² and 512², and a 12 MP photo (3000×4000) restored in 512-pixel tiles
through the restore path. Training: a full optimiser step (AdamW, L1 loss) at 8×128² and 32×128²,
and the tiny models at 256×64². Each case: warm-up, then ROUNDS rounds of timed iterations (CUDA
events); the page shows the median round and the minimum, and PIP's overhead over its backbone
(medians). Cases are skipped, and said so, once the budget is spent. Writes
docs/benchmarks/gpu.{json,md} with the device named.

Targets (one H200): PIP-Restormer inference at 1×256² ≤ 30 ms; training at 8×128² ≥ 75 img/s; PIP's
overhead over its backbone ≤ 10 % in both.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from common import write_report  # noqa: E402

import pipir  # noqa: E402
from pipir.infer import Restorer  # noqa: E402
from pipir.layout import from_batch  # noqa: E402

ROUNDS = 3
MODELS = ("restormer", "pip_restormer", "nafnet", "pip_nafnet")


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # infer | tiled | train
    batch: int
    size: tuple[int, int]
    variant: str = "paper"


def cases(smoke: bool) -> list[Case]:
    if smoke:  # toy sizes: the code path only
        return [
            Case("infer 1×64²", "infer", 1, (64, 64), "tiny"),
            Case("tiled 96×128", "tiled", 1, (96, 128), "tiny"),
            Case("train 2×64²", "train", 2, (64, 64), "tiny"),
        ]
    return [
        Case("infer 1×256²", "infer", 1, (256, 256)),
        Case("infer 1×512²", "infer", 1, (512, 512)),
        Case("train 8×128²", "train", 8, (128, 128)),
        Case("train 32×128²", "train", 32, (128, 128)),
        Case("train tiny 256×64²", "train", 256, (64, 64), "tiny"),
        Case("tiled 12 MP", "tiled", 1, (3000, 4000)),
    ]


def precision_context(device: torch.device, precision: str):
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class Timer:
    """Seconds of ``n`` calls: CUDA events on a GPU, the wall clock elsewhere."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def __call__(self, step, n: int) -> float:
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            for _ in range(n):
                step()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1000
        begin = time.perf_counter()
        for _ in range(n):
            step()
        return time.perf_counter() - begin


def make_step(name: str, case: Case, device: torch.device, precision: str, compiled: bool):
    """A zero-argument callable running one iteration of ``case`` for model ``name``."""
    model = pipir.create_model(name, case.variant).to(device)
    runner = torch.compile(model) if compiled else model
    pip = name.startswith("pip_")
    weights = pipir.task_weights("denoise", batch=case.batch).to(device) if pip else None
    x = torch.rand(case.batch, 3, *case.size, device=device)
    if case.kind == "infer":
        model.eval()

        def infer():
            with torch.inference_mode():
                runner(x, weights) if pip else runner(x)

        return infer
    if case.kind == "tiled":
        restorer = Restorer(model, device=str(device))
        image = from_batch(x)
        tile, overlap = (512, 32) if min(case.size) > 512 else (80, 16)
        mode = "bf16" if precision == "bf16" else "fp32"  # tf32: fp32 with the backend flags set
        task = "denoise" if pip else "auto"
        return lambda: restorer.restore(
            image, task=task, tile=tile, overlap=overlap, precision=mode, ensemble=1
        )
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    target = torch.rand_like(x)

    def train():
        loss = ((runner(x, weights) if pip else runner(x)) - target).abs().mean()
        loss.backward()
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)

    return train


def measure(name: str, case: Case, device: torch.device, precision: str, compiled: bool) -> dict:
    timer = Timer(device)
    step = make_step(name, case, device, precision, compiled)
    iterations = 1 if case.kind == "tiled" else 10
    with precision_context(device, precision):
        begin = time.perf_counter()
        step()  # first call: compilation, cudnn autotuning
        first = time.perf_counter() - begin
        for _ in range(2 if case.kind != "tiled" else 0):
            step()
        rounds = [timer(step, iterations) / iterations for _ in range(ROUNDS)]
    median = statistics.median(rounds)
    row = {
        "case": case.name,
        "model": f"{name} {case.variant}",
        "precision": precision,
        "mode": "compiled" if compiled else "eager",
        "median ms": round(1000 * median, 2),
        "min ms": round(1000 * min(rounds), 2),
        "first call s": round(first, 1),
    }
    if case.kind == "train":
        row["img/s (median)"] = round(case.batch / median, 1)
    return row


def plan(smoke: bool) -> list[tuple[str, Case, str, bool]]:
    """(model, case, precision, compiled), most important first: what the targets need, then the
    rest, so that a spent budget cuts the least useful cases."""
    precisions = ("fp32",) if smoke else ("bf16", "tf32", "fp32")
    order = []
    for case in cases(smoke):
        for precision in precisions:
            if case.kind == "tiled" and precision == "fp32" and not smoke:
                continue
            for name in MODELS:
                order.append((name, case, precision, False))
    compiled = [  # compilation takes minutes on a CPU: the smoke run checks the eager path only
        (name, case, "bf16", True)
        for case in cases(smoke)[:3]
        if case.kind != "tiled" and not smoke
        for name in ("restormer", "pip_restormer")
    ]
    key_cases = {"infer 1×256²", "train 8×128²"}
    first = [p for p in order if p[1].name in key_cases and p[2] in ("bf16", "tf32")]
    return first + compiled + [p for p in order if p not in first]


def overheads(rows: list[dict]) -> None:
    """PIP's overhead over its backbone in the same case, precision and mode (medians)."""
    index = {(r["case"], r["model"].split()[0], r["precision"], r["mode"]): r for r in rows}
    for row in rows:
        name = row["model"].split()[0]
        if name.startswith("pip_"):
            base = index.get((row["case"], name[4:], row["precision"], row["mode"]))
            if base:
                row["PIP overhead"] = f"{100 * (row['median ms'] / base['median ms'] - 1):+.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--minutes", type=float, default=7.0, help="stop starting new cases after this")
    parser.add_argument("--smoke", action="store_true", help="toy sizes, to check the script runs")
    parser.add_argument("--out", default="gpu", help="page name under docs/benchmarks/")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU: run with --device cpu --smoke to check the script")
    torch.backends.cudnn.benchmark = True
    deadline = time.monotonic() + 60 * args.minutes
    rows, skipped = [], []
    for name, case, precision, compiled in plan(args.smoke):
        label = f"{case.name} {name} {precision}{' compiled' if compiled else ''}"
        if time.monotonic() > deadline:
            skipped.append(label)
            continue
        try:
            rows.append(measure(name, case, device, precision, compiled))
            print(label, rows[-1]["median ms"], "ms", flush=True)
        except torch.OutOfMemoryError:
            skipped.append(f"{label} (out of memory)")
        if device.type == "cuda":
            torch.cuda.empty_cache()
    overheads(rows)
    columns = ["case", "model", "precision", "mode", "median ms", "min ms", "img/s (median)", "PIP overhead"]
    columns.append("first call s")
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    notes = (
        f"`python benchmarks/gpu.py{' --smoke' if args.smoke else ''}` on {gpu}: {ROUNDS} rounds per case, "
        "each the mean of 10 iterations (1 for the tiled photo) after warm-up; median and minimum of the "
        "rounds. Training: one AdamW step with an L1 loss. tf32: TF32 matmuls and convolutions; bf16: "
        "autocast. `first call` includes compilation and cudnn autotuning."
    )
    if skipped:
        notes += f" Not measured (time budget {args.minutes:g} min or memory): {'; '.join(skipped)}."
    write_report(args.out, f"GPU path on {gpu}", rows, columns, notes)


if __name__ == "__main__":
    main()
