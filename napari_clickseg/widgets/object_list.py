"""The annotator's object list: every object of the target layer with its id, area and slices.

Select (the next commit continues that id; napari's brush paints it), go to (the slice where
the object is largest, centred), delete (one undoable step of the annotator's history). The
table follows the target layer: any change to it (commit, propagation, undo, a napari brush
stroke) refreshes it shortly after, once, however many changes came in between. A chunked
target (``large_labels``) is listed from its object index and "go to" reads the object's box
only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from napari.utils.notifications import show_warning
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..core.objects import ObjectStats, largest_slice, object_stats
from ..core.window import WindowedMap
from .large_labels import labels_of, object_mask
from .viewer_objects import unwrap

__all__ = ["ObjectList"]

COLUMNS = ("id", "area (px)", "slices")


class ObjectList(QGroupBox):
    """Object table of one ``AnnotatorWidget`` (``ann``)."""

    def __init__(self, ann: Any) -> None:
        super().__init__("Objects")
        self.ann = ann
        self.layer: Any = None
        self.stats: list[ObjectStats] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setMaximumHeight(180)
        self.table.cellDoubleClicked.connect(lambda row, _col: self.go_to(self._id_at(row)))
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        buttons = QHBoxLayout()
        for text, fn in (("Select", self.select), ("Go to", self.go_to), ("Delete", self.delete)):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, f=fn: f())
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.refresh)

    # ------------------------------------------------------------------ following the target
    def watch(self, layer: Any) -> None:
        """Follow ``layer`` (the annotator's target; None: none)."""
        layer = unwrap(layer)
        if layer is self.layer:
            return
        if self.layer is not None:
            for emitter in (self.layer.events.paint, self.layer.events.data):
                try:
                    emitter.disconnect(self.schedule_refresh)
                except (TypeError, ValueError, RuntimeError):
                    pass
        self.layer = layer
        if layer is not None:
            layer.events.paint.connect(self.schedule_refresh)
            layer.events.data.connect(self.schedule_refresh)
        self.refresh()

    def schedule_refresh(self, event: Any = None) -> None:
        """Refresh shortly (many edits in a row cost one refresh)."""
        self._timer.start()

    def refresh(self) -> None:
        """Re-read the objects of the target layer into the table now."""
        self._timer.stop()
        self.stats = object_stats(labels_of(self.layer)) if self.layer is not None else []  # chunked: from its index
        keep = self.selected_id()
        self.table.setRowCount(len(self.stats))
        for row, s in enumerate(self.stats):
            span = "" if s.first is None else (f"{s.first}" if s.first == s.last else f"{s.first}-{s.last}")
            for col, text in enumerate((str(s.label_id), str(s.area), span)):
                self.table.setItem(row, col, QTableWidgetItem(text))
            if s.label_id == keep:
                self.table.selectRow(row)

    # ------------------------------------------------------------------ actions
    def _id_at(self, row: int) -> int | None:
        return self.stats[row].label_id if 0 <= row < len(self.stats) else None

    def selected_id(self) -> int | None:
        """The id of the selected row (None if no row is selected)."""
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._id_at(rows[0].row()) if rows else None

    def choose(self, label_id: int) -> bool:
        """Select the row of object ``label_id`` (False if there is no such object)."""
        for row, s in enumerate(self.stats):
            if s.label_id == label_id:
                self.table.selectRow(row)
                return True
        return False

    def _resolve(self, label_id: int | None) -> int | None:
        lid = label_id if label_id is not None else self.selected_id()
        if lid is None or self.layer is None:
            show_warning("clickseg: choose an object in the list first")
            return None
        return int(lid)

    def select(self, label_id: int | None = None) -> int | None:
        """Make ``label_id`` (default: the selected row) the id of the next commit and of napari's brush."""
        lid = self._resolve(label_id)
        if lid is None:
            return None
        self.choose(lid)
        self.layer.selected_label = lid
        self.ann.controls.object_id.setValue(lid)
        self.ann.show_status(f"next commit continues object {lid}")
        return lid

    def go_to(self, label_id: int | None = None) -> int | None:
        """Show the slice where object ``label_id`` is largest, centred on it; returns that slice."""
        lid = self._resolve(label_id)
        if lid is None:
            return None
        self.choose(lid)
        z = largest_slice(labels_of(self.layer), lid)
        mask = object_mask(self.layer, (z,) if z is not None else (), lid)  # chunked: its box only
        off = mask.offset if isinstance(mask, WindowedMap) else (0, 0)
        rows, cols = np.nonzero(mask.data if isinstance(mask, WindowedMap) else mask)
        if rows.size == 0:
            show_warning(f"clickseg: object {lid} is not in {self.layer.name!r} any more")
            return None
        point = ([z] if z is not None else []) + [float(rows.mean()) + off[0], float(cols.mean()) + off[1]]
        world = np.asarray(self.layer.data_to_world(point), float)
        viewer = self.ann.viewer
        offset = viewer.dims.ndim - len(world)
        if z is not None:
            viewer.dims.set_point(offset, world[0])
        scene = getattr(viewer, "scene", None)  # napari >= 0.9 keeps the camera there
        (scene.camera if scene is not None else viewer.camera).center = tuple(world[-2:])
        return z

    def delete(self, label_id: int | None = None) -> bool:
        """Erase object ``label_id`` (default: the selected row) as one undoable step."""
        lid = self._resolve(label_id)
        if lid is None or not self.ann.delete_object(lid):
            return False
        self.refresh()
        return True
