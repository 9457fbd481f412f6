"""The annotator's hold on its target Labels layer: one undo history, whoever edits the layer.

napari gives a selected layer's keymap priority over the viewer's, and Labels binds Ctrl-Z /
Ctrl-Shift-Z to its *own* undo. After a commit napari selects the target layer, so without this
link Ctrl-Z undid the commit behind the annotator's back (its history still listed the object).
``TargetLink`` therefore

* binds the annotator's shortcuts (Ctrl-Z / Ctrl-Shift-Z included) on the target layer itself,
  where they win over napari's class bindings; they are removed again on ``detach``, which
  gives the layer its napari bindings back;
* listens to the layer's ``paint`` event: a stroke, fill, erase or polygon made with napari's
  own tools becomes one step of the annotator's document history
  (``core.labels.patch_from_changes``, ``AnnotationDocument.record_applied``), so Ctrl-Z undoes
  commits, edits, propagations and hand edits in the order they were made;
* rebinds the document to the new array when the layer's data is replaced as a whole; its
  history starts afresh (with a message), since the recorded patches describe the old array.

The annotator's own writes go through ``write`` and are not recorded a second time.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
from napari.utils.notifications import show_info

from ..core.labels import patch_from_changes
from .shortcuts import bind_shortcuts, unbind_shortcuts
from .viewer_objects import unwrap

__all__ = ["TargetLink", "atom_changes"]


def atom_changes(atom: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray, Any]:
    """One napari Labels history atom as ``(indices, before, after)`` (``patch_from_changes``).

    napari records either ``(indices, old_values, new_values)`` (``data_setitem``) or a
    masked-paint atom with ``slice_key``, ``mask`` (None: the whole box), ``old_values`` and
    ``new_value`` (paint, fill, polygon).
    """
    if hasattr(atom, "slice_key"):
        key, mask = atom.slice_key, atom.mask
        shape = tuple(s.stop - s.start for s in key)
        local = np.nonzero(np.ones(shape, bool) if mask is None else np.asarray(mask, bool))
        indices = tuple(i + s.start for i, s in zip(local, key, strict=True))
        old = np.asarray(atom.old_values)
        before = old[local] if (mask is None and old.shape == shape) else old.ravel()
        return indices, before, atom.new_value
    indices, before, after = atom
    return tuple(np.asarray(i) for i in indices), np.asarray(before), after


class TargetLink:
    """Keys and edit tracking of one annotator (``ann``) on its target Labels layer."""

    def __init__(self, ann: Any) -> None:
        self.ann = ann
        self.layer: Any = None
        self._own_writes = 0
        #: hand edits (napari paint/fill/erase) recorded in the annotator's history so far
        self.recorded_paints = 0

    def attach(self, layer: Any) -> None:
        """Link ``layer`` (the new target); the previous one, if any, is released first."""
        layer = unwrap(layer)
        if layer is self.layer:
            return
        self.detach()
        self.layer = layer
        bind_shortcuts(self.ann, [layer])
        layer.events.paint.connect(self._on_paint)
        layer.events.data.connect(self._on_data)

    def detach(self) -> None:
        """Give the layer its napari bindings back and stop tracking it."""
        if self.layer is None:
            return
        unbind_shortcuts([self.layer])
        for emitter, cb in ((self.layer.events.paint, self._on_paint), (self.layer.events.data, self._on_data)):
            try:
                emitter.disconnect(cb)
            except (TypeError, ValueError, RuntimeError):
                pass
        self.layer = None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Within this block, changes to the layer are the annotator's own (not recorded again)."""
        self._own_writes += 1
        try:
            yield
        finally:
            self._own_writes -= 1

    def write(self, indices: tuple[np.ndarray, ...], values: np.ndarray) -> None:
        """Write ``values`` at ``indices`` of the layer (``Labels.data_setitem``: partial refresh)."""
        with self.writing():
            self.layer.data_setitem(indices, values)

    def _on_paint(self, event: Any) -> None:
        if self._own_writes or self.layer is None:
            return
        atoms = list(getattr(event, "value", None) or [])
        patch = patch_from_changes(self.layer.data, [atom_changes(a) for a in atoms])
        doc = self.ann.document
        if patch is None or doc is None:
            return
        doc.record_applied(patch, "hand edit (napari tools)")
        self.recorded_paints += 1

    def _on_data(self, event: Any = None) -> None:
        doc = self.ann.document
        if self._own_writes or doc is None or self.layer is None:
            return
        had_history = doc.can_undo or doc.can_redo
        if self.layer.data is not doc.labels and isinstance(self.layer.data, np.ndarray):
            doc.rebind(self.layer.data)
        elif had_history:
            doc.clear_history()
        if had_history:
            show_info(f"clickseg: the data of {self.layer.name!r} was replaced; its undo history starts afresh")
