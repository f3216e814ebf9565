"""Does PIP help? Every arm of configs/study/arms.yaml trained with one recipe and several seeds,
scored on the validation photos; resumable (a killed run continues from its last checkpoint).

    python benchmarks/study.py run pip_restormer            # one arm, seeds 0 1 2
    python benchmarks/study.py run restormer nafnet --seeds 0
    python benchmarks/study.py report                      # docs/study.{json,md}, docs/figures/study.png

Each run writes runs/study/ARM/sSEED/result.json: parameters, wall time (summed over launches) and
RGB PSNR per validation column at every checkpoint. PIP arms are told the task (one-hot weights),
as in the papers' tables; the other arms are blind by design.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pipir.evaluate import Item, classical_method, evaluate, photo_items  # noqa: E402
from pipir.infer import Restorer  # noqa: E402
from pipir.layout import from_batch, to_batch  # noqa: E402
from pipir.models import count_parameters  # noqa: E402
from pipir.train.config import Config, load_config  # noqa: E402

BASE = ROOT / "configs/study/base.yaml"
ARMS = ROOT / "configs/study/arms.yaml"
RUNS = ROOT / "runs/study"
# The validation columns the study scores: the five trained tasks (no camera noise, JPEG or intact
# photos, which the study's recipe does not train for).
COLUMNS = ("noise σ15", "noise σ25", "noise σ50", "rain", "haze", "motion blur", "low light")
PHOTOS = dict(folder=ROOT / "data/photos", split="validation", size=192, limit=12)
# Two degradations at once (column, the tasks, then the degradations in the order they happen);
# scored beside the task columns, not in their Average.
MIXTURES = (
    ("haze+noise", ("dehaze", "denoise"), (("haze", {}), ("noise", {"sigma": 25, "protocol": "official"}))),
    ("rain+haze", ("derain", "dehaze"), (("haze", {}), ("rain", {}))),
    (
        "low light+noise",
        ("lowlight", "denoise"),
        (("lowlight", {}), ("noise", {"sigma": 15, "protocol": "official"})),
    ),
)


def arms() -> dict[str, dict]:
    return yaml.safe_load(ARMS.read_text())


def arm_config(arm: str, seed: int, steps: int) -> Config:
    """The base recipe with ``arm``'s overrides, this seed, and checkpoints at thirds of the run."""
    overrides = [
        *arms()[arm]["overrides"],
        f"seed={seed}",
        f"output={RUNS / arm / f's{seed}'}",
        f"trainer.max_steps={steps}",
        f"trainer.checkpoint_every={steps // 3}",
    ]
    return load_config(BASE, overrides)


def validation_items() -> list:
    """The task columns of the validation photos, then the mixture columns on the same photos."""
    from pipir import degrade

    items = photo_items(**PHOTOS, columns=COLUMNS)
    clean = {item.name: item.clean for item in items if item.column == COLUMNS[0]}
    for p, (name, photo) in enumerate(clean.items()):
        image = from_batch(photo)
        for c, (column, tasks, steps) in enumerate(MIXTURES):
            degraded = image
            for s, (kind, params) in enumerate(steps):
                degraded = degrade.apply(degraded, kind, seed=[7, p, c, s], **params)
            tensor = to_batch(degraded)
            items.append(Item(column, "+".join(tasks), tensor, photo, name=name))
    return items


def score(model: torch.nn.Module, items: list, prompts: str = "label") -> dict[str, float]:
    """RGB PSNR per column (and their mean) of ``model``; a PIP model is told the task, or given
    uniform weights when it was trained with them (``data.prompts=uniform``)."""
    restorer = Restorer(model, device="cpu")
    uniform = {task: 1.0 for task in restorer.tasks}

    def method(item):  # told the task (both halves of a mixture), or uniform weights
        told = {task: 1.0 for task in item.task.split("+")} if restorer.uses_prompts else "auto"
        task = uniform if prompts == "uniform" and restorer.uses_prompts else told
        return restorer.restore_tensor(item.degraded, task=task, precision="fp32", ensemble=1).image.cpu()

    table = evaluate(items, {"m": method}, average_over=COLUMNS)["m"]
    return {column: round(values["psnr"], 3) for column, values in table.items()}


