"""Train a config within a time budget on whatever device is there, and report how it used it.

    python benchmarks/gpu_train.py configs/pipir-small-gpu.yaml --minutes 4 --out OUT [key=value ...]

1. Speed probe: a few optimiser steps of the config's model on synthesised batches (degradations on
   the device, as in training) give the time per step, eager and (``--compile auto`` on a GPU, or
   ``on``) with the restorer compiled in place; the faster one trains, and ``trainer.max_steps`` is set to
   fill what is left of ``--minutes`` (the cosine schedule then ends where the budget does).
2. ``pipir.train.fit`` with that step count (Lightning, checkpoints, exact resume as usual).
3. ``OUT/<name>.safetensors`` (the trained bundle, stored in bf16 to travel small) and
   ``OUT/<name>.json``: the device, the probe's img/s, the run's img/s and the share of the run's
   wall time the device spent waiting for the data loader.

    python benchmarks/gpu_train.py --report OUT/*.json

writes those reports to docs/benchmarks/gpu-train.{json,md} (the GPU machine's files come back
separately from its run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback

from pipir.checkpoints import load_bundle, save_bundle
from pipir.degrade.batch import CLASSES, synthesize
from pipir.train.config import load_config
from pipir.train.module import RestorationModule
from pipir.train.run import fit


def probe(config, compiled: bool, steps: int = 12) -> tuple[float, float]:
    """Seconds per optimiser step (forward, backward, AdamW, degradations), median after 4 warm-up
    steps, and the seconds of the first step (which holds the compilation when ``compiled``)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.use_deterministic_algorithms(True, warn_only=True)  # as the Trainer runs (deterministic="warn")
    module = RestorationModule(config).to(device)
    if compiled:
        module.model.compile()
    optimiser = torch.optim.AdamW(module.parameters(), lr=1e-4)
    b, p = config.trainer.batch_size, config.data.patch
    g = torch.Generator(device=device).manual_seed(0)
    dtype = torch.bfloat16 if "bf16" in config.trainer.precision else torch.float32
    times = []
    for _ in range(4 + steps):
        start = time.perf_counter()
        windows = torch.rand(b, 3, p + 32, p + 32, device=device, generator=g)
        labels = torch.randint(len(CLASSES), (b,), device=device, generator=g)
        d = config.data
        degraded, clean = synthesize(windows, labels, g, 16, d.jpeg_prob, d.camera_prob, deblock=d.deblock)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            restored = module.model(degraded, torch.full((b, 5), 0.2, device=device))
            loss = (restored.float() - clean).abs().mean()
            if module.sensor is not None:
                loss = loss + module.sensor(degraded).float().mean()
        loss.backward()
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times[4:])[steps // 2], times[0]


class Deadline(Callback):
    """Stop after the step that passes ``at`` (perf_counter seconds), so that a run whose steps are
    slower than the probe's still ends with an export inside its budget."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.stopped = False

    def on_train_batch_end(self, trainer, *args) -> None:
        if time.perf_counter() > self.at:
            trainer.should_stop = self.stopped = True


class Timer(Callback):
    """Wall time the training loop spends between one batch's end and the next batch's start, i.e.
    waiting for the data loader. Nothing synchronises per step (that would stall the device's queue):
    while the loop waits, queued device work may still run, so the share is an upper bound on the
    device's idle time. The device is synchronised once at the end, so the run's time is exact."""

    def __init__(self) -> None:
        self.wait = 0.0
        self.start = self.end = None
        self.steps = 0

    def on_train_batch_start(self, trainer, *args) -> None:
        now = time.perf_counter()
        if self.end is not None:
            self.wait += now - self.end
        self.start = self.start or now

    def on_train_batch_end(self, trainer, *args) -> None:
        self.end = time.perf_counter()
        self.steps += 1

    def on_train_end(self, trainer, *args) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.end = time.perf_counter()


COLUMNS = (
    "config",
    "device",
    "torch",
    "batch",
    "patch",
    "precision",
    "probe_img_per_s",
    "compiled",
    "steps",
    "run_img_per_s",
    "loader_wait_share",
    "fit_wall_s",
)


def write_reports(paths: list[str]) -> None:
    reports = [json.loads(Path(p).read_text()) for p in paths]
    docs = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
    (docs / "gpu-train.json").write_text(json.dumps(reports, indent=2) + "\n")
    lines = [
        "# Training within a time budget on one GPU",
        "",
        "`python benchmarks/gpu_train.py CONFIG --minutes M --out OUT data.images=data/pack` on the device "
        "named in each row; `probe_img_per_s`: median of 12 timed optimiser steps on synthesised batches "
        "(degradations made on the device), eager or with the restorer compiled (`compiled`); "
        "`run_img_per_s` and `loader_wait_share`: the whole Lightning run (steps × batch / time from the "
        "first step's start to the last step's end; the share of that time the training loop waited "
        "between one step's end and the next one's start for the data loader). Rows with `compiled` — "
        "synchronised the device after every step (which also stalls its queue); the others do not, so "
        "their share is an upper bound on the device's idle time.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for r in reports:
        cells = [f"{r[c]:.3g}" if isinstance(r.get(c), float) else str(r.get(c, "—")) for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    (docs / "gpu-train.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    if sys.argv[1:2] == ["--report"]:
        return write_reports(sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--out", default="runs/gpu")
    # auto: probe the compiled restorer too (on a GPU) and train the faster; the probe pays the
    # compilation (minutes), so short budgets are better off without it
    parser.add_argument("--compile", choices=("auto", "on", "off"), default="off")
    # A Lightning run's step took 1.65× (H100: 275 against 166 img/s) and 1.55–1.8× (H200: 304 against
    # 168–196 img/s) the probe's: its data loader, logging and checkpoints. The steps are planned with
    # this factor; the deadline stops a slower run anyway.
    parser.add_argument("--run-factor", type=float, default=1.75)
    parser.add_argument("overrides", nargs="*")
    args, rest = parser.parse_known_args()
    args.overrides += rest
    config = load_config(args.config, args.overrides)
    began = time.perf_counter()
    probes = {False: probe(config, compiled=False)}
    if args.compile == "on" or (args.compile == "auto" and torch.cuda.is_available()):
        probes[True] = probe(config, compiled=True)
    for compiled, (step, first) in probes.items():
        print(f"probe (compiled={compiled}): {step * 1000:.1f} ms/step, first step {first:.1f} s", flush=True)
    compiled = args.compile == "on" or min(probes, key=lambda c: probes[c][0])
    step = probes[compiled][0]
    config.trainer.compile = compiled
    # 8 % of what is left is kept for start-up, the loader's warm-up and the export
    left = args.minutes * 60 - (time.perf_counter() - began)
    config.trainer.max_steps = max(50, int(0.92 * left / (step * args.run_factor)))
    config.trainer.checkpoint_every = max(1, config.trainer.max_steps // 3)
    config.trainer.stop_at_step = None  # the planned schedule runs to its end (or the deadline)
    print(f"training {config.trainer.max_steps} steps (compiled={compiled})", flush=True)
    timer = Timer()
    deadline = Deadline(began + 0.97 * args.minutes * 60)
    fit_began = time.perf_counter()
    export = fit(config, progress=False, callbacks=(timer, deadline))
    wall = time.perf_counter() - fit_began
    run_time = timer.end - timer.start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = Path(config.output).name
    model, sensor, info = load_bundle(export)
    sensor = sensor.to(torch.bfloat16) if sensor is not None else None
    save_bundle(out / f"{name}.safetensors", model.to(torch.bfloat16), sensor, info)
    report = {
        "config": args.config,
        "overrides": args.overrides,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "torch": torch.__version__,
        "batch": config.trainer.batch_size,
        "patch": config.data.patch,
        "precision": config.trainer.precision,
        "probe_ms_per_step": {str(c): p[0] * 1000 for c, p in probes.items()},
        "probe_first_step_s": {str(c): p[1] for c, p in probes.items()},
        "probe_img_per_s": config.trainer.batch_size / step,
        "compiled": compiled,
        "steps": timer.steps,
        "stopped_at_deadline": deadline.stopped,
        "run_img_per_s": timer.steps * config.trainer.batch_size / run_time,
        "loader_wait_share": timer.wait / run_time,
        "fit_wall_s": wall,
        "total_wall_s": time.perf_counter() - began,
    }
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2), flush=True)


if __name__ == "__main__":
    sys.exit(main())
