"""Committing object masks into a label array, with an undo/redo history of commits.

Pure numpy: no Qt, no napari. A *label array* is an integer array of any dimensionality
(2D image, 3D stack ``(Z, H, W)``, ...); 0 is background and 1..N are object ids. A commit
writes one 2D mask into one slice of it (``index`` gives the leading coordinates, e.g. ``(z,)``).

Contract: a commit never changes a pixel of another object unless ``overwrite=True``, and every
commit records only the changed bounding box (before/after values), so undo and redo restore
the array exactly and cost memory proportional to the object, not the volume.

Huge slices: ``mask`` may be a ``core.window.WindowedMap`` (the object's rectangle at an offset)
and ``labels`` any array that supports numpy-style slice reads and writes (a ``zarr.Array``:
only the chunks under the object's bounding box are read and written). ``next_free_id`` then
reads the array chunk by chunk; pass ``label_id`` to avoid that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .window import WindowedMap

__all__ = [
    "Patch", "Edit", "LabelHistory", "next_free_id", "object_ids", "labelled_slices", "commit_mask", "mask_bbox",
    "patch_from_changes",
]


def next_free_id(labels: np.ndarray) -> int:
    """The next unused object id: ``max(labels) + 1`` (1 for an empty array).

    Non-numpy arrays (zarr, dask) are read in blocks of leading-axis rows, never whole; a
    ``core.chunked_labels.ChunkedLabels`` answers from its object index (nothing read).
    """
    if callable(getattr(labels, "max_id", None)):
        return int(labels.max_id()) + 1
    if isinstance(labels, np.ndarray) or not hasattr(labels, "shape"):
        arr = np.asarray(labels)
        return int(arr.max()) + 1 if arr.size else 1
    if not int(np.prod(labels.shape)):
        return 1
    rows = max(int(getattr(labels, "chunks", (1024,))[0] or 1024), 1) if labels.ndim else 1
    top = 0
    for a in range(0, labels.shape[0], rows):
        top = max(top, int(np.asarray(labels[a : a + rows]).max()))
    return top + 1


def object_ids(labels: np.ndarray, min_area: int = 1) -> np.ndarray:
    """Ids of the objects of ``labels`` with at least ``min_area`` pixels.

    Args:
        labels: non-negative integer array of any shape, 0 = background.
        min_area: smallest object size in pixels (values below 1 count as 1).

    Returns:
        1D int64 array of ids > 0, ascending.
    """
    arr = np.asarray(labels)
    if arr.size == 0:
        return np.zeros(0, np.int64)
    counts = np.bincount(arr.ravel().astype(np.int64, copy=False))
    ids = np.nonzero(counts >= max(int(min_area), 1))[0]
    return ids[ids > 0].astype(np.int64)


def labelled_slices(labels: np.ndarray) -> list[int]:
    """Indices ``z`` of the slices ``labels[z]`` that hold at least one object pixel.

    Args:
        labels: integer (Z, H, W) array, or (H, W) (one slice: ``[0]`` if it holds a label);
            0 = background.
    """
    arr = np.asarray(labels)
    if arr.ndim < 2:
        raise ValueError(f"labelled_slices needs (H, W) labels or a (Z, H, W) label volume, got shape {arr.shape}")
    if arr.ndim == 2:
        return [0] if arr.any() else []
    return [int(z) for z in np.flatnonzero(arr.reshape(arr.shape[0], -1).any(axis=1))]


def mask_bbox(mask: np.ndarray) -> tuple[slice, ...] | None:
    """Tight bounding box of the True pixels of ``mask`` as a tuple of slices (None if empty)."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return None
    out = []
    for ax in range(m.ndim):
        other = tuple(a for a in range(m.ndim) if a != ax)
        nz = np.flatnonzero(m.any(axis=other))
        out.append(slice(int(nz[0]), int(nz[-1]) + 1))
    return tuple(out)