def checkpoint_model(path: Path) -> torch.nn.Module:
    """The restorer stored in a Lightning checkpoint of a run (rebuilt with the run's config.yaml)."""
    from pipir.train.run import load_run_checkpoint

    return load_run_checkpoint(path)[0].model


def train(config: Config) -> float:
    """Train (or continue) this run; returns the seconds this launch spent."""
    from pipir.train.run import fit

    start = time.perf_counter()
    fit(config, resume="auto", progress=False)
    return time.perf_counter() - start


def run(arm: str, seed: int, steps: int, items: list) -> dict:
    out = RUNS / arm / f"s{seed}"
    result_path = out / "result.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    config = arm_config(arm, seed, steps)
    wall_path = out / "wall.json"
    launches = json.loads(wall_path.read_text()) if wall_path.is_file() else []
    if not (out / "model.safetensors").is_file():
        launches.append(round(train(config), 1))
        wall_path.write_text(json.dumps(launches))
    curve = {}
    for ckpt in sorted((out / "checkpoints").glob("step*.ckpt")):
        curve[int(ckpt.stem[4:])] = score(checkpoint_model(ckpt), items, config.data.prompts)
    model = checkpoint_model(max((out / "checkpoints").glob("step*.ckpt")))
    result = {
        "arm": arm,
        "seed": seed,
        "steps": steps,
        "parameters": count_parameters(model),
        "train_seconds": round(sum(launches), 1),
        "launches": len(launches),
        "curve": curve,
        "final": curve[max(curve)],
    }
    result_path.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return result


def baselines(items: list) -> dict:
    """The degraded input and the classical baseline (non-local means told σ, dark channel prior,
    CLAHE) on the same items, cached beside the runs."""
    path = RUNS / "baselines.json"
    if path.is_file():
        return json.loads(path.read_text())
    table = evaluate(items, {"degraded input": None, "classical": classical_method}, average_over=COLUMNS)
    result = {
        name: {column: round(values["psnr"], 3) for column, values in columns.items() if column != "Average"}
        for name, columns in table.items()
    }
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return result


def command_run(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    if args.steps % 3 or args.steps < 3:
        raise SystemExit(f"--steps must be a positive multiple of 3, not {args.steps}")
    unknown = [a for a in args.arms if a not in arms()]
    if unknown:
        raise SystemExit(f"unknown arm(s) {', '.join(unknown)}: choose from {', '.join(arms())}")
    items = validation_items()
    for arm in args.arms:
        for seed in args.seeds:
            result = run(arm, seed, args.steps, items)
            print(f"{arm} seed {seed}: {result['final']['Average']:.2f} dB, {result['train_seconds']:.0f} s")


def main(argv: list[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="train and score arms (resumes what a killed run left)")
    p_run.add_argument("arms", nargs="+")
    p_run.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p_run.add_argument("--steps", type=int, default=480, help="a multiple of 3 (checkpoints at thirds)")
    sub.add_parser("report", help="write docs/study.{json,md} and the PSNR-vs-step plot")
    parser.add_argument("--runs", type=Path, default=RUNS, help="where the runs live (default runs/study)")
    args = parser.parse_args(argv)
    globals()["RUNS"] = args.runs
    if args.command == "run":
        command_run(args)
    else:
        from common import machine
        from study_report import report  # matplotlib only for the report

        info = machine()
        hardware = f"{info['cpu']} ({info['logical_cores']} cores), torch {info['torch']}"
        report(RUNS, baselines(validation_items()), arms(), hardware, PHOTOS)


if __name__ == "__main__":
    main()
