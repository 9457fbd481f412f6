"""Training-time prompts: target choice, RITM's multi-point initial clicks, FDRN ROIs, boxes.

* ``choose_target`` — one object of an instance map (with probability ``merge_prob`` two
  objects merged into one target, RITM).
* ``multi_point_clicks`` — RITM's MultiPointSampler (Sofiiuk et al., ICIP 2022): 1 + K positives
  (P(K) ~ 0.8^K) from the object eroded by 3x3 x 3, negatives n (P(n) ~ 0.8^n) from the
  background (0.1), other objects (0.4) or a ring around the object of width
  ceil(0.1 sqrt(area)) (0.5); optionally the first positive near the object's centre.
* ``dynamic_roi`` — FDRN's dynamic-scale ROI: a square containing the target whose side is a
  U(low, high) proportion of the image side (FDRN's training recipe, Zeng et al., ACM MM 2023).
* ``object_roi`` — a square around the target whose side is U(low, high) times the target's
  bounding-box side: the zoomed views the predictor's Zoom-In gives from the second click on
  (small objects fill the crop there, unlike in the image-relative ROIs).
* ``jittered_box`` — the target's bounding box with random jitter (box prompt training).

All (row, col); every function takes a ``numpy.random.Generator``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from ..core.clicks import Box, Click
from ..core.simulate import padded_edt

__all__ = ["choose_target", "multi_point_clicks", "dynamic_roi", "object_roi", "jittered_box", "geometric_count"]

_STRUCT = np.ones((3, 3), bool)


def geometric_count(rng: np.random.Generator, max_value: int, decay: float = 0.8, low: int = 0) -> int:
    """Draw k in [low, max_value] with P(k) proportional to decay^(k - low)."""
    ks = np.arange(low, max_value + 1)
    p = decay ** (ks - low)
    return int(rng.choice(ks, p=p / p.sum()))


def choose_target(
    labels: np.ndarray, rng: np.random.Generator, ids: np.ndarray | None = None, merge_prob: float = 0.15
) -> np.ndarray | None:
    """Pick the training target of an instance map.

    Args:
        labels: (H, W) int instance ids (0 = background).
        rng: random generator.
        ids: candidate ids (default: every nonzero id).
        merge_prob: probability of merging a second object (a touching one if any) into it.

    Returns:
        (H, W) bool target, or None when there is no candidate.
    """
    if ids is None:
        ids = np.unique(labels)
        ids = ids[ids > 0]
    if len(ids) == 0:
        return None
    first = int(ids[rng.integers(len(ids))])
    target = labels == first
    if len(ids) > 1 and rng.random() < merge_prob:
        ring = ndi.binary_dilation(target, _STRUCT, iterations=3) & ~target
        near = np.unique(labels[ring])
        near = [int(i) for i in near if i > 0 and i != first and i in set(ids.tolist())]
        other = near[rng.integers(len(near))] if near else int(ids[rng.integers(len(ids))])
        target = target | (labels == other)
    return target


def other_target(
    labels: np.ndarray, taken: np.ndarray, rng: np.random.Generator, min_area: int, merge_prob: float = 0.15
) -> np.ndarray | None:
    """Another training target of the same (cropped) image: an object other than ``target``.

    Args:
        labels: (H, W) int instance ids of the crop (0 = background).
        taken: (H, W) bool, the image's targets so far (excluded).
        rng: random generator.
        min_area: smallest usable object (pixels).
        merge_prob: as in ``choose_target``.

    Returns:
        (H, W) bool: an object with at least ``min_area`` pixels outside ``taken``
        (``choose_target`` rules), or None when the crop holds no other.
    """
    ids, counts = np.unique(labels[~taken], return_counts=True)
    ids = ids[(ids > 0) & (counts >= min_area)]
    if len(ids) == 0:
        return None
    return choose_target(labels, rng, ids, merge_prob)


def _pick(rng: np.random.Generator, mask: np.ndarray, n: int) -> list[tuple[int, int]]:
    pts = np.argwhere(mask)
    if len(pts) == 0 or n <= 0:
        return []
    idx = rng.choice(len(pts), size=min(n, len(pts)), replace=False)
    return [(int(pts[i][0]), int(pts[i][1])) for i in idx]


def _centre_region(target: np.ndarray, within: np.ndarray) -> np.ndarray:
    """The pixels of ``within`` deeper than max / 1.7 in ``target`` (distance to its boundary),
    or the deepest pixels of ``target`` when none is: where the evaluation's first click lies."""
    dt = padded_edt(target)
    centre = (dt > dt.max() / 1.7) & within
    return centre if centre.any() else dt >= dt.max()


