"""AnnotationDocument: the committed labels of one image or volume, their records and history.

Everything a user *keeps* lives here, without Qt or napari: the label array (``(*lead, H, W)``,
integer, 0 = background, 1..N = objects; ``core.labels``), one ``ObjectRecord`` per commit (its
prompts, model, time; ``core.persistence``) and the undo/redo history of every change, as many
levels as the user makes. A front end (the napari annotator, a script) segments objects with an
``InteractiveSession`` and hands finished masks to the document::

    doc = AnnotationDocument.blank(image.shape[:2])
    session = InteractiveSession(load_model("random-walker"), image)
    session.add_click(40, 50)
    lid = doc.commit(session.mask, clicks=session.clicks, model="random-walker")
    doc.edit(lid, session=session)        # the object becomes the session's mask prompt
    session.add_click(60, 70, False)      # the next clicks correct it
    doc.replace(lid, session.mask, clicks=session.clicks)   # exactly that object changes
    doc.undo()                            # ... and comes back exactly
    doc.save("labels.tif")                # + labels.clickseg.json; AnnotationDocument.load resumes

Contracts:

* ``commit`` writes a new object (next free id) or adds pixels to an existing id; it never
  changes a pixel of another object unless ``overwrite=True``.
* ``replace`` makes an object's pixels on one slice exactly a new mask (pixels it leaves become
  background; other objects keep theirs unless ``overwrite=True``); other slices are untouched.
* ``delete`` erases one object on every slice.
* Every change is one undo step; ``undo``/``redo`` restore the labels *and* the records exactly.
* Writes go through ``write(indices, values)`` when given (e.g. a napari Labels layer's
  ``data_setitem``, which refreshes only the changed pixels), else straight into the array.

Huge slides: ``labels`` may be a ``core.chunked_labels.ChunkedLabels`` (zarr chunks with an
object index) and masks ``core.window.WindowedMap`` objects (the object's rectangle at an
offset). Then every operation reads and writes only the bounding boxes of the objects it
touches: ``ids``/``next_id`` come from the index, ``object_mask`` returns a bool
``WindowedMap`` of the object's box, ``replace`` and ``delete`` read the union of the old and
new boxes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .chunked_labels import ChunkedLabels, needs_chunked_labels
from .clicks import Box, Click
from .labels import Edit, LabelHistory, Patch, Writer, commit_mask, mask_bbox, next_free_id
from .objects import erase_object
from .persistence import AnnotationFile, ObjectRecord, load_annotation, save_annotation
from .window import WindowedMap, union_bounds

__all__ = ["AnnotationDocument"]


def _index(index: Sequence[int], labels: np.ndarray) -> tuple[int, ...]:
    out = tuple(int(i) for i in index)
    if len(out) != labels.ndim - 2:
        raise ValueError(f"index {out} has {len(out)} coordinates; labels of shape {labels.shape} need "
                         f"{labels.ndim - 2} (() for 2D, (z,) for a stack)")
    for i, (v, n) in enumerate(zip(out, labels.shape[: len(out)], strict=True)):
        if not 0 <= v < n:
            raise ValueError(f"index[{i}] = {v} lies outside 0..{n - 1} (labels shape {labels.shape})")
    return out


class AnnotationDocument:
    """The labels of one image or volume, with per-object records and unlimited undo/redo.

    Args:
        labels: integer array ``(*lead, H, W)`` (2D, or a stack ``(Z, H, W)``), edited in place.
        records: records of objects already in ``labels`` (e.g. from a resumed file).
        write: optional ``write(indices, values)`` performing every write into ``labels``
            (``indices``: tuple of int arrays, numpy fancy indexing).
        settings: free-form settings saved beside the labels (model, threshold, ...).

    Raises:
        ValueError: ``labels`` is not an integer array of 2 or 3 dimensions.
    """

    def __init__(self, labels: np.ndarray, records: Sequence[ObjectRecord] = (), write: Writer | None = None,
                 settings: Mapping[str, Any] | None = None) -> None:
        self._check(labels)
        self.labels = labels
        self.records: list[ObjectRecord] = list(records)
        self.write = write
        self.settings: dict[str, Any] = dict(settings or {})
        self.history = LabelHistory(max_steps=None)
        #: called after every change with what happened ("commit", "edit", "deletion", "undo", ...)
        self.listeners: list[Callable[[str], None]] = []

    @staticmethod
    def _check(labels: Any) -> None:
        if not isinstance(labels, (np.ndarray, ChunkedLabels)) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be an integer numpy array or ChunkedLabels, got {type(labels).__name__} "
                             f"of dtype {getattr(labels, 'dtype', '?')}")
        if labels.ndim not in (2, 3):
            raise ValueError(f"labels must be 2D (H, W) or a stack (Z, H, W), got shape {labels.shape}")

    @classmethod
    def blank(cls, shape: Sequence[int], dtype: Any = np.uint32, **kw: Any) -> "AnnotationDocument":
        """An empty document for an image whose label array has ``shape`` (``(H, W)`` or ``(Z, H, W)``)."""
        return cls(np.zeros(tuple(int(v) for v in shape), dtype), **kw)

    # -- reading ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.labels.shape)

    def next_id(self) -> int:
        """The id a new object gets: ``max(labels) + 1``."""
        return next_free_id(self.labels)

    def ids(self) -> list[int]:
        """The ids present in the labels, increasing."""
        if isinstance(self.labels, ChunkedLabels):
            return self.labels.ids()
        u = np.unique(self.labels)
        return [int(v) for v in u if v > 0]

    def label_at(self, index: Sequence[int], row: float, col: float) -> int:
        """The id at pixel (row, col) (rounded) of slice ``index``; 0 for background or outside."""
        idx = _index(index, self.labels)
        r, c = int(round(row)), int(round(col))
        h, w = self.labels.shape[-2:]
        return int(self.labels[idx + (r, c)]) if (0 <= r < h and 0 <= c < w) else 0

    def object_mask(self, label_id: int, index: Sequence[int] = ()) -> np.ndarray | WindowedMap:
        """HxW bool: the pixels of object ``label_id`` on slice ``index``; for ``ChunkedLabels``
        a bool ``WindowedMap`` of the object's bounding box there (only that box is read)."""
        idx = _index(index, self.labels)
        if isinstance(self.labels, ChunkedLabels):
            return self.labels.object_mask(label_id, idx)
        return np.asarray(self.labels[idx] == int(label_id))

    def records_of(self, label_id: int) -> list[ObjectRecord]:
        """The records of one object, oldest first."""
        return [r for r in self.records if r.label_id == int(label_id)]

    # -- changing --------------------------------------------------------------------------
    def _record(self, label_id: int, index: tuple[int, ...], clicks: Sequence[Click], box: Box | None,
                model: str, source: str) -> ObjectRecord:
        return ObjectRecord(int(label_id), index, list(clicks), box, model, source, time.time())

    def _apply(self, edit: Edit) -> None:
        for p in edit.patches:
            idx, _, after = p.changed()
            if self.write is None:
                self.labels[idx] = after
            else:
                self.write(idx, after)
        self.history.push(edit)
        self.records.extend(edit.meta.get("records", []))
        self._notify(edit.meta.get("what", "commit"))

    def _notify(self, what: str) -> None:
        for fn in list(self.listeners):
            fn(what)

    def commit(self, mask: np.ndarray, index: Sequence[int] = (), label_id: int | None = None, *,
               overwrite: bool = False, clicks: Sequence[Click] = (), box: Box | None = None,
               model: str = "", source: str = "clicks") -> int | None:
        """Write ``mask`` as a new object, or add it to object ``label_id``; one undo step.

        Args:
            mask: HxW bool, (row, col) order, of the slice ``index``.
            index: leading coordinates of the slice (``()`` for 2D, ``(z,)`` for a stack).
            label_id: id to write; None or 0: the next free id (a new object).
            overwrite: take pixels from other objects (default: they keep their id).
            clicks, box, model, source: recorded in the object's ``ObjectRecord``.

        Returns:
            The id written, or None when nothing changed (empty mask, or all under other objects).

        Raises:
            ValueError: wrong shape, index or id.
        """
        idx = _index(index, self.labels)
        lid = int(label_id) if label_id else self.next_id()
        patch = commit_mask(self.labels, mask, idx, lid, overwrite, apply=False)
        if patch is None:
            return None
        rec = self._record(lid, idx, clicks, box, model, source)
        self._apply(Edit([patch], (lid,), {"what": "commit", "records": [rec]}))
        return lid

    def commit_slices(self, masks: Mapping[Sequence[int], np.ndarray], label_id: int, *, overwrite: bool = False,
                      model: str = "", source: str = "propagated", what: str = "propagation") -> list[tuple[int, ...]]:
        """Add one object's masks on several slices (e.g. a propagation) as one undo step.

        Returns:
            The slices that changed (empty: nothing was written).
        """
        patches, recs = [], []
        for index, mask in sorted(masks.items()):
            idx = _index(index if isinstance(index, tuple) else (index,), self.labels)
            p = commit_mask(self.labels, mask, idx, int(label_id), overwrite, apply=False)
            if p is not None:
                patches.append(p)
                recs.append(self._record(label_id, idx, (), None, model, source))
        if patches:
            self._apply(Edit(patches, (int(label_id),), {"what": what, "records": recs}))
        return [r.index for r in recs]

    def edit(self, label_id: int, index: Sequence[int] = (), session: Any = None) -> np.ndarray:
        """Start editing object ``label_id`` on slice ``index``: returns its HxW bool mask there.

        With ``session`` (an ``InteractiveSession`` holding that slice) the mask becomes the
        session's mask prompt (``start_from_mask``), so its next clicks correct the object;
        ``replace`` then writes the result. Nothing is changed by this call.

        Raises:
            ValueError: the object has no pixel on that slice.
        """
        mask = self.object_mask(label_id, index)
        if not mask.any():
            raise ValueError(f"object {label_id} has no pixel on slice {tuple(index)}; choose an object that is there")
        if session is not None:
            session.start_from_mask(mask)
        return mask

    def replace(self, label_id: int, mask: np.ndarray, index: Sequence[int] = (), *, overwrite: bool = False,
                clicks: Sequence[Click] = (), box: Box | None = None, model: str = "") -> bool:
        """Make object ``label_id``'s pixels on slice ``index`` exactly ``mask`` (HxW bool, or a
        bool ``WindowedMap``); one undo step. Only the box holding the old and new pixels is read.

        Pixels of the object outside ``mask`` become background; ``mask`` pixels of other
        objects keep their id unless ``overwrite``. Other slices and other objects' pixels are
        untouched. An empty ``mask`` erases the object from that slice.

        Returns:
            Whether anything changed.

        Raises:
            ValueError: wrong shape, index or id.
        """
        idx = _index(index, self.labels)
        lid = int(label_id)
        if lid <= 0:
            raise ValueError(f"label_id must be >= 1, got {label_id}")
        shape = tuple(self.labels.shape[-2:])
        mask = mask if isinstance(mask, WindowedMap) else np.asarray(mask, bool)
        if tuple(mask.shape) != shape:
            raise ValueError(f"mask has shape {tuple(mask.shape)}, but label slices are {shape}")
        bbox = self._touched_box(lid, mask, idx)
        if bbox is None:
            return False
        before = np.array(self.labels[idx + bbox], copy=True)
        if isinstance(mask, WindowedMap):
            m = mask.read((bbox[0].start, bbox[1].start, bbox[0].stop - 1, bbox[1].stop - 1)).astype(bool)
        else:
            m = mask[bbox]
        take = m & ((before == 0) | (before == lid) | overwrite)
        after = np.where(before == lid, 0, before)
        after = np.where(take, lid, after).astype(self.labels.dtype)
        if np.array_equal(before, after):
            return False
        region = tuple(slice(v, v + 1) for v in idx) + bbox
        lead = (1,) * len(idx)
        patch = Patch(region, before.reshape(lead + before.shape), after.reshape(lead + after.shape))
        rec = self._record(lid, idx, clicks, box, model, "edited")
        self._apply(Edit([patch], (lid,), {"what": "edit", "records": [rec]}))
        return True

    def _touched_box(self, lid: int, mask: Any, idx: tuple[int, ...]) -> tuple[slice, slice] | None:
        """Row and column slices of the box holding object ``lid`` on slice ``idx`` and ``mask``."""
        def bounds(box: tuple[slice, ...] | None) -> tuple[int, int, int, int] | None:
            return None if box is None else (box[-2].start, box[-1].start, box[-2].stop - 1, box[-1].stop - 1)

        if isinstance(self.labels, ChunkedLabels):
            old = bounds(self.labels.bbox(lid, idx))
        else:
            old = bounds(mask_bbox(self.labels[idx] == lid))
        new = mask.bbox() if isinstance(mask, WindowedMap) else bounds(mask_bbox(mask))
        box = union_bounds(old, new)
        return None if box is None else (slice(box[0], box[2] + 1), slice(box[1], box[3] + 1))

    def delete(self, label_id: int) -> bool:
        """Erase object ``label_id`` on every slice (one undo step; its records go with it).

        Returns:
            False when there is no such object (nothing changed).
        """
        lid = int(label_id)
        patch = erase_object(self.labels, lid)
        if patch is None:
            return False
        gone = self.records_of(lid)
        self.records = [r for r in self.records if r.label_id != lid]
        self._apply(Edit([patch], (lid,), {"what": "deletion", "removed_records": gone}))
        return True

    def record_applied(self, patch: Patch, what: str = "hand edit") -> None:
        """Record a change someone else already wrote into ``labels`` (e.g. a napari brush
        stroke), so that undo and redo include it in the order it was made."""
        ids = sorted({int(v) for v in np.unique(np.concatenate([patch.before.ravel(), patch.after.ravel()])) if v})
        self.history.push(Edit([patch], tuple(ids), {"what": what}))
        self._notify(what)

    # -- history ---------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return self.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self.history.can_redo

    def undo(self) -> Edit | None:
        """Undo the newest change (labels and records); returns it, None if there is none."""
        edit = self.history.undo(self.labels, write=self.write)
        if edit is None:
            return None
        added = edit.meta.get("records", [])
        self.records = [r for r in self.records if not any(r is a for a in added)]
        self.records.extend(edit.meta.get("removed_records", []))  # an undone deletion
        self._notify("undo")
        return edit

    def redo(self) -> Edit | None:
        """Redo the newest undone change; returns it, None if there is none."""
        edit = self.history.redo(self.labels, write=self.write)
        if edit is None:
            return None
        self.records.extend(edit.meta.get("records", []))
        gone = edit.meta.get("removed_records", [])
        self.records = [r for r in self.records if not any(r is g for g in gone)]
        self._notify("redo")
        return edit

    def clear_history(self) -> None:
        """Forget undo/redo (the labels and records stay)."""
        self.history.clear()

    def rebind(self, labels: np.ndarray) -> None:
        """Use a new array (e.g. the layer's data was replaced as a whole); the history starts
        afresh, since its patches describe the old one."""
        self._check(labels)
        self.labels = labels
        self.history.clear()

    # -- files -----------------------------------------------------------------------------
    def save(self, path: str | Path, settings: Mapping[str, Any] | None = None) -> Path:
        """Write the labels (``.tif``/``.tiff``/``.npy``) and the records + settings beside them
        (``labels.clickseg.json``); returns the JSON path (``core.persistence``)."""
        if settings is not None:
            self.settings = dict(settings)
        return save_annotation(path, self.labels, AnnotationFile(list(self.records), dict(self.settings)))

    @classmethod
    def load(cls, path: str | Path, write: Writer | None = None, chunked: bool | None = None) -> "AnnotationDocument":
        """Resume from a file written by ``save`` (or any labels file: no records then).

        Args:
            path: the labels file.
            write: see the class.
            chunked: read the file chunk by chunk into ``ChunkedLabels`` (never whole); None
                (default): when its slices have more than ``CHUNKED_LABELS_MIN_PIXELS`` pixels.

        Raises:
            FileNotFoundError, ValueError: see ``core.persistence.load_annotation``.
        """
        arr, saved = load_annotation(path, lazy=True)
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{path} does not hold integer labels (dtype {arr.dtype})")
        if len(arr.shape) >= 2 and (needs_chunked_labels(arr.shape) if chunked is None else chunked):
            labels: Any = ChunkedLabels.from_array(arr)
        else:
            labels = np.array(arr)
        return cls(labels, saved.objects, write=write, settings=saved.settings)
