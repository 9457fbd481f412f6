"""Segmentation and interaction metrics of the standard protocol (RITM's NoC protocol; boundary IoU of Cheng et al., CVPR 2021).

* ``iou`` — intersection over union, optionally ignoring pixels.
* ``boundary_iou`` — Cheng et al. 2021 boundary IoU (dilation ratio 0.02).
* ``noc`` / ``noc_nof`` — number of clicks to reach an IoU target (RITM ``compute_noc_metric``):
  the smallest k with IoU_k >= tau, else ``max_clicks`` (a failure counts as ``max_clicks``);
  NoF = number of objects whose NoC equals ``max_clicks``.
* ``miou_curve`` / ``normalized_auc`` — mean IoU after each click (a run that stopped early
  carries its last IoU forward) and its trapezoidal area over k = 1..max_clicks divided by
  ``max_clicks - 1`` (the area of the constant-1 curve).

All masks are HxW arrays interpreted as bool; IoU lists are indexed by click (index 0 = after
the first click).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from scipy.ndimage import binary_erosion

__all__ = [
    "iou",
    "recall_precision",
    "boundary_iou",
    "mask_boundary",
    "noc",
    "noc_nof",
    "never_reached",
    "miou_curve",
    "normalized_auc",
    "DEFAULT_TARGETS",
]

#: IoU targets reported as NoC@85/90/95.
DEFAULT_TARGETS = (0.85, 0.90, 0.95)


def _pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, g = np.asarray(pred, bool), np.asarray(gt, bool)
    if p.shape != g.shape:
        raise ValueError(f"prediction has shape {p.shape} but the ground truth is {g.shape}")
    return p, g


def _scored(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``_pair`` with the ignored pixels (``ignore`` True) cleared from both masks."""
    p, g = _pair(pred, gt)
    if ignore is None:
        return p, g
    valid = ~np.asarray(ignore, bool)
    if valid.shape != g.shape:
        raise ValueError(f"ignore mask has shape {valid.shape} but the ground truth is {g.shape}")
    return p & valid, g & valid


def iou(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """IoU = |pred & gt & valid| / |(pred | gt) & valid|.

    Args:
        pred: HxW prediction (bool or 0/1).
        gt: HxW ground truth.
        ignore: HxW bool, True where pixels are ignored; or None.

    Returns:
        IoU in [0, 1]; 1.0 when both masks are empty (on the valid pixels).
    """
    p, g = _scored(pred, gt, ignore)
    inter, union = p & g, p | g
    u = int(np.count_nonzero(union))
    return 1.0 if u == 0 else float(np.count_nonzero(inter)) / u


def recall_precision(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> tuple[float, float]:
    """How a mask falls short of (recall) and spills past (precision) its object.

    Args: as ``iou``.

    Returns:
        ``(recall, precision)`` in [0, 1]: ``|pred & gt| / |gt|`` and ``|pred & gt| / |pred|``
        on the valid pixels; recall is 1.0 for an empty ``gt``, precision 1.0 for an empty
        ``pred``.
    """
    p, g = _scored(pred, gt, ignore)
    inter = float(np.count_nonzero(p & g))
    n_g, n_p = np.count_nonzero(g), np.count_nonzero(p)
    return (1.0 if n_g == 0 else inter / n_g), (1.0 if n_p == 0 else inter / n_p)


def mask_boundary(mask: np.ndarray, dilation_ratio: float = 0.02) -> np.ndarray:
    """The inner boundary band of a mask: ``M - erode(M, d)`` (Cheng et al. 2021).

    The mask is padded with a 1-px zero border, eroded ``d`` times with a 3x3 kernel and
    cropped, with ``d = max(1, round(dilation_ratio * sqrt(H^2 + W^2)))``.

    Args:
        mask: HxW mask.
        dilation_ratio: band width as a fraction of the image diagonal.

    Returns:
        HxW bool band of width ``d`` pixels along the mask's boundary (and the image border).
    """
    m = np.asarray(mask, bool)
    h, w = m.shape
    d = max(1, int(round(dilation_ratio * float(np.hypot(h, w)))))
    padded = np.pad(m, 1, mode="constant", constant_values=False)
    eroded = binary_erosion(padded, structure=np.ones((3, 3), bool), iterations=d)[1:-1, 1:-1]
    return m & ~eroded


def boundary_iou(pred: np.ndarray, gt: np.ndarray, dilation_ratio: float = 0.02) -> float:
    """Boundary IoU ``|G_d & P_d| / |G_d | P_d|`` (Cheng et al. 2021), 1.0 if both are empty."""
    p, g = _pair(pred, gt)
    pb, gb = mask_boundary(p, dilation_ratio), mask_boundary(g, dilation_ratio)
    u = int(np.count_nonzero(pb | gb))
    return 1.0 if u == 0 else float(np.count_nonzero(pb & gb)) / u


def noc(ious: Sequence[float], target: float, max_clicks: int = 20) -> int:
    """Number of clicks of one object: smallest k (1-based) with IoU_k >= target, else max_clicks.

    Only the first ``max_clicks`` values count.
    """
    arr = np.asarray(ious, float)[:max_clicks]
    hit = arr >= target
    return int(np.argmax(hit)) + 1 if hit.any() else int(max_clicks)


def never_reached(ious: Sequence[float], target: float, max_clicks: int = 20) -> bool:
    """Whether the object never reached ``target`` within ``max_clicks`` clicks."""
    return not bool((np.asarray(ious, float)[:max_clicks] >= target).any())


def noc_nof(
    all_ious: Iterable[Sequence[float]], target: float, max_clicks: int = 20
) -> tuple[float, int]:
    """Dataset NoC@target (mean over objects) and NoF@target (objects with NoC == max_clicks).

    As in RITM's ``compute_noc_metric``, NoF also counts objects that reach the target exactly
    at the last click; use ``never_reached`` to count true failures.

    Returns:
        (mean NoC, NoF); (nan, 0) for no objects.
    """
    nocs = [noc(x, target, max_clicks) for x in all_ious]
    if not nocs:
        return float("nan"), 0
    return float(np.mean(nocs)), int(sum(n == max_clicks for n in nocs))


def miou_curve(all_ious: Iterable[Sequence[float]], max_clicks: int = 20) -> np.ndarray:
    """Mean IoU after each click 1..max_clicks over objects.

    Runs shorter than ``max_clicks`` carry their last IoU forward (a run with no click at all
    counts as IoU 0).

    Returns:
        float64 array of length ``max_clicks``.
    """
    rows = []
    for x in all_ious:
        arr = np.asarray(x, float)[:max_clicks]
        last = arr[-1] if arr.size else 0.0
        rows.append(np.concatenate([arr, np.full(max_clicks - arr.size, last)]))
    if not rows:
        return np.full(max_clicks, np.nan)
    return np.mean(rows, axis=0)


def normalized_auc(curve: Sequence[float]) -> float:
    """Trapezoidal area under an mIoU curve over k = 1..K, divided by K - 1 (1.0 for all-ones).

    A one-point curve returns its single value.
    """
    c = np.asarray(curve, float)
    if c.size == 0:
        return float("nan")
    if c.size == 1:
        return float(c[0])
    return float(np.sum((c[1:] + c[:-1]) / 2.0) / (c.size - 1))
