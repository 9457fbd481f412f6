"""The annotator's controls (layout only; behaviour lives in ``annotator.AnnotatorWidget``)."""

from __future__ import annotations

from typing import Any, Callable

from qtpy.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
    QSpinBox, QVBoxLayout,
)

from . import save_resume

__all__ = ["build_panel", "RefreshingCombo", "NEW_LABELS", "DEVICES"]

NEW_LABELS = "<new labels layer>"
DEVICES = ("auto", "cpu", "cuda", "mps")


class RefreshingCombo(QComboBox):
    """A combo box that re-reads its items right before its menu opens."""

    def __init__(self, refresh: Callable[[], None]) -> None:
        super().__init__()
        self._refresh = refresh

    def showPopup(self) -> None:  # noqa: N802 - Qt API
        self._refresh()
        super().showPopup()


def build_panel(w: Any) -> None:
    """Create the annotator's controls as attributes of ``w`` and connect them to its methods."""
    w.image_combo, w.labels_combo = QComboBox(), QComboBox()
    w.model_combo, w.device_combo = RefreshingCombo(w.refresh_models), QComboBox()
    w.device_combo.addItems(DEVICES)
    w.channel_combo = QComboBox()
    w.channel_combo.addItems(["none / RGB", "first axis"])
    w.channels_edit = QLineEdit("")
    w.channels_edit.setPlaceholderText("channels to use, e.g. 0,2 (default: first 3)")
    w.active_box = QCheckBox("annotator active (mouse clicks add prompts)")
    w.active_box.setChecked(True)
    w.overwrite_box = QCheckBox("overwrite existing objects")
    w.object_id = QSpinBox()
    w.object_id.setRange(0, 2**31 - 1)
    w.object_id.setSpecialValueText("next free id")
    w.object_id.setToolTip("id the next commit writes; 'next free id' starts a new object, an existing id "
                              "continues that object on this slice (e.g. before 'Propagate between')")
    w.background_box = QCheckBox("predict in background (UI stays responsive with slow models)")
    w.background_box.setChecked(True)
    w.flip_box = QCheckBox("flip TTA (learned models: also predict the mirror image; ~1.5x time per click)")
    w.flip_box.setToolTip("flip test-time augmentation: the slice and its mirror are predicted together and "
                          "averaged; no effect on classical models")
    w.polarity_label = QLabel()
    w.status = QLabel("")
    w.status.setWordWrap(True)
    w.min_iou = QSpinBox()
    w.min_iou.setRange(0, 100)
    w.min_iou.setValue(30)
    w.min_iou.setSuffix(" % IoU to go on")
    form = QFormLayout()
    form.addRow("image", w.image_combo)
    form.addRow("channel axis", w.channel_combo)
    form.addRow("channels", w.channels_edit)
    form.addRow("target labels", w.labels_combo)
    form.addRow("model", w.model_combo)
    form.addRow("device", w.device_combo)
    lay = QVBoxLayout(w)
    lay.addLayout(form)
    lay.addWidget(w.active_box)
    lay.addWidget(w.background_box)
    lay.addWidget(w.flip_box)
    lay.addWidget(w.polarity_label)

    def row(*buttons: tuple[str, Callable[[], Any]]) -> QHBoxLayout:
        h = QHBoxLayout()
        for text, fn in buttons:
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, f=fn: f())
            h.addWidget(b)
        return h

    lay.addLayout(row(("Commit [Shift-C]", w.commit), ("Reset object [Shift-X]", w.reset_object)))
    lay.addLayout(row(("Undo [Ctrl-Z]", w.undo), ("Redo [Ctrl-Shift-Z]", w.redo),
                      ("+/- [N]", w.toggle_polarity)))
    lay.addWidget(w.overwrite_box)
    ids = QFormLayout()
    ids.addRow("commit as", w.object_id)
    lay.addLayout(ids)
    vol = QGroupBox("3D")
    vl = QVBoxLayout(vol)
    vl.addWidget(w.min_iou)
    vl.addLayout(row(("Propagate back [Shift-B]", w.propagate_backward),
                     ("Propagate fwd [Shift-F]", w.propagate_forward)))
    vl.addLayout(row(("Propagate between", w.propagate_between), ("Precompute volume", w.precompute),
                     ("Cancel", w.cancel)))
    lay.addWidget(vol)
    lay.addLayout(row(("Save labels + prompts…", lambda: save_resume.save_dialog(w)),
                      ("Resume…", lambda: save_resume.load_dialog(w))))
    lay.addWidget(w.status)
    lay.addStretch(1)
    w.image_combo.currentTextChanged.connect(lambda name: w.set_image_layer(name) if name else None)
    w.channel_combo.currentIndexChanged.connect(lambda _: w._rebuild_geometry())
    w.channels_edit.editingFinished.connect(w._rebuild_geometry)
    w.labels_combo.activated.connect(lambda _: w.set_target(w.labels_combo.currentText()))
    w.model_combo.activated.connect(lambda _: w.set_model(w.model_combo.currentText()))
    w.device_combo.activated.connect(lambda _: w.set_model(w.model_name or "random-walker"))
    w.flip_box.toggled.connect(lambda _: w.set_model(w.model_name or "random-walker"))
    w._show_polarity()
