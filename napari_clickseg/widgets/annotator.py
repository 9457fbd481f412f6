"""The annotator dock widget: napari events in, core calls out.

What is annotated lives in the core: one ``InteractiveSession`` (the object being segmented on
the current slice) and one ``AnnotationDocument`` per target layer (the committed labels, their
records, undo/redo, save/resume). This widget only translates: layers and clicks into session
calls (``layers.PromptLayers``), session results into the preview, commits and edits into the
document, whose writes reach the layer through ``Labels.data_setitem`` (``target_link``).
Predictions run through ``prediction_queue.PredictionQueue``; 3D work in ``volume_tools``; the
controls are ``panel.Controls``. Every failure becomes a napari notification and leaves the
session usable and the committed labels unchanged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QWidget

from ..core.clicks import Box, Click
from ..core.document import AnnotationDocument
from ..core.feature_cache import FeatureCache, default_cache_dir, model_identity
from ..core.labels import LabelHistory
from ..core.lazy_image import slice_key
from ..core.persistence import ObjectRecord
from ..core.session import InteractiveSession, SessionState, SliceHistories
from ..models.registry import get_model_info, list_models, load_model, loadable_models
from . import save_resume
from .autosave import Autosaver
from .busy import BusyIndicator
from .large_labels import chunked_of, document_for, new_target_layer, object_mask, value_at
from .layers import ImageGeometry, PromptLayers
from .object_list import ObjectList
from .panel import NEW_LABELS, TARGET_SOURCE, build_panel, insert_above_stretch
from .prediction_queue import Job, PredictionQueue
from .shortcuts import EDIT_MODIFIERS, bind_shortcuts, shortcut_help, unbind_shortcuts
from .target_link import TargetLink
from .viewer_objects import is_own, mark_own, markers_on_top, style_preview, unwrap
from .volume_tools import VolumeTools
from .wording import objects_words, slice_words
from .workers import LockedStore

__all__ = ["AnnotatorWidget", "Editing"]


@dataclass(frozen=True)
class Editing:
    """The existing object the current object started from (``AnnotatorWidget.edit``)."""

    label_id: int
    index: tuple[int, ...]
    in_target: bool  # True: commit replaces it; False (another layer's object): commit adds it as new


class AnnotatorWidget(QWidget):
    """Click-based annotation of the slice the viewer shows.

    Args:
        napari_viewer: the viewer (napari injects it).
        model: initial model name (default: ``fdrn`` when it loads, else ``random-walker``).
    """

    def __init__(self, napari_viewer: Any, model: str | None = None) -> None:
        super().__init__()
        self.viewer = unwrap(napari_viewer)  # napari's menu docking wraps it in a proxy
        self.session: InteractiveSession | None = None
        self.geometry: ImageGeometry | None = None
        self.prompts: PromptLayers | None = None
        self.target: Labels | None = None
        #: the committed labels of the target layer (None without a target)
        self.document: AnnotationDocument | None = None
        self.editing: Editing | None = None
        self.link = TargetLink(self)  # Ctrl-Z and napari's own edits of the target go to the document
        self.save_path: Path | None = None  # where "Save" writes by default
        self.positive_click = True
        self.model_name: str | None = None
        self.model_key = ""  # model name + weights hash: the model part of feature-cache keys
        self._factory: Callable[[], Any] | None = None
        #: encoder features, shared with the workers: 64 slices in memory, and on disk (bounded)
        self.feature_store = LockedStore(FeatureCache(max_items=64, disk_dir=default_cache_dir(), max_disk_bytes=2 << 30))
        self._index: tuple[int, ...] | None = None  # slice the session holds
        self._slices = SliceHistories()
        self._syncing = False
        self.controls = build_panel(self)
        self.volume = VolumeTools(self)
        self.autosave = Autosaver(self)
        self.objects = ObjectList(self)
        self.busy_indicator = BusyIndicator(self.cancel_prediction)
        self.queue = PredictionQueue(self._job, lambda: (self.session, self._index), self._show, self._withdraw,
                                     self.show_status, self.controls.background_box.isChecked, self.busy_indicator)
        insert_above_stretch(self, self.busy_indicator, self.objects)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self.viewer.dims.events.current_step.connect(self._on_step)
        self.viewer.layers.events.inserted.connect(self._refresh_layer_lists)
        self.viewer.layers.events.removed.connect(self._on_layer_removed)
        bind_shortcuts(self, [self.viewer])
        self._refresh_layer_lists()
        self.refresh_models()
        self._show_polarity()
        want = model or ("fdrn" if "fdrn" in list_models() else "random-walker")
        if not self.set_model(want, quiet=model is None) and want != "random-walker":
            self.set_model("random-walker")
        self.setToolTip(shortcut_help())

    # ------------------------------------------------------------------ state in words
    @property
    def held_index(self) -> tuple[int, ...] | None:
        """The slice the session holds (None: none yet, or the image changed)."""
        return self._index

    @property
    def records(self) -> list[ObjectRecord]:
        """Records of the target's committed objects (``document.records``; empty without a target)."""
        return self.document.records if self.document is not None else []

    @property
    def history(self) -> LabelHistory:
        """Undo/redo of the target's changes (``document.history``)."""
        return self.document.history if self.document is not None else LabelHistory()

    def settings(self) -> dict[str, Any]:
        """The session settings (saved beside the labels and in the autosave)."""
        c, g = self.controls, self.geometry
        return {"model": self.model_name, "device": c.device_combo.currentText(), "flip_tta": c.flip_box.isChecked(),
                "threshold": self.session.threshold if self.session else None,
                "image_layer": g.layer.name if g else None, "channel_axis": g.channel_axis if g else None,
                "channels": list(g.channels or []) if g else None,
                "overwrite": c.overwrite_box.isChecked(), "min_iou": c.min_iou.value() / 100}

    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Use a saved session's model and flip TTA (other settings stay as they are)."""
        model, flip = settings.get("model"), bool(settings.get("flip_tta", False))
        if flip != self.controls.flip_box.isChecked():
            self.controls.flip_box.blockSignals(True)
            self.controls.flip_box.setChecked(flip)
            self.controls.flip_box.blockSignals(False)
            self.set_model(model or self.model_name or "random-walker")
        elif model and model != self.model_name:
            self.set_model(model)

    def show_status(self, text: str) -> None:
        self.controls.status.setText(text)

    def _show_polarity(self) -> None:
        kind = "POSITIVE (green)" if self.positive_click else "NEGATIVE (red)"
        self.controls.polarity_label.setText(f"left click adds: {kind}; right click: the opposite; "
                                             f"Ctrl-Shift-click: edit the object under the mouse")

    # ------------------------------------------------------------------ layers
    def _is_own(self, layer: Any) -> bool:
        layer = unwrap(layer)
        return is_own(layer) or any(layer is own for own in (self.prompts.layers if self.prompts else []))

    def _refresh_layer_lists(self, event: Any = None) -> None:
        if event is not None and getattr(event, "type", "") == "inserted" and self.prompts is not None:
            markers_on_top(self.viewer, [self.prompts.box, self.prompts.negative, self.prompts.positive])
        kinds = {kind: [lyr.name for lyr in self.viewer.layers if isinstance(lyr, kind) and not self._is_own(lyr)]
                 for kind in (Image, Labels)}
        c = self.controls
        c.set_choices(c.image_combo, kinds[Image])
        c.set_choices(c.labels_combo, kinds[Labels] + [NEW_LABELS])
        c.set_choices(c.source_combo, [TARGET_SOURCE] + kinds[Labels])
        if self.geometry is None and kinds[Image]:
            self.set_image_layer(kinds[Image][-1])
        # never write into a layer the user did not choose (e.g. a ground truth)
        c.labels_combo.setCurrentText(self.target.name if self.target is not None and self.target.name in kinds[Labels] else NEW_LABELS)

    def _on_layer_removed(self, event: Any) -> None:
        layer = unwrap(event.value)
        if self.geometry is not None and layer is self.geometry.layer:
            show_warning("clickseg: the annotated image layer was removed; choose another image")
            self._drop_image()
        elif layer is self.target:
            show_warning(f"clickseg: the target labels layer {layer.name!r} was removed; the next commit "
                         f"creates a new one (its undo history is gone with it)")
            self._drop_target()
        self._refresh_layer_lists()

    def _drop_target(self) -> None:
        self.link.detach()
        self.objects.watch(None)
        self.autosave.watch(None)
        self.target, self.document, self.editing = None, None, None

    def refresh_models(self) -> None:
        """Re-read the registry (e.g. after a fine-tune) into the model menu (loadable models only)."""
        combo, names = self.controls.model_combo, loadable_models()
        if names != [combo.itemText(i) for i in range(combo.count())]:
            current = combo.currentText()
            self.controls.set_choices(combo, names + ([current] if current and current not in names else []), current)

    # ------------------------------------------------------------------ model / image / target
    def set_model(self, name: str, device: str | None = None, quiet: bool = False) -> bool:
        """Load model ``name``; on failure notify and keep the previous model. Returns success."""
        device = device or self.controls.device_combo.currentText()
        try:
            # flip TTA only where the model has it (learned models): classical ones load without it
            flip = self.controls.flip_box.isChecked() and get_model_info(name).kind != "classical"
            predictor = load_model(name, device=device, flip_tta=flip)
        except Exception as err:  # noqa: BLE001 - any load failure becomes a message
            if not quiet:
                show_error(f"clickseg: could not load model {name!r}: {err}")
            if self.model_name:
                self.controls.model_combo.setCurrentText(self.model_name)
            return False
        self.set_predictor(predictor, lambda: load_model(name, device=device, flip_tta=flip))
        return True

    def set_predictor(self, predictor: Any, factory: Callable[[], Any] | None = None) -> None:
        """Use ``predictor`` (any Predictor) from now on; the current object's clicks are replayed."""
        self.wait_idle()
        held = self.session is not None and self.session.has_image
        clicks, box = (self.session.clicks, self.session.box) if held else ((), None)
        self.model_name, self.model_key = getattr(predictor, "name", "custom"), model_identity(predictor)
        self._factory = factory or (lambda: copy.deepcopy(predictor))
        self.session = InteractiveSession(predictor, feature_store=self.feature_store)
        self._index, self.editing = None, None
        self._slices.clear()  # made with the old model
        combo = self.controls.model_combo
        if combo.findText(self.model_name) < 0:
            combo.addItem(self.model_name)
        combo.setCurrentText(self.model_name)
        if getattr(predictor, "trained", True) is False:
            show_warning(f"clickseg: model {self.model_name!r} has random (untrained) weights")
        if clicks or box is not None:
            show_info("clickseg: model changed; the current object is re-segmented with the new model")
            self.resegment()

    def make_predictor(self) -> Any:
        """A new predictor of the current model, for a worker thread (never the session's own:
        a stateful predictor must not be shared across threads)."""
        if self._factory is None:
            raise RuntimeError("no model loaded; choose a model first")
        return self._factory()

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
        if isinstance(layer, str):
            layer = self.viewer.layers[layer] if layer in self.viewer.layers else None
        layer = unwrap(layer)
        if not isinstance(layer, Image) or self._is_own(layer):
            show_error(f"clickseg: {getattr(layer, 'name', layer)!r} is not an image layer to annotate; choose an Image layer")
            self._show_current_image()
            return False
        if self.geometry is not None and layer is self.geometry.layer and not force:
            return True
        if self.session is not None and self.session.has_image and self.session.clicks:
            show_warning("clickseg: image changed; the unfinished object was dropped (committed labels are kept)")
        try:
            geometry = ImageGeometry(layer, *self.controls.channel_choice())
        except ValueError as err:
            show_error(f"clickseg: {err}")
            self._show_current_image()
            return False
        self._drop_image()
        self.geometry = geometry
        self._attach_prompts()
        if self.target is not None and self.target.data.shape != geometry.spatial_shape:
            show_warning(f"clickseg: target {self.target.name!r} does not match the new image; choose or create one")
            self._drop_target()
        self._show_current_image()
        self.autosave.image_opened()  # offers to restore an autosave of this image
        return True

    def image_changed(self) -> None:
        """The image's data changed (e.g. edited in place): slices are encoded again and the
        current slice's prompts re-segmented on the new data."""
        self.wait_idle()
        self._index = None
        self._slices.clear()
        if self.prompts is not None and self.geometry is not None:
            index = self.current_index()
            if self.prompts.clicks_on(index) or self.prompts.box_on(index) is not None:
                self.resegment()

    def _show_current_image(self) -> None:
        g = self.geometry
        shown = g is not None and g.layer in self.viewer.layers
        self.controls.show_image(g.layer.name if shown else None, g.channel_axis if g else None, g.channels if g else None)

    def _drop_image(self) -> None:
        self.autosave.image_closed()
        if self.prompts is not None:
            unbind_shortcuts(self.prompts.layers)
            self.prompts.remove()
        self.prompts, self.geometry, self._index, self.editing = None, None, None, None
        self._slices.clear()
        self.show_status("")

    def _attach_prompts(self) -> None:
        selected = self.viewer.layers.selection.active
        self.prompts = PromptLayers(self.viewer, self.geometry)
        for layer, role in zip(self.prompts.layers, ("positive", "negative", "box", "preview"), strict=True):
            mark_own(layer, role)
        style_preview(self.prompts.preview)
        markers_on_top(self.viewer, [self.prompts.box, self.prompts.negative, self.prompts.positive])
        for layer in (self.prompts.positive, self.prompts.negative):
            layer.events.data.connect(self._on_points_event)
        self.prompts.box.events.data.connect(self._on_box_event)
        bind_shortcuts(self, self.prompts.layers)
        if selected is not None:
            self.viewer.layers.selection.active = selected

    def _labels_layer(self, layer: Any) -> Labels | None:
        """``layer`` (Labels or name) if it can be the target / an edit source of this image; else notify."""
        if isinstance(layer, str):
            layer = self.viewer.layers[layer] if layer in self.viewer.layers else None
        layer = unwrap(layer)
        if not isinstance(layer, Labels) or self._is_own(layer):
            what = "one of the annotator's own layers" if self._is_own(layer) else "not a Labels layer"
            show_error(f"clickseg: {getattr(layer, 'name', layer)!r} is {what}; choose another labels layer or create a new one")
        elif layer.data.shape != self.geometry.spatial_shape:
            show_error(f"clickseg: labels layer {layer.name!r} has shape {layer.data.shape}, but the image needs "
                       f"{self.geometry.spatial_shape}; choose another layer or create a new one")
        elif not isinstance(layer.data, np.ndarray) and chunked_of(layer) is None:
            show_error(f"clickseg: labels layer {layer.name!r} is not held in memory (numpy); convert it first")
        elif not np.issubdtype(layer.data.dtype, np.integer):
            show_error(f"clickseg: labels layer {layer.name!r} holds {layer.data.dtype} values, not integer ids; convert it first")
        else:
            return layer
        return None

    def set_target(self, layer: Any = None) -> Labels | None:
        """Use ``layer`` (Labels or name) as the target; None or NEW_LABELS creates one."""
        if self.geometry is None:
            show_error("clickseg: choose an image layer first")
            return None
        if layer in (None, NEW_LABELS):
            layer = new_target_layer(self.viewer, self.geometry)  # chunked on huge slides (large_labels)
        layer = self._labels_layer(layer)
        if layer is None:
            self.controls.labels_combo.setCurrentText(self.target.name if self.target is not None else NEW_LABELS)
            return self.target
        if layer is not self.target:
            self.target, self.editing = layer, None
            self.link.attach(layer)
            self.document = document_for(layer, self.link)
            self.document.listeners.append(self._on_document_change)
            self.objects.watch(layer)
            self.autosave.watch(layer)
        self._refresh_layer_lists()
        self.controls.labels_combo.setCurrentText(layer.name)
        return layer

    def _on_document_change(self, what: str) -> None:
        if not what.startswith("hand edit"):
            self.autosave.save_now()  # committed labels reach the disk at once

    # ------------------------------------------------------------------ slices
    def current_index(self) -> tuple[int, ...]:
        assert self.geometry is not None
        return self.geometry.current_index(self.viewer)

    def _ensure_slice(self) -> bool:
        """Make the session hold the viewer's current slice (encode once, cached)."""
        if self.geometry is None or self.session is None:
            show_error("clickseg: choose an image layer and a model first")
            return False
        if self.viewer.dims.ndisplay != 2:
            show_warning("clickseg: switch the viewer to 2D to annotate a slice")
            return False
        index = self.current_index()
        if index == self._index and self.session.has_image:
            return True
        if self._index is not None:
            self._slices.leave(self._index, self.session)  # kept for coming back
        image = self.geometry.get_slice(index)
        try:
            self.session.set_image(image, key=slice_key(image, self.model_key))
        except (ValueError, TypeError) as err:
            show_error(f"clickseg: {slice_words(index)} cannot be segmented: {err}")
            self._index = None
            return False
        self._index = index
        self._slices.come_back(index, self.session)  # refused if the slice's data changed
        return True

    def _on_step(self, event: Any = None) -> None:
        if self.prompts is None or self.geometry is None:
            return
        index = self.current_index()
        if index == self._index:
            self._show(index)  # back on the session's slice (its preview was cleared on leaving)
        else:
            self.prompts.show_mask(index, None)
            if self.prompts.clicks_on(index) or self.prompts.box_on(index) is not None:
                self.resegment()  # come back to a slice with clicks: restore its object

    # ------------------------------------------------------------------ prompts
    def _on_mouse(self, viewer: Any, event: Any):
        """Left click = positive, right or Ctrl/Shift click = negative, Ctrl-Shift click = edit
        the object under the mouse; drags pan as usual."""
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
        mods = set(map(str, event.modifiers))
        if dragged:
            return
        if EDIT_MODIFIERS <= mods:
            self.edit_at_world(start)
        else:
            self.add_click_world(start, self.positive_click != (event.button == 2 or bool(mods & EDIT_MODIFIERS)))

    def add_click_world(self, world: Any, is_positive: bool = True) -> None:
        """Add a click at a world position (as a mouse click would)."""
        coords = self.geometry.data_coords(world)
        lead, r, c = self.geometry.spatial_of(coords)
        if not self.geometry.inside(lead, r, c):
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
        self._syncing = True
        try:
            self.prompts.set_clicks_on(index, [c for c in clicks if self.geometry.inside(index, c.row, c.col)])
            self.prompts.set_box_on(index, box)
        finally:
            self._syncing = False

    def _on_points_event(self, event: Any) -> None:
        if not self._syncing and str(getattr(event, "action", "changed")) in ("added", "changed", "removed"):
            self.resegment()

    def _on_box_event(self, event: Any) -> None:
        if self._syncing or str(getattr(event, "action", "changed")) not in ("added", "changed", "removed"):
            return
        if self.prompts is not None and self.geometry is not None:
            self._syncing = True
            try:
                self.prompts.clear_box_on(self.current_index(), keep_newest=True)
            finally:
                self._syncing = False
        self.resegment()

    def resegment(self) -> None:
        """Bring the session in line with the prompt layers of the current slice (``queue``)."""
        if self.prompts is not None:
            self.queue.request()

    def _job(self) -> Job | None:
        if self.prompts is None or not self._ensure_slice():
            return None
        index = self._index
        clicks = self.prompts.clicks_on(index)
        outside = [c for c in clicks if not self.geometry.inside(index, c.row, c.col)]
        if outside:
            show_warning(f"clickseg: {len(outside)} click(s) outside the image ignored")
        return Job(self.session, index, [c for c in clicks if c not in outside], self.prompts.box_on(index),
                   self.model_name or "the model")

    def _withdraw(self, index: tuple[int, ...], state: SessionState) -> None:
        self.set_prompts(index, list(state.clicks), state.box)

    def cancel_prediction(self) -> None:
        """Cancel the running background prediction: the click(s) and box it works on are
        withdrawn now, and its result is dropped when it arrives. No-op when idle."""
        self.queue.cancel()

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Process Qt events until no background prediction is running (or the timeout)."""
        self.queue.wait_idle(timeout_s)

    def _show(self, index: tuple[int, ...] | None = None, mask: np.ndarray | None = None) -> None:
        s = self.session
        if self.prompts is None or self._index is None or s is None:
            return
        mask = s.mask if (mask is None and s.has_image) else mask
        self.prompts.show_mask(self._index, mask)
        what = f"editing object {self.editing.label_id}: " if self._editing_here() else ""
        self.show_status(f"{self.model_name}: {what}{len(s.clicks)} click(s), {int(mask.sum()) if mask is not None else 0} px")

    def _sync_layers_from_session(self) -> None:
        self.set_prompts(self._index, list(self.session.clicks), self.session.box)
        self._show()

    def toggle_polarity(self) -> None:
        self.positive_click = not self.positive_click
        self._show_polarity()

    def reset_object(self) -> None:
        """Clear the current object's clicks, box and edited mask on this slice (labels untouched)."""
        self.wait_idle()
        if self.prompts is None:
            return
        index = self.current_index()
        self.set_prompts(index, [], None)
        if self.session is not None and self.session.has_image and self._index == index:
            self.session.reset()  # (a session holding another slice keeps that slice's object)
            self.editing = None
        self.prompts.show_mask(index, None)

    # ------------------------------------------------------------------ edit / commit / undo
    def _editing_here(self) -> bool:
        return self.editing is not None and self.editing.index == self._index

    def edit_at_world(self, world: Any) -> bool:
        """Edit the object under a world position (as a Ctrl-Shift click does)."""
        source = self._edit_source()
        if source is None:
            return False
        lead, r, c = self.geometry.spatial_of(self.geometry.data_coords(world))
        if not self.geometry.inside(lead, r, c):
            show_warning("clickseg: click outside the image ignored")
            return False
        label_id = value_at(source, tuple(lead) + (int(round(r)), int(round(c))))
        if label_id == 0:
            show_warning(f"clickseg: no object of {source.name!r} there; Ctrl-Shift-click on an object to edit it")
            return False
        return self.edit(label_id, source)

    def _edit_source(self, source: Any = None) -> Labels | None:
        if self.geometry is None:
            show_error("clickseg: choose an image layer first")
            return None
        source = source if source is not None else self.controls.source_combo.currentText()
        if source in (None, TARGET_SOURCE) or source is self.target:
            if self.target is None:
                show_error("clickseg: there is no target labels layer to edit yet; choose one (or a layer under 'edit objects of')")
            return self.target
        return self._labels_layer(source)

    def edit(self, label_id: int, source: Any = None) -> bool:
        """Make object ``label_id`` of the current slice the current object.

        Its mask becomes the session's mask prompt (the previous probability of the next
        click: ``InteractiveSession.start_from_mask``), the next clicks correct it, and
        ``commit`` replaces exactly that object's pixels on this slice (one undo step). With
        ``source`` (a Labels layer or name other than the target), the object comes from
        there and ``commit`` adds it to the target as a new object.
        """
        self.wait_idle()
        layer = self._edit_source(source)
        if layer is None or not self._ensure_slice():
            return False
        mask = object_mask(layer, self._index, label_id)
        if not mask.any():
            show_warning(f"clickseg: object {label_id} is not on {slice_words(self._index)} of {layer.name!r}")
            return False
        self.reset_object()
        self.session.start_from_mask(mask)
        self.editing = Editing(int(label_id), self._index, layer is self.target)
        self._show()
        where = "Commit replaces it" if self.editing.in_target else f"Commit adds it to {self._target_name()} as a new object"
        show_info(f"clickseg: editing object {label_id} of {layer.name!r}: the next clicks correct it; {where}")
        return True

    def _target_name(self) -> str:
        return repr(self.target.name) if self.target is not None else "a new labels layer"

    def commit(self, label_id: int | None = None) -> int | None:
        """Write the current object into the target layer; returns the id written.

        An edited object of the target (``edit``) is replaced on this slice; otherwise the mask
        is added as ``label_id`` (default: the "commit as" box; its 0 = the next free id).
        """
        self.wait_idle()
        s = self.session
        if s is None or not s.has_image or self._index != self.current_index():
            show_warning("clickseg: nothing to commit on this slice")
            return None
        mask, index, c = s.mask, self._index, self.controls
        prompts = dict(clicks=s.clicks, box=s.box, model=self.model_name or "", overwrite=c.overwrite_box.isChecked())
        if self._editing_here() and self.editing.in_target and self.document is not None:
            lid = self.editing.label_id
            changed = self.document.replace(lid, mask, index, **prompts)
            text = f"object {lid} {'replaced' if changed else 'unchanged'} on {slice_words(index)}"
        else:
            if not mask.any():
                show_warning("clickseg: the current object is empty; click on it first")
                return None
            if self.target is None and self.set_target(c.labels_combo.currentText() or None) is None:
                return None
            try:
                lid = self.document.commit(mask, index, label_id or c.object_id.value() or None, **prompts)
            except ValueError as err:
                show_error(f"clickseg: cannot commit: {err}")
                return None
            if lid is None:
                show_warning("clickseg: the object lies entirely under existing objects; tick 'overwrite' to replace them")
                return None
            text = f"committed object {lid} on {slice_words(index)}"
        self.reset_object()
        c.object_id.setValue(0)
        self.show_status(text)
        return lid

    def delete_object(self, label_id: int | None = None) -> bool:
        """Erase an object of the target on every slice (one undo step). Default: the object
        being edited, else the one selected in the object list."""
        self.wait_idle()
        ed = self.editing if (self.editing is not None and self.editing.in_target) else None
        lid = label_id or (ed.label_id if ed else None) or self.objects.selected_id()
        if self.document is None or lid is None:
            show_warning("clickseg: choose an object first: Ctrl-Shift-click it, or select it in the list")
            return False
        if not self.document.delete(lid):
            show_warning(f"clickseg: there is no object {lid} to delete")
            return False
        if ed is not None and ed.label_id == lid:
            self.reset_object()
        show_info(f"clickseg: deleted object {lid} (Ctrl-Z brings it back)")
        self.show_status(f"deleted object {lid} (Ctrl-Z brings it back)")
        return True

    def _undo_redo(self, which: str) -> None:
        self.wait_idle()
        s = self.session
        if s is not None and s.has_image and self._index == self.current_index() and getattr(s, f"can_{which}"):
            getattr(s, which)()
            self._sync_layers_from_session()
        elif self.document is not None and getattr(self.document, f"can_{which}"):
            edit = getattr(self.document, which)()
            text = f"{which.replace('do', 'did')} the {edit.meta.get('what', 'commit')} of {objects_words(edit.label_ids)}"
            if which == "undo":
                show_info(f"clickseg: {text}")
            self.show_status(text + (" (Ctrl-Shift-Z redoes it)" if which == "undo" else ""))

    def undo(self) -> None:
        """Undo the last click; with no click left, undo the last commit, edit, deletion or propagation."""
        self._undo_redo("undo")

    def redo(self) -> None:
        """Redo the last undone click; otherwise the last undone commit, edit, deletion or propagation."""
        self._undo_redo("redo")

    # ------------------------------------------------------------------ 3D, files, teardown
    def propagate_forward(self) -> Any:
        return self.propagate(+1)

    def propagate_backward(self) -> Any:
        return self.propagate(-1)

    def propagate_between(self) -> Any:
        return self.propagate(0)

    def propagate(self, direction: int, label_id: int | None = None) -> Any:
        """Propagate an object from the current slice: +1 forward, -1 backward, 0 between.

        Runs in a thread worker; the result is committed as one undo step. Returns the worker.
        """
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
        if self._on_mouse in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.remove(self._on_mouse)
        super().closeEvent(event)