@dataclass(frozen=True)
class Patch:
    """The values of one box of the label array before and after an edit.

    Attributes:
        region: tuple of slices into the full label array (one per dimension).
        before: values of ``labels[region]`` before the edit.
        after: values of ``labels[region]`` after the edit.
    """

    region: tuple[slice, ...]
    before: np.ndarray
    after: np.ndarray

    def changed(self) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
        """The changed pixels only.

        Returns:
            (indices, before, after): ``indices`` is a tuple of int arrays into the full label
            array (numpy fancy indexing); ``before``/``after`` are their 1D values.
        """
        local = np.nonzero(self.before != self.after)
        indices = tuple(idx + s.start for idx, s in zip(local, self.region))
        return indices, self.before[local], self.after[local]


@dataclass
class Edit:
    """One undoable step: one or more patches (e.g. a propagation over several slices).

    Attributes:
        patches: the boxes that changed.
        label_ids: the object ids the edit wrote.
        meta: free-form data for the caller (e.g. the prompts that produced the object).
    """

    patches: list[Patch] = field(default_factory=list)
    label_ids: tuple[int, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not self.patches


def commit_mask(
    labels: np.ndarray,
    mask: np.ndarray,
    index: Sequence[int] = (),
    label_id: int | None = None,
    overwrite: bool = False,
    apply: bool = True,
) -> Patch | None:
    """Write ``mask`` into ``labels`` in place and return the patch (None if nothing changed).

    Args:
        labels: integer label array (modified in place), shape ``(*lead, H, W)``.
        mask: HxW bool mask of the object, in (row, col) order.
        index: leading coordinates of the slice, ``len(index) == labels.ndim - 2``.
        label_id: id to write; default ``next_free_id(labels)``.
        overwrite: if False (default) pixels of other objects keep their id; if True the
            object takes them over.
        apply: if False, only compute the patch (the caller writes ``patch.changed()`` itself,
            e.g. through a napari layer's ``data_setitem``).

    Raises:
        ValueError: on shape mismatch, a wrong ``index`` or a non-positive id.
    """
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be an integer array, got dtype {labels.dtype}")
    index = tuple(int(i) for i in index)
    if len(index) != labels.ndim - 2:
        raise ValueError(
            f"index {index} has {len(index)} coordinates; labels of shape {labels.shape} need "
            f"{labels.ndim - 2}"
        )
    for i, (v, n) in enumerate(zip(index, labels.shape)):
        if not 0 <= v < n:
            raise ValueError(f"index[{i}] = {v} lies outside 0..{n - 1} (labels shape {labels.shape})")
    offset = (0, 0)
    if isinstance(mask, WindowedMap):  # the object's rectangle only (huge slices)
        if mask.fill:
            raise ValueError("a windowed mask must be False outside its rectangle")
        if mask.shape != tuple(labels.shape[-2:]):
            raise ValueError(f"mask has shape {mask.shape}, but label slices are {tuple(labels.shape[-2:])}")
        offset, mask = mask.offset, np.asarray(mask.data, dtype=bool)
    else:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != labels.shape[-2:]:
            raise ValueError(f"mask has shape {mask.shape}, but label slices are {labels.shape[-2:]}")
    if label_id is None:
        label_id = next_free_id(labels)
    if label_id <= 0:
        raise ValueError(f"label_id must be >= 1, got {label_id}")
    if label_id > np.iinfo(labels.dtype).max:
        raise ValueError(f"label_id {label_id} does not fit in labels of dtype {labels.dtype}")
    box = mask_bbox(mask)
    if box is None:
        return None
    at = tuple(slice(b.start + o, b.stop + o) for b, o in zip(box, offset, strict=True))
    region = tuple(slice(v, v + 1) for v in index) + at
    before = np.array(labels[region], copy=True)
    m = mask[box].reshape(before.shape)
    if not overwrite:
        m = m & (before == 0)
    after = np.where(m, label_id, before).astype(labels.dtype)
    if np.array_equal(before, after):
        return None
    if apply:
        labels[region] = after
    return Patch(region, before, after)


Change = tuple[tuple[np.ndarray, ...], np.ndarray, Any]


def patch_from_changes(labels: np.ndarray, changes: Sequence[Change]) -> Patch | None:
    """One patch from pixel-wise changes made by someone else (e.g. a napari paint stroke).

    Args:
        labels: the label array the changes were (or are about to be) written to; pixels not
            named by any change are taken from it, so it may hold the state before or after.
        changes: ``(indices, before, after)`` in the order they were applied; ``indices`` is a
            tuple of int arrays (numpy fancy indexing, one per dimension), ``before`` the old
            values (1D), ``after`` the new values (1D, or one scalar for all).

    Returns:
        The patch spanning every changed pixel (None when nothing changed), so that undoing it
        restores the values before the first change and redoing it those after the last.
    """
    changes = [(tuple(np.asarray(i, dtype=np.intp).ravel() for i in idx), b, a) for idx, b, a in changes]
    changes = [c for c in changes if len(c[0]) == labels.ndim and c[0][0].size]
    if not changes:
        return None
    region = tuple(
        slice(int(min(c[0][d].min() for c in changes)), int(max(c[0][d].max() for c in changes)) + 1)
        for d in range(labels.ndim)
    )
    after = np.array(labels[region], copy=True)
    local = [tuple(i - s.start for i, s in zip(idx, region, strict=True)) for idx, _, _ in changes]
    for loc, (_, _, a) in zip(local, changes, strict=True):
        after[loc] = a
    before = after.copy()
    for loc, (_, b, _) in zip(reversed(local), reversed(changes), strict=True):
        before[loc] = np.asarray(b).ravel()
    if np.array_equal(before, after):
        return None
    return Patch(region, before, after)


Writer = Callable[[tuple[np.ndarray, ...], np.ndarray], None]


def _write(labels: np.ndarray, patch: Patch, which: str, write: Writer | None) -> None:
    if write is None:
        labels[patch.region] = getattr(patch, which)
        return
    indices, before, after = patch.changed()
    write(indices, before if which == "before" else after)


class LabelHistory:
    """Multi-level undo/redo of edits of one label array.

    The history holds patches only; the caller passes the array to ``undo``/``redo`` (so a
    napari layer's data can be swapped as long as its shape stays). ``max_steps`` bounds memory
    (None: unlimited; patches cost memory in proportion to the objects they changed).
    ``write(indices, values)``, if given, performs the writes of changed pixels (e.g. a napari
    Labels layer's ``data_setitem``, which refreshes only what changed).
    """

    def __init__(self, max_steps: int | None = 100) -> None:
        self.max_steps = None if max_steps is None else int(max_steps)
        self._done: list[Edit] = []
        self._undone: list[Edit] = []

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def edits(self) -> tuple[Edit, ...]:
        """Applied edits, oldest first."""
        return tuple(self._done)

    def push(self, edit: Edit) -> None:
        """Record an edit already applied to the array (empty edits are ignored)."""
        if edit.is_empty:
            return
        self._done.append(edit)
        self._undone.clear()
        if self.max_steps is not None:
            del self._done[: max(0, len(self._done) - self.max_steps)]

    def undo(self, labels: np.ndarray, write: Writer | None = None) -> Edit | None:
        """Restore the values before the newest edit; returns it (None if nothing to undo)."""
        if not self._done:
            return None
        edit = self._done.pop()
        for p in reversed(edit.patches):
            _write(labels, p, "before", write)
        self._undone.append(edit)
        return edit

    def redo(self, labels: np.ndarray, write: Writer | None = None) -> Edit | None:
        """Re-apply the newest undone edit; returns it (None if nothing to redo)."""
        if not self._undone:
            return None
        edit = self._undone.pop()
        for p in edit.patches:
            _write(labels, p, "after", write)
        self._done.append(edit)
        return edit

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
