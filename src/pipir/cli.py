"""The ``pipir`` command: parses arguments, calls the library, prints. No logic of its own."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import torch
import typer
from rich.console import Console
from rich.table import Table

from pipir.errors import PipirError, require

try:  # the argument parser's errors: typer's own since it vendors click, click's before
    from typer import TyperException as UsageProblem
except ImportError:  # pragma: no cover
    from click import ClickException as UsageProblem
from pipir.models import TASKS, count_parameters, create_model
from pipir.models.registry import BACKBONES, VARIANTS

app = typer.Typer(
    help="Universal image restoration with Prompt-In-Prompt learning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console()


def _print_version(value: bool) -> None:
    if value:
        from pipir import __version__

        print(f"pipir {__version__} (torch {torch.__version__})")
        raise typer.Exit()


@app.callback()
def _group(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Universal image restoration with Prompt-In-Prompt learning."""


@app.command()
def info(
    model: str = typer.Argument(None, help="a checkpoint file or shipped model name to describe"),
) -> None:
    """List every model and variant with its parameter count and prompt layout; with a checkpoint
    or shipped model name, what it holds and what trained it."""
    if model is not None:
        from pipir.hub import describe

        for label, text in describe(model).items():
            console.print(f"{label + ':':<20}{text}", highlight=False, markup=False, soft_wrap=True)
        return
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
    for variant in VARIANTS["promptir"]:
        with torch.device("meta"):
            n = count_parameters(create_model("promptir", variant))
        table.add_row("promptir", variant, f"{n:,}", "", "(blind, prompts on the decoder)", "")
    console.print(table)


@app.command()
def models() -> None:
    """List the shipped models (the weights inside the package) and which one is the default."""
    from pipir.hub import DEFAULT_MODEL, describe, shipped_models

    table = Table(title="shipped models (pipir restore --model NAME; pipir info NAME for more)")
    for column in ("name", "restorer", "classifier", "file"):
        table.add_column(column)
    for name in shipped_models():
        rows = describe(name)
        label = f"{name} (default)" if name == DEFAULT_MODEL else name
        table.add_row(label, rows["restorer"], rows["classifier"], rows["file"].rsplit("/", 1)[-1])
    console.print(table)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    config: Path = typer.Option(None, "--config", "-c", help="YAML config (see configs/)"),
    resume: str = typer.Option(None, help="'auto' (the run's last checkpoint) or a checkpoint path"),
    progress: bool = typer.Option(True, help="show the progress bar"),
) -> None:
    """Train a model: pipir train --config configs/tiny-cpu.yaml [key.sub=value ...]."""
    for module in ("lightning", "yaml"):
        require(module, "train", "pipir train")
    from pipir.train import fit, load_config

    settings = load_config(config, ctx.args)
    export = fit(settings, resume=resume, progress=progress)
    console.print(f"model written to {export}")


def parse_task(text: str) -> str | dict[str, float]:
    """``auto``, a task name, ``dehaze+denoise`` (equal parts) or ``dehaze=0.7,denoise=0.3``."""
    text = text.strip()
    if "=" in text or "," in text:
        mixture = {}
        for part in text.split(","):
            name, _, value = part.partition("=")
            try:
                mixture[name.strip()] = float(value)
            except ValueError:
                raise PipirError(f"bad mixture {text!r}: write it as dehaze=0.5,denoise=0.5") from None
        return mixture
    if "+" in text:
        return {name.strip(): 1.0 for name in text.split("+")}
    return text


