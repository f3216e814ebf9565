"""``pipir explain IMAGE``: one picture of what a PIP model decides for an image and why.

Four things, from the model itself: the classifier's probabilities (blind use), the prompt weights
the restore used, how alike the learned degradation-aware prompts are (cosine similarity per skip
level: the paper's decoupling figure, where distinct tasks should have distinct prompts), and which
prompt channels each feature channel attends to in the selective top-m prompt-to-feature
attention (entries the top-m selection drops are exactly zero)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pipir.errors import PipirError
from pipir.infer import Restorer, TaskSpec
from pipir.layout import from_batch, split_layout, to_batch

PREVIEW = 384  # long side of the copy the maps are computed on: whole image, no tiles


@dataclass
class Explanation:
    image: np.ndarray  # the preview, H×W×3 float
    restored: np.ndarray
    classes: list[str]
    probabilities: list[float] | None  # the classifier's, or None when the task was given
    tasks: list[str]
    weights: list[float]
    source: str
    strength: float  # blind use: how far the output moves from the input (pipir.infer.blind_weights)
    similarity: list[np.ndarray]  # per level, K×K cosine similarity of the degradation prompts
    attention: list[np.ndarray]  # per level, D×D block-diagonal map (heads on the diagonal)
    kept: list[float]  # per level, share of the attention entries that are non-zero


def block_diagonal(attention: torch.Tensor) -> np.ndarray:
    """B×heads×r×c (batch averaged) → (heads·r)×(heads·c) with each head's map on the diagonal."""
    maps = attention.float().mean(0)
    return torch.block_diag(*maps).numpy()


def explain(restorer: Restorer, image: np.ndarray, task: TaskSpec = "auto") -> Explanation:
    """The classifier and the prompt weights on ``image`` itself (as the restore path decides them),
    then one run of the model on a ≤ PREVIEW-pixel copy for the pictures and attention maps."""
    from pipir.sheet import preview

    if not restorer.uses_prompts:
        raise PipirError(f"{restorer.name} has no prompts to explain: pipir explain needs a PIP model")
    rgb, _, _, scale = split_layout(np.asarray(image))
    h, w = rgb.shape[:2]

    def fetch(t: int, s: int, hh: int, ww: int) -> torch.Tensor:  # full-resolution crops, as restore
        crop = rgb[t : t + hh, s : s + ww].astype(np.float32) / np.float32(scale)
        return to_batch(crop)

    steer = restorer.prompt_weights(fetch, 1, h, w, task)
    weights, source, strength = steer.weights, steer.source, steer.strength
    probabilities = None if steer.probs is None else steer.probs[0].tolist()
    small = preview(image, PREVIEW)
    x = to_batch(small).to(restorer.device)
    attentions = [block.to_feature.attn for block in restorer.model.pip]
    for attn in attentions:
        attn.record_map = True
    try:
        # The restore path's own forward (precision, clamp, strength), once: the pass whose attention
        # is shown (pipir restore averages a small photo over several orientations, pipir.ensemble).
        with torch.inference_mode():
            restored = restorer._forward(
                restorer._input(x), weights, restorer.resolve_precision("auto"), strength
            )
    finally:
        for attn in attentions:
            attn.record_map = False
    maps = [attn.attention_map for attn in attentions]
    classes = [*restorer.tasks, "clean"][: len(probabilities)] if probabilities else []
    return Explanation(
        image=small,
        restored=from_batch(restored),
        classes=classes,
        probabilities=probabilities,
        tasks=list(restorer.tasks),
        weights=weights[0].tolist(),
        source=source,
        strength=1.0 if strength is None else float(strength[0]),
        similarity=[prompt_similarity(block.prompt.task_prompts) for block in restorer.model.pip],
        attention=[block_diagonal(m.cpu()) for m in maps],
        kept=[float((m > 0).float().mean()) for m in maps],
    )


def prompt_similarity(prompts: torch.Tensor) -> np.ndarray:
    p = F.normalize(prompts.detach().float(), dim=1)
    return (p @ p.t()).cpu().numpy()


def figure(ex: Explanation, path: str | Path, title: str = "") -> Path:
    """The explanation as one PNG (matplotlib): images and bars, prompt similarity, attention."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = len(ex.similarity)
    fig, axes = plt.subplots(3, max(3, levels), figsize=(4.2 * max(3, levels), 12), dpi=100)
    _images_and_bars(ex, axes[0])
    for level, ax in enumerate(axes[1][:levels]):
        _similarity(ax, ex.similarity[level], ex.tasks, level)
    for level, ax in enumerate(axes[2][:levels]):
        ax.imshow(np.sqrt(ex.attention[level]), cmap="magma", aspect="auto", interpolation="nearest")
        ax.set_title(f"level {level + 1}: top-m attention ({100 * ex.kept[level]:.0f}% kept)")
        ax.set_xlabel("prompt channel")
        ax.set_ylabel("feature channel (query, projected to D)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _images_and_bars(ex: Explanation, row) -> None:
    done = "restored" if ex.strength >= 0.995 else f"restored (strength {ex.strength:.2f})"
    for ax, picture, label in ((row[0], ex.image, "input"), (row[1], ex.restored, done)):
        ax.imshow(np.clip(picture, 0, 1))
        ax.set_title(label)
        ax.axis("off")
    ax = row[2]
    if ex.probabilities is not None:
        ax.barh(ex.classes, ex.probabilities, color="#bbbbbb", label="classifier probability")
    ax.barh(ex.tasks, ex.weights, height=0.5, color="#e8590c", label=f"prompt weight ({ex.source})")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("what the model was told")


def _similarity(ax, similarity: np.ndarray, tasks: list[str], level: int) -> None:
    ax.imshow(similarity, cmap="coolwarm", vmin=-1, vmax=1)
    ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right")
    ax.set_yticks(range(len(tasks)), tasks)
    for i in range(len(tasks)):
        for j in range(len(tasks)):
            ax.text(j, i, f"{similarity[i, j]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_title(f"level {level + 1}: degradation prompts, cosine")
