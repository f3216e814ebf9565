"""``pipir serve``: a Gradio page over the one restore path (:meth:`pipir.infer.Restorer.restore`).

Upload a photo, choose blind / a task / a mixture, restore, compare before and after, see the
prompt weights, soften the result with a strength slider (output = input + s·(restored − input)) and
download it at full size. Uploads are bounded in bytes and pixels; every failure is one sentence
shown in the page. Listens on 127.0.0.1 unless told otherwise and never makes a public share link.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipir.errors import PipirError
from pipir.infer import Restorer
from pipir.models.pip import TASKS

MODES = ("blind: the classifier decides", "one task", "a mixture")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 25_000_000
    max_pixels: int = 24_000_000


@dataclass
class Result:
    """What one restoration leaves for the strength slider to re-blend without re-running."""

    before: np.ndarray
    after: np.ndarray
    name: str


def check_upload(path: str | Path | None, limits: Limits) -> None:
    """One sentence when the upload is missing, too large in bytes or pixels, or not an image."""
    from PIL import Image, UnidentifiedImageError

    if not path:
        raise PipirError("upload a photo first")
    size = os.path.getsize(path)
    if size > limits.max_bytes:
        raise PipirError(
            f"the file is {size / 1e6:.3g} MB; this server takes at most {limits.max_bytes / 1e6:.3g} MB"
        )
    try:
        with Image.open(path) as im:
            w, h = im.size
    except (UnidentifiedImageError, OSError):
        raise PipirError(f"{Path(path).name} is not an image this server can read") from None
    if w * h > limits.max_pixels:
        raise PipirError(
            f"the image is {w}×{h} ({w * h / 1e6:.4g} MP); this server restores at most "
            f"{limits.max_pixels / 1e6:.4g} MP"
        )


def task_spec(mode: str, task: str, mixture: list[float]) -> str | dict[str, float]:
    """The restore path's ``task`` argument for the page's choice."""
    if mode == MODES[0]:
        return "auto"
    if mode == MODES[1]:
        return task
    if not any(v > 0 for v in mixture):
        raise PipirError("a mixture needs at least one task above 0")
    return {t: float(v) for t, v in zip(TASKS, mixture) if v > 0}


def blend(result: Result, strength: float) -> np.ndarray:
    """input + strength·(restored − input), in the input's dtype."""
    if strength >= 1:
        return result.after
    scale = 65535.0 if result.before.dtype == np.uint16 else 255.0
    mixed = result.before + float(strength) * (result.after.astype(np.float32) - result.before)
    return np.clip(np.round(mixed), 0, scale).astype(result.before.dtype)


def save_result(image: np.ndarray, name: str, folder: Path) -> str:
    """The full-size result as PNG for the download button."""
    from pipir.io import write_image

    path = folder / f"{Path(name).stem}-restored.png"
    write_image(path, image)
    return str(path)


def restore_upload(
    restorer: Restorer, path: str, spec, limits: Limits, progress=None
) -> tuple[Result, dict, str]:
    """(the restoration, its prompt weights as label → weight, one line saying what ran)."""
    from pipir.io import read_image

    check_upload(path, limits)
    image = read_image(path)
    start = time.perf_counter()
    restored = restorer.restore(image, task=spec, progress=progress)
    seconds = time.perf_counter() - start
    h, w = image.shape[:2]
    line = f"{w}×{h}, {seconds:.1f} s on {restorer.device.type}; {restored.describe(5)}"
    return Result(image, restored.image, Path(path).name), restored.weights, line


def build_app(restorer: Restorer, limits: Limits = Limits()):
    """The page; ``restorer`` is loaded once and shared by every request."""
    import gradio as gr

    from pipir.sheet import preview

    folder = Path(tempfile.mkdtemp(prefix="pipir-serve-"))

    def show(result: Result, strength: float):
        out = blend(result, strength)
        before = (preview(result.before) * 255).astype(np.uint8)
        after = (preview(out) * 255).astype(np.uint8)
        return (before, after), save_result(out, result.name, folder)

    def tick(progress):
        return lambda done, total: progress(done / total, desc="restoring tiles")

    def on_restore(path, mode, task, strength, *mixture, progress=gr.Progress()):  # noqa: B008
        try:
            spec = task_spec(mode, task, list(mixture))
            result, weights, line = restore_upload(restorer, path, spec, limits, tick(progress))
        except PipirError as err:  # said in the page; the previous result stays
            gr.Warning(str(err))
            return gr.skip(), gr.skip(), gr.skip(), f"**Not restored:** {err}", gr.skip()
        pair, download = show(result, strength)
        return pair, weights or {"no prompts": 1.0}, download, line, result

    def on_strength(result: Result | None, strength: float):
        if result is None:
            return gr.skip(), gr.skip()
        return show(result, strength)

    with gr.Blocks(title="pipir: restore a photo", analytics_enabled=False) as app:
        gr.Markdown(
            f"# pipir: restore a photo\nModel **{restorer.name}**. Upload a photo (at most "
            f"{limits.max_bytes / 1e6:g} MB, {limits.max_pixels / 1e6:g} MP), choose what to fix, "
            "press Restore. The bars show the prompt weights the model used."
        )
        state = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label="Photo", type="filepath", elem_id="upload")
                mode = gr.Radio(list(MODES), value=MODES[0], label="What to fix", elem_id="mode")
                task = gr.Dropdown(list(restorer.tasks), value=restorer.tasks[0], label="Task (one task)")
                with gr.Accordion("Mixture weights (a mixture)", open=False):
                    mixture = [gr.Slider(0, 1, value=0, step=0.05, label=t) for t in TASKS]
                strength = gr.Slider(0, 1, value=1, step=0.05, label="Strength", elem_id="strength")
                button = gr.Button("Restore", variant="primary", elem_id="restore")
            with gr.Column(scale=2):
                slider = gr.ImageSlider(label="Before | after", elem_id="compare", interactive=False)
                status = gr.Markdown(elem_id="status")
                weights = gr.Label(label="Prompt weights", num_top_classes=len(TASKS), elem_id="weights")
                download = gr.File(label="Full-size result", elem_id="download", interactive=False)
        button.click(
            on_restore,
            [upload, mode, task, strength, *mixture],
            [slider, weights, download, status, state],
        )
        strength.release(on_strength, [state, strength], [slider, download])
    return app


def serve(
    model: str | None,
    device: str = "cpu",
    host: str = "127.0.0.1",
    port: int = 7860,
    limits: Limits = Limits(),
) -> None:
    """Load the model, build the page and serve it until interrupted (no share link)."""
    from pipir.errors import require
    from pipir.hub import load

    require("gradio", "web", "pipir serve")

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(load(model, device), limits)
    app.queue(default_concurrency_limit=1).launch(
        server_name=host,
        server_port=port,
        share=False,
        max_file_size=limits.max_bytes,
        show_error=True,
        inbrowser=False,
    )