def multi_point_clicks(
    target: np.ndarray,
    labels: np.ndarray | None,
    rng: np.random.Generator,
    max_pos: int = 24,
    max_neg: int = 24,
    centre_prob: float = 0.5,
    erode_prob: float = 0.9,
    decay: float = 0.8,
) -> list[Click]:
    """RITM's initial clicks for one target (positives first, then negatives, shuffled within).

    Args:
        target: (H, W) bool object mask (must be non-empty).
        labels: (H, W) instance map of the image (other objects are negative sources), or None.
        rng: random generator.
        max_pos: at most this many positives (1 + K, K <= max_pos - 1).
        max_neg: at most this many negatives.
        centre_prob: probability that the first positive lies near the centre
            (distance to the boundary > max / 1.7), like the evaluation's first click.
        erode_prob: probability of drawing positives from the eroded object (3x3, 3 times).
        decay: P(K) and P(n) proportional to decay^K.

    Returns:
        ``Click`` list: every positive inside ``target`` (inside the eroded object when erosion
        was used), every negative outside it.
    """
    target = np.asarray(target, bool)
    if not target.any():
        raise ValueError("target is empty: nothing to click on")
    pos_region = target
    if rng.random() < erode_prob:
        eroded = ndi.binary_erosion(target, _STRUCT, iterations=3)
        if eroded.sum() > 10:
            pos_region = eroded
    n_pos = 1 + geometric_count(rng, max(max_pos - 1, 0), decay)
    points: list[tuple[int, int]] = []
    if rng.random() < centre_prob:
        points += _pick(rng, _centre_region(target, pos_region), 1)
    taken = np.zeros_like(target)
    for r, c in points:
        taken[r, c] = True
    points += _pick(rng, pos_region & ~taken, n_pos - len(points))
    clicks = [Click(r, c, True) for r, c in points]

    n_neg = geometric_count(rng, max_neg, decay)
    if n_neg:
        area = int(target.sum())
        width = max(1, math.ceil(0.1 * math.sqrt(area)))
        ring = ndi.binary_dilation(target, _STRUCT, iterations=width) & ~target
        others = (labels > 0) & ~target if labels is not None else np.zeros_like(target)
        background = ~target & ~others if labels is not None else ~target
        sources = [(background, 0.1), (others, 0.4), (ring, 0.5)]
        avail = [(m, p) for m, p in sources if m.any()]
        if avail:
            probs = np.array([p for _, p in avail])
            counts = rng.multinomial(n_neg, probs / probs.sum())
            for (m, _), k in zip(avail, counts):
                clicks += [Click(r, c, False) for r, c in _pick(rng, m, int(k))]
    return clicks


def _bbox(target: np.ndarray) -> tuple[int, int, int, int] | None:
    """(row0, row1, col0, col1) inclusive bounds of a (H, W) bool mask, None when empty."""
    rows, cols = np.nonzero(target)
    if len(rows) == 0:
        return None
    return int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())


def dynamic_roi(
    target: np.ndarray, rng: np.random.Generator, low: float = 0.3, high: float = 1.0
) -> tuple[float, float, float, float]:
    """FDRN's dynamic-scale ROI: a square containing ``target``, side U(low, high) of the image.

    The side is at least the target's bounding box (clamped to the image); the ROI is placed
    uniformly among the positions that contain the box.

    Returns:
        (row0, col0, row1, col1) inclusive pixel bounds (floats), inside the image.
    """
    h, w = target.shape
    bbox = _bbox(target)
    if bbox is None:
        return (0.0, 0.0, float(h - 1), float(w - 1))
    r0, r1, c0, c1 = bbox
    side = rng.uniform(low, high) * min(h, w)
    side_r = min(float(h), max(side, r1 - r0 + 1.0))
    side_c = min(float(w), max(side, c1 - c0 + 1.0))
    side = max(side_r, side_c)
    side_r, side_c = min(side, h), min(side, w)

    def place(lo: int, hi: int, s: float, n: int) -> float:
        a, b = max(0.0, hi + 1 - s), min(float(lo), n - s)
        return float(rng.uniform(a, b)) if b > a else max(0.0, min(a, n - s))

    top = place(r0, r1, side_r, h)
    left = place(c0, c1, side_c, w)
    return (top, left, top + side_r - 1, left + side_c - 1)


