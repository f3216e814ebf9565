"""Two rows of ``pipir eval`` results compared photo by photo: per column, the mean PSNR difference
(second − first) with its 95 % interval, and how many photos came out better and worse.

    python benchmarks/compare_evals.py FIRST.json [SECOND.json] [--first auto] [--second oracle]
                                       [--name compare]

A row is named by the start or end of its name in the evaluation (``auto`` and ``oracle`` find
``… (auto weights)`` and ``… (oracle weights)``; ``degraded input``, ``classical``, ``BM3D`` the
baselines); SECOND.json defaults to FIRST.json, so that two rows of one evaluation (blind against
told, against the input or a baseline) compare as readily as a candidate against the shipped model
on the same photos. Both must hold each photo's PSNR (``pipir eval`` writes ``psnr_each``) for the
same photos in the same order: the same split, size, seed and limit. A difference whose interval
holds 0 cannot tell the two apart on these photos. Writes docs/benchmarks/<name>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interval, write_report  # noqa: E402

COLUMNS = ["column", "photos", "first", "second", "second − first", "better", "worse"]


def find_row(results: dict, name: str) -> str:
    """The one row whose name is ``name``, or starts with it, or ends with "(NAME weights)"."""
    found = [
        row for row in results if row == name or row.startswith(name) or row.endswith(f"({name} weights)")
    ]
    if len(found) != 1:
        raise SystemExit(f"{len(found) or 'no'} rows match {name!r}: {', '.join(results)}")
    return found[0]


def same_photos(evaluations: list[dict]) -> tuple:
    """The (setting, seed) the evaluations share; refused when they are of other photos or seeds."""
    settings = {(e["meta"].get("setting"), e["meta"].get("seed")) for e in evaluations}
    if len(settings) != 1:
        raise SystemExit(f"the evaluations are of different photos or seeds: {sorted(settings)}")
    return settings.pop()


def compare(first: dict, second: dict) -> list[dict]:
    """One row per column the two rows share (the Average left out: it is not a photo's score)."""
    rows = []
    for column in [c for c in first if c in second and c != "Average"]:
        a, b = first[column].get("psnr_each"), second[column].get("psnr_each")
        if a is None or b is None:
            raise SystemExit(f"{column}: an evaluation holds no per-photo PSNR (rerun pipir eval)")
        if len(a) != len(b):
            raise SystemExit(f"{column}: {len(a)} photos against {len(b)}: not the same photos")
        difference = np.subtract(b, a)
        half = interval(b, a)
        rows.append(
            {
                "column": column,
                "photos": len(a),
                "first": f"{np.mean(a):.2f}",
                "second": f"{np.mean(b):.2f}",
                "second − first": f"{difference.mean():+.2f}" + ("" if half is None else f" ± {half:.2f}"),
                "better": int((difference > 0.005).sum()),
                "worse": int((difference < -0.005).sum()),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first_file", type=Path)
    parser.add_argument("second_file", type=Path, nargs="?")
    parser.add_argument("--first", default="auto", help="row of FIRST.json")
    parser.add_argument("--second", default="auto", help="row of SECOND.json")
    parser.add_argument("--name", default="compare")
    args = parser.parse_args()
    second_file = args.second_file or args.first_file
    if second_file == args.first_file and args.first == args.second:
        raise SystemExit("the same row of the same file: name another with --second or a second file")
    evaluations = [json.loads(f.read_text()) for f in (args.first_file, second_file)]
    setting, seed = same_photos(evaluations)
    names = [find_row(e["results"], n) for e, n in zip(evaluations, (args.first, args.second))]
    rows = compare(*(e["results"][n] for e, n in zip(evaluations, names)))
    command = shlex.join(["python", "benchmarks/compare_evals.py", *sys.argv[1:]])
    notes = (
        f"`{command}`. First: {names[0]} (`{args.first_file.name}`); second: {names[1]} "
        f"(`{second_file.name}`); {setting}, seed {seed}, RGB PSNR (dB). second − first: the mean "
        "difference over the photos with the half-width of its 95 % interval (1.96 · SD / √n of the "
        "per-photo differences); better, worse: photos on which the second is higher, lower, by more "
        "than 0.005 dB."
    )
    write_report(args.name, "Two evaluations compared photo by photo", rows, COLUMNS, notes)


if __name__ == "__main__":
    main()
