"""docs/study.{json,md} and docs/figures/study.png from the runs of benchmarks/study.py: per-task
PSNR (mean ± std over seeds), each arm's difference to its backbone paired by seed, PSNR against
step, parameters and wall time. Every figure on the page comes from the JSON written beside it."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The arm each arm is compared with: its own backbone.
# The mixture arms are compared in QUESTIONS (with the same architecture trained without mixtures).
BACKBONE_OF = {
    "pip_nafnet": "nafnet",
    "nafnet": None,
    "restormer": None,
    "restormer_mix": None,
    "pip_mix": None,
}


# Further seed-paired comparisons that answer the study's questions: (arm, against, what it measures,
# which mean is compared: "tasks", the seven task columns, or "mixtures", the mixture columns).
QUESTIONS = (
    ("pip_restormer", "pip_uniform", "what telling PIP the task adds (same architecture)", "tasks"),
    ("pip_uniform", "restormer_wide", "PIP's prompts without the label against plain extra width", "tasks"),
    ("pip_restormer", "restormer_wide", "PIP told the task against the wider backbone", "tasks"),
    ("pip_restormer", "promptir", "PIP told the task against PromptIR (blind)", "tasks"),
    ("pip_restormer", "pip_no_p2p", "what prompt-to-prompt interaction adds", "tasks"),
    ("pip_restormer", "pip_dense", "top-m against dense prompt-to-feature attention", "tasks"),
    ("pip_restormer", "pip_no_reg", "what the angle regulariser adds", "tasks"),
    ("pip_restormer", "pip_cosine", "the angle against the cosine regulariser", "tasks"),
    ("pip_restormer", "pip_two_levels", "PIP on all three skip levels against the first two", "tasks"),
    ("restormer_mix", "restormer", "training Restormer with mixture samples, on mixtures", "mixtures"),
    ("pip_mix", "pip_restormer", "training PIP with mixture samples, on mixtures", "mixtures"),
    ("pip_mix", "restormer_mix", "PIP told both tasks against Restormer, both with mixtures", "mixtures"),
    ("restormer_mix", "restormer", "what mixture samples cost Restormer on single tasks", "tasks"),
    ("pip_mix", "pip_restormer", "what mixture samples cost PIP on single tasks", "tasks"),
)


def measure(result: dict, on: str = "tasks") -> float | None:
    """The mean a comparison is made on: the task Average, or the mean of the mixture columns (those
    named by their degradations joined with "+"); None where the run has no mixture columns."""
    final = result["final"]
    if on == "tasks":
        return final["Average"]
    mixtures = [value for column, value in final.items() if "+" in column]
    return statistics.fmean(mixtures) if mixtures else None


def backbone_of(arm: str) -> str | None:
    return BACKBONE_OF.get(arm, "restormer")


def paired(results: dict[str, list[dict]], arm: str, other: str, on: str = "tasks") -> dict | None:
    """The seed-paired differences ``arm`` − ``other`` of the mean ``on`` the task or mixture columns."""
    if arm not in results or other not in results:
        return None
    mine, against = ({r["seed"]: measure(r, on) for r in results[a]} for a in (arm, other))
    diffs = [value - against[seed] for seed, value in mine.items() if None not in (value, against.get(seed))]
    if not diffs:
        return None
    return {"backbone": other, "on": on, "seeds": len(diffs), "diffs": diffs, "mean_std": mean_std(diffs)}


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else float("nan"))


def load_results(runs: Path) -> dict[str, list[dict]]:
    """Finished runs per arm, sorted by seed."""
    results: dict[str, list[dict]] = {}
    for path in sorted(runs.glob("*/s*/result.json")):
        result = json.loads(path.read_text())
        results.setdefault(result["arm"], []).append(result)
    return {arm: sorted(rs, key=lambda r: r["seed"]) for arm, rs in results.items()}


def summarise(results: dict[str, list[dict]], arm_table: dict) -> dict:
    """Per arm: seeds, parameters, wall time, per-column mean/std, mean curve, and the seed-paired
    difference of the Average to its backbone."""
    summary = {}
    for arm in [a for a in arm_table if a in results]:
        runs = results[arm]
        columns = list(dict.fromkeys(c for r in runs for c in r["final"]))
        steps = sorted(runs[0]["curve"], key=int)
        entry = {
            "about": arm_table[arm]["about"],
            "seeds": [r["seed"] for r in runs],
            "steps": runs[0]["steps"],
            "parameters": runs[0]["parameters"],
            "train_seconds": mean_std([r["train_seconds"] for r in runs]),
            "final": {c: mean_std([r["final"][c] for r in runs if c in r["final"]]) for c in columns},
            "scored_seeds": {c: sum(c in r["final"] for r in runs) for c in columns},
            "curve": {s: mean_std([r["curve"][s]["Average"] for r in runs]) for s in steps},
        }
        base = backbone_of(arm)
        vs = paired(results, arm, base) if base else None
        if vs:
            entry["vs_backbone"] = vs
        summary[arm] = entry
    return summary


def verdict(arm: str, vs: dict) -> str:
    """One sentence: the paired difference and whether it exceeds its spread over seeds."""
    mean, std = vs["mean_std"]
    where = "beyond" if beyond(vs) else "within"
    few = {1: " (one seed: no spread to test against)", 2: " (only 2 seeds: a weak test)"}
    few = few.get(vs["seeds"], "")
    on = " on the mixture columns" if vs["on"] == "mixtures" else ""
    return (
        f"{arm} − {vs['backbone']}{on}: {mean:+.2f} ± {std:.2f} dB over {seeds(vs['seeds'])}, paired "
        f"({', '.join(f'{d:+.2f}' for d in vs['diffs'])}): {where} the seed spread{few}."
    )


def seeds(n: int) -> str:
    return f"{n} seed" + ("" if n == 1 else "s")


def beyond(vs: dict | None) -> bool | None:
    if vs is None:
        return None
    mean, std = vs["mean_std"]
    return len(vs["diffs"]) > 1 and len({d > 0 for d in vs["diffs"]}) == 1 and abs(mean) > 2 * std


def ahead(vs: dict) -> bool:
    """The arm is better than the other beyond the seed spread."""
    return bool(beyond(vs)) and vs["mean_std"][0] > 0


def conclusion(results: dict[str, list[dict]]) -> str:
    """The answer the comparisons give, in words (no figure: those are in the lines above)."""
    told = paired(results, "pip_restormer", "restormer")
    unlabelled = paired(results, "pip_uniform", "restormer_wide")
    if told is None:
        return "Not enough finished runs to answer yet."
    if not ahead(told):
        return (
            "PIP told the task does not beat its backbone beyond the seed spread at this scale."
            + other_backbones(results)
        )
    text = "PIP told the task beats its backbone beyond the seed spread at this scale."
    if unlabelled is not None and not beyond(unlabelled):
        text += (
            " PIP never told the task is no better than the backbone widened past its parameter count: "
            "the gain comes from the task label the prompts carry, not from the prompt architecture on "
            "its own. Blind use therefore depends on the classifier that supplies the label."
        )
    return text + other_backbones(results) + ablations(results) + mixtures(results)


# The paper's ablations: each arm takes one part away from the full PIP-Restormer.
ABLATIONS = {
    "pip_no_p2p": "prompt-to-prompt interaction",
    "pip_dense": "top-m attention in place of dense",
    "pip_no_reg": "the prompt regulariser",
    "pip_cosine": "the angle regulariser in place of cosine",
    "pip_two_levels": "PIP on the third skip level",
}


def ablations(results: dict[str, list[dict]]) -> str:
    """Which of PIP's parts the full model is better with, and which worse, beyond the seed spread."""
    compared = {part: paired(results, "pip_restormer", arm) for arm, part in ABLATIONS.items()}
    compared = {part: vs for part, vs in compared.items() if vs is not None and vs["seeds"] > 1}
    if not compared:
        return ""
    helps = [part for part, vs in compared.items() if ahead(vs)]
    hurts = [part for part, vs in compared.items() if beyond(vs) and not ahead(vs)]
    rest = [part for part in compared if part not in helps + hurts]
    found = [f"{verb(helps, 'helps', 'help')}"] if helps else []
    found += [f"{verb(hurts, 'hurts', 'hurt')}"] if hurts else []
    if not found:
        return " Of the ablated parts, none changes the result beyond the seed spread."
    text = f" Of the ablated parts, {' and '.join(found)} beyond the seed spread"
    return text + (f"; {verb(rest, 'does', 'do')} not change it." if rest else ".")


