"""Work region and click seeds shared by the classical baselines (``models/classical.py``).

A pure function of (image shape, clicks, previous probability, box):

1. **Work region.** The bounding box of the positive clicks, the previous mask
   (``prev_prob > 0.49``) and the box prompt, grown on every side by a margin ``max(min_margin, grow * extent)``
   (``extent`` = the box's longer side) and clipped to the image. A lone first click says
   nothing about the object's size: its margin is ``max(min_margin, margin_frac * max(H, W))``.
   The region is downscaled by an integer factor so that its longer side is at most
   ``max_side`` pixels; that keeps one click well under a second on 1000x1000 slices.
   Outside the region the probability is 0.
2. **Seeds.** Disks of radius ``seed_radius`` (work pixels) around the clicks: ``FG`` (object)
   for positive, ``BG`` (background) for negative clicks; later clicks overwrite earlier
   ones. Background seeds are also placed on the sides of the work region that lie *inside*
   the image (the object is assumed not to reach more than the margin beyond the clicks and the
   previous mask; a click further out grows the region). If that gives no background seed at
   all (the region is the whole image and there are no negative clicks), the image border is
   used. A box prompt adds its outline as background seeds and, if there is no positive click,
   its centre as the object seed.
3. **Mask prompt.** With no object seed from clicks or box but a previous mask (an existing
   object being edited, then corrected by negative clicks only), the previous mask's core seeds
   the object (``mask_prompt_seeds``): its pixels more than ``seed_radius`` inside its boundary
   and more than ``3 * seed_radius`` from every background seed (work pixels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage

from ..core.clicks import Box, Click

__all__ = ["FG", "BG", "THRESHOLD", "RegionConfig", "WorkRegion", "compute_region", "crop_to_work",
           "paste_from_work", "region_ring", "click_seeds", "mask_prompt_seeds"]

FG, BG = 1, 2
THRESHOLD = 0.49


@dataclass(frozen=True)
class RegionConfig:
    """Where and at what resolution a classical model works (see the module docstring).

    Attributes:
        min_margin: smallest margin around clicks / previous mask, in image pixels.
        margin_frac: margin around a lone first click, as a fraction of the image's longer
            side (used if larger than ``min_margin``).
        grow: margin as a fraction of the extent of clicks + previous mask + box.
        max_side: longer side of the work region after downscaling, in pixels.
        seed_radius: radius of the click disks, in work pixels.
    """

    min_margin: int = 32
    margin_frac: float = 0.25
    grow: float = 0.5
    max_side: int = 192
    seed_radius: int = 2


@dataclass(frozen=True)
class WorkRegion:
    """A work region: image rows r0:r1, cols c0:c1 (exclusive ends), downscaled by ``factor``."""

    r0: int
    r1: int
    c0: int
    c1: int
    factor: int
    shape: tuple[int, int]  # (h, w) at work resolution
    inner: tuple[bool, bool, bool, bool]  # top, bottom, left, right side lies inside the image

    def to_work(self, row: float, col: float) -> tuple[int, int]:
        h, w = self.shape
        r = int(np.clip((row - self.r0 + 0.5) / self.factor - 0.5, 0, h - 1) + 0.5)
        c = int(np.clip((col - self.c0 + 0.5) / self.factor - 0.5, 0, w - 1) + 0.5)
        return r, c


def compute_region(shape: tuple[int, int], clicks: Sequence[Click], prev: np.ndarray | None,
                   box: Box | None, cfg: RegionConfig) -> WorkRegion:
    """The work region of the positive clicks, the previous mask and the box (see module doc).

    Negative clicks do not enlarge the region (a click on a far-away false positive would
    otherwise move the background seeds far out); they are used where they fall inside it.
    """
    h, w = shape
    pos = [c for c in clicks if c.is_positive] or list(clicks)
    rows = [c.row for c in pos]
    cols = [c.col for c in pos]
    if prev is not None:
        m = prev > THRESHOLD
        if m.any():
            rr = np.flatnonzero(m.any(axis=1))
            cc = np.flatnonzero(m.any(axis=0))
            rows += [int(rr[0]), int(rr[-1])]
            cols += [int(cc[0]), int(cc[-1])]
    if box is not None:
        rows += [box.row0, box.row1]
        cols += [box.col0, box.col1]
    extent = max(max(rows) - min(rows), max(cols) - min(cols))
    if len(rows) > 1:  # the object's extent is known from the mask / box / several clicks
        margin = int(max(cfg.min_margin, cfg.grow * extent))
    else:  # one click: the object's size is unknown, look far enough around it
        margin = int(max(cfg.min_margin, cfg.margin_frac * max(h, w)))
    r0, r1 = max(0, min(rows) - margin), min(h, max(rows) + margin + 1)
    c0, c1 = max(0, min(cols) - margin), min(w, max(cols) + margin + 1)
    factor = max(1, math.ceil(max(r1 - r0, c1 - c0) / cfg.max_side))
    wshape = (math.ceil((r1 - r0) / factor), math.ceil((c1 - c0) / factor))
    return WorkRegion(r0, r1, c0, c1, factor, wshape, (r0 > 0, r1 < h, c0 > 0, c1 < w))


def crop_to_work(arr: np.ndarray, work: WorkRegion) -> np.ndarray:
    """Crop an HxW[xC] map to the work region and block-average it down by ``work.factor``."""
    a = arr[work.r0:work.r1, work.c0:work.c1]
    f = work.factor
    if f == 1:
        return np.ascontiguousarray(a, dtype=np.float32)
    from skimage.transform import downscale_local_mean

    factors = (f, f) + (1,) * (a.ndim - 2)
    out = downscale_local_mean(a.astype(np.float32, copy=False), factors)
    return np.ascontiguousarray(out[: work.shape[0], : work.shape[1]], dtype=np.float32)


def paste_from_work(prob: np.ndarray, work: WorkRegion, shape: tuple[int, int]) -> np.ndarray:
    """Upsample a work-resolution probability map and paste it into an HxW zero map."""
    out = np.zeros(shape, np.float32)
    hh, ww = work.r1 - work.r0, work.c1 - work.c0
    if work.factor == 1:
        out[work.r0:work.r1, work.c0:work.c1] = prob
        return out
    from skimage.transform import resize

    big = resize(prob.astype(np.float32), (work.shape[0] * work.factor, work.shape[1] * work.factor),
                 order=1, mode="edge", anti_aliasing=False, preserve_range=True)
    out[work.r0:work.r1, work.c0:work.c1] = big[:hh, :ww]
    return out


def region_ring(work: WorkRegion, width: int, all_sides: bool = False) -> np.ndarray:
    """Bool mask (work resolution) of the region's inner sides, ``width`` pixels wide."""
    ring = np.zeros(work.shape, bool)
    top, bottom, left, right = (True,) * 4 if all_sides else work.inner
    if top:
        ring[:width, :] = True
    if bottom:
        ring[-width:, :] = True
    if left:
        ring[:, :width] = True
    if right:
        ring[:, -width:] = True
    return ring


