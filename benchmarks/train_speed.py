"""CPU training steps of the shipped models' architectures, as written against set up for the CPU,
and set up for the CPU in bf16 autocast (``trainer.precision: bf16-mixed``) with ``--bf16``.

Training on a CPU sets the models up as restoring does (``pipir.device.set_execution``: channels-
last weights and inputs, per-group convolution parts; its bands of rows apply only without autograd,
so not here); this measures what that buys
per optimiser step (forward, L1 or cross-entropy loss, backward, AdamW) at the sizes the recipes
train at, on random data (the step's cost does not depend on the pixels).

    python benchmarks/train_speed.py [--rounds 5] [--steps 3] [--threads 2] [--bf16] [--name train-speed]

The set-ups of a model alternate round by round (their order reverses every round), so load that
drifts over the minutes of a run hits them alike; a speed-up is the median of the per-round ratios.
Writes docs/benchmarks/<name>.{json,md}.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import pipir
from pipir.device import input_layout, set_execution
from pipir.models.sensor import DegradationSensor

try:
    from benchmarks.common import write_report
except ImportError:  # run as a script
    from common import write_report


@dataclass(frozen=True)
class Case:
    name: str
    build: str  # "restorer VARIANT" or "classifier"
    batch: int
    patch: int


CASES = (
    Case("pipir-small restorer (configs/pipir-small-*.yaml)", "restorer small", 8, 128),
    Case("pipir-tiny restorer (configs/pipir-tiny-photos.yaml)", "restorer tiny", 8, 64),
    Case("classifier (configs/sensor-photos-160.yaml)", "classifier", 32, 160),
)


def build(case: Case) -> torch.nn.Module:
    if case.build == "classifier":
        return DegradationSensor(num_tasks=6, width=32)
    return pipir.create_model("pip_restormer", case.build.split()[1])


def step_function(case: Case, model: torch.nn.Module, fast: bool, bf16: bool = False):
    """One optimiser step of ``model`` on a fixed random batch, as training takes it (in bf16
    autocast with ``bf16``, as Lightning's bf16-mixed runs the forward pass)."""
    cpu = torch.device("cpu")
    if fast:
        set_execution(model, cpu)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.rand(case.batch, 3, case.patch, case.patch)
    if fast:
        x = x.contiguous(memory_format=input_layout(cpu))
    if case.build == "classifier":
        labels = torch.randint(6, (case.batch,))
        loss = lambda: F.cross_entropy(model(x), labels)  # noqa: E731
    else:
        weights = pipir.task_weights("denoise", batch=case.batch)
        target = torch.rand(case.batch, 3, case.patch, case.patch)
        loss = lambda: F.l1_loss(model(x, weights), target)  # noqa: E731

    def step() -> float:
        start = time.perf_counter()
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            value = loss()
        value.backward()
        optimizer.step()
        return time.perf_counter() - start

    return step


def measure(case: Case, rounds: int, steps: int, bf16: bool) -> dict:
    torch.manual_seed(0)
    plain = build(case)
    arms = {"as written": step_function(case, plain, False)}
    arms["set up for the CPU"] = step_function(case, copy.deepcopy(plain), True)
    if bf16:
        arms["bf16"] = step_function(case, copy.deepcopy(plain), True, bf16=True)
    for step in arms.values():  # warm-up
        step(), step()
    times: dict[str, list[float]] = {arm: [] for arm in arms}
    for r in range(rounds):
        for arm in list(arms)[:: 1 if r % 2 == 0 else -1]:
            times[arm].append(statistics.median(arms[arm]() for _ in range(steps)))
    written, fast = times["as written"], times["set up for the CPU"]
    slow_step, fast_step = statistics.median(written), statistics.median(fast)
    row = {
        "model": case.name,
        "batch": f"{case.batch} × {case.patch}²",
        "as written, s/step": f"{slow_step:.3f}",
        "set up for the CPU, s/step": f"{fast_step:.3f}",
        "img/s": f"{case.batch / slow_step:.1f} → {case.batch / fast_step:.1f}",
        "speed-up": f"{statistics.median(w / f for w, f in zip(written, fast)):.2f}×",
    }
    if bf16:
        half = times["bf16"]
        row["set up for the CPU, bf16 autocast, s/step"] = f"{statistics.median(half):.3f}"
        row["bf16 over fp32 set up"] = f"{statistics.median(f / h for f, h in zip(fast, half)):.2f}×"
    return {**row, "rounds": rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="steps a round; its time is their median")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bf16", action="store_true", help="also time bf16 autocast, set up for the CPU")
    parser.add_argument("--name", default="train-speed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [measure(case, args.rounds, args.steps, args.bf16) for case in CASES]
    write_report(
        args.name,
        "CPU training steps: the models as written against set up for the CPU"
        + (" (fp32), and set up for the CPU in bf16 autocast" if args.bf16 else " (fp32)"),
        rows,
        list(rows[0]),
        notes=f"`python benchmarks/train_speed.py --rounds {args.rounds} --steps {args.steps} "
        f"--threads {args.threads}{' --bf16' if args.bf16 else ''}`: one optimiser step (forward, "
        "loss, backward, AdamW) on a fixed random batch; each round times every set-up back to back, "
        f"each as the median of {args.steps} steps, after two warm-up steps. A speed-up is the median "
        "of the per-round ratios. `pipir train` on a CPU sets the models up for it "
        "(`pipir.device.set_execution`), in bf16 autocast with `trainer.precision: bf16-mixed`, or "
        "`auto` where the CPU computes bf16 natively.",
    )


if __name__ == "__main__":
    main()
