"""Tile geometry: where tiles start, how large they are, which part of the image each owns, and the
blending window. Tiles start on the model's down-sampling grid so that their features line up with
the whole image's; :meth:`pipir.infer.Restorer.restore_tensor` runs them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def window(size: int, overlap: int) -> torch.Tensor:
    """1-D blending weights: a raised-cosine ramp over ``overlap`` pixels at both ends, never 0."""
    w = torch.ones(size)
    if overlap > 0:
        ramp = 0.5 - 0.5 * torch.cos(torch.linspace(0, math.pi, overlap + 2)[1:-1])
        w[:overlap] = ramp
        w[-overlap:] = torch.minimum(w[-overlap:], ramp.flip(0))
    return w


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def grid_starts(length: int, side: int, overlap: int, multiple: int) -> list[int]:
    """Tile starts on the model's grid: strides a multiple of ``multiple``, overlaps ≥ ``overlap``."""
    return tile_starts(length, side, max(multiple, (side - overlap) // multiple * multiple))


def fit_tile(length: int, tile: int, overlap: int, multiple: int) -> int:
    """The smallest tile side (a multiple of ``multiple``, at most ``tile``) that still covers
    ``length`` with as few tiles as ``tile`` needs: tiles shrink instead of the last one overlapping
    its neighbour by most of its size (a 4000×3000 photo in 768-pixel tiles: 25 % less work). Never
    below 512 pixels: smaller tiles agree less with the whole image (docs/benchmarks/tiling.md)."""
    largest = min(max(multiple, tile // multiple * multiple), length)
    if length <= largest:
        return length

    def count(side: int) -> int:
        return len(grid_starts(length, side, overlap, multiple))

    needed = count(largest)
    side = -(-(length + (needed - 1) * overlap) // needed)
    side = min(largest, max(-(-side // multiple) * multiple, 512))
    while count(side) > needed:
        side += multiple
    return side


def owned_spans(starts: list[int], tile: int, length: int, multiple: int) -> list[tuple[int, int]]:
    """Split [0, length) among overlapping tiles: each owns up to the middle of its overlaps
    (rounded to ``multiple``), so every position belongs to exactly one tile."""
    cuts = [(a + b + tile) // 2 // multiple * multiple for a, b in zip(starts[1:], starts[:-1])]
    edges = [0, *cuts, length]
    return list(zip(edges[:-1], edges[1:]))


@dataclass
class Grid:
    """Tiles of ``th``×``tw`` at ``tops``×``lefts`` over an image padded to ``hp``×``wp``, batch ``b``."""

    tops: list[int]
    lefts: list[int]
    th: int
    tw: int
    hp: int
    wp: int
    b: int
