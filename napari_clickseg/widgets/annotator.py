"""The annotator dock widget: click, correct, commit, propagate, save.

The widget translates napari events into core calls and writes results back; it holds no
segmentation logic. One ``InteractiveSession`` per widget (no global state); prompt layers in
``layers.PromptLayers``; commits through ``core.labels`` (only changed pixels are written, via
``Labels.data_setitem``); propagation through ``core.volume`` in a thread worker; save/resume
through ``core.persistence``. Every failure becomes a napari notification and leaves the session
usable and the committed labels unchanged.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np
from napari.layers import Image, Labels
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QWidget

from ..core.clicks import Click
from ..core.feature_cache import FeatureCache, default_cache_dir, model_identity
from ..core.labels import Edit, LabelHistory, commit_mask, next_free_id
from ..core.lazy_image import slice_key
from ..core.persistence import ObjectRecord
from ..core.session import InteractiveSession, SessionHistory
from ..models.registry import get_model_info, list_models, load_model
from . import save_resume
from .busy import BusyIndicator
from .autosave import Autosaver
from .layers import ImageGeometry, PromptLayers
from .object_list import ObjectList
from .panel import NEW_LABELS, build_panel
from .shortcuts import bind_shortcuts, shortcut_help, unbind_shortcuts
from .target_link import TargetLink
from .viewer_objects import is_own, mark_own, markers_on_top, style_preview, unwrap
from .wording import objects_words, slice_words
from .volume_tools import VolumeTools
from .workers import LockedStore

__all__ = ["AnnotatorWidget"]
log = logging.getLogger(__name__)


class AnnotatorWidget(QWidget):
    """Click-based annotation of the slice the viewer shows.

    Args:
        napari_viewer: the viewer (napari injects it).
        model: initial model name (default: ``fdrn`` when it loads, else ``random-walker``).
    """

    def __init__(self, napari_viewer: Any, model: str | None = None) -> None:
        super().__init__()
        # the plain viewer: napari's menu docking wraps it in a proxy that breaks layer identity
        self.viewer = unwrap(napari_viewer)
        self.session: InteractiveSession | None = None
        self.geometry: ImageGeometry | None = None
        self.prompts: PromptLayers | None = None
        self.target: Labels | None = None
        self.history = LabelHistory()
        #: Ctrl-Z on the target layer and napari's own edits of it go to ``history``
        self.link = TargetLink(self)
        self.records: list[ObjectRecord] = []
        #: where "Save" writes by default (set by ``load``/``save`` and ``clickseg annotate --labels``)
        self.save_path: Path | None = None
        self.positive_click = True
        self.model_name: str | None = None
        self._make_predictor: Callable[[], Any] | None = None
        #: model name + weights hash: the model part of feature-cache keys
        self.model_key = ""
        # encoder features: 64 slices in memory, and on disk (bounded) for later sessions
        self._store = LockedStore(FeatureCache(max_items=64, disk_dir=default_cache_dir(), max_disk_bytes=2 << 30))
        self._index: tuple[int, ...] | None = None  # slice the session holds
        #: undo/redo history of the slices left with an unfinished object (newest last, bounded)
        self._slice_history: OrderedDict[tuple[int, ...], SessionHistory] = OrderedDict()
        self._syncing = False
        self.volume = VolumeTools(self)
        #: autosave of labels and prompts in the per-user folder (``widgets/autosave.py``)
        self.autosave = Autosaver(self)
        self._predicting = False  # a background prediction is running
        self._pending = False  # prompts changed since the last prediction started
        #: predictions computed for prompts that changed while they ran, and therefore dropped
        self.dropped_results = 0
        build_panel(self)
        self.objects = ObjectList(self)
        self.busy_indicator = BusyIndicator(self.cancel_prediction)
        self._cancel_from: Any = None  # session state to return to when the running prediction ends
        self._started_from: Any = None  # session state when the running prediction started
        for extra in (self.busy_indicator, self.objects):
            self.layout().insertWidget(self.layout().count() - 1, extra)  # above the stretch
        self.viewer.mouse_drag_callbacks.append(self._on_mouse)
        self.viewer.dims.events.current_step.connect(self._on_step)
        self.viewer.layers.events.inserted.connect(self._refresh_layer_lists)
        self.viewer.layers.events.removed.connect(self._on_layer_removed)
        bind_shortcuts(self, [self.viewer])
        self._refresh_layer_lists()
        self.refresh_models()
        want = model or ("fdrn" if "fdrn" in list_models() else "random-walker")
        if not self.set_model(want, quiet=model is None) and want != "random-walker":
            self.set_model("random-walker")
        self.setToolTip(shortcut_help())

    # ------------------------------------------------------------------ UI
    def _show_polarity(self) -> None:
        kind = "POSITIVE (green)" if self.positive_click else "NEGATIVE (red)"
        self.polarity_label.setText(f"left click adds: {kind}; right click: the opposite")

    def _own_layers(self) -> list[Any]:
        return self.prompts.layers if self.prompts is not None else []

    def _is_own(self, layer: Any) -> bool:
        layer = unwrap(layer)
        return is_own(layer) or any(layer is own for own in self._own_layers())

    def _markers_on_top(self) -> None:
        if self.prompts is not None:
            markers_on_top(self.viewer, [self.prompts.box, self.prompts.negative, self.prompts.positive])

    def _refresh_layer_lists(self, event: Any = None) -> None:
        if event is not None and getattr(event, "type", "") == "inserted":
            self._markers_on_top()
        images = [lyr.name for lyr in self.viewer.layers if isinstance(lyr, Image) and not self._is_own(lyr)]
        labels = [lyr.name for lyr in self.viewer.layers if isinstance(lyr, Labels) and not self._is_own(lyr)]
        for combo, names in ((self.image_combo, images), (self.labels_combo, labels + [NEW_LABELS])):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            if current in names:
                combo.setCurrentText(current)
            combo.blockSignals(False)
        if self.geometry is None and images:
            self.set_image_layer(images[-1])
        if self.target is not None and self.target.name in labels:
            self.labels_combo.setCurrentText(self.target.name)
        else:  # never write into a layer the user did not choose (e.g. a ground truth)
            self.labels_combo.setCurrentText(NEW_LABELS)

    def _on_layer_removed(self, event: Any) -> None:
        layer = unwrap(event.value)
        if self.geometry is not None and layer is self.geometry.layer:
            show_warning("clickseg: the annotated image layer was removed; choose another image")
            self._drop_image()
            self.status.setText("")
        elif layer is self.target:
            show_warning(f"clickseg: the target labels layer {layer.name!r} was removed; the next commit "
                         f"creates a new one (its undo history is gone with it)")
            self._drop_target()
        self._refresh_layer_lists()

    def _drop_target(self) -> None:
        self.link.detach()
        self.objects.watch(None)
        self.autosave.watch(None)
        self.target = None
        self.history.clear()

    def refresh_models(self) -> None:
        """Re-read the registry (e.g. after a fine-tune) into the model menu."""
        current = self.model_combo.currentText()
        names = list_models()
        if names == [self.model_combo.itemText(i) for i in range(self.model_combo.count())]:
            return
        self.model_combo.clear()
        self.model_combo.addItems(names + ([current] if current and current not in names else []))
        if current:
            self.model_combo.setCurrentText(current)

    # ------------------------------------------------------------------ model / image / target
    def set_model(self, name: str, device: str | None = None, quiet: bool = False) -> bool:
        """Load model ``name``; on failure notify and keep the previous model. Returns success."""
        device = device or self.device_combo.currentText()
        try:
            # flip TTA only where the model has it (learned models): classical ones load without it
            flip = self.flip_box.isChecked() and get_model_info(name).kind != "classical"
            predictor = load_model(name, device=device, flip_tta=flip)
        except Exception as err:  # noqa: BLE001 - any load failure becomes a message
            if not quiet:
                show_error(f"clickseg: could not load model {name!r}: {err}")
            if self.model_name:
                self.model_combo.setCurrentText(self.model_name)
            return False
        self.set_predictor(predictor, lambda: load_model(name, device=device, flip_tta=flip))
        return True

    def set_predictor(self, predictor: Any, factory: Callable[[], Any] | None = None) -> None:
        """Use ``predictor`` (any Predictor) from now on; the current object's clicks are replayed."""
        self.wait_idle()
        clicks, box = (self.session.clicks, self.session.box) if (self.session and self.session.has_image) else ((), None)
        self.model_name = getattr(predictor, "name", "custom")
        self.model_key = model_identity(predictor)
        # workers never share the session's predictor (not thread-safe): they get their own
        self._make_predictor = factory or (lambda: copy.deepcopy(predictor))
        self.session = InteractiveSession(predictor, feature_store=self._store)
        self._index = None
        self._slice_history.clear()  # made with the old model
        if self.model_combo.findText(self.model_name) < 0:
            self.model_combo.addItem(self.model_name)
        self.model_combo.setCurrentText(self.model_name)
        if getattr(predictor, "trained", True) is False:
            show_warning(f"clickseg: model {self.model_name!r} has random (untrained) weights")
        if clicks or box is not None:
            show_info("clickseg: model changed; the current object is re-segmented with the new model")
            self._resegment()

    def use_feature_store(self, store: Any) -> None:
        """Read slices' features from ``store`` (``get(key)``, e.g. a ``ZarrFeatureStore`` made by
        ``clickseg precompute``) before encoding them; None stops using it."""
        self._store.store.backing = store

    def set_channels(self, channel_axis: int | None, channels: tuple[int, ...] | None = None) -> bool:
        """Use the first data axis as channels (``channel_axis=0``; up to 3 ``channels``) or none."""
        self.channels_edit.setText(",".join(map(str, channels or ())))
        self.channel_combo.blockSignals(True)
        self.channel_combo.setCurrentIndex(1 if channel_axis == 0 else 0)
        self.channel_combo.blockSignals(False)
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
            axis = 0 if self.channel_combo.currentIndex() == 1 else None
            text = self.channels_edit.text().replace(" ", "")
            chans = tuple(int(v) for v in text.split(",") if v) if (axis == 0 and text) else None
            geometry = ImageGeometry(layer, channel_axis=axis, channels=chans)
        except ValueError as err:
            show_error(f"clickseg: {err}")
            self._show_current_image()
            return False
        self._drop_image()
        self.status.setText("")
        self.geometry = geometry
        self._attach_prompts()
        if self.target is not None and self.target.data.shape != geometry.spatial_shape:
            show_warning(f"clickseg: target {self.target.name!r} does not match the new image; choose or create one")
            self._drop_target()
        self.image_combo.blockSignals(True)
        self.image_combo.setCurrentText(layer.name)
        self.image_combo.blockSignals(False)
        self.autosave.image_opened()  # offers to restore an autosave of this image
        return True

    def _show_current_image(self) -> None:
        """Make the image menu show the layer actually annotated (not a refused choice)."""
        g = self.geometry
        for box in (self.image_combo, self.channel_combo, self.channels_edit):
            box.blockSignals(True)
        if g is not None and g.layer in self.viewer.layers:
            self.image_combo.setCurrentText(g.layer.name)
            self.channel_combo.setCurrentIndex(1 if g.channel_axis == 0 else 0)
            self.channels_edit.setText(",".join(map(str, g.channels or ())) if g.channel_axis == 0 else "")
        else:
            self.image_combo.setCurrentIndex(-1)
        for box in (self.image_combo, self.channel_combo, self.channels_edit):
            box.blockSignals(False)

    def _rebuild_geometry(self) -> None:
        if self.geometry is not None:
            self.set_image_layer(self.geometry.layer, force=True)

    def _drop_image(self) -> None:
        self.autosave.image_closed()
        if self.prompts is not None:
            unbind_shortcuts(self.prompts.layers)
            self.prompts.remove()
        self.prompts, self.geometry, self._index = None, None, None
        self._slice_history.clear()

    def _attach_prompts(self) -> None:
        assert self.geometry is not None
        selected = self.viewer.layers.selection.active
        self.prompts = PromptLayers(self.viewer, self.geometry)
        for layer, role in zip(self.prompts.layers, ("positive", "negative", "box", "preview"), strict=True):
            mark_own(layer, role)
        style_preview(self.prompts.preview)
        self._markers_on_top()
        for layer in (self.prompts.positive, self.prompts.negative):
            layer.events.data.connect(self._on_points_event)
        self.prompts.box.events.data.connect(self._on_box_event)
        bind_shortcuts(self, self.prompts.layers)
        if selected is not None:
            self.viewer.layers.selection.active = selected

    def set_target(self, layer: Any = None) -> Labels | None:
        """Use ``layer`` (Labels or name) as the target; None or NEW_LABELS creates one."""
        if self.geometry is None:
            show_error("clickseg: choose an image layer first")
            return None
        if layer in (None, NEW_LABELS):
            g = self.geometry
            n = len(g.spatial_shape)
            layer = self.viewer.add_labels(
                np.zeros(g.spatial_shape, np.uint32), name="clickseg labels",
                scale=g.layer.scale[-n:], translate=g.layer.translate[-n:],
            )
        elif isinstance(layer, str):
            layer = self.viewer.layers[layer] if layer in self.viewer.layers else None
        layer = unwrap(layer)
        if not isinstance(layer, Labels) or self._is_own(layer):
            what = "one of the annotator's own layers" if self._is_own(layer) else "not a Labels layer"
            show_error(f"clickseg: {getattr(layer, 'name', layer)!r} is {what}; choose another labels layer or create a new one")
            self._show_current_target()
            return self.target
        if layer.data.shape != self.geometry.spatial_shape:
            show_error(
                f"clickseg: labels layer {layer.name!r} has shape {layer.data.shape}, but the image "
                f"needs {self.geometry.spatial_shape}; choose another layer or create a new one"
            )
            self._show_current_target()
            return self.target
        if not isinstance(layer.data, np.ndarray):
            show_error(f"clickseg: labels layer {layer.name!r} is not held in memory (numpy); convert it first")
            self._show_current_target()
            return self.target
        if layer is not self.target:
            self.history.clear()
        self.target = layer
        self.link.attach(layer)
        self.objects.watch(layer)
        self.autosave.watch(layer)
        self._refresh_layer_lists()
        self.labels_combo.setCurrentText(layer.name)
        return layer

    def _show_current_target(self) -> None:
        """Make the target menu show the layer actually written to (not a refused choice)."""
        self.labels_combo.setCurrentText(self.target.name if self.target is not None else NEW_LABELS)

    # ------------------------------------------------------------------ slice handling
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
        if self._index is not None and self.session.has_image and self.session.can_undo:
            # leaving a slice with an unfinished object: keep its undo history for coming back
            self._slice_history[self._index] = self.session.history()
            self._slice_history.move_to_end(self._index)
            while len(self._slice_history) > 16:
                self._slice_history.popitem(last=False)
        image = self.geometry.get_slice(index)
        try:
            self.session.set_image(image, key=slice_key(image, self.model_key))
        except (ValueError, TypeError) as err:
            show_error(f"clickseg: {slice_words(index)} cannot be segmented: {err}")
            self._index = None
            return False
        self._index = index
        kept = self._slice_history.pop(index, None)
        if kept is not None:
            self.session.restore_history(kept)  # refused (False) if the slice's data changed
        return True

    def _on_step(self, event: Any = None) -> None:
        if self.prompts is None or self.geometry is None:
            return
        index = self.current_index()
        if index == self._index:
            self._show()  # back on the session's slice (its preview was cleared on leaving)
            return
        self.prompts.show_mask(index, None)
        if self.prompts.clicks_on(index) or self.prompts.box_on(index) is not None:
            self._resegment()  # come back to a slice with clicks: restore its object

    # ------------------------------------------------------------------ prompts
    def _on_mouse(self, viewer: Any, event: Any):
        """Left click = positive, right or Ctrl/Shift click = negative; drags pan as usual."""
        if not self.active_box.isChecked() or self.prompts is None or event.type != "mouse_press":
            return
        active = viewer.layers.selection.active
        if active is self.prompts.box and active.mode != "pan_zoom":
            return  # drawing a box
        if active in (self.prompts.positive, self.prompts.negative) and active.mode != "pan_zoom":
            return  # editing points directly
        if isinstance(active, Labels) and active.mode != "pan_zoom":
            return  # painting labels
        start = np.asarray(event.position, float)
        dragged = False
        yield
        while event.type == "mouse_move":
            dragged = dragged or np.abs(np.asarray(event.position) - start).max() > 2
            yield
        if dragged:
            return
        negative = event.button == 2 or any(m in ("Control", "Shift") for m in map(str, event.modifiers))
        self.add_click_world(start, self.positive_click != negative)

    def add_click_world(self, world: Any, is_positive: bool = True) -> None:
        """Add a click at a world position (as a mouse click would)."""
        assert self.geometry is not None and self.prompts is not None
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

    def _on_points_event(self, event: Any) -> None:
        if self._syncing or str(getattr(event, "action", "changed")) not in ("added", "changed", "removed"):
            return
        self._resegment()

    def _on_box_event(self, event: Any) -> None:
        if self._syncing or str(getattr(event, "action", "changed")) not in ("added", "changed", "removed"):
            return
        if self.prompts is not None and self.geometry is not None:
            self._syncing = True
            try:
                self.prompts.clear_box_on(self.current_index(), keep_newest=True)
            finally:
                self._syncing = False
        self._resegment()

    def _resegment(self) -> None:
        """Bring the session in line with the prompt layers on the current slice.

        In background mode the prediction runs in a thread worker, one at a time; prompts that
        change meanwhile are queued (only the newest is kept), and a result whose session
        version or slice is no longer current is dropped, never shown.
        """
        if self.prompts is None:
            return
        self._pending = True
        if self._predicting:
            return  # the running prediction picks the newest prompts up when it ends
        self._run_pending()

    def _prompts_now(self) -> tuple[list[Click], Any] | None:
        assert self.prompts is not None and self.geometry is not None
        index = self._index
        clicks = self.prompts.clicks_on(index)
        outside = [c for c in clicks if not self.geometry.inside(index, c.row, c.col)]
        if outside:
            show_warning(f"clickseg: {len(outside)} click(s) outside the image ignored")
            clicks = [c for c in clicks if c not in outside]
        return clicks, self.prompts.box_on(index)

    def _run_pending(self) -> None:
        self._pending = False
        if self.prompts is None or not self._ensure_slice():
            return
        assert self.session is not None
        clicks, box = self._prompts_now()
        session, index = self.session, self._index

        def job() -> tuple[int, tuple[int, ...], np.ndarray]:
            if box != session.box:
                session.set_box(box)
            done = session.clicks
            if len(clicks) > len(done) and tuple(clicks[: len(done)]) == done:
                # clicks added (a burst, or a slice replayed): one undo step per click
                for k in range(len(done) + 1, len(clicks) + 1):
                    session.set_clicks(clicks[:k])
            else:
                session.set_clicks(clicks)
            return session.version, index, session.mask

        if not self.background_box.isChecked():
            try:
                job()
            except (ValueError, RuntimeError) as err:
                show_error(f"clickseg: segmentation failed: {err}")
                return
            self._show()
            return
        self._predicting = True
        self._started_from = session.state
        self.busy_indicator.start(f"{self.model_name} is working on {len(clicks)} click(s)"
                                  + (" and a box" if box is not None else "") + " ...")
        worker = create_worker(job)
        worker.returned.connect(self._on_prediction)
        worker.errored.connect(lambda err: show_error(f"clickseg: segmentation failed: {err}"))
        worker.finished.connect(self._on_prediction_finished)
        worker.start()

    def _on_prediction(self, result: tuple[int, tuple[int, ...], np.ndarray]) -> None:
        version, index, mask = result
        if self._cancel_from is not None:
            return  # cancelled: dropped; the session goes back in _on_prediction_finished
        if self._pending or self.session is None or version != self.session.version or index != self._index:
            self.dropped_results += 1  # superseded while it ran
            return
        if self.prompts is not None:
            self.prompts.show_mask(index, mask)
            self.status.setText(f"{self.model_name}: {len(self.session.clicks)} click(s), {int(mask.sum())} px")

    def _on_prediction_finished(self) -> None:
        self._predicting = False
        if self._cancel_from is not None:
            back, self._cancel_from = self._cancel_from, None
            session = self.session
            if session is not None and session.has_image:
                while session.state is not back and session.can_undo:
                    session.undo()  # cheap: earlier states are kept, nothing is predicted again
                self._show()
            self.status.setText("cancelled: the click(s) the model was working on were withdrawn")
        if self._pending:
            self._run_pending()
        else:
            self.busy_indicator.stop()

    def cancel_prediction(self) -> None:
        """Cancel the running background prediction: the click(s) and box it works on are
        withdrawn now, and its result is dropped when it arrives. No-op when idle."""
        if not self._predicting or self._started_from is None:
            return
        self._pending = False
        self._cancel_from = back = self._started_from
        if self.prompts is not None and self._index is not None:
            self._syncing = True
            try:
                self.prompts.set_clicks_on(self._index, back.clicks)
                if back.box is None:
                    self.prompts.clear_box_on(self._index)
            finally:
                self._syncing = False
        self.busy_indicator.label.setText("cancelling (the model finishes its step; the result is dropped) ...")
        self.status.setText("cancelled: the click(s) the model was working on were withdrawn")

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Process Qt events until no background prediction is running (or the timeout)."""
        import time

        from qtpy.QtWidgets import QApplication

        end = time.monotonic() + timeout_s
        while (self._predicting or self._pending) and time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.005)

    def _show(self) -> None:
        if self.prompts is not None and self._index is not None and self.session is not None:
            mask = self.session.mask if self.session.has_image else None
            self.prompts.show_mask(self._index, mask)
            self.status.setText(f"{self.model_name}: {len(self.session.clicks)} click(s), "
                                f"{int(mask.sum()) if mask is not None else 0} px")

    def _sync_layers_from_session(self) -> None:
        assert self.prompts is not None and self.session is not None
        self._syncing = True
        try:
            self.prompts.set_clicks_on(self._index, self.session.clicks)
            if self.prompts.box_on(self._index) != self.session.box:
                self.prompts.set_box_on(self._index, self.session.box)
        finally:
            self._syncing = False
        self._show()

    def toggle_polarity(self) -> None:
        self.positive_click = not self.positive_click
        self._show_polarity()

    def reset_object(self) -> None:
        """Clear the current object's clicks and box on this slice (committed labels untouched)."""
        self.wait_idle()
        if self.prompts is None:
            return
        index = self.current_index()
        self._syncing = True
        try:
            self.prompts.set_clicks_on(index, [])
            self.prompts.clear_box_on(index)
        finally:
            self._syncing = False
        if self.session is not None and self.session.has_image and self._index == index:
            self.session.reset()  # (a session holding another slice keeps that slice's object)
        self.prompts.show_mask(index, None)

    def undo(self) -> None:
        """Undo the last click; with no click left, undo the last commit or propagation."""
        self.wait_idle()
        if self.session is not None and self.session.has_image and self.session.can_undo and self._index == self.current_index():
            self.session.undo()
            self._sync_layers_from_session()
        elif self.target is not None and self.history.can_undo:
            edit = self.history.undo(self.target.data, write=self.link.write)
            ids = set(edit.label_ids)
            self.records = [r for r in self.records if not (r.label_id in ids and r in edit.meta.get("records", []))]
            self.records.extend(edit.meta.get("removed_records", []))  # an undone deletion
            text = f"undid the {edit.meta.get('what', 'commit')} of {objects_words(ids)}"
            show_info(f"clickseg: {text}")
            self.status.setText(f"{text} (Ctrl-Shift-Z redoes it)")

    def redo(self) -> None:
        """Redo the last undone click; otherwise the last undone commit or propagation."""
        self.wait_idle()
        if self.session is not None and self.session.has_image and self.session.can_redo and self._index == self.current_index():
            self.session.redo()
            self._sync_layers_from_session()
        elif self.target is not None and self.history.can_redo:
            edit = self.history.redo(self.target.data, write=self.link.write)
            self.records.extend(edit.meta.get("records", []))
            gone = edit.meta.get("removed_records", [])
            self.records = [r for r in self.records if not any(r is g for g in gone)]
            self.status.setText(f"redid the {edit.meta.get('what', 'commit')} of {objects_words(edit.label_ids)}")

    # ------------------------------------------------------------------ commit
    def _write_edit(self, edit: Edit) -> None:
        assert self.target is not None
        for p in edit.patches:
            idx, _, after = p.changed()
            self.link.write(idx, after)
        self.history.push(edit)
        self.records.extend(edit.meta.get("records", []))
        self.autosave.save_now()  # committed labels reach the disk at once

    def commit(self, label_id: int | None = None) -> int | None:
        """Write the current object into the target layer; returns the id written.

        Args:
            label_id: id to write; default the "commit as" box (its 0 = the next free id).
        """
        self.wait_idle()
        if self.session is None or not self.session.has_image or self._index != self.current_index():
            show_warning("clickseg: nothing to commit on this slice")
            return None
        mask = self.session.mask
        if not mask.any():
            show_warning("clickseg: the current object is empty; click on it first")
            return None
        if self.target is None and self.set_target(self.labels_combo.currentText() or None) is None:
            return None
        data = self.target.data
        label_id = label_id or self.object_id.value() or next_free_id(data)
        try:
            patch = commit_mask(data, mask, self._index, label_id, self.overwrite_box.isChecked(), apply=False)
        except ValueError as err:
            show_error(f"clickseg: cannot commit: {err}")
            return None
        if patch is None:
            show_warning("clickseg: the object lies entirely under existing objects; tick 'overwrite' to replace them")
            return None
        rec = ObjectRecord(label_id, self._index, list(self.session.clicks), self.session.box, self.model_name or "")
        self._write_edit(Edit([patch], (label_id,), {"what": "commit", "records": [rec]}))
        self.reset_object()
        self.object_id.setValue(0)
        self.status.setText(f"committed object {label_id} on {slice_words(self._index)}")
        return label_id

    # ------------------------------------------------------------------ 3D
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

    # ------------------------------------------------------------------ save / resume
    def save(self, path: str | Path | None = None) -> Path | None:
        """Save the target labels and the prompts of every committed object beside them."""
        return save_resume.save(self, path)

    def load(self, path: str | Path) -> Labels | None:
        """Resume: load a labels file (+ its prompts JSON) as the target layer."""
        return save_resume.load(self, path)

    def restore_autosave(self) -> Labels | None:
        """Restore the autosave offered for this image (labels as a new layer, prompts)."""
        return self.autosave.restore()

    # ------------------------------------------------------------------ teardown
    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self.cancel()
        self.link.detach()
        self.autosave.stop()
        unbind_shortcuts([self.viewer])
        if self._on_mouse in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.remove(self._on_mouse)
        super().closeEvent(event)
