"""The annotator's controls: a typed ``Controls`` object built by ``build_panel``.

Layout only; behaviour lives in ``annotator.AnnotatorWidget``, whose public methods the buttons
and menus call. The widget reads its settings from ``Controls`` (``AnnotatorWidget.settings``);
helpers never read Qt widgets themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from . import save_resume

__all__ = ["Controls", "build_panel", "RefreshingCombo", "NEW_LABELS", "TARGET_SOURCE", "DEVICES"]

NEW_LABELS = "<new labels layer>"
#: the "edit objects of" menu entry meaning the target layer itself
TARGET_SOURCE = "<target labels>"
DEVICES = ("auto", "cpu", "cuda", "mps")


class RefreshingCombo(QComboBox):
    """A combo box that re-reads its items right before its menu opens."""

    def __init__(self, refresh: Callable[[], None]) -> None:
        super().__init__()
        self._refresh = refresh

    def showPopup(self) -> None:  # noqa: N802 - Qt API
        self._refresh()
        super().showPopup()


@dataclass
class Controls:
    """Every control of the annotator panel (Qt widgets)."""

    image_combo: QComboBox
    channel_combo: QComboBox
    channels_edit: QLineEdit
    labels_combo: QComboBox
    source_combo: QComboBox
    model_combo: RefreshingCombo
    device_combo: QComboBox
    active_box: QCheckBox
    background_box: QCheckBox
    flip_box: QCheckBox
    overwrite_box: QCheckBox
    object_id: QSpinBox
    min_iou: QSpinBox
    polarity_label: QLabel
    status: QLabel

    @staticmethod
    def set_choices(combo: QComboBox, names: Sequence[str], current: str | None = None) -> None:
        """Replace a menu's items without signals; keep ``current`` (default: the shown item) if listed."""
        keep = combo.currentText() if current is None else current
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(list(names))
        if keep in names:
            combo.setCurrentText(keep)
        combo.blockSignals(False)

    def show_image(self, name: str | None, channel_axis: int | None, channels: Sequence[int] | None) -> None:
        """Make the image menus show the layer actually annotated (not a refused choice)."""
        boxes = (self.image_combo, self.channel_combo, self.channels_edit)
        for box in boxes:
            box.blockSignals(True)
        if name is not None:
            self.image_combo.setCurrentText(name)
            self.channel_combo.setCurrentIndex(1 if channel_axis == 0 else 0)
            self.channels_edit.setText(",".join(map(str, channels or ())) if channel_axis == 0 else "")
        else:
            self.image_combo.setCurrentIndex(-1)
        for box in boxes:
            box.blockSignals(False)

    def channel_choice(self) -> tuple[int | None, tuple[int, ...] | None]:
        """(channel axis, channels) chosen: (0, chosen or None) for "first axis", else (None, None)."""
        axis = 0 if self.channel_combo.currentIndex() == 1 else None
        text = self.channels_edit.text().replace(" ", "")
        return axis, (tuple(int(v) for v in text.split(",") if v) if (axis == 0 and text) else None)