@app.command()
def restore(
    inputs: list[str] = typer.Argument(..., help="image files, folders, globs, or - (standard input)"),
    output: Path = typer.Option(
        Path("restored"),
        "--output",
        "-o",
        help="folder for the results, a file name for one input, or - (standard output)",
    ),
    suffix: str = typer.Option("", help="added to each result's name: photo.jpg -> photo<suffix>.jpg"),
    ext: str = typer.Option(None, help="write this format (png, jpg, webp, tif) instead of the input's"),
    quality: int = typer.Option(95, help="JPEG / WebP quality, 1-100"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per image on stdout"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing but errors"),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="folders: their subfolders' images too"),
    compare: bool = typer.Option(
        False,
        "--compare",
        help="also write NAME-compare.png: input | result, labelled, prompt weights as bars",
    ),
    task: str = typer.Option(
        "auto", help="auto (classifier), a task, dehaze+denoise or dehaze=0.7,denoise=0.3"
    ),
    model: str = typer.Option(None, help="checkpoint file or shipped model name (default: pipir-small)"),
    tile: str = typer.Option("auto", help="tile size in pixels, 'auto' (from free memory) or 'none'"),
    overlap: int = typer.Option(32, help="tile overlap in pixels"),
    precision: str = typer.Option("auto", help="auto (bf16 where the hardware has it), fp32 or bf16"),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N or mps"),
    ensemble: str = typer.Option(
        "auto",
        help="orientations averaged: 1, 2, 4, 8 or 'auto' (on photos restored whole up to 512×512 pixels: "
        "8 where rain and haze have under 0.1 of the prompt weights, else 2; 1 on larger photos)",
    ),
    max_megapixels: float = typer.Option(
        180, help="refuse images declaring more pixels than this (decompression bombs); raise for panoramas"
    ),
) -> None:
    """Restore images; print the prompt weights used for each. Inputs are never overwritten."""
    from rich.progress import Progress

    from pipir.ensemble import parse as parse_ensemble
    from pipir.files import STDIN, Destination, expand_inputs, restore_file, result_record
    from pipir.hub import load
    from pipir.models.pip import task_weights

    spec = parse_task(task)
    if spec != "auto":
        task_weights(spec)  # a bad task or mixture fails before any work
    if max_megapixels <= 0:
        raise PipirError(f"--max-megapixels must be positive, not {max_megapixels:g}")
    if tile not in ("auto", "none") and not tile.isdigit():
        raise PipirError(f"tile must be a number of pixels, 'auto' or 'none', not {tile!r}")
    tile_size: int | str | None = None if tile == "none" else tile if tile == "auto" else int(tile)
    views = parse_ensemble(ensemble)
    files, skipped = expand_inputs(inputs, recursive)
    if not quiet:
        for line in skipped:
            print(line, file=sys.stderr)
    sources = {p.resolve() for p, _ in files if p != STDIN}
    to = Destination(output, len(files), suffix, ext, quality, compare, sources)
    if to.to_stdout and as_json:
        raise PipirError("--json and -o - both want standard output: write the image to a file")
    restorer = load(model, device)
    failures = 0
    bar = Progress(console=Console(stderr=True), transient=True, disable=quiet)
    images = bar.add_task("images", total=len(files))
    tiles = bar.add_task("tiles", total=None)  # of the image being restored, both passes

    def progress(done: int, total: int) -> None:
        bar.update(tiles, completed=done, total=total)

    with bar:
        for path, subfolder in bar.track(files, task_id=images):
            bar.reset(tiles, total=None)
            try:
                target, result, seconds = restore_file(
                    restorer, path, subfolder, to, int(max_megapixels * 1e6),
                    task=spec, tile=tile_size, overlap=overlap, precision=precision, progress=progress,
                    ensemble=views,
                )  # fmt: skip
            except PipirError as err:
                failures += 1
                print(f"error: {err}", file=sys.stderr)
                continue
            if as_json:
                print(json.dumps(result_record(path, target, result, seconds)), flush=True)
            elif not quiet:
                (Console(stderr=True) if to.to_stdout else console).print(
                    f"{path} → {target}  [{result.describe()}]", highlight=False, markup=False, soft_wrap=True
                )
    if failures:
        if len(files) > 1:  # one image: its own line has said it all
            print(f"error: {failures} of {len(files)} image(s) failed", file=sys.stderr)
        raise typer.Exit(2)


