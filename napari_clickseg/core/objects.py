"""Facts about the objects of a label array (id, area, slice range) and erasing one object.

Pure numpy/scipy. A label array is ``(*lead, H, W)`` with 0 = background (``core.labels``).
A ``core.chunked_labels.ChunkedLabels`` answers from its object index and reads only the
object's bounding box (never the whole array).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .labels import Patch

__all__ = ["ObjectStats", "object_stats", "erase_object", "largest_slice"]

_DENSE_MAX_ID = 1_000_000  # above this, ids are gathered sparsely (np.unique) instead of by index


@dataclass(frozen=True)
class ObjectStats:
    """One object of a label array.

    Attributes:
        label_id: the id (>= 1).
        area: pixels (voxels) with this id, all slices together.
        first, last: first and last index along axis 0 holding the object (None for 2D).
    """

    label_id: int
    area: int
    first: int | None
    last: int | None


def object_stats(labels: np.ndarray) -> list[ObjectStats]:
    """Every object of ``labels`` (integer, non-negative), by increasing id.

    Raises:
        ValueError: for non-integer or negative labels.
    """
    own = getattr(labels, "object_stats", None)  # ChunkedLabels: from its index, nothing read
    if callable(own):
        return own()
    lab = np.asarray(labels)
    if not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {lab.dtype}")
    if lab.size == 0 or not lab.any():
        return []
    if lab.min() < 0:
        raise ValueError("labels contain negative ids; 0 is background, objects are 1..N")
    top = int(lab.max())
    if top <= _DENSE_MAX_ID:
        counts = np.bincount(lab.ravel(), minlength=top + 1)
        boxes = ndi.find_objects(lab)
        ids = np.flatnonzero(counts[1:]) + 1
        spans = {int(i): boxes[i - 1] for i in ids}
        areas = {int(i): int(counts[i]) for i in ids}
    else:
        uniq, cnt = np.unique(lab, return_counts=True)
        ids = uniq[uniq > 0]
        areas = {int(i): int(c) for i, c in zip(uniq, cnt, strict=True) if i > 0}
        spans = {}
        for i in ids:
            nz = np.flatnonzero((lab == i).reshape(lab.shape[0], -1).any(1)) if lab.ndim > 2 else None
            spans[int(i)] = (slice(int(nz[0]), int(nz[-1]) + 1),) if nz is not None else None
    out = []
    for i in ids:
        box = spans[int(i)]
        first, last = (box[0].start, box[0].stop - 1) if (lab.ndim > 2 and box is not None) else (None, None)
        out.append(ObjectStats(int(i), areas[int(i)], first, last))
    return out


def largest_slice(labels: np.ndarray, label_id: int) -> int | None:
    """Index along axis 0 where object ``label_id`` has the most pixels (None: absent or 2D)."""
    if callable(getattr(labels, "slice_areas", None)):  # ChunkedLabels: from its index
        areas = labels.slice_areas(label_id)
        return max(areas, key=lambda z: (areas[z], -z)) if areas else None
    lab = np.asarray(labels)
    if lab.ndim < 3:
        return None
    per = (lab == label_id).reshape(lab.shape[0], -1).sum(1)
    return int(np.argmax(per)) if per.any() else None


def erase_object(labels: np.ndarray, label_id: int) -> Patch | None:
    """The patch that sets every pixel of object ``label_id`` to 0 (not applied; None if absent)."""
    if callable(getattr(labels, "bbox", None)):  # ChunkedLabels: read the object's box only
        region = labels.bbox(label_id) if label_id > 0 else None
        if region is None:
            return None
        before = np.array(labels[region], copy=True)
        after = np.where(before == label_id, 0, before).astype(before.dtype)
        return Patch(region, before, after)
    lab = np.asarray(labels)
    mask = lab == label_id
    if label_id <= 0 or not mask.any():
        return None
    region = tuple(slice(int(nz.min()), int(nz.max()) + 1) for nz in np.nonzero(mask))
    before = lab[region].copy()
    after = np.where(before == label_id, 0, before).astype(lab.dtype)
    return Patch(region, before, after)
