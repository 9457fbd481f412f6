"""Editing existing masks, measured: degraded masks and clicks to a target IoU from them.

The protocol of ``benchmarks/bench_edit.py``. A *degraded* mask stands for an existing
segmentation that is nearly right (another tool's, a threshold's, an old commit):

* ``eroded``: the object eroded by 3 px (``scipy.ndimage.binary_erosion``, 3x3 cross, 3 times);
* ``dilated``: the object dilated by 3 px (same structuring element);
* ``cut``: the object with a part cut off: its pixels beyond a straight line of random
  direction, chosen so that 30 % of the object is removed;
* ``merged``: the object together with its nearest other object of at most twice its area
  (two touching nuclei, two glands joined by a threshold); objects with no such neighbour in
  the image have no ``merged`` case.

``clicks_to_target`` counts the simulated clicks (``core.simulate.Clicker``, the evaluation's
rule) an ``InteractiveSession`` needs to reach a target IoU, starting from a mask prompt
(``start_from_mask``: the degraded mask, as the annotator's edit does) or from nothing. Zero
clicks when the start already reaches the target; ``max_clicks`` when it is never reached.
``iou_curve`` gives the IoU after each of a fixed number of clicks instead (the same rule, not
stopping at a target), for comparing starts where the click count sits at a model's ceiling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from ..core.metrics import iou
from ..core.simulate import Clicker

__all__ = ["DEGRADATIONS", "degrade", "clicks_to_target", "iou_curve"]

DEGRADATIONS: tuple[str, ...] = ("eroded", "dilated", "cut", "merged")
#: pixels eroded / dilated
RADIUS = 3
#: fraction of the object's pixels the cut removes
CUT_FRACTION = 0.3


def _cut(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rows, cols = np.nonzero(gt)
    theta = rng.uniform(0.0, 2.0 * np.pi)
    proj = rows * np.sin(theta) + cols * np.cos(theta)
    keep = proj <= np.quantile(proj, 1.0 - CUT_FRACTION)
    out = np.zeros_like(gt)
    out[rows[keep], cols[keep]] = True
    return out


def _merged(gt: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    area = int(gt.sum())
    own = set(np.unique(labels[gt]).tolist())
    dist = ndimage.distance_transform_edt(~gt)
    best, best_d = None, np.inf
    for i, n in zip(ids, counts, strict=True):
        if int(i) in own or n > 2 * area:
            continue
        d = float(dist[labels == i].min())
        if d < best_d:
            best, best_d = int(i), d
    return None if best is None else (gt | (labels == best))


def degrade(gt: np.ndarray, labels: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray | None:
    """One degraded version of object mask ``gt`` (HxW bool) of instance image ``labels``.

    Args:
        gt: HxW bool, the object.
        labels: HxW int instance labels of the whole image (for ``merged``).
        kind: one of ``DEGRADATIONS``.
        rng: draws the cut's direction.

    Returns:
        HxW bool, or None when the degradation does not exist for this object (erosion leaves
        nothing, no neighbour to merge with).

    Raises:
        ValueError: unknown ``kind``, or shapes that differ.
    """
    gt = np.asarray(gt, bool)
    if gt.shape != np.shape(labels):
        raise ValueError(f"gt has shape {gt.shape} but labels {np.shape(labels)}")
    if kind == "eroded":
        out = ndimage.binary_erosion(gt, iterations=RADIUS)
        return out if out.any() else None
    if kind == "dilated":
        return ndimage.binary_dilation(gt, iterations=RADIUS)
    if kind == "cut":
        return _cut(gt, rng)
    if kind == "merged":
        return _merged(gt, np.asarray(labels))
    raise ValueError(f"unknown degradation {kind!r}; choose one of {', '.join(DEGRADATIONS)}")


def clicks_to_target(session: Any, gt: np.ndarray, start: np.ndarray | None = None, target: float = 0.9,
                     max_clicks: int = 20) -> tuple[int, float, float]:
    """Simulated clicks an ``InteractiveSession`` (slice already set) needs to reach ``target``.

    Args:
        session: the session; its current object is replaced.
        gt: HxW bool ground truth.
        start: HxW bool mask prompt to start from (None: from nothing).
        target: IoU to reach.
        max_clicks: the count when it is never reached.

    Returns:
        (clicks, IoU at the start, IoU at the end); clicks is 0 when the start already reaches
        the target and ``max_clicks`` when the target is never reached.
    """
    gt = np.asarray(gt, bool)
    if start is None:
        session.reset()
    else:
        session.start_from_mask(start)
    pred = session.mask
    first = last = iou(pred, gt)
    if first >= target:
        return 0, first, last
    clicker = Clicker(gt, max_clicks=max_clicks)
    for k in range(1, max_clicks + 1):
        click = clicker.make_next_click(pred)
        if click is None:
            break  # no error left at any unclicked pixel
        pred = session.add(click)
        last = iou(pred, gt)
        if last >= target:
            return k, first, last
    return max_clicks, first, last


def iou_curve(session: Any, gt: np.ndarray, start: np.ndarray | None = None, clicks: int = 8) -> list[float]:
    """IoU of the session's mask before any click and after each of ``clicks`` simulated clicks.

    Args: as for ``clicks_to_target`` (``clicks``: how many clicks to make).

    Returns:
        ``clicks + 1`` IoUs; when no error pixel is left to click, the last IoU is repeated.
    """
    gt = np.asarray(gt, bool)
    if start is None:
        session.reset()
    else:
        session.start_from_mask(start)
    pred = session.mask
    out = [iou(pred, gt)]
    clicker = Clicker(gt, max_clicks=max(int(clicks), 1))
    for _ in range(int(clicks)):
        click = clicker.make_next_click(pred)
        if click is not None:
            pred = session.add(click)
        out.append(iou(pred, gt) if click is not None else out[-1])
    return out