@app.command()
def explain(
    image: Path = typer.Argument(..., help="the image to explain"),
    out: Path = typer.Option(None, "-o", "--out", help="the PNG to write (default: IMAGE-explain.png)"),
    model: str = typer.Option(None, help="checkpoint file or shipped model name (default: pipir-small)"),
    task: str = typer.Option("auto", help="auto (the classifier), a task, or dehaze=0.5,denoise=0.5"),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N"),
) -> None:
    """One PNG: classifier probabilities, prompt weights, how alike the learned degradation prompts
    are, and which prompt channels the top-m attention keeps per level."""
    from pipir.explain import explain as explain_image
    from pipir.explain import figure
    from pipir.hub import load
    from pipir.io import read_image
    from pipir.models.pip import task_weights

    spec = parse_task(task)
    if spec != "auto":
        task_weights(spec)  # a bad task or mixture fails before any work
    require("matplotlib", "figures", "pipir explain")
    out = out or image.with_name(f"{image.stem}-explain.png")
    if out.suffix.lower() != ".png":
        raise PipirError(f"the explanation is a PNG: name the output .png, not {out.name}")
    restorer = load(model, device)
    ex = explain_image(restorer, read_image(image), spec)
    figure(ex, out, f"{image.name}: {restorer.name}")
    used = ", ".join(f"{t} {w:.2f}" for t, w in zip(ex.tasks, ex.weights) if w >= 0.005)
    console.print(f"{image} → {out}  [{ex.source}: {used}]", highlight=False, markup=False)


