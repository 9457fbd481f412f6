"""Training samples that start as an edit of an existing object (mask prompts).

At inference an edit (``InteractiveSession.start_from_mask``) gives the network an existing
0/1 mask as its previous probability, an *anchor* positive click at the mask's innermost pixel
(``core.mask_anchor``) and then the user's correction clicks. ``edit_prompt`` builds the same
start for a training target: a degraded version D of the target (``data.degrade``: eroded,
dilated, cut or merged with a neighbour, the kind uniform among those that exist for it), the
anchor of D and one correction click (``core.simulate.sample_training_click`` on the error of
D), with the anchor moved as the session moves it when that click is a negative one near it
(a merged mask whose anchor lies on the neighbour).

``edit_roi`` is the ROI of such a sample; see there for why.

All (row, col); every function takes a ``numpy.random.Generator``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core.clicks import Click
from ..core.mask_anchor import anchor_for, first_anchor
from ..core.simulate import padded_edt, sample_training_click
from ..data.degrade import DEGRADATIONS, degrade
from .sampler import object_roi

__all__ = ["edit_prompt", "edit_roi"]


def _degraded(
    target: np.ndarray, labels: np.ndarray | None, rng: np.random.Generator,
    radius: Sequence[int], cut: Sequence[float],
) -> np.ndarray | None:
    """A degraded ``target``: kinds tried in a random order, the first that exists and differs
    from the target wins (so the kind is uniform among those that exist for it)."""
    kinds = [k for k in DEGRADATIONS if k != "merged" or labels is not None]
    for i in rng.permutation(len(kinds)):
        kind = kinds[int(i)]
        size: dict[str, float] = {}
        if kind in ("eroded", "dilated"):
            size["radius"] = int(rng.integers(int(radius[0]), int(radius[1]) + 1))
        elif kind == "cut":
            size["cut"] = float(rng.uniform(cut[0], cut[1]))
        d = degrade(target, labels, kind, rng, **size)
        if d is not None and d.any() and not np.array_equal(d, target):
            return d
    return None


def edit_prompt(
    target: np.ndarray, labels: np.ndarray | None, rng: np.random.Generator,
    radius: Sequence[int] = (1, 5), cut: Sequence[float] = (0.1, 0.4),
) -> tuple[np.ndarray, list[Click]] | None:
    """The start of an edit of ``target``: a degraded mask and the clicks the network gets.

    Args:
        target: (H, W) bool, the object (not empty).
        labels: (H, W) int instance labels of the image (for ``merged``), or None.
        rng: random generator.
        radius: [low, high] pixels of erosion / dilation (uniform whole numbers).
        cut: [low, high] fraction of the object the cut removes (uniform).

    Returns:
        (D, clicks): D (H, W) bool, the degraded mask (0 < IoU with ``target`` < 1); clicks the
        anchor (positive, D's innermost pixel by ``core.simulate.padded_edt``, or where the
        session moves it after the correction; left out where the session leaves it out)
        followed by one correction click on the error of D. None when no degradation of the
        target exists or D leaves no error pixel to click.
    """
    d = _degraded(np.asarray(target, bool), labels, rng, radius, cut)
    if d is None:
        return None
    depth = padded_edt(d)
    first = first_anchor(depth)
    if first is None:
        return None
    anchor, _ = first
    clicked = np.zeros(d.shape, bool)
    clicked[anchor.row, anchor.col] = True
    correction = sample_training_click(target, d, rng, clicked=clicked)
    if correction is None:
        return None
    sent = anchor_for(depth, (0, 0), [correction])  # what InteractiveSession._model_clicks sends
    return d, ([sent] if sent is not None else []) + [correction]


def edit_roi(
    target: np.ndarray, degraded: np.ndarray, rng: np.random.Generator, low: float = 1.2, high: float = 3.0,
) -> tuple[float, float, float, float]:
    """The ROI of an edit sample: an object-relative square around ``target | degraded``.

    Why this one: an edit's first prediction has two clicks (anchor + correction), so the
    predictor zooms in (``core.zoom.compute_roi``: the bounding box of the mask prompt and the
    positive clicks, grown 1.4-2.5x, at least 32 px), never the whole slice; the next clicks
    keep it zoomed on the object. The image-relative dynamic ROI (``sampler.dynamic_roi``)
    would show small objects much smaller than an edit ever sees them, so the object-relative
    square of ``sampler.object_roi`` (side U(``low``, ``high``) x the box side:
    ``clicks.object_roi_range``, which spans the Zoom-In's growth) is used instead. It is drawn
    around target *and* degraded mask, not around the mask alone as the first Zoom-In is: the
    training ROI stays fixed through the step's click rounds, and the errors those clicks
    correct (the part a cut or an erosion left out) must lie inside it; the Zoom-In reaches
    them the same way once a positive click lands there.

    Returns:
        (row0, col0, row1, col1) inclusive pixel bounds (floats), inside the image.
    """
    return object_roi(np.asarray(target, bool) | np.asarray(degraded, bool), rng, low, high)
