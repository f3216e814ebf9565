"""Does the default model meet its targets? Each target of the default model, checked against the
test split's evaluation and the large-photo benchmark, both already run:

    pipir eval pipir-small --photos data/photos --split test --out docs/eval/test-pipir-small
    python benchmarks/restore.py --threads 2 --tile auto --sizes 12 --modes cli api
    python benchmarks/targets.py [--eval docs/eval/test-pipir-small.json] \
        [--restore docs/benchmarks/restore.json] [--name targets]

The evaluation must hold the degraded input, the model told the task (oracle weights), blind (auto
weights), non-local means and BM3D rows; another evaluation, e.g. of the validation split, is read
with ``--eval`` and written under ``--name``. Writes docs/benchmarks/NAME.{json,md}: per target, what
was measured (with the 95 % interval of the mean over the photos, where the evaluation holds each
photo's PSNR), what is asked, and whether it is met. Nothing is re-measured here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interval, write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOISE = ["noise σ15", "noise σ25", "noise σ50"]
TASKS = [*NOISE, "camera noise", "rain", "haze", "motion blur", "low light"]
COLUMNS = ["target", "measured", "asked", "met"]


def rows_by_role(results: dict) -> dict[str, dict[str, dict]]:
    """The evaluation's rows by what they are (input, told, blind, classical, bm3d): each a column's
    cell, ``{"psnr": mean, "psnr_each": [per photo], ...}`` (older evaluations hold no per-photo list)."""
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
        found[role] = results[names[0]]
    return found


def spread(cell: dict, base: dict | None = None) -> float | None:
    """:func:`common.interval` of ``cell``'s per-photo PSNR (against ``base``'s photo by photo);
    None where a cell holds none."""
    each = cell.get("psnr_each")
    other = None if base is None else base.get("psnr_each")
    if base is not None and other is None:
        return None
    return interval(each, other)


def measured(value: float, half: float | None, sign: str = "+") -> str:
    """``+0.07 ± 0.05 dB`` (no ± where the spread is unknown)."""
    return f"{value:{sign}.2f}{'' if half is None else f' ± {half:.2f}'} dB"


def psnr_targets(rows: dict[str, dict]) -> list[dict]:
    blind, told, given = rows["blind"], rows["told"], rows["input"]

    def row(target, columns, base, asked, met_at=0.0):
        """The target judged on the column of ``columns`` where blind leads ``base`` least."""
        column = min(columns, key=lambda c: blind[c]["psnr"] - base[c]["psnr"])
        margin = blind[column]["psnr"] - base[column]["psnr"]
        text = f"{measured(margin, spread(blind[column], base[column]))} ({column})"
        return dict(target=target, measured=text, asked=asked, met=margin >= met_at)

    out = []
    for name, base in (("non-local means (told σ)", "classical"), ("BM3D (true σ)", "bm3d")):
        out.append(row(f"noise, blind, against {name}", NOISE, rows[base], "≥ 0 dB at every σ"))
    out.append(row("every task, blind, over the degraded input", TASKS, given, "≥ +1 dB", 1.0))
    out.append(row("every task, blind against told the task", TASKS, told, "≥ −0.3 dB", -0.3))
    intact = blind["clean"]
    out.append(
        dict(
            target="intact photos, blind, PSNR(output, input)",
            measured=measured(intact["psnr"], spread(intact), sign=""),
            asked="≥ 38 dB",
            met=intact["psnr"] >= 38,
        )
    )
    out.append(row("JPEG q40 photos, blind, against the photo as it came", ["JPEG q40"], given, "≥ 0 dB"))
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
    parser.add_argument("--name", default="targets", help="report name (docs/benchmarks/NAME.md)")
    args = parser.parse_args()
    evaluation = json.loads(args.eval.read_text())
    rows = psnr_targets(rows_by_role(evaluation["results"])) + [
        speed_target(json.loads(args.restore.read_text()))
    ]
    for row in rows:
        row["met"] = "yes" if row["met"] else "**no**"
    met = sum(row["met"] == "yes" for row in rows)
    if not any("±" in row["measured"] for row in rows):
        spread_note = "; this evaluation holds no per-photo PSNR, so no ± is given"
    else:
        spread_note = ""
    notes = (
        f"From `{args.eval.relative_to(ROOT) if args.eval.is_relative_to(ROOT) else args.eval}` "
        f"(`{evaluation['meta'].get('command', '')}`, {evaluation['meta']['setting']}, RGB PSNR) and "
        f"`{args.restore.name}`. Measured: the worst column's margin; ± the half-width of its 95 % "
        "interval over the photos (1.96 · SD / √n of the per-photo differences), where the evaluation "
        f"holds each photo's PSNR{spread_note}. {met} of {len(rows)} targets met."
    )
    write_report(args.name, "Targets of the default model", rows, COLUMNS, notes)


if __name__ == "__main__":
    main()
