"""Rows of several ``pipir eval`` runs of one protocol joined into one table, so that a model's told
and blind rows, run side by side as two processes, stand beside baselines already measured.

    python benchmarks/merge_evals.py OUT FILE:ROW[=NAME] [FILE:ROW[=NAME] ...] [--note TEXT]

Each ``FILE:ROW`` takes one row of an evaluation's JSON, found as ``compare_evals.py`` finds it (the
full name, its start, or ``auto``/``oracle`` for ``… (auto weights)``/``… (oracle weights)``), under
its own name or NAME; rows keep the order given. The files must be of the same photos, size and seed
(meta ``setting`` and ``seed``). The main file is that of the first blind row taken (``… (auto
weights)``; else the first file): the classifier's answers and the meta are its, with every file's
command listed under ``merged_from``. Writes OUT.md and OUT.json (no chart). Two rows under one
name are refused.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_evals import find_row, same_photos  # noqa: E402

from pipir import evaluate as ev  # noqa: E402


def parse_take(text: str) -> tuple[Path, str, str | None]:
    """``FILE:ROW[=NAME]`` → (file, row, new name or None)."""
    file, sep, rest = text.partition(":")
    if not sep or not rest:
        raise SystemExit(f"{text!r}: expected FILE:ROW or FILE:ROW=NAME")
    row, _, name = rest.partition("=")
    return Path(file), row, name or None


def merge(takes: list[tuple[Path, str, str | None]]) -> tuple[dict, dict, dict | None]:
    """The joined table, the meta and the classifier's answers (or None)."""
    files = list(dict.fromkeys(f for f, _, _ in takes))
    if missing := [str(f) for f in files if not f.is_file()]:
        raise SystemExit(f"no evaluation file {', '.join(missing)}")
    loaded = {file: json.loads(file.read_text()) for file in files}
    same_photos(list(loaded.values()))
    table, blind = {}, []
    for file, row, name in takes:
        results = loaded[file]["results"]
        found = find_row(results, row)
        key = name or found
        if key in table:
            raise SystemExit(f"two rows named {key!r}: give one another name with =NAME")
        table[key] = results[found]
        if found.endswith("(auto weights)"):
            blind.append(file)
    # the classifier's answers belong to a blind run: the first blind row's file is the main one
    main = loaded[blind[0] if blind else files[0]]
    meta = {**main["meta"], "merged_from": [e["meta"].get("command") for e in loaded.values()]}
    return table, meta, main.get("classifier")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("takes", nargs="+", type=parse_take, metavar="FILE:ROW[=NAME]")
    parser.add_argument("--note", default=None, help="what the rows are, kept in the meta as 'rows'")
    args = parser.parse_args()
    table, meta, answers = merge(args.takes)
    meta["merge_command"] = shlex.join(["python", "benchmarks/merge_evals.py", *sys.argv[1:]])
    if args.note:
        meta["rows"] = args.note
    first_row = next(iter(table.values()))
    columns = [c for c in first_row if c != "Average"]
    title = "Merged evaluations"
    if str(meta.get("setting") or "").startswith("photos:"):
        _, split, size = meta["setting"].split(":")
        photos = max(len(row[c].get("psnr_each", [])) for row in table.values() for c in row)
        title = f"Real photos, {split} split{f' ({photos})' if photos else ''}, long side {size}"
        columns = [c for c, *_ in ev.PHOTO_COLUMNS]
    print(ev.write_results(table, args.out, title, columns, meta, answers))


if __name__ == "__main__":
    main()
