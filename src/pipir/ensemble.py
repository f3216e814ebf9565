"""Geometric self-ensemble: restore an image seen in several orientations and average the results.

The eight views are the rotations by quarter turns, each also mirrored. A restorer is not exactly
equivariant to them, so its errors differ from view to view and partly cancel in the mean. Each
view costs one forward pass, so by default (``"auto"``) only photos restored in one piece and of at
most :data:`AUTO_PIXELS` pixels are averaged: over all eight views where the prompt weights say the
photo has little rain or haze (the two tasks whose restoration depends on which way is up), else
over the photo and its mirror image. On the 40 validation photos at 320 px, blind, the mirror pair
raised the task average by 0.15 dB over one view and eight views where they are safe 0.11 dB more,
no task lower (on the test photos: +0.11 dB over the mirror pair). Larger photos are restored once.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from pipir.errors import PipirError

# The views: (quarter turns, mirrored); ``n`` views are the first ``n`` of these. The first two keep
# the photo upright (itself and its mirror image), the first four keep every line's slant (half
# turns), the last four turn it on its side.
VIEWS = [(0, False), (0, True), (2, False), (2, True), (1, False), (1, True), (3, False), (3, True)]
CHOICES = (1, 2, 4, 8)
# "auto", on photos up to AUTO_PIXELS pixels restored whole: all eight views where the prompt weights
# (told, or the classifier's) give UPRIGHT_TASKS less than UPRIGHT_SHARE together, else AUTO_VIEWS
# (the photo and its mirror image); one view on larger photos. The restorer has learned that rain
# falls and that haze thickens towards the top of a photo, so views turned over or on their side
# cost rain and haze several dB (on the 40 validation photos, blind, eight views on every photo: rain
# 25.08 → 21.45 dB, haze 22.40 → 16.71 dB, while noise σ15 rose 30.88 → 31.25 dB), where the mirror
# image costs nothing.
AUTO_VIEWS = 2
AUTO_PIXELS = 512 * 512
UPRIGHT_TASKS = ("derain", "dehaze")
UPRIGHT_SHARE = 0.1
NAMED = ("auto",)
BAD = f"ensemble must be 'auto' or one of {', '.join(map(str, CHOICES))}, not"


def check(value: int | str) -> int | str:
    """``value`` if it is a named policy or a count of views, else a clear error."""
    if value not in NAMED and value not in CHOICES:
        raise PipirError(f"{BAD} {value!r}")
    return value


def parse(text: str) -> int | str:
    """A command line's ``--ensemble``: a named policy or a count of views, checked before any work."""
    return check(int(text) if text.isdigit() else text)


def upright_share(weights: torch.Tensor | None, tasks: tuple[str, ...]) -> float | None:
    """The largest share, over the batch, of B×K prompt ``weights`` on :data:`UPRIGHT_TASKS`; None
    for a model without prompts."""
    if weights is None:
        return None
    columns = [k for k, task in enumerate(tasks) if task in UPRIGHT_TASKS]
    return float(weights[:, columns].sum(-1).max()) if columns else 0.0


def count_views(ensemble: int | str, pixels: int, whole: bool, upright: float | None = None) -> int:
    """How many views restore an image of ``pixels`` pixels: ``ensemble`` as given (1, 2, 4 or 8);
    for ``"auto"`` one, unless the image is small and restored whole (``whole``): then eight where
    ``upright`` (:func:`upright_share`) is known and below :data:`UPRIGHT_SHARE`, else
    :data:`AUTO_VIEWS`. A count above one needs the image whole: tiles share the whole image's
    prompts, which are not turned with them."""
    if check(ensemble) == "auto":
        if not whole or pixels > AUTO_PIXELS:
            return 1
        return len(VIEWS) if upright is not None and upright < UPRIGHT_SHARE else AUTO_VIEWS
    if ensemble > 1 and not whole:
        raise PipirError(
            f"a self-ensemble of {ensemble} views needs the image restored in one piece; "
            "it is tiled here (give a larger tile, or --tile none)"
        )
    return ensemble


def _rotate(x: torch.Tensor, quarters: int) -> torch.Tensor:
    """``x`` turned by ``quarters`` quarter turns; itself, not a copy, for none (``torch.rot90``
    copies even then, which one view, the restore of every large photo, need not pay)."""
    return torch.rot90(x, quarters, (-2, -1)) if quarters % 4 else x


def turn(x: torch.Tensor, view: tuple[int, bool]) -> torch.Tensor:
    """``x`` (…×H×W) seen in ``view``: mirrored left–right, then turned."""
    quarters, mirrored = view
    return _rotate(x.flip(-1) if mirrored else x, quarters)


def unturn(x: torch.Tensor, view: tuple[int, bool]) -> torch.Tensor:
    """The inverse of :func:`turn`."""
    quarters, mirrored = view
    x = _rotate(x, -quarters)
    return x.flip(-1) if mirrored else x


def average_views(restore: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, n: int) -> torch.Tensor:
    """The mean of ``restore`` over the first ``n`` views of ``x``, each turned back."""
    total = None
    for view in VIEWS[:n]:
        y = unturn(restore(turn(x, view)), view)
        total = y if total is None else total + y  # not in place: y may be the caller's tensor
    return total if n == 1 else total / n