def click_seeds(image_shape: tuple[int, int], work: WorkRegion, clicks: Sequence[Click], box: Box | None,
           cfg: RegionConfig) -> np.ndarray:
    """Seed map at work resolution: 0 = unknown, FG = object, BG = background."""
    h, w = work.shape
    seeds = np.zeros((h, w), np.uint8)
    # background on the sides of the work region that lie inside the image
    seeds[region_ring(work, 1)] = BG
    if box is not None:
        b0 = work.to_work(box.row0, box.col0)
        b1 = work.to_work(box.row1, box.col1)
        outline = np.zeros_like(seeds, dtype=bool)
        outline[b0[0]:b1[0] + 1, b0[1]:b1[1] + 1] = True
        outline &= ~ndimage.binary_erosion(outline, border_value=0)
        seeds[outline] = BG
    yy, xx = np.ogrid[:h, :w]
    r2 = cfg.seed_radius ** 2
    effective = list(clicks)
    if box is not None and not any(c.is_positive for c in clicks):
        effective.insert(0, Click(*box.center, True))
    for c in effective:
        if not (work.r0 <= c.row < work.r1 and work.c0 <= c.col < work.c1):
            continue  # a negative click outside the region: the region border is background
        r, q = work.to_work(c.row, c.col)
        seeds[(yy - r) ** 2 + (xx - q) ** 2 <= r2] = FG if c.is_positive else BG
    if not (seeds == BG).any():
        border = np.ones((h, w), bool)
        border[1:-1, 1:-1] = False
        seeds[border & (seeds == 0)] = BG
    return seeds


def mask_prompt_seeds(seeds: np.ndarray, prev: np.ndarray, cfg: RegionConfig) -> np.ndarray:
    """Seeds with the core of the previous mask ``prev`` (bool, work resolution) as object.

    The core is ``prev`` eroded by ``seed_radius`` and kept ``3 * seed_radius`` away from every
    background seed (a negative click cuts a hole of that size into it); where the erosion
    leaves nothing (a thin object), ``prev`` itself away from the background seeds is used.
    Unknown pixels only are changed; returns a new map.
    """
    bg = seeds == BG
    away = ~ndimage.binary_dilation(bg, iterations=3 * cfg.seed_radius) if bg.any() else np.ones_like(bg)
    core = ndimage.binary_erosion(prev, iterations=cfg.seed_radius) & away
    if not core.any():
        core = prev & away
    out = seeds.copy()
    out[core & (seeds == 0)] = FG
    return out
