"""The ``pipir`` command: parses arguments, calls the library, prints. No logic of its own."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import typer
from rich.console import Console
from rich.table import Table

from pipir.errors import PipirError
from pipir.models import TASKS, count_parameters, create_model
from pipir.models.registry import BACKBONES, VARIANTS

app = typer.Typer(
    help="Universal image restoration with Prompt-In-Prompt learning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()


@app.callback()
def _group() -> None:
    """Universal image restoration with Prompt-In-Prompt learning."""


@app.command()
def info() -> None:
    """List every model and variant with its parameter count and prompt layout."""
    table = Table(title=f"pipir models (K = {len(TASKS)} tasks: {', '.join(TASKS)})")
    for column in ("model", "variant", "params", "PIP overhead", "prompt D per level", "prompt S"):
        table.add_column(column, justify="right" if column in ("params", "PIP overhead") else "left")
    for backbone in BACKBONES:
        for variant in VARIANTS[backbone]:
            with torch.device("meta"):
                base = create_model(backbone, variant)
                pip = create_model(f"pip_{backbone}", variant)
            n_base, n_pip = count_parameters(base), count_parameters(pip)
            dims = [b.prompt.task_prompts.shape[1] for b in pip.pip]
            sizes = [b.prompt.prompt_size for b in pip.pip]
            table.add_row(backbone, variant, f"{n_base:,}", "", "", "")
            table.add_row(
                f"pip_{backbone}",
                variant,
                f"{n_pip:,}",
                f"+{100 * (n_pip - n_base) / n_base:.2f}%",
                " / ".join(map(str, dims)),
                " / ".join(map(str, sizes)),
            )
    console.print(table)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    config: Path = typer.Option(None, "--config", "-c", help="YAML config (see configs/)"),
    resume: str = typer.Option(None, help="'auto' (the run's last checkpoint) or a checkpoint path"),
    progress: bool = typer.Option(True, help="show the progress bar"),
) -> None:
    """Train a model: pipir train --config configs/tiny-cpu.yaml [key.sub=value ...]."""
    from pipir.train import fit, load_config

    settings = load_config(config, ctx.args)
    export = fit(settings, resume=resume, progress=progress)
    console.print(f"model written to {export}")


data_app = typer.Typer(help="Datasets: check the standard benchmarks' layout.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("check")
def data_check(
    root: Path = typer.Argument(..., help="dataset root (the official $dataset_path or its data/ folder)"),
    setting: str = typer.Option("5task", help="3task (noise, rain, haze) or 5task (+ blur, low light)"),
    task: list[str] = typer.Option(None, help="check only these tasks (repeatable)"),
    split: str = typer.Option("both", help="train, test or both"),
    quick: bool = typer.Option(False, help="pair names only; do not decode every image"),
) -> None:
    """Count pairs per task and split and list problems. Exit 2 when an asked-for task is missing,
    1 when files are unpaired or damaged, 0 when all is well."""
    from pipir.data import SETTINGS, check

    if setting not in SETTINGS:
        raise PipirError(f"setting must be one of {', '.join(SETTINGS)}, not {setting!r}")
    tasks = tuple(task) if task else SETTINGS[setting]
    for name in tasks:
        if name not in TASKS:
            raise PipirError(f"unknown task {name!r}: choose from {', '.join(TASKS)}")
    splits = {"both": ("train", "test"), "train": ("train",), "test": ("test",)}.get(split)
    if splits is None:
        raise PipirError(f"split must be train, test or both, not {split!r}")
    rows = check(root, tasks, splits, decode=not quick)
    table = Table(title=f"benchmark data under {root}")
    table.add_column("task")
    for sp in splits:
        table.add_column(f"{sp} pairs", justify="right")
    table.add_column("problems")
    for row in rows:
        counts = ["missing" if row.counts[sp] is None else str(row.counts[sp]) for sp in splits]
        table.add_row(row.task, *counts, "\n".join(row.problems) or "none")
    console.print(table)
    if any(not row.counts[sp] for row in rows for sp in splits):
        raise typer.Exit(2)
    if any(row.problems for row in rows):
        raise typer.Exit(1)


def main() -> None:
    """Entry point: user mistakes become one sentence on stderr and exit code 2."""
    try:
        app()
    except PipirError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
