"""Helpers every benchmark script shares: describe the machine, write JSON + a Markdown table."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np
import torch

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_report(name: str, title: str, rows: list[dict], columns: list[str], notes: str = "") -> None:
    """``docs/benchmarks/<name>.json`` (rows + machine) and ``<name>.md`` (a table)."""
    DOCS.mkdir(parents=True, exist_ok=True)
    info = machine()
    (DOCS / f"{name}.json").write_text(json.dumps({"machine": info, "rows": rows}, indent=2) + "\n")
    lines = [
        f"# {title}",
        "",
        f"Machine: {info['cpu']}, {info['logical_cores']} logical cores, "
        f"{info['torch_threads']} torch threads, torch {info['torch']}, Python {info['python']}.",
        "",
    ]
    if notes:
        lines += [notes, ""]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    (DOCS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def interval(each: list[float] | None, other: list[float] | None = None) -> float | None:
    """Half-width of the 95 % interval of the mean of ``each`` over the photos, or of its difference
    from ``other`` photo by photo (1.96 · SD / √n); None without two photos, or where ``other``
    holds a different number of photos."""
    if not each or len(each) < 2 or (other is not None and len(other) != len(each)):
        return None
    differences = np.asarray(each) - (0.0 if other is None else np.asarray(other))
    return float(1.96 * differences.std(ddof=1) / np.sqrt(len(differences)))


def add_photo_options(parser) -> None:
    """The options of a benchmark over the validation photos (``pipir eval --photos``'s protocol)."""
    parser.add_argument("--photos", default="data/photos")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--threads", type=int, default=1)


def validation_photos(args) -> list[torch.Tensor]:
    """The intact validation photos (1×3×H×W each) as ``pipir eval --photos`` reads them, by the
    options of :func:`add_photo_options`: downscaled to ``--size``, cropped to a multiple of 16."""
    from pipir.evaluate import photo_items

    return [
        item.clean for item in photo_items(args.photos, "validation", args.size, 0, args.limit, ["clean"])
    ]


def load_with_clean_class(name: str | None):
    """A shipped model or checkpoint whose classifier has the "clean" answer, or exit saying so."""
    from pipir.hub import load
    from pipir.infer import has_clean_class

    restorer = load(name)
    if restorer.sensor is None or not has_clean_class(restorer.sensor.num_tasks, restorer.tasks):
        raise SystemExit(f"{restorer.name}: the model needs a classifier with a 'clean' class")
    return restorer
