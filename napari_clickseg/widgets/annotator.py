"""The annotator dock widget: napari events in, core calls out.

What is annotated lives in the core: ``core.current_object.CurrentObject`` (the session, the
slice it holds, the object being edited, commit and undo decisions) and one
``AnnotationDocument`` per target layer (the committed labels, their records, undo/redo,
save/resume). This widget only translates: mouse, keys, dims and layer events into core calls,
core results into layers and messages. Its parts: the image and target layers and their
menus (``layer_choice``), the model (``model_choice``), the slice held and the object
on it (``slice_view``), the prompt layers (``prompt_sync``),
edit/commit/delete/undo in napari terms (``object_commands``), the document's writes into the
target layer (``target_link``), predictions (``prediction_queue``), 3D work
(``volume_tools``), saved settings (``session_settings``), the controls (``panel.Controls``),
the shortcut table (``shortcuts``). Every failure becomes a napari notification and leaves the
session usable and the committed labels unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
from napari.layers import Labels
from napari.utils.notifications import show_error, show_warning
from qtpy.QtWidgets import QWidget

from ..core.clicks import Box, Click
from ..core.current_object import CurrentObject, Editing
from ..core.feature_cache import FeatureCache, default_cache_dir
from ..core.labels import LabelHistory
from ..core.persistence import ObjectRecord
from ..models.registry import list_models
from . import save_resume, session_settings
from .autosave import Autosaver
from .busy import BusyIndicator
from .layer_choice import LayerChoice
from .model_choice import ModelChoice, switch_model, use_predictor
from .object_commands import ObjectCommands
from .object_list import ObjectList
from .panel import build_panel, insert_above_stretch
from .prediction_queue import Job, PredictionQueue
from .slice_view import SliceView
from .shortcuts import bind_shortcuts, mouse_action, shortcut_help, unbind_shortcuts
from .target_link import TargetLink
from .viewer_objects import unwrap
from .volume_tools import VolumeTools
from .workers import LockedStore

__all__ = ["AnnotatorWidget", "Editing"]


class AnnotatorWidget(QWidget):
    """Click-based annotation of the slice the viewer shows.

    Args:
        napari_viewer: the viewer (napari injects it).
        model: initial model name (default: ``fdrn`` when it loads, else ``random-walker``).
    """

    def __init__(self, napari_viewer: Any, model: str | None = None) -> None:
        super().__init__()
        self.viewer = unwrap(napari_viewer)  # napari's menu docking wraps it in a proxy
        self.current = CurrentObject()
        self.model = ModelChoice()
        self.link = TargetLink(self)  # Ctrl-Z and napari's own edits of the target go to the document
        self.save_path: Path | None = None  # where "Save" writes by default
        self.positive_click = True
        #: encoder features, shared with the workers: 64 slices in memory, and on disk (bounded)
        self.feature_store = LockedStore(FeatureCache(max_items=64, disk_dir=default_cache_dir(), max_disk_bytes=2 << 30))
        self.controls = build_panel(self)
        self.layer_choice = LayerChoice(self)  # the image and target layers
        self.volume, self.autosave, self.objects = VolumeTools(self), Autosaver(self), ObjectList(self)
        self.commands, self.slice_view = ObjectCommands(self), SliceView(self)
        self.busy_indicator = BusyIndicator(self.cancel_prediction)
        withdraw = lambda index, state: self.set_prompts(index, list(state.clicks), state.box)  # noqa: E731
        self.queue = PredictionQueue(self._job, lambda: (self.session, self.held_index), self.show_current, withdraw,
                                     self.show_status, self.controls.background_box.isChecked, self.busy_indicator)
        insert_above_stretch(self, self.busy_indicator, self.objects)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self.viewer.dims.events.current_step.connect(self.slice_view.on_step)
        self.viewer.layers.events.inserted.connect(self.layer_choice.refresh)
        self.viewer.layers.events.removed.connect(self.layer_choice.on_removed)
        bind_shortcuts(self, [self.viewer])
        self.layer_choice.refresh()
        self.refresh_models()
        self._show_polarity()
        want = model or ("fdrn" if "fdrn" in list_models() else "random-walker")
        if not self.set_model(want, quiet=model is None) and want != "random-walker":
            self.set_model("random-walker")
        self.setToolTip(shortcut_help())

    # ------------------------------------------------------------------ state in words
    session = property(lambda self: self.current.session, doc="The ``InteractiveSession`` (None before a model).")
    held_index = property(lambda self: self.current.index, doc="The slice the session holds (None: none yet, or the image changed).")
    editing = property(lambda self: self.current.editing, doc="The existing object being edited (``Editing``), or None.")
    geometry = property(lambda self: self.layer_choice.geometry, doc="The image annotated (``ImageGeometry``; None: none).")
    prompts = property(lambda self: self.layer_choice.sync.prompts if self.layer_choice.sync else None,
                       doc="The prompt layers (``PromptLayers``; None without an image).")
    target = property(lambda self: self.layer_choice.target, doc="The target Labels layer (None: the next commit creates one).")
    document = property(lambda self: self.layer_choice.document,
                        doc="The committed labels of the target (``AnnotationDocument``; None without a target).")
    model_name = property(lambda self: self.model.name, doc="The current model's name.")
    model_key = property(lambda self: self.model.key, doc="Model name + weights hash (feature-cache keys).")

    @property
    def records(self) -> list[ObjectRecord]:
        """Records of the target's committed objects (``document.records``; empty without a target)."""
        return self.document.records if self.document is not None else []

    @property
    def history(self) -> LabelHistory:
        """Undo/redo of the target's changes (``document.history``)."""
        return self.document.history if self.document is not None else LabelHistory()

    def settings(self) -> dict[str, Any]:
        """The session settings (saved beside the labels and in the autosave; ``session_settings``)."""
        return session_settings.read(self)

    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Use a saved session's model and flip TTA (other settings stay as they are)."""
        session_settings.apply(self, settings)

    def show_status(self, text: str) -> None:
        self.controls.status.setText(text)

    def _show_polarity(self) -> None:
        kind = "POSITIVE (green)" if self.positive_click else "NEGATIVE (red)"
        self.controls.polarity_label.setText(f"left click adds: {kind}; right click: the opposite; "
                                             f"Ctrl-Shift-click: edit the object under the mouse")

    # ------------------------------------------------------------------ model / image / target
    def refresh_models(self) -> None:
        """Re-read the registry (e.g. after a fine-tune) into the model menu (loadable models only)."""
        ModelChoice.refresh_menu(self.controls)

    def set_model(self, name: str, device: str | None = None, quiet: bool = False) -> bool:
        """Load model ``name``; on failure notify and keep the previous model. Returns success."""
        return switch_model(self, name, device, quiet)

    def set_predictor(self, predictor: Any, factory: Callable[[], Any] | None = None) -> None:
        """Use ``predictor`` (any Predictor) from now on; the current object's clicks are replayed."""
        use_predictor(self, predictor, factory)

    def make_predictor(self) -> Any:
        """A new predictor of the current model, for a worker thread (never the session's own:
        a stateful predictor must not be shared across threads)."""
        return self.model.make()

    def use_feature_store(self, store: Any) -> None:
        """Read slices' features from ``store`` (``get(key)``, e.g. a ``ZarrFeatureStore`` made by
        ``clickseg precompute``) before encoding them; None stops using it."""
        self.feature_store.store.backing = store

    def set_channels(self, channel_axis: int | None, channels: tuple[int, ...] | None = None) -> bool:
        """Use the first data axis as channels (``channel_axis=0``; up to 3 ``channels``) or none."""
        c = self.controls
        c.show_image(c.image_combo.currentText(), channel_axis, channels)
        c.channels_edit.setText(",".join(map(str, channels or ())))
        return self.rebuild_geometry()

    def rebuild_geometry(self) -> bool:
        """Re-read the channel settings for the current image (the current object is dropped)."""
        return self.set_image_layer(self.geometry.layer, force=True) if self.geometry is not None else False

    def set_image_layer(self, layer: Any, force: bool = False) -> bool:
        """Annotate ``layer`` (an Image layer or its name). The current object is dropped."""
        return self.layer_choice.set_image(layer, force)

    def set_target(self, layer: Any = None) -> Labels | None:
        """Use ``layer`` (Labels or name) as the target; None or NEW_LABELS creates one."""
        return self.layer_choice.set_target(layer)

    def image_changed(self) -> None:
        """The image's data changed (e.g. edited in place): slices are encoded again and the
        current slice's prompts re-segmented on the new data."""
        self.slice_view.image_changed()

    # ------------------------------------------------------------------ slices and prompts
    def current_index(self) -> tuple[int, ...]:
        return self.slice_view.index()

    def hold_current_slice(self) -> bool:
        """Make the session hold the viewer's current slice (encoded once, cached); False (with
        a message) when it cannot."""
        return self.slice_view.hold()

    def _on_mouse(self, viewer: Any, event: Any):
        """A click adds a prompt or edits (``shortcuts.mouse_action``); drags pan as usual."""
        if not self.controls.active_box.isChecked() or self.prompts is None or event.type != "mouse_press":
            return
        active = viewer.layers.selection.active
        if active is not None and active.mode != "pan_zoom" and (
                isinstance(active, Labels) or active in (self.prompts.box, self.prompts.positive, self.prompts.negative)):
            return  # drawing a box, editing points directly, painting labels
        start, dragged = np.asarray(event.position, float), False
        yield
        while event.type == "mouse_move":
            dragged = dragged or np.abs(np.asarray(event.position) - start).max() > 2
            yield
        if not dragged:
            action, positive = mouse_action(event.modifiers, event.button, self.positive_click)
            if action == "edit":
                self.edit_at_world(start)
            else:
                self.add_click_world(start, positive)

    def add_click_world(self, world: Any, is_positive: bool = True) -> None:
        """Add a click at a world position (as a mouse click would)."""
        coords = self.geometry.data_coords(world)
        if not self.geometry.inside(*self.geometry.spatial_of(coords)):
            show_warning("clickseg: click outside the image ignored")
            return
        self.prompts.add_click(coords, is_positive)

    def add_click(self, row: float, col: float, is_positive: bool = True) -> None:
        """Add a click at (row, col) on the current slice (as a mouse click would)."""
        if self.geometry is None or self.prompts is None:
            show_error("clickseg: choose an image layer first")
            return
        lead = self.current_index()
        if not self.geometry.inside(lead, row, col):
            show_warning(f"clickseg: click at ({row}, {col}) lies outside the image; ignored")
            return
        self.prompts.add_click(self.geometry.point_for(lead, row, col), is_positive)

    def set_prompts(self, index: tuple[int, ...], clicks: list[Click], box: Box | None) -> None:
        """Put clicks and a box on slice ``index`` without predicting (``resegment`` predicts)."""
        self.layer_choice.sync.set_on(index, clicks, box)

    def resegment(self) -> None:
        """Bring the session in line with the prompt layers of the current slice (``queue``)."""
        if self.prompts is not None:
            self.queue.request()

    def _job(self) -> Job | None:
        if self.prompts is None or not self.hold_current_slice():
            return None
        return self.layer_choice.sync.job(self.session, self.held_index, self.model_name or "the model")

    def cancel_prediction(self) -> None:
        """Cancel the running background prediction: the click(s) and box it works on are
        withdrawn now, and its result is dropped when it arrives. No-op when idle."""
        self.queue.cancel()

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Process Qt events until no background prediction is running (or the timeout)."""
        self.queue.wait_idle(timeout_s)

    def show_current(self, index: tuple[int, ...] | None = None, mask: np.ndarray | None = None) -> None:
        """Draw the current object (``mask``, default the session's) on the slice the session holds
        and say what it is (``index``, as the prediction queue passes it, is that slice)."""
        self.slice_view.show(mask)

    def toggle_polarity(self) -> None:
        self.positive_click = not self.positive_click
        self._show_polarity()

    def reset_object(self) -> None:
        """Clear the current object's clicks, box and edited mask on this slice (labels untouched)."""
        self.slice_view.reset()

    # ------------------------------------------------------------------ edit / commit / undo
    def edit_at_world(self, world: Any) -> bool:
        """Edit the object under a world position (as a Ctrl-Shift click does)."""
        return self.commands.edit_at_world(world)

    def edit(self, label_id: int, source: Any = None) -> bool:
        """Make object ``label_id`` of the current slice the current object.

        Its mask becomes the session's mask prompt (``InteractiveSession.start_from_mask``),
        the next clicks correct it, and ``commit`` replaces exactly that object's pixels on
        this slice (one undo step). With ``source`` (a Labels layer or name other than the
        target), the object comes from there and ``commit`` adds it to the target as a new object.
        """
        return self.commands.edit(label_id, source)

    def commit(self, label_id: int | None = None) -> int | None:
        """Write the current object into the target layer; returns the id written.

        An edited object of the target (``edit``) is replaced on this slice; otherwise the mask
        is added as ``label_id`` (default: the "commit as" box; its 0 = the next free id).
        """
        return self.commands.commit(label_id)

    def delete_object(self, label_id: int | None = None) -> bool:
        """Erase an object of the target on every slice (one undo step). Default: the object
        being edited, else the one selected in the object list."""
        return self.commands.delete(label_id)

    def undo(self) -> None:
        """Undo the last click; with no click left, undo the last commit, edit, deletion or propagation."""
        self.commands.step("undo")

    def redo(self) -> None:
        """Redo the last undone click; otherwise the last undone commit, edit, deletion or propagation."""
        self.commands.step("redo")

    # ------------------------------------------------------------------ 3D, files, teardown
    def propagate_forward(self) -> Any:
        return self.propagate(+1)

    def propagate_backward(self) -> Any:
        return self.propagate(-1)

    def propagate_between(self) -> Any:
        return self.propagate(0)

    def propagate(self, direction: int, label_id: int | None = None) -> Any:
        """Propagate an object from the current slice (+1 forward, -1 backward, 0 between) in a
        thread worker; the result is committed as one undo step. Returns the worker."""
        return self.volume.propagate(direction, label_id)

    def precompute(self) -> Any:
        """Encode every slice of the stack in a thread worker (progress bar, cancellable)."""
        return self.volume.precompute()

    @property
    def busy(self) -> bool:
        """Whether background work (propagation, precompute) is running."""
        return self.volume.busy

    def cancel(self) -> None:
        """Stop running background work (precompute, propagation)."""
        self.volume.cancel()

    def save(self, path: str | Path | None = None) -> Path | None:
        """Save the target labels and the prompts of every committed object beside them."""
        return save_resume.save(self, path)

    def load(self, path: str | Path) -> Labels | None:
        """Resume: load a labels file (+ its prompts JSON) as the target layer."""
        return save_resume.load(self, path)

    def restore_autosave(self) -> Labels | None:
        """Restore the autosave offered for this image (labels as a new layer, prompts)."""
        return self.autosave.restore()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self.cancel()
        self.link.detach()
        self.autosave.stop()
        unbind_shortcuts([self.viewer])
        self.viewer.dims.events.current_step.disconnect(self.slice_view.on_step)
        self.viewer.layers.events.inserted.disconnect(self.layer_choice.refresh)
        self.viewer.layers.events.removed.disconnect(self.layer_choice.on_removed)
        if self._on_mouse in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.remove(self._on_mouse)
        super().closeEvent(event)