def verb(parts: list, one: str, many: str) -> str:
    """``parts`` listed in English ("a, b and c"), then the verb agreeing with how many there are."""
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"{listed} {one if len(parts) == 1 else many}"


def mixtures(results: dict[str, list[dict]]) -> str:
    """Whether training with mixture samples helps on the mixture columns, and what it costs on the
    single tasks, per architecture."""
    names = {"restormer_mix": ("restormer", "Restormer"), "pip_mix": ("pip_restormer", "PIP")}
    mixed = {name: paired(results, arm, other, "mixtures") for arm, (other, name) in names.items()}
    single = {name: paired(results, arm, other) for arm, (other, name) in names.items()}
    done = [name for name, vs in mixed.items() if vs is not None and vs["seeds"] > 1]
    if not done:
        return ""
    gain = [name for name in done if ahead(mixed[name])]
    lose = [name for name in done if beyond(single[name]) and single[name]["mean_std"][0] < 0]
    gains = verb(gain or ["no arm"], "gains", "gain")
    cost = verb(lose, "loses", "lose") if lose else "nothing is lost"
    return (
        f" Trained with 30 % mixture samples, {gains} on the mixture columns beyond the seed spread; "
        f"on the single tasks {cost} beyond the seed spread."
    )


def other_backbones(results: dict[str, list[dict]]) -> str:
    """The NAFNet pair and PromptIR in words, where their runs are there."""
    text = ""
    nafnet = paired(results, "pip_nafnet", "nafnet")
    if nafnet is not None:
        verb = "also beats" if ahead(nafnet) else "does not beat"
        text += f" On NAFNet, PIP told the task {verb} its backbone beyond the seed spread."
    promptir = paired(results, "promptir", "restormer")
    if promptir is not None:
        verb = "beats" if ahead(promptir) else "does not beat"
        text += (
            f" PromptIR (blind by design: its prompts are weighted from the features) {verb} the "
            "Restormer it is built on beyond the seed spread."
        )
    return text


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for arm, entry in summary.items():
        steps = [int(s) for s in entry["curve"]]
        means = [m for m, _ in entry["curve"].values()]
        stds = [0.0 if s != s else s for _, s in entry["curve"].values()]
        label = f"{arm} ({len(entry['seeds'])} seeds)"
        ax.errorbar(steps, means, yerr=stds, marker="o", capsize=3, label=label)
    ax.set_xlabel("training step (batch 8, 64² patches)")
    ax.set_ylabel("validation PSNR, mean of the task columns (dB)")
    ax.set_title("PSNR against step (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def cell(value: tuple[float, float]) -> str:
    mean, std = value
    return f"{mean:.2f}" if std != std else f"{mean:.2f} ± {std:.2f}"


def final_cell(entry: dict, column: str) -> str:
    """Mean ± std over the seeds, naming how many seeds when not every run scored the column."""
    if column not in entry["final"]:
        return "–"
    scored, runs = entry["scored_seeds"][column], len(entry["seeds"])
    return cell(entry["final"][column]) + (f" ({scored} of {runs} seeds)" if scored < runs else "")


def span(values: list[float], digits: int = 2) -> str:
    return f"{min(values):.{digits}f}–{max(values):.{digits}f}"


def topm_probe(path: Path) -> list[str]:
    """What the trained prompt-to-feature attention looks like (benchmarks/study_topm.py), in words,
    where that benchmark has been run."""
    if not path.is_file():
        return []
    runs = [row["raw"] for row in json.loads(path.read_text())["rows"]]
    levels = [level for run in runs for level in run["levels"]]
    kept = [level["kept"] for level in levels]
    temperatures = [t for level in levels for t in level["temperature"]]
    swaps = {
        trained: ", ".join(f"{r['swapped'] - r['own']:+.2f}" for r in runs if r["arm"] == arm)
        for arm, trained in (("pip_restormer", "top-m"), ("pip_dense", "dense"))
    }
    uniform = max(kept) < 0.75
    shape = "close to uniform at every skip level" if uniform else "selective at some skip levels"
    text = (
        f"`python benchmarks/study_topm.py` (`docs/benchmarks/study-topm.md`) looks inside the "
        f"{len(runs)} runs. After training, their prompt-to-feature attention is {shape}: the top half "
        f"of a row's keys (what the smallest m keeps) holds {span(kept)} of its softmax mass (0.5 if "
        f"uniform), and the effective number of keys, exp(entropy), is "
        f"{span([level['effective'] for level in levels])} of all of them. The learned temperatures "
        f"stayed at {span(temperatures)} from their start at 1; the logits are cosines times the "
        "temperature T, so no key can weigh more than e^(2T) times another. Swapping at inference "
        f"changes the Average of the top-m runs, given dense attention, by {swaps['top-m']} dB, and of "
        f"the dense runs, given top-m, by {swaps['dense']} dB."
    )
    if uniform:
        text += (
            " Top-m selects among keys the attention has not learned to tell apart at this length of "
            "training; whether it helps once it has (longer runs, where the temperatures can grow) is "
            "not answered here."
        )
    return ["", "## Why top-m does not beat dense attention here", "", text]


def markdown(
    summary: dict, baselines: dict, hardware: str, photos: dict, questions: list, answer: str, missing: list
) -> str:
    columns = list(dict.fromkeys(c for e in summary.values() for c in e["final"] if c != "Average"))
    head = "| | parameters | " + " | ".join(columns) + " | Average | wall s / run |"
    lines = [
        "# Does PIP help? Tiny models, one recipe, several seeds",
        "",
        f"**{'Answer so far' if missing else 'Answer'}.** {answer}",
        "",
        f"Validation photos ({photos['limit']} of the split, {photos['size']} px on the long side), "
        "RGB PSNR in dB, mean ± std over seeds; PIP arms told the task (but `pip_uniform`), the others "
        "blind by design. "
        f"Recipe: `configs/study/base.yaml` plus each arm's lines in `configs/study/arms.yaml`; "
        "one command per arm: `python benchmarks/study.py run ARM`. "
        f"Trained on {hardware}, one thread per run, two to four processes sharing the cores: the "
        "wall seconds include that sharing and vary with it.",
        "",
        head,
        "|" + "---|" * (len(columns) + 4),
    ]
    for name, row in baselines.items():
        values = " | ".join(f"{row[c]:.2f}" if c in row else "–" for c in columns)
        lines.append(f"| {name} | – | {values} | – | – |")
    for arm, entry in summary.items():
        values = " | ".join(final_cell(entry, c) for c in columns)
        seconds = entry["train_seconds"][0]
        lines.append(
            f"| {arm} ({seeds(len(entry['seeds']))}) | {entry['parameters'] / 1e6:.2f} M | {values} | "
            f"{cell(entry['final']['Average'])} | {seconds:.0f} |"
        )
    lines += [
        "",
        "Average: the mean of the seven task columns (the mixture columns, where an arm has them, are "
        "not in it); the classical row has no value where there is no classical method (rain, motion "
        "blur, mixtures); – : not scored in that arm's runs.",
        "",
        "## Against the backbone (paired by seed)",
        "",
    ]
    lines += [f"- {verdict(arm, e['vs_backbone'])}" for arm, e in summary.items() if "vs_backbone" in e]
    if questions:
        lines += ["", "## The questions behind the arms (paired by seed)", ""]
        lines += [f"- {what}: {verdict(arm, vs)}" for arm, what, vs in questions]
    lines += [
        "",
        "A difference is *beyond the seed spread* when every paired seed has the same sign and the mean "
        "is more than twice its standard deviation. PIP arms are told the task and the plain "
        "backbones are not, as in the papers' tables: part of a PIP gain can be the label itself, "
        "not the prompt architecture; `pip_uniform` (PIP never told the task) separates the two.",
    ]
    lines += topm_probe(DOCS / "benchmarks/study-topm.json")
    lines += [
        "",
        "## PSNR against step",
        "",
        "Mean of the task columns, mean ± std over seeds, at the run's checkpoints "
        "(`python benchmarks/study.py report` also draws it: `docs/figures/study.png`).",
        "",
    ]
    steps = sorted({int(s) for e in summary.values() for s in e["curve"]})
    lines += ["| arm | " + " | ".join(f"step {s}" for s in steps) + " |", "|---|" + "---|" * len(steps)]
    for arm, e in summary.items():
        cells = [cell(e["curve"][str(s)]) if str(s) in e["curve"] else "–" for s in steps]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    lines.append("")
    lines += ["| arm | what it is | steps |", "|---|---|---|"]
    lines += [f"| {arm} | {e['about']} | {e['steps']} |" for arm, e in summary.items()]
    if missing:
        lines += [
            "",
            f"Arms defined but not run yet (`python benchmarks/study.py run ARM`): {', '.join(missing)}.",
        ]
    return "\n".join(lines) + "\n"


def report(runs: Path, baselines: dict, arm_table: dict, hardware: str, photos: dict) -> None:
    results = load_results(runs)
    summary = summarise(results, arm_table)
    if not summary:
        raise SystemExit(f"no finished runs under {runs}")
    questions = [
        (arm, what, vs) for arm, other, what, on in QUESTIONS if (vs := paired(results, arm, other, on))
    ]
    data = {"hardware": hardware, "photos": {k: str(v) for k, v in photos.items()}, "baselines": baselines}
    data["arms"] = summary
    data["questions"] = [{"arm": arm, "what": what, **vs} for arm, what, vs in questions]
    plot(summary, DOCS / "figures/study.png")
    data["conclusion"] = conclusion(results)
    missing = [arm for arm in arm_table if arm not in summary]
    page = markdown(summary, baselines, hardware, photos, questions, data["conclusion"], missing)
    (DOCS / "study.md").write_text(page)
    (DOCS / "study.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {DOCS / 'study.md'}")