def object_roi(
    target: np.ndarray, rng: np.random.Generator, low: float = 1.2, high: float = 3.0,
    jitter: float = 0.1, min_side: float = 16.0,
) -> tuple[float, float, float, float]:
    """A square ROI around ``target`` whose side is U(low, high) x its bounding box's long side.

    The side is at least ``min_side`` pixels and at most the image; the centre is the box's
    centre moved by up to ``jitter`` x the side, then the square is shifted (not cut) into the
    image. Without clamping it contains the whole box when ``jitter <= (low - 1) / (2 low)``
    (with the defaults up to ~2% of the box side can fall outside: an imprecise zoom).

    Args:
        target: (H, W) bool, not empty.
        low, high: range of the side / box-side ratio (``1 <= low <= high``).
        jitter: centre displacement as a fraction of the side.
        min_side: smallest side in pixels.

    Returns:
        (row0, col0, row1, col1) inclusive pixel bounds (floats), inside the image.
    """
    h, w = target.shape
    bbox = _bbox(target)
    if bbox is None:
        return (0.0, 0.0, float(h - 1), float(w - 1))
    r0, r1, c0, c1 = bbox
    box_side = max(r1 - r0 + 1.0, c1 - c0 + 1.0)
    side = min(max(rng.uniform(low, high) * box_side, min_side), float(h), float(w))
    centre = np.array([(r0 + r1) / 2.0, (c0 + c1) / 2.0]) + rng.uniform(-jitter, jitter, 2) * side
    top = float(np.clip(centre[0] - (side - 1) / 2.0, 0.0, h - side))
    left = float(np.clip(centre[1] - (side - 1) / 2.0, 0.0, w - side))
    return (top, left, float(top + side - 1), float(left + side - 1))


def jittered_box(target: np.ndarray, rng: np.random.Generator, jitter: float = 0.1) -> Box:
    """The target's bounding box, each side moved by up to ``jitter`` x the box size, clamped."""
    h, w = target.shape
    rows, cols = np.nonzero(target)
    r0, r1, c0, c1 = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
    bh, bw = r1 - r0 + 1, c1 - c0 + 1
    d = rng.uniform(-jitter, jitter, 4) * np.array([bh, bw, bh, bw])
    nr0 = int(np.clip(round(r0 + d[0]), 0, h - 1))
    nc0 = int(np.clip(round(c0 + d[1]), 0, w - 1))
    nr1 = int(np.clip(round(r1 + d[2]), nr0, h - 1))
    nc1 = int(np.clip(round(c1 + d[3]), nc0, w - 1))
    return Box(nr0, nc0, nr1, nc1)


def first_click(target: np.ndarray, rng: np.random.Generator) -> Click:
    """A user's (and the evaluation's) first click: one positive click deep inside the object.

    Half the time the innermost pixel (the largest distance to the boundary, as
    ``core.simulate.Clicker`` puts the first click), else a pixel drawn uniformly from the
    centre region of ``multi_point_clicks``'s central first click (deeper than max / 1.7).

    Args:
        target: HxW bool, not empty.
        rng: random generator.

    Returns:
        A positive ``Click`` (row, col) inside ``target``.
    """
    target = np.asarray(target, bool)
    if rng.random() < 0.5:
        depth = padded_edt(target)
        r, c = np.unravel_index(int(np.argmax(depth)), depth.shape)
    else:
        ((r, c),) = _pick(rng, _centre_region(target, target), 1)
    return Click(int(r), int(c), True)
