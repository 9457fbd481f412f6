"""Editing existing masks, measured: degraded masks and clicks to a target IoU from them.

The protocol of ``benchmarks/bench_edit.py``. A *degraded* mask stands for an existing
segmentation that is nearly right (another tool's, a threshold's, an old commit): eroded or
dilated by 3 px, 30 % cut off, merged with a neighbour (``data.degrade``, re-exported here;
training with mask prompts draws the same degradations).

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

from ..core.metrics import iou
from ..core.simulate import Clicker
from ..data.degrade import DEGRADATIONS, degrade

__all__ = ["DEGRADATIONS", "degrade", "clicks_to_target", "iou_curve"]


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
