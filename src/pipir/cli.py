"""The ``pipir`` command: parses arguments, calls the library, prints. No logic of its own."""

from __future__ import annotations

import sys

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


def main() -> None:
    """Entry point: user mistakes become one sentence on stderr and exit code 2."""
    try:
        app()
    except PipirError as err:
        Console(stderr=True).print(f"[red]error:[/red] {err}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
