"""The anchor click of a mask prompt: which object a given mask is, told to the model as a click.

A model that gets an existing mask as its previous probability (``InteractiveSession.
start_from_mask``) is also told which object is meant by one extra positive click, the
*anchor*, sent before the user's clicks: the mask's pixel farthest from its boundary (the
click a user would make first; ``core.simulate.padded_edt``), whose distance to the boundary
is its *reach*.

A negative click within half the reach of the anchor says that the part around the anchor is
what is wrong (a mask that merged two objects, the anchor on the wrong one): the anchor moves
to the rest of the mask, its innermost pixel at least the reach away from that negative click,
and so on while a negative click lies that near the new anchor. When the rest holds no part
at least half as deep as the first anchor's reach, there is no anchor (the user's clicks alone
say what the object is).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .clicks import Click

__all__ = ["first_anchor", "anchor_for"]


def first_anchor(depth: np.ndarray, offset: Sequence[int] = (0, 0)) -> tuple[Click, float] | None:
    """The anchor of a mask before any click and its reach.

    Args:
        depth: (h, w) distance of each mask pixel to the mask's boundary (0 outside;
            ``core.simulate.padded_edt``): the whole slice, or a rectangle of it holding the mask.
        offset: (row, col) of ``depth``'s first pixel in the slice.

    Returns:
        (positive ``Click`` at the deepest pixel, in slice pixels; its depth), or None for an
        empty mask.
    """
    d = np.asarray(depth)
    if d.size == 0 or not (d > 0).any():
        return None
    r, c = np.unravel_index(int(np.argmax(d)), d.shape)
    return Click(int(r) + int(offset[0]), int(c) + int(offset[1]), True), float(d[r, c])


def anchor_for(depth: np.ndarray, offset: Sequence[int], clicks: Sequence[Click]) -> Click | None:
    """The anchor to send before ``clicks`` (see the module docstring), or None.

    Args:
        depth, offset: as for ``first_anchor``.
        clicks: the user's clicks so far, (row, col) in slice pixels.
    """
    first = first_anchor(depth, offset)
    if first is None:
        return None
    anchor, reach = first
    floor = reach / 2.0
    negatives = [c for c in clicks if not c.is_positive]
    left: np.ndarray | None = None  # depth with the corrected parts taken out
    dropped: set[int] = set()
    while True:
        near = [k for k, c in enumerate(negatives) if k not in dropped
                and (c.row - anchor.row) ** 2 + (c.col - anchor.col) ** 2 < (reach / 2.0) ** 2]
        if not near:
            return anchor
        if left is None:
            left = np.array(depth, dtype=np.float64)
            rr, cc = np.ogrid[: left.shape[0], : left.shape[1]]
            rr, cc = rr + int(offset[0]), cc + int(offset[1])  # slice pixels
        for k in near:
            c = negatives[k]
            left[(rr - c.row) ** 2 + (cc - c.col) ** 2 < reach**2] = 0.0
        dropped.update(near)
        nxt = first_anchor(left, offset)
        if nxt is None or nxt[1] < floor:
            return None
        anchor, reach = nxt
