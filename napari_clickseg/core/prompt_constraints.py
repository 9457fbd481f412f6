"""What prompts mean, applied to a probability map: a box bounds the object, a click selects it.

Two post-processing rules on a predictor's HxW probability map (pure NumPy/SciPy):

* ``bound_to_box``: a box prompt says where the object is, so pixels outside the box are
  background - except where a positive click outside the box says the object goes on there:
  the parts of the mask outside the box that hold such a click are kept.
* ``keep_clicked_components``: a positive click selects the object it is on, not every similar
  one elsewhere: only the connected components of the mask that contain a positive click, or
  come within ``touch`` pixels of one, are kept.

Removed pixels get probability 0. Coordinates are (row, col); boxes inclusive.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage

from .clicks import Box, Click

__all__ = ["bound_to_box", "keep_clicked_components", "box_mask"]

_EIGHT = np.ones((3, 3), bool)


def box_mask(shape: Sequence[int], box: Box) -> np.ndarray:
    """HxW bool, True inside the inclusive ``box`` (clipped to the image)."""
    m = np.zeros(tuple(shape[:2]), bool)
    m[max(box.row0, 0) : max(box.row1 + 1, 0), max(box.col0, 0) : max(box.col1 + 1, 0)] = True
    return m


def bound_to_box(prob: np.ndarray, box: Box | None, clicks: Sequence[Click], threshold: float = 0.49) -> np.ndarray:
    """Probability outside ``box`` set to 0, except on mask parts that hold a positive click.

    Args:
        prob: HxW float probability in [0, 1] (not modified).
        box: the box prompt, or None (``prob`` is returned as is).
        clicks: the clicks of the object; positive ones outside the box keep the 8-connected
            part of the mask (``prob > threshold``) outside the box that they lie on.
        threshold: mask threshold.

    Returns:
        HxW float32 probability in [0, 1].
    """
    out = np.asarray(prob, dtype=np.float32)
    if box is None:
        return out
    inside = box_mask(out.shape, box)
    keep = inside.copy()
    outside_pos = [c for c in clicks if c.is_positive and c.inside(out.shape) and not inside[c.row, c.col]]
    if outside_pos:
        lab, _ = ndimage.label((out > threshold) & ~inside, structure=_EIGHT)
        ids = {int(lab[c.row, c.col]) for c in outside_pos} - {0}
        if ids:
            keep |= np.isin(lab, list(ids))
    return np.where(keep, out, np.float32(0.0))


def keep_clicked_components(
    prob: np.ndarray, clicks: Sequence[Click], threshold: float = 0.49, touch: int = 2
) -> np.ndarray:
    """Only the connected components of the mask at (or within ``touch`` px of) a positive click.

    When no component is near any positive click (the model ignored the clicks), or there is
    no positive click, ``prob`` is returned unchanged: nothing is removed.

    Args:
        prob: HxW float probability in [0, 1] (not modified).
        clicks: the object's clicks (negative ones are ignored here).
        threshold: mask threshold (``prob > threshold``).
        touch: a component within this many pixels (Chebyshev) of a positive click counts as
            touching it.

    Returns:
        HxW float32 probability in [0, 1]: pixels of other components set to 0; pixels below
        the threshold keep their (sub-threshold) probability.
    """
    out = np.asarray(prob, dtype=np.float32)
    pos = [c for c in clicks if c.is_positive and c.inside(out.shape)]
    if not pos:
        return out
    mask = out > threshold
    lab, n = ndimage.label(mask, structure=_EIGHT)
    if n <= 1:
        return out
    h, w = mask.shape
    ids: set[int] = set()
    for c in pos:
        win = lab[max(c.row - touch, 0) : min(c.row + touch + 1, h), max(c.col - touch, 0) : min(c.col + touch + 1, w)]
        ids.update(int(v) for v in np.unique(win) if v)
    if not ids:
        return out
    drop = mask & ~np.isin(lab, list(ids))
    return np.where(drop, np.float32(0.0), out)