@app.command()
def demo(
    output: Path = typer.Option(Path("demo"), "--output", "-o", help="folder for the before/after images"),
    model: str = typer.Option(None, help="checkpoint file or shipped model name (default: pipir-small)"),
    seed: int = typer.Option(0, help="seed of the synthetic degradations"),
) -> None:
    """Degrade the bundled held-out photos five ways, restore them blind (task auto) and write
    labelled before | after sheets: PSNR against the clean photo, and the prompt weights as bars."""
    from pipir import degrade
    from pipir.data import HELD_OUT, samples
    from pipir.hub import load
    from pipir.io import write_image
    from pipir.layout import to_batch
    from pipir.metrics import psnr
    from pipir.sheet import comparison

    restorer = load(model)
    for p, (name, photo) in enumerate(samples(HELD_OUT).items()):
        clean = degrade.to_float(photo)
        for k, kind in enumerate(("haze", "rain", "blur", "lowlight", "noise")):
            degraded = degrade.apply(clean, kind, seed=[seed, p, k])
            result = restorer.restore(degraded, task="auto", tile="auto")
            gain = [psnr(to_batch(x), to_batch(clean)).item() for x in (degraded, result.image)]
            target = output / f"{name}-{kind}.png"
            after = f"blind restore {gain[1]:.2f} dB" + (
                f", strength {result.strength:.2f}" if result.strength < 0.995 else ""
            )
            sheet = comparison(degraded, result.image, f"{kind} {gain[0]:.2f} dB", after, result.weights)
            write_image(target, sheet)
            console.print(
                f"{target}  before | after  {gain[0]:.2f} → {gain[1]:.2f} dB  [{result.describe(2)}]",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


def _classifier_report(
    restorer, photos: Path | None, split: str, size: int, seed: int, limit: int | None, out: Path
) -> None:
    """``pipir eval --classifier``: what the classifier says on each column of a photo split, or
    its confusion matrix on crops of the held-out bundled photos when no photos are given."""
    from pipir import evaluate as ev

    if restorer.sensor is None:
        raise PipirError(f"{restorer.name} has no degradation classifier")
    if photos is not None:
        items = ev.photo_items(photos, split, size, seed, limit)
        answers = ev.classifier_answers(restorer, ev.classify_items(restorer, items))
        title = f"## Classifier on real photos, {split} split, long side {size}\n\n"
        text = title + ev.answers_markdown(answers)
        payload = {"setting": f"photos:{split}:{size}", "seed": seed, "classifier": answers}
    else:
        matrix, accuracy = ev.classifier_confusion(restorer, seed=seed)
        tasks = ev.classifier_classes(restorer)
        note = "100 random 128-pixel crops per class of the held-out photos."
        text = ev.confusion_markdown(matrix, accuracy, tasks, note)
        payload = {"accuracy": accuracy, "confusion": matrix.tolist(), "tasks": list(tasks)}
    payload["command"] = shlex.join(["pipir", *sys.argv[1:]])
    ev.write_report(out, text, payload)
    console.print(text, highlight=False, soft_wrap=True)


def _eval_methods(
    restorer, weights: str, baselines: bool, real_photos: bool, heard: list, ensemble: int | str
) -> dict:
    """The rows of ``pipir eval``: the degraded input, the model told the task and/or blind (what
    its classifier answers goes to ``heard``; ``ensemble`` views averaged), and the classical
    baselines (BM3D on real photos, where the package is installed)."""
    from pipir import evaluate as ev

    methods: dict[str, ev.Method | None] = {"degraded input": None} if baselines else {}
    for kind in ("oracle", "auto") if weights == "both" else (weights,):
        if kind == "auto" and restorer.sensor is None and restorer.uses_prompts:
            raise PipirError(f"{restorer.name} has no classifier: use --weights oracle")
        label = f"{restorer.name} ({kind} weights)" if restorer.uses_prompts else restorer.name
        methods[label] = ev.restorer_method(restorer, kind, heard, ensemble)
        if not restorer.uses_prompts:
            break
    if baselines:
        methods["classical (skimage)"] = ev.classical_method
    if baselines and real_photos:
        try:
            import bm3d  # noqa: F401

            methods["BM3D (true σ)"] = ev.bm3d_method
        except ImportError:
            console.print("BM3D left out: pip install bm3d", highlight=False)
    return methods


@app.command("eval")
def evaluate_command(
    model: str = typer.Argument(None, help="checkpoint file or shipped model name (default: pipir-small)"),
    synthetic: bool = typer.Option(False, help="held-out bundled photos with seeded synthetic degradations"),
    data: Path = typer.Option(None, help="benchmark root in the official layout"),
    photos: Path = typer.Option(None, help="the real photos' folder (pipir data photos) to evaluate on"),
    split: str = typer.Option("validation", help="with --photos: validation (choices) or test (reports)"),
    size: int = typer.Option(320, help="with --photos: long side the photos are downscaled to"),
    limit: int = typer.Option(None, help="with --photos: only the first N photos of the split"),
    setting: str = typer.Option("5task", help="3task or 5task (with --data)"),
    weights: str = typer.Option("both", help="oracle (task label), auto (classifier) or both"),
    baselines: bool = typer.Option(True, help="add the degraded input and classical baselines"),
    out: Path = typer.Option(Path("eval"), help="output prefix: writes OUT.md, OUT.json and OUT.png"),
    save_images: Path = typer.Option(
        None, help="also write every restored image and a CSV of per-image scores into this folder"
    ),
    seed: int = typer.Option(0, help="seed of the synthetic degradations and of the test noise"),
    ensemble: str = typer.Option(
        None,
        help="orientations averaged per image: 1, 2, 4, 8 or 'auto' (default: as pipir restore with "
        "--photos, 1 otherwise, as the papers report)",
    ),
    classifier: bool = typer.Option(
        False,
        help="instead: what the classifier says per column of --photos, or (no --photos) its "
        "confusion matrix on crops of the held-out bundled photos",
    ),
) -> None:
    """Evaluate under the papers' protocol; print and write a Markdown table and a JSON file."""
    from rich.progress import Progress

    from pipir import evaluate as ev
    from pipir.hub import DEFAULT_MODEL, load

    if classifier:
        _classifier_report(load(model), photos, split, size, seed, limit, out)
        return

    if sum((synthetic, data is not None, photos is not None)) != 1:
        raise PipirError("choose exactly one of --synthetic, --data ROOT and --photos DIR")
    if weights not in ("oracle", "auto", "both"):
        raise PipirError(f"--weights must be oracle, auto or both, not {weights!r}")
    from pipir.ensemble import parse as parse_ensemble

    views = parse_ensemble(ensemble or ("auto" if photos is not None else "1"))
    restorer = load(model)
    heard: list = []  # what the classifier answered for each blind restore
    methods = _eval_methods(restorer, weights, baselines, photos is not None, heard, views)
    if photos is not None:
        items = ev.photo_items(photos, split, size, seed, limit)
        title = f"Real photos, {split} split ({len(items) // len(ev.PHOTO_COLUMNS)}), long side {size}"
        columns = [c for c, *_ in ev.PHOTO_COLUMNS]
        average_over = [c for c, task, *_ in ev.PHOTO_COLUMNS if task != "clean"]
    elif synthetic:
        items, average_over = ev.synthetic_items(seed=seed), None
        title = "Held-out bundled photos, synthetic degradations"
        columns = [c for c, _, _ in ev.SYNTHETIC_COLUMNS]
    else:
        items, average_over = list(ev.benchmark_items(data, setting, seed)), None
        title, columns = f"Benchmarks ({setting}) under {data}", [c for c, _, _ in ev.BENCHMARK_COLUMNS]
    saver = None
    if save_images is not None:
        from pipir.eval_report import ImageSaver

        saver = ImageSaver(save_images)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        job = bar.add_task("evaluating", total=len(items))
        table = ev.evaluate(
            items, methods, progress=lambda: bar.advance(job), average_over=average_over, on_result=saver
        )
    if saver is not None:
        console.print(f"images and per-image scores: {saver.write_csv()}", highlight=False)
    meta = {
        "command": shlex.join(["pipir", *sys.argv[1:]]),
        "model": str(model or DEFAULT_MODEL),
        # what made the model (the checkpoint's own record), so that a run folder need not survive
        "training": {k: restorer.info[k] for k in ("training", "sensor_training") if k in restorer.info},
        "setting": "synthetic" if synthetic else f"photos:{split}:{size}" if photos else setting,
        "seed": seed,
        "ensemble": views,
        "average_over": average_over,
    }
    answers = ev.classifier_answers(restorer, heard) if heard else None
    text = ev.write_results(table, out, title, columns, meta, answers)
    console.print(text, highlight=False, soft_wrap=True)
    try:
        from pipir.eval_report import chart

        console.print(f"chart: {chart(table, columns, out.with_suffix('.png'), title)}", highlight=False)
    except ModuleNotFoundError:
        console.print("chart left out: pip install matplotlib", highlight=False)


@app.command()
def combine(
    restorer: str = typer.Argument(..., help="a pipir checkpoint or shipped model holding the restorer"),
    sensor: str = typer.Argument(
        ..., help="a pipir checkpoint or shipped model holding the degradation classifier"
    ),
    out: Path = typer.Argument(..., help="the combined .safetensors file"),
) -> None:
    """Put a restorer and a separately trained classifier into one checkpoint (e.g. a new restorer
    with the classifier of pipir-small)."""
    from pipir.checkpoints import combine_bundles
    from pipir.hub import model_path

    written = combine_bundles(model_path(restorer), model_path(sensor), out)
    console.print(f"wrote {written}", highlight=False)


@app.command()
def average(
    first: str = typer.Argument(
        ..., help="a pipir checkpoint or shipped model: the restorer a run started from"
    ),
    second: str = typer.Argument(
        ..., help="a pipir checkpoint: the restorer of the run (its classifier is kept)"
    ),
    out: Path = typer.Argument(..., help="the averaged .safetensors file"),
    share: float = typer.Option(0.5, help="weight of the second restorer, in [0, 1]"),
) -> None:
    """Average two restorers of one architecture parameter by parameter: (1 − share)·FIRST +
    share·SECOND, with SECOND's classifier."""
    from pipir.checkpoints import average_bundles
    from pipir.hub import model_path

    written = average_bundles(model_path(first), model_path(second), share, out)
    console.print(f"wrote {written}", highlight=False)


@app.command()
def serve(
    model: str = typer.Option(None, help="checkpoint file or shipped model name (default: pipir-small)"),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N or auto"),
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(7860, help="port to listen on"),
    max_mb: float = typer.Option(25.0, help="largest upload in MB"),
    max_mp: float = typer.Option(24.0, help="largest upload in megapixels"),
) -> None:
    """A web page to restore photos in the browser (needs pip install 'pipir\\[web]'); no share link."""
    require("gradio", "web", "pipir serve")
    from pipir.web import Limits
    from pipir.web import serve as serve_app

    if max_mb <= 0 or max_mp <= 0:
        raise PipirError("--max-mb and --max-mp must be positive")
    limits = Limits(max_bytes=int(max_mb * 1e6), max_pixels=int(max_mp * 1e6))
    console.print(f"serving on http://{host}:{port} (Ctrl+C stops)", highlight=False)
    serve_app(model, device, host, port, limits)


export_app = typer.Typer(
    help="Export a model to other runtimes, or a training checkpoint as a pipir checkpoint.",
    no_args_is_help=True,
)
app.add_typer(export_app, name="export")


@export_app.command("onnx")
def export_onnx_command(
    out: Path = typer.Argument(..., help="the .onnx file to write"),
    model: str = typer.Option(None, help="checkpoint file or shipped model name (default: pipir-small)"),
    opset: int = typer.Option(17, help="ONNX opset"),
) -> None:
    """ONNX with dynamic height and width; prompt weights are an input (classifier: OUT.sensor.onnx)."""
    from pipir.export import export_onnx
    from pipir.hub import load

    if out.suffix != ".onnx":
        raise PipirError(f"the output file must end in .onnx, not {out.name!r}")
    require("onnx", "export", "pipir export onnx")
    for path in export_onnx(load(model, "cpu"), out, opset):
        console.print(f"wrote {path}", highlight=False)


@export_app.command("checkpoint")
def export_checkpoint_command(
    ckpt: Path = typer.Argument(..., help="a Lightning checkpoint of a run: RUN/checkpoints/*.ckpt"),
    out: Path = typer.Argument(..., help="the .safetensors file to write"),
) -> None:
    """A training run's Lightning checkpoint as a pipir checkpoint, to restore, evaluate or combine."""
    from pipir.train.run import export_checkpoint

    console.print(f"wrote {export_checkpoint(ckpt, out)}", highlight=False)


data_app = typer.Typer(
    help="Datasets: fetch the real photos; check the standard benchmarks' layout.", no_args_is_help=True
)
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


@data_app.command("photos")
def data_photos(
    dest: Path = typer.Argument(..., help="folder to write the photos into (e.g. data/photos)"),
    cache: Path = typer.Option(None, help="where downloaded packages are kept (default DEST/.packages)"),
) -> None:
    """Download the real photographs from Debian packages and PyPI wheels (about 1 GB of packages,
    270 photos, ~190 MB) and normalise them; the committed split names them."""
    from pipir.data.photos import SPLITS, fetch, read_split

    rows = fetch(dest, cache, log=lambda line: console.print(line, highlight=False))
    split = read_split()
    counts = {s: sum(split.get(r["name"]) == s for r in rows) for s in SPLITS}
    console.print(f"{len(rows)} photos in {dest}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))


@data_app.command("pack")
def data_pack(
    photos: Path = typer.Argument(..., help="the photos' folder (pipir data photos)"),
    dest: Path = typer.Argument(..., help="folder to write the packed copy into (e.g. data/pack)"),
    split: str = typer.Option("train", help="which split of the committed list: train, validation or test"),
    side: int = typer.Option(768, help="long side in pixels the photos are downscaled to"),
    lossless: bool = typer.Option(
        False, help="PNG instead of JPEG q95: for evaluating at --size equal to --side"
    ),
) -> None:
    """Copy one split, downscaled, to carry to a remote machine: data.images=DEST trains from it,
    pipir eval --photos DEST evaluates on it."""
    from pipir.data.photos import pack

    count, size = pack(photos, dest, split, side=side, lossless=lossless)
    console.print(f"{count} {split} photos in {dest}: {size / 1e6:.1f} MB", highlight=False)


def main() -> None:
    """Entry point: user mistakes, ours and the argument parser's, become one line on stderr and
    exit code 2."""
    try:
        code = app(standalone_mode=False, prog_name="pipir")
    except PipirError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except UsageProblem as err:
        message = " ".join(err.format_message().split())
        if message:  # empty when a bare command has just printed its help
            print(f"error: {message}", file=sys.stderr)
        sys.exit(getattr(err, "exit_code", 2))
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
