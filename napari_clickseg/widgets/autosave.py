"""Autosave and restore for the annotator (files and format: ``core.autosave``).

The annotator's committed labels, its object records and the prompts of every slice are
written to the per-user autosave folder right after each commit or propagation, and every few
seconds while something changed (a click, a box, an undo, painting on the target layer). When an
image whose autosave holds something is opened again (after a crash, or simply in a new
session), a notification offers to restore it; restoring adds the saved labels as a *new*
Labels layer (no existing layer is changed) and puts the prompts back on their slices.
Declining, or committing a new object before restoring, moves the old autosave aside
(``<signature>.previous.*``) instead of overwriting it.

Lazy images (dask, zarr, a multiscale pyramid) are autosaved too, signed by a few windows of
their finest level; a chunked target (huge slides, ``large_labels``) is written chunk by chunk,
only the chunks changed since the last write.

Off with ``CLICKSEG_AUTOSAVE=0`` (environment) or ``annotator.autosave.enabled = False``.
"""

from __future__ import annotations

import hashlib
import logging
import time
import zlib
from typing import Any

import numpy as np
from napari.utils.notifications import (
    Notification,
    NotificationSeverity,
    notification_manager,
    show_warning,
)
from qtpy.QtCore import QTimer

from ..core.autosave import Autosave, AutosaveState, SlicePrompts, autosave_enabled, image_signature
from ..core.chunked_labels import ChunkedLabels
from .large_labels import add_chunked_layer, chunked_of

__all__ = ["Autosaver", "INTERVAL_S"]
log = logging.getLogger(__name__)

#: seconds between two checks for unsaved changes
INTERVAL_S = 3.0
#: label arrays up to this size are also compared by checksum at every check (catches every
#: way of changing them, napari's own undo included); larger ones rely on the layer's events
_CRC_BYTES = 32 << 20


def _crc(arr: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(arr).data)


