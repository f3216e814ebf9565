"""Labelled before/after sheets: the pictures ``pipir demo`` writes for people to look at.

Each panel gets a caption (what it is, its PSNR when a reference exists) and the restored panel the
prompt weights as bars, so that what the classifier decided is seen, not only printed. Pillow only.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BAND = 22  # caption height in pixels
BAR = 14  # height of one prompt-weight bar


def _font(size: int = 13) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _caption(width: int, text: str, rows: int = 1) -> Image.Image:
    band = Image.new("RGB", (width, BAND * rows), (24, 24, 24))
    ImageDraw.Draw(band).text((6, 4), text, fill=(235, 235, 235), font=_font())
    return band


def _weight_bars(width: int, weights: dict[str, float]) -> Image.Image:
    """One bar per task, its length the weight; the task's name and value beside it."""
    shown = [(k, v) for k, v in sorted(weights.items(), key=lambda kv: -kv[1]) if v >= 0.005]
    panel = Image.new("RGB", (width, BAR * max(1, len(shown)) + 6), (24, 24, 24))
    draw = ImageDraw.Draw(panel)
    label_width, full = 110, max(1, width - 110 - 12)
    for i, (task, value) in enumerate(shown):
        top = 3 + i * BAR
        draw.text((6, top), f"{task} {value:.2f}", fill=(235, 235, 235), font=_font(11))
        draw.rectangle(
            (label_width, top + 2, label_width + int(full * value), top + BAR - 3), fill=(90, 170, 250)
        )
    return panel


def comparison(
    before: np.ndarray,
    after: np.ndarray,
    before_label: str,
    after_label: str,
    weights: dict[str, float] | None = None,
) -> np.ndarray:
    """Two float H×W×3 images in [0, 1] side by side, captioned, with the prompt weights' bars under
    the second; returns a uint8 H'×W'×3 sheet."""
    panels = [Image.fromarray(np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)) for x in (before, after)]
    h, w = before.shape[:2]
    columns = []
    for panel, label, bars in ((panels[0], before_label, None), (panels[1], after_label, weights)):
        parts = [panel, _caption(w, label)] + ([_weight_bars(w, bars)] if bars else [])
        column = Image.new("RGB", (w, sum(p.height for p in parts)), (24, 24, 24))
        top = 0
        for part in parts:
            column.paste(part, (0, top))
            top += part.height
        columns.append(column)
    sheet = Image.new("RGB", (2 * w + 4, max(c.height for c in columns)), (24, 24, 24))
    sheet.paste(columns[0], (0, 0))
    sheet.paste(columns[1], (w + 4, 0))
    return np.asarray(sheet)


def preview(image: np.ndarray, longest: int = 1024) -> np.ndarray:
    """Any image ``read_image`` gives (grey, RGB, RGBA; 8 or 16 bits) or a float one, as float RGB in
    [0, 1], at most ``longest`` pixels on its long side: a sheet's panel."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype.kind == "f":  # float in [0, 1], as the Python API takes
        image = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    panel = Image.fromarray(image).convert("RGB")
    panel.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return np.asarray(panel, dtype=np.float32) / 255
