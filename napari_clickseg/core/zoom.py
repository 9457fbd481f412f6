"""Zoom-In: the region of interest a click-conditioned network looks at (RITM, Sofiiuk et al. 2022).

Numpy only. A ROI is ``Roi(row0, col0, row1, col1)``, *inclusive* integer pixel bounds. The
crop and paste maps live beside the networks (``models/roi.py``, torch) and follow the half-pixel
convention of ``grid_sample(align_corners=False)``:

    u = (y - row0 + 0.5) * size / (row1 - row0 + 1) - 0.5      (image -> crop)

ROI rule (``skip_clicks`` = 1):

1. With a box: the box, the previous mask (``prev_prob > 0.5``) and the positive clicks.
2. Else with ``<= skip_clicks`` clicks: the whole image.
3. Else the tight bounding box of the previous mask plus the positive clicks (the whole image if
   that is empty), grown about its centre to ``max(e * side, min_crop)``, made square where the
   image allows (the crop is square, so this keeps the aspect ratio), shifted - not cut - to
   stay inside the image.

Defaults: CSFPN's size-dependent expansion ``e = max(2.5 - 4 sqrt(A_box / A_image), 1.4)`` and
a 32 px minimal side (``ZoomConfig()``); RITM's rule is ``ZoomConfig(min_crop=200,
adaptive=False)`` (e = 1.4, at least 200 px). With RITM's 200 px floor a 15-20 px nucleus or a
small tumour on a 256 px MRI slice covers a tenth of the crop, and the head's 1/4-resolution
output then draws its boundary with 3 px cells. How the default was chosen: ``docs/experiments.md``.

Deviation from RITM, on purpose: RITM keeps the previous ROI unless a positive click falls
outside it or the IoU of old and new ROI drops below 0.5. That needs hidden per-object state;
our ``predict`` must be a pure function of (features, clicks, prev_prob, box), so the ROI is
recomputed from ``prev_prob`` and the clicks on every call (as CSFPN does: threshold 1.0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from .clicks import Box, Click

__all__ = ["Roi", "ZoomConfig", "compute_roi", "full_roi"]


class Roi(NamedTuple):
    """Inclusive pixel bounds (row0, col0, row1, col1)."""

    row0: int
    col0: int
    row1: int
    col1: int

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return (self.row1 - self.row0 + 1, self.col1 - self.col0 + 1)


@dataclass(frozen=True)
class ZoomConfig:
    """Zoom-In parameters (defaults: CSFPN's size-dependent expansion, 32 px minimal side).

    Attributes:
        expansion: growth factor of the object's bounding box.
        min_crop: smallest ROI side in pixels (clamped to the image).
        skip_clicks: with at most this many clicks (and no box) the whole image is used.
        threshold: ``prev_prob > threshold`` is the previous mask.
        square: make the ROI square where the image allows.
        adaptive: CSFPN's size-dependent expansion ``max(2.5 - 4 sqrt(A_box / A_image),
            expansion)``: small objects get up to 2.5x context (CSFPN, Zhang et al.).
    """

    expansion: float = 1.4
    min_crop: int = 32
    skip_clicks: int = 1
    threshold: float = 0.5
    square: bool = True
    adaptive: bool = True

    def expansion_for(self, box_hw: tuple[int, int], image_hw: tuple[int, int]) -> float:
        """Expansion factor for a bounding box of ``box_hw`` in an image of ``image_hw``."""
        if not self.adaptive:
            return self.expansion
        ratio = (box_hw[0] * box_hw[1]) / float(image_hw[0] * image_hw[1])
        return max(2.5 - 4.0 * math.sqrt(ratio), self.expansion)


def full_roi(shape: Sequence[int]) -> Roi:
    """The whole image of shape (H, W, ...)."""
    return Roi(0, 0, int(shape[0]) - 1, int(shape[1]) - 1)


def _grow(lo: float, hi: float, side: float, size: int) -> tuple[int, int]:
    """Interval of length ``side`` centred on [lo, hi], shifted into [0, size - 1]."""
    side = min(max(side, 1.0), float(size))
    n = int(math.ceil(side))
    centre = (lo + hi) / 2.0
    a = int(math.floor(centre - (n - 1) / 2.0))
    a = min(max(a, 0), size - n)
    return a, a + n - 1


def compute_roi(
    shape: Sequence[int],
    clicks: Sequence[Click],
    prev_prob: np.ndarray | None = None,
    box: Box | None = None,
    cfg: ZoomConfig = ZoomConfig(),
) -> Roi:
    """The Zoom-In ROI for the next prediction (see the module docstring for the rule).

    Args:
        shape: (H, W, ...) of the slice.
        clicks: clicks so far, oldest first, (row, col) in slice pixels.
        prev_prob: HxW float in [0, 1] or None.
        box: box prompt or None.
        cfg: parameters.

    Returns:
        ``Roi`` inside the image.
    """
    h, w = int(shape[0]), int(shape[1])
    if box is None and len(clicks) <= cfg.skip_clicks:
        return full_roi(shape)
    rows: list[int] = []
    cols: list[int] = []
    if prev_prob is not None:
        mask = np.asarray(prev_prob) > cfg.threshold
        rr = np.flatnonzero(mask.any(axis=1))
        if rr.size:
            cc = np.flatnonzero(mask.any(axis=0))
            rows += [int(rr[0]), int(rr[-1])]
            cols += [int(cc[0]), int(cc[-1])]
    for c in clicks:
        if c.is_positive:
            rows.append(c.row)
            cols.append(c.col)
    if box is not None:
        rows += [box.row0, box.row1]
        cols += [box.col0, box.col1]
    if not rows:
        return full_roi(shape)
    r0, r1, c0, c1 = min(rows), max(rows), min(cols), max(cols)
    e = cfg.expansion_for((r1 - r0 + 1, c1 - c0 + 1), (h, w))
    side_r = max((r1 - r0 + 1) * e, cfg.min_crop)
    side_c = max((c1 - c0 + 1) * e, cfg.min_crop)
    if cfg.square:
        side_r = side_c = max(side_r, side_c)
    a, b = _grow(r0, r1, side_r, h)
    c, d = _grow(c0, c1, side_c, w)
    return Roi(a, c, b, d)