class Autosaver:
    """Keeps the autosave of the annotator's current image up to date.

    Args:
        ann: the ``AnnotatorWidget``.
        interval_s: seconds between checks for unsaved changes.
    """

    def __init__(self, ann: Any, interval_s: float = INTERVAL_S) -> None:
        self.ann = ann
        #: False turns autosave off for this annotator (``$CLICKSEG_AUTOSAVE=0``: off from the start)
        self.enabled = autosave_enabled()
        self.store: Autosave | None = None
        #: a saved state of the current image, offered for restoring and not yet taken or declined
        self.offer: AutosaveState | None = None
        self._watched: Any = None
        self._labels_dirty = False
        self._labels_crc: int | None = None
        self._last_doc: Any = None
        self._timer = QTimer(ann)
        self._timer.setInterval(int(interval_s * 1000))
        self._timer.timeout.connect(self.tick)
        self._timer.start()

    # -- image and target -----------------------------------------------------------------------
    def image_opened(self) -> None:
        """The annotator now works on ``ann.geometry``: find its autosave and offer it."""
        self.store, self.offer, self._last_doc = None, None, None
        self._labels_dirty, self._labels_crc = False, None
        g = self.ann.geometry
        if not self.enabled or g is None:
            return
        # the labels' shape depends on the channel axis chosen, so it is part of the key; lazy
        # (dask, zarr, multiscale) images are signed by a few windows of their finest level
        sig = hashlib.sha1(f"{image_signature(g.data)}|channels={g.channel_axis}".encode()).hexdigest()
        store = self.store = Autosave(sig)
        self._baseline()
        try:
            state = store.read()
        except ValueError as err:
            show_warning(f"clickseg: {err}; it was set aside and a new autosave starts")
            store.set_aside()
            return
        if state is None or state.is_empty:
            return
        if state.labels is not None and state.labels.shape != g.spatial_shape:
            show_warning(f"clickseg: the autosave {store.labels_path} does not fit this image; it was set aside")
            store.set_aside()
            return
        self.offer = state
        n = len(state.records)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(state.saved_at))
        notification_manager.dispatch(Notification(
            f"clickseg: this image has an autosave from {when} ({n} committed object(s), prompts on "
            f"{len(state.prompts)} slice(s)). Restore it? (annotator.restore_autosave())",
            severity=NotificationSeverity.INFO,
            actions=[("Restore", lambda *_: self.restore()), ("Discard", lambda *_: self.decline())],
        ))

    def image_closed(self) -> None:
        """The annotator leaves its image: write what changed, then stop writing for it."""
        self.tick()
        self.store, self.offer = None, None

    def watch(self, layer: Any) -> None:
        """Follow edits of the target Labels layer ``layer`` (None: no target).

        Choosing a target is not a change: only edits after it are saved.
        """
        if self._watched is not None:
            for emitter in (self._watched.events.paint, self._watched.events.data):
                emitter.disconnect(self.labels_changed)
        self._watched = layer
        if layer is not None:
            layer.events.paint.connect(self.labels_changed)
            layer.events.data.connect(self.labels_changed)
        self._labels_crc = self._small_crc(layer)

    @staticmethod
    def _small_crc(layer: Any) -> int | None:
        data = getattr(layer, "data", None)
        return _crc(data) if isinstance(data, np.ndarray) and data.nbytes <= _CRC_BYTES else None

    def _doc(self) -> tuple[Any, list[SlicePrompts]]:
        prompts = self._prompts()
        target = self.ann.target
        shape = None if target is None else tuple(target.data.shape)
        return ([r.to_json() for r in self.ann.records], [s.to_json() for s in prompts], shape), prompts

    def _baseline(self) -> None:
        """What is there now counts as saved: only later changes are written."""
        self._last_doc = self._doc()[0]
        self._labels_dirty = False
        self._labels_crc = self._small_crc(self.ann.target)

    def labels_changed(self, event: Any = None) -> None:
        self._labels_dirty = True

    # -- writing ----------------------------------------------------------------------------------
    def _prompts(self) -> list[SlicePrompts]:
        p = self.ann.prompts
        if p is None:
            return []
        return [SlicePrompts(lead, p.clicks_on(lead), p.box_on(lead)) for lead in p.slices_with_prompts()]

    def tick(self) -> bool:
        """Write what changed since the last write; returns whether anything was written."""
        if not self.enabled or self.store is None:
            return False
        target = self.ann.target
        labels = None if target is None else chunked_of(target)  # a huge slide: written chunk by chunk
        if labels is None and target is not None and isinstance(target.data, np.ndarray):
            labels = target.data
        crc = self._small_crc(target)
        if crc is not None:
            self._labels_dirty = self._labels_dirty or crc != self._labels_crc
        doc, prompts = self._doc()
        records = list(self.ann.records)
        write_labels = labels is not None and self._labels_dirty
        if not write_labels and doc == self._last_doc:
            return False
        if self.offer is not None:  # new work before the old autosave was restored: keep that one
            self.store.set_aside()
            self.offer = None
        try:
            if write_labels:
                self.store.write_labels(labels)
                self._labels_dirty, self._labels_crc = False, crc
            self.store.write_state(records, prompts, self._settings(), None if labels is None else labels.shape)
        except (OSError, ValueError) as err:
            show_warning(f"clickseg: autosave to {self.store.folder} failed: {err}")
            return False
        self._last_doc = doc
        return True

    def save_now(self) -> bool:
        """Write at once (after a commit or propagation)."""
        return self.tick()

    def _settings(self) -> dict[str, Any]:
        try:
            return self.ann.settings()
        except Exception as err:  # noqa: BLE001 - settings are a courtesy; the labels matter
            log.debug("autosave settings unavailable: %s", err)
            return {}

    # -- restoring --------------------------------------------------------------------------------
    def restore(self) -> Any:
        """Restore the offered autosave: labels as a new target layer, records, prompts.

        Returns:
            The new Labels layer (or the current target if the autosave had no labels), or
            None if there was nothing to restore.
        """
        state, ann = self.offer, self.ann
        if state is None or ann.geometry is None or ann.prompts is None:
            return None
        ann.wait_idle()
        g = ann.geometry
        layer = ann.target
        if state.labels is not None:
            n = len(state.labels.shape)
            kw = dict(name="clickseg labels (restored)", scale=g.layer.scale[-n:], translate=g.layer.translate[-n:])
            if isinstance(state.labels, np.ndarray):
                layer = ann.viewer.add_labels(state.labels, **kw)
            else:  # a huge slide's zarr labels: copied chunk by chunk into a new chunked target
                layer = add_chunked_layer(ann.viewer, ChunkedLabels.from_array(state.labels), **kw)
            ann.set_target(layer)
        if ann.document is not None:
            ann.document.records = list(state.records)
        for sp in state.prompts:
            ann.set_prompts(sp.index, list(sp.clicks), sp.box)
        self.offer = None
        self._baseline()
        index = ann.current_index()
        if ann.prompts.has_prompts(index):
            ann.resegment()  # the current slice's restored prompts
        return layer

    def decline(self) -> None:
        """Do not restore: the old autosave is set aside (kept as ``*.previous.*``)."""
        if self.offer is not None and self.store is not None:
            self.store.set_aside()
        self.offer = None

    def stop(self) -> None:
        """Write what is left and stop the timer (the widget closes)."""
        self.tick()
        self._timer.stop()
