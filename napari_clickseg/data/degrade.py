"""Degraded masks: an object's mask made nearly right, as an existing segmentation often is.

A *degraded* mask stands for a segmentation from another tool, a threshold or an old commit
that the user now corrects (editing an existing object). The editing benchmark
(``eval.editing``, ``benchmarks/bench_edit.py``) starts from them, and training with mask
prompts (``train.iterative.make_prompts``, ``clicks.mask_prompt_prob``) draws them at random:

* ``eroded``: the object eroded by ``radius`` px (``scipy.ndimage.binary_erosion``, 3x3 cross,
  ``radius`` times);
* ``dilated``: the object dilated by ``radius`` px (same structuring element);
* ``cut``: the object with a part cut off: its pixels beyond a straight line of random
  direction, placed so that the fraction ``cut`` of the object is removed;
* ``merged``: the object together with its nearest other object of at most twice its area
  (two touching nuclei, two glands joined by a threshold); an object with no such neighbour
  in the image (or no instance labels) has no ``merged`` case.

The defaults (``RADIUS`` = 3 px, ``CUT_FRACTION`` = 0.3) are the benchmark's protocol.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["DEGRADATIONS", "RADIUS", "CUT_FRACTION", "degrade"]

DEGRADATIONS: tuple[str, ...] = ("eroded", "dilated", "cut", "merged")
#: pixels eroded / dilated (the benchmark's)
RADIUS = 3
#: fraction of the object's pixels the cut removes (the benchmark's)
CUT_FRACTION = 0.3


def _cut(gt: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    rows, cols = np.nonzero(gt)
    theta = rng.uniform(0.0, 2.0 * np.pi)
    proj = rows * np.sin(theta) + cols * np.cos(theta)
    keep = proj <= np.quantile(proj, 1.0 - fraction)
    out = np.zeros_like(gt)
    out[rows[keep], cols[keep]] = True
    return out


def _merged(gt: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    area = int(gt.sum())
    own = set(np.unique(labels[gt]).tolist())
    keep = np.array([int(i) not in own and n <= 2 * area for i, n in zip(ids, counts, strict=True)], bool)
    if not keep.any():
        return None
    candidates = ids[keep]
    dist = ndimage.distance_transform_edt(~gt)
    # each candidate's distance to the object; the first of the nearest (ascending ids) wins
    near = np.asarray(ndimage.minimum(dist, labels, candidates), np.float64)
    return gt | (labels == candidates[int(np.argmin(near))])


def degrade(
    gt: np.ndarray, labels: np.ndarray | None, kind: str, rng: np.random.Generator,
    radius: int = RADIUS, cut: float = CUT_FRACTION,
) -> np.ndarray | None:
    """One degraded version of object mask ``gt`` (HxW bool) of instance image ``labels``.

    Args:
        gt: HxW bool, the object.
        labels: HxW int instance labels of the whole image (for ``merged``; None: no
            ``merged`` case).
        kind: one of ``DEGRADATIONS``.
        rng: draws the cut's direction (only ``cut`` draws from it).
        radius: pixels eroded or dilated (>= 1).
        cut: fraction of the object's pixels the cut removes, in (0, 1).

    Returns:
        HxW bool, or None when the degradation does not exist for this object (erosion leaves
        nothing, no neighbour to merge with).

    Raises:
        ValueError: unknown ``kind``, shapes that differ, ``radius`` < 1 or ``cut`` outside (0, 1).
    """
    gt = np.asarray(gt, bool)
    if labels is not None and gt.shape != np.shape(labels):
        raise ValueError(f"gt has shape {gt.shape} but labels {np.shape(labels)}")
    if kind not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {kind!r}; choose one of {', '.join(DEGRADATIONS)}")
    if int(radius) != radius or radius < 1:
        raise ValueError(f"radius must be a whole number of pixels >= 1, got {radius}")
    if not 0.0 < cut < 1.0:
        raise ValueError(f"cut must be a fraction in (0, 1) of the object, got {cut}")
    if not gt.any():
        return None
    if kind == "eroded":
        out = ndimage.binary_erosion(gt, iterations=int(radius))
        return out if out.any() else None
    if kind == "dilated":
        return ndimage.binary_dilation(gt, iterations=int(radius))
    if kind == "cut":
        return _cut(gt, rng, float(cut))
    return None if labels is None else _merged(gt, np.asarray(labels))
