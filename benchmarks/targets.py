"""Does the default model meet its targets? Each target of the default model, checked against the
test split's evaluation and the large-photo benchmark, both already run:

    pipir eval pipir-small --photos data/photos --split test --out docs/eval/test-pipir-small
    python benchmarks/restore.py --threads 2 --tile auto --sizes 12 --modes cli api
    python benchmarks/targets.py [--eval docs/eval/test-pipir-small.json] \
        [--restore docs/benchmarks/restore.json]

The evaluation must hold the degraded input, the model told the task (oracle weights), blind (auto
weights), non-local means and BM3D rows. Writes docs/benchmarks/targets.{json,md}: per target, what
was measured, what is asked, and whether it is met. Nothing is re-measured here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOISE = ["noise σ15", "noise σ25", "noise σ50"]
TASKS = [*NOISE, "camera noise", "rain", "haze", "motion blur", "low light"]
COLUMNS = ["target", "measured", "asked", "met"]


def rows_by_role(results: dict) -> dict[str, dict]:
    """The evaluation's rows by what they are: input, told, blind, classical, bm3d."""
    roles = {
        "input": lambda name: name == "degraded input",
        "told": lambda name: name.endswith("(oracle weights)"),
        "blind": lambda name: name.endswith("(auto weights)"),
        "classical": lambda name: name.startswith("classical"),
        "bm3d": lambda name: name.startswith("BM3D"),
    }
    found = {}
    for role, matches in roles.items():
        names = [name for name in results if matches(name)]
        if len(names) != 1:
            raise SystemExit(f"the evaluation needs exactly one {role} row, found {names or 'none'}")
        found[role] = {column: cell["psnr"] for column, cell in results[names[0]].items()}
    return found


def worst(columns: list[str], margin) -> tuple[str, float]:
    """The column with the smallest margin, and that margin."""
    column = min(columns, key=margin)
    return column, margin(column)


def psnr_targets(rows: dict[str, dict]) -> list[dict]:
    blind, told, given = rows["blind"], rows["told"], rows["input"]

    def row(target, column, margin, asked, met_at=0.0):
        return dict(target=target, measured=f"{margin:+.2f} dB ({column})", asked=asked, met=margin >= met_at)

    out = []
    for name, base in (("non-local means (told σ)", "classical"), ("BM3D (true σ)", "bm3d")):
        column, margin = worst(NOISE, lambda c, base=base: blind[c] - rows[base][c])
        out.append(row(f"noise, blind, against {name}", column, margin, "≥ 0 dB at every σ"))
    column, margin = worst(TASKS, lambda c: blind[c] - given[c])
    out.append(row("every task, blind, over the degraded input", column, margin, "≥ +1 dB", 1.0))
    column, margin = worst(TASKS, lambda c: blind[c] - told[c])
    out.append(row("every task, blind against told the task", column, margin, "≥ −0.3 dB", -0.3))
    out.append(
        dict(
            target="intact photos, blind, PSNR(output, input)",
            measured=f"{blind['clean']:.2f} dB",
            asked="≥ 38 dB",
            met=blind["clean"] >= 38,
        )
    )
    column, margin = "JPEG q40", blind["JPEG q40"] - given["JPEG q40"]
    out.append(row("JPEG q40 photos, blind, against the photo as it came", column, margin, "≥ 0 dB"))
    return out


def speed_target(restore: dict) -> dict:
    """The command's 12-megapixel row of benchmarks/restore.py."""
    cli = [r for r in restore["rows"] if r["image"].startswith("12 MP") and "pipir restore" in r["what"]]
    if not cli:
        raise SystemExit("the restore benchmark has no 12 MP `pipir restore` row")
    seconds, memory = float(cli[0]["seconds"]), float(cli[0]["peak RSS (GB)"])
    cpu = restore["machine"]
    return dict(
        target=f"12 MP photo, `pipir restore`, {cpu['cpu']} ({cpu['torch_threads']} threads)",
        measured=f"{seconds:.0f} s, {memory:.2f} GB",
        asked="≤ 180 s and ≤ 2 GB",
        met=seconds <= 180 and memory <= 2,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", type=Path, default=ROOT / "docs/eval/test-pipir-small.json")
    parser.add_argument("--restore", type=Path, default=ROOT / "docs/benchmarks/restore.json")
    args = parser.parse_args()
    evaluation = json.loads(args.eval.read_text())
    rows = psnr_targets(rows_by_role(evaluation["results"])) + [
        speed_target(json.loads(args.restore.read_text()))
    ]
    for row in rows:
        row["met"] = "yes" if row["met"] else "**no**"
    met = sum(row["met"] == "yes" for row in rows)
    notes = (
        f"From `{args.eval.relative_to(ROOT) if args.eval.is_relative_to(ROOT) else args.eval}` "
        f"(`{evaluation['meta'].get('command', '')}`, {evaluation['meta']['setting']}, RGB PSNR) and "
        f"`{args.restore.name}`. Measured: the worst column's margin. {met} of {len(rows)} targets met."
    )
    write_report("targets", "Targets of the default model", rows, COLUMNS, notes)


if __name__ == "__main__":
    main()
