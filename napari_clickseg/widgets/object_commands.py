"""The annotator's object commands: edit, commit, delete, undo and redo, in napari terms.

Composition, not inheritance: ``ObjectCommands(annotator)`` finds the object a Ctrl-Shift click
points at in the chosen Labels layer, calls the core (``core.current_object.CurrentObject``,
``AnnotationDocument``) and says in a notification or the status line what happened. It reads
and calls the annotator's public API only (``current``, ``document``, ``target``,
``geometry``, ``controls``, ``layer_choice``, ``set_target``, ``reset_object``, ...).
"""

from __future__ import annotations

from typing import Any

from napari.utils.notifications import show_error, show_info, show_warning

from .large_labels import object_mask, value_at
from .wording import objects_words, slice_words

__all__ = ["ObjectCommands"]

#: the status line after a commit, per ``core.current_object.Commit.kind``
COMMITTED = {"replaced": "object {lid} replaced on {where}", "unchanged": "object {lid} unchanged on {where}",
             "committed": "committed object {lid} on {where}"}


class ObjectCommands:
    """Edit, commit, delete and undo/redo for one ``AnnotatorWidget`` (``ann``)."""

    def __init__(self, ann: Any) -> None:
        self.ann = ann

    # -- edit ------------------------------------------------------------------------------
    def edit_at_world(self, world: Any) -> bool:
        """Edit the object under a world position of the edit source (as a Ctrl-Shift click does)."""
        source = self.ann.layer_choice.edit_source()
        if source is None:
            return False
        g = self.ann.geometry
        lead, r, c = g.spatial_of(g.data_coords(world))
        if not g.inside(lead, r, c):
            show_warning("clickseg: click outside the image ignored")
            return False
        label_id = value_at(source, tuple(lead) + (int(round(r)), int(round(c))))
        if label_id == 0:
            show_warning(f"clickseg: no object of {source.name!r} there; Ctrl-Shift-click on an object to edit it")
            return False
        return self.edit(label_id, source)

    def edit(self, label_id: int, source: Any = None) -> bool:
        """Make object ``label_id`` of the current slice the current object (``AnnotatorWidget.edit``)."""
        ann = self.ann
        ann.wait_idle()
        layer = ann.layer_choice.edit_source(source)
        if layer is None or not ann.hold_current_slice():
            return False
        index = ann.held_index
        mask = object_mask(layer, index, label_id)
        if not mask.any():
            show_warning(f"clickseg: object {label_id} is not on {slice_words(index)} of {layer.name!r}")
            return False
        ann.reset_object()
        editing = ann.current.start_edit(label_id, mask, layer is ann.target)
        ann.show_current()
        target = repr(ann.target.name) if ann.target is not None else "a new labels layer"
        where = "Commit replaces it" if editing.in_target else f"Commit adds it to {target} as a new object"
        show_info(f"clickseg: editing object {label_id} of {layer.name!r}: the next clicks correct it; {where}")
        return True

    # -- commit, delete --------------------------------------------------------------------
    def commit(self, label_id: int | None = None) -> int | None:
        """Write the current object into the target layer (``AnnotatorWidget.commit``)."""
        ann = self.ann
        ann.wait_idle()
        if ann.geometry is None or not ann.current.holds(ann.current_index()):
            show_warning("clickseg: nothing to commit on this slice")
            return None
        c = ann.controls

        def create() -> Any:  # the first commit creates the target layer (or uses the one chosen)
            return ann.document if ann.set_target(c.labels_combo.currentText() or None) is not None else None

        try:
            done = ann.current.commit(ann.document, label_id or c.object_id.value() or None, create=create,
                                      overwrite=c.overwrite_box.isChecked(), model=ann.model_name or "")
        except ValueError as err:
            show_error(f"clickseg: cannot commit: {err}")
            return None
        if done.kind == "empty":
            show_warning("clickseg: the current object is empty; click on it first")
        elif done.kind == "covered":
            show_warning("clickseg: the object lies entirely under existing objects; tick 'overwrite' to replace them")
        if not done.done:
            return None
        ann.reset_object()
        c.object_id.setValue(0)
        ann.show_status(COMMITTED[done.kind].format(lid=done.label_id, where=slice_words(done.index)))
        return done.label_id

    def delete(self, label_id: int | None = None) -> bool:
        """Erase an object of the target on every slice (``AnnotatorWidget.delete_object``)."""
        ann = self.ann
        ann.wait_idle()
        edited = ann.current.edited_id
        lid = label_id or edited or ann.objects.selected_id()
        if ann.document is None or lid is None:
            show_warning("clickseg: choose an object first: Ctrl-Shift-click it, or select it in the list")
            return False
        if not ann.document.delete(lid):
            show_warning(f"clickseg: there is no object {lid} to delete")
            return False
        if edited == lid:
            ann.reset_object()
        show_info(f"clickseg: deleted object {lid} (Ctrl-Z brings it back)")
        ann.show_status(f"deleted object {lid} (Ctrl-Z brings it back)")
        return True

    # -- undo, redo ------------------------------------------------------------------------
    def step(self, which: str) -> None:
        """``which`` = "undo" or "redo": the current object's last click, else the target's last change."""
        ann = self.ann
        ann.wait_idle()
        what, edit = ann.current.step(which, ann.document, ann.current_index() if ann.geometry else None)
        if what == "click":
            s = ann.session
            ann.set_prompts(ann.held_index, list(s.clicks), s.box)
            ann.show_current()
        elif what == "document":
            text = f"{which.replace('do', 'did')} the {edit.meta.get('what', 'commit')} of {objects_words(edit.label_ids)}"
            if which == "undo":
                show_info(f"clickseg: {text}")
            ann.show_status(text + (" (Ctrl-Shift-Z redoes it)" if which == "undo" else ""))