def build_panel(w: Any) -> Controls:
    """Create the controls of annotator ``w`` in ``w``'s layout, connected to its public methods."""
    c = Controls(
        image_combo=QComboBox(), channel_combo=QComboBox(), channels_edit=QLineEdit(""),
        labels_combo=QComboBox(), source_combo=QComboBox(), model_combo=RefreshingCombo(w.refresh_models),
        device_combo=QComboBox(), active_box=QCheckBox("annotator active (mouse clicks add prompts)"),
        background_box=QCheckBox("predict in background (UI stays responsive with slow models)"),
        flip_box=QCheckBox("flip TTA (learned models: also predict the mirror image; slower clicks)"),
        overwrite_box=QCheckBox("overwrite existing objects"), object_id=QSpinBox(), min_iou=QSpinBox(),
        polarity_label=QLabel(), status=QLabel(""),
    )
    c.device_combo.addItems(DEVICES)
    c.channel_combo.addItems(["none / RGB", "first axis"])
    c.channels_edit.setPlaceholderText("channels to use, e.g. 0,2 (default: first 3)")
    c.source_combo.addItem(TARGET_SOURCE)
    c.source_combo.setToolTip("Ctrl-Shift-click (Cmd-Shift-click on macOS) on an object of this layer edits it: "
                              "its mask becomes the current object, the next clicks correct it")
    c.active_box.setChecked(True)
    c.object_id.setRange(0, 2**31 - 1)
    c.object_id.setSpecialValueText("next free id")
    c.object_id.setToolTip("id the next commit writes; 'next free id' starts a new object, an existing id "
                           "continues that object on this slice (e.g. before 'Propagate between')")
    c.background_box.setChecked(True)
    c.flip_box.setToolTip("flip test-time augmentation: the slice and its mirror are predicted together and "
                          "averaged; no effect on classical models")
    c.status.setWordWrap(True)
    c.min_iou.setRange(0, 100)
    c.min_iou.setValue(30)
    c.min_iou.setSuffix(" % IoU to go on")
    form = QFormLayout()
    for label, box in (("image", c.image_combo), ("channel axis", c.channel_combo), ("channels", c.channels_edit),
                       ("target labels", c.labels_combo), ("edit objects of", c.source_combo),
                       ("model", c.model_combo), ("device", c.device_combo)):
        form.addRow(label, box)
    lay = QVBoxLayout(w)
    lay.addLayout(form)
    for box in (c.active_box, c.background_box, c.flip_box, c.polarity_label):
        lay.addWidget(box)

    def row(*buttons: tuple[str, Callable[[], Any]]) -> QHBoxLayout:
        h = QHBoxLayout()
        for text, fn in buttons:
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, f=fn: f())
            h.addWidget(b)
        return h

    lay.addLayout(row(("Commit [Shift-C]", w.commit), ("Reset object [Shift-X]", w.reset_object)))
    lay.addLayout(row(("Undo [Ctrl-Z]", w.undo), ("Redo [Ctrl-Shift-Z]", w.redo), ("+/- [N]", w.toggle_polarity)))
    lay.addLayout(row(("Delete object [Shift-D]", w.delete_object),))
    lay.addWidget(c.overwrite_box)
    ids = QFormLayout()
    ids.addRow("commit as", c.object_id)
    lay.addLayout(ids)
    vol = QGroupBox("3D")
    vl = QVBoxLayout(vol)
    vl.addWidget(c.min_iou)
    vl.addLayout(row(("Propagate back [Shift-B]", w.propagate_backward), ("Propagate fwd [Shift-F]", w.propagate_forward)))
    vl.addLayout(row(("Propagate between", w.propagate_between), ("Precompute volume", w.precompute), ("Cancel", w.cancel)))
    lay.addWidget(vol)
    lay.addLayout(row(("Save labels + prompts…", lambda: save_resume.save_dialog(w)),
                      ("Resume…", lambda: save_resume.load_dialog(w))))
    lay.addWidget(c.status)
    lay.addStretch(1)
    c.image_combo.currentTextChanged.connect(lambda name: w.set_image_layer(name) if name else None)
    c.channel_combo.currentIndexChanged.connect(lambda _: w.rebuild_geometry())
    c.channels_edit.editingFinished.connect(w.rebuild_geometry)
    c.labels_combo.activated.connect(lambda _: w.set_target(c.labels_combo.currentText()))
    c.model_combo.activated.connect(lambda _: w.set_model(c.model_combo.currentText()))
    c.device_combo.activated.connect(lambda _: w.set_model(w.model_name or "random-walker"))
    c.flip_box.toggled.connect(lambda _: w.set_model(w.model_name or "random-walker"))
    return c


def insert_above_stretch(parent: QWidget, *extras: QWidget) -> None:
    """Add widgets at the end of ``parent``'s panel, above its final stretch."""
    lay = parent.layout()
    for extra in extras:
        lay.insertWidget(lay.count() - 1, extra)
