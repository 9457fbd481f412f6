"""The fine-tuning dock widget: train a learned model on the slices the user labelled.

A thin front end over ``train.finetune.finetune``: pick the image and labels layers (slices that
carry labels are found automatically), a base model, a step and time budget and a name; the run
happens in a napari thread worker with a progress bar, validation numbers and a cancel button.
The saved model lands in the per-user model folder and every annotator docked in the same
viewer refreshes its model menu at once.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from napari.layers import Image, Labels
from napari.qt.threading import create_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.labels import labelled_slices
from ..models.registry import get_model_info, loadable_models
from .viewer_objects import is_own, unwrap
from .wording import slices_words

__all__ = ["FinetuneWidget"]


def base_kept(card: dict) -> bool:
    """Whether a fine-tune's model card says the base weights were kept (no step improved them)."""
    training = card.get("training") or {}
    return training.get("kind") == "finetune" and training.get("best_step") == 0


class FinetuneWidget(QWidget):
    """Fine-tune a model on labelled slices of a stack (or a labelled 2D image)."""

    #: (step, total, info) emitted from the worker thread, delivered in the UI thread
    step_done = Signal(int, int, object)
    #: the name of a newly saved model
    model_saved = Signal(str)

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = unwrap(napari_viewer)  # the plain viewer (menu docking wraps it in a proxy)
        self.worker: Any = None
        self.result: Any = None
        #: further ``FinetuneConfig`` fields (scripts and tests; e.g. ``{"val_clicks": 3}``)
        self.extra_config: dict[str, Any] = {}
        self._stop = threading.Event()
        self._pbar: Any = None
        self.image_combo, self.labels_combo, self.base_combo = QComboBox(), QComboBox(), QComboBox()
        self.steps = QSpinBox()
        self.steps.setRange(1, 100000)
        self.steps.setValue(400)
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.1, 600)
        self.minutes.setValue(5.0)
        self.minutes.setSuffix(" min")
        self.name_edit = QLineEdit("my-model")
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda", "mps"])
        self.allow_untrained = QCheckBox("allow a base without trained weights (testing)")
        self.slices_label, self.status = QLabel(""), QLabel("")
        self.status.setWordWrap(True)
        self.start_button, self.cancel_button = QPushButton("Start fine-tuning"), QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        form = QFormLayout()
        form.addRow("image", self.image_combo)
        form.addRow("labels", self.labels_combo)
        form.addRow("", self.slices_label)
        form.addRow("base model", self.base_combo)
        form.addRow("max steps", self.steps)
        form.addRow("time budget", self.minutes)
        form.addRow("device", self.device_combo)
        form.addRow("new model name", self.name_edit)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.allow_untrained)
        h = QHBoxLayout()
        h.addWidget(self.start_button)
        h.addWidget(self.cancel_button)
        lay.addLayout(h)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)
        self.labels_combo.currentTextChanged.connect(self._show_slices)
        self.step_done.connect(self._on_step)
        self.model_saved.connect(self._notify_annotators)
        self.viewer.layers.events.inserted.connect(self.refresh)
        self.viewer.layers.events.removed.connect(self.refresh)
        self.refresh()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        # a run in progress goes on (its model is still saved); the closed widget stops
        # following the viewer's layers
        self.viewer.layers.events.inserted.disconnect(self.refresh)
        self.viewer.layers.events.removed.disconnect(self.refresh)
        super().closeEvent(event)

    # ------------------------------------------------------------------ choices
    def refresh(self, event: Any = None) -> None:
        """Re-read layers and learned models into the menus."""
        for combo, kind in ((self.image_combo, Image), (self.labels_combo, Labels)):
            cur = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([lyr.name for lyr in self.viewer.layers if type(unwrap(lyr)) is kind and not is_own(lyr)])
            if cur:
                combo.setCurrentText(cur)
            combo.blockSignals(False)
        cur = self.base_combo.currentText()
        self.base_combo.clear()
        self.base_combo.addItems([n for n in loadable_models() if get_model_info(n).kind != "classical"])
        if cur:
            self.base_combo.setCurrentText(cur)
        self._show_slices()

    def labelled_slices(self) -> list[int]:
        """Slices (first axis) of the chosen labels layer that carry labels ([0] for 2D)."""
        name = self.labels_combo.currentText()
        if name not in self.viewer.layers:
            return []
        return labelled_slices(np.asarray(self.viewer.layers[name].data))

    def _show_slices(self, *_: Any) -> None:
        zs = self.labelled_slices()
        name = self.labels_combo.currentText()
        flat = name in self.viewer.layers and np.ndim(self.viewer.layers[name].data) == 2
        where = "the image" if flat else slices_words(zs)
        self.slices_label.setText(f"labelled: {where}" if zs else "no labelled slice yet")

    # ------------------------------------------------------------------ run
    def start(self) -> Any:
        """Start the fine-tune in a thread worker; returns the worker (None on bad input)."""
        from ..train.finetune import FinetuneConfig, finetune

        if self.worker is not None:
            show_error("clickseg: a fine-tune is already running")
            return None
        img_name, lab_name = self.image_combo.currentText(), self.labels_combo.currentText()
        if img_name not in self.viewer.layers or lab_name not in self.viewer.layers:
            show_error("clickseg: choose an image layer and a labels layer")
            return None
        image = self.viewer.layers[img_name].data
        labels = self.viewer.layers[lab_name].data
        if self.viewer.layers[img_name].rgb:
            spatial = image.shape[:-1]
        else:
            spatial = image.shape
        if tuple(spatial) != tuple(labels.shape):
            show_error(f"clickseg: image {img_name!r} {image.shape} and labels {lab_name!r} {labels.shape} differ in shape")
            return None
        slices = self.labelled_slices()
        if not slices:
            show_error(f"clickseg: labels layer {lab_name!r} has no labelled slice; annotate some objects first")
            return None
        try:
            cfg = FinetuneConfig(
                max_steps=self.steps.value(), max_minutes=self.minutes.value(),
                device=self.device_combo.currentText(), allow_untrained=self.allow_untrained.isChecked(),
                **{"val_every": max(1, min(50, self.steps.value())), **self.extra_config},
            )
        except (ValueError, TypeError) as err:
            show_error(f"clickseg: {err}")
            return None
        name, base = self.name_edit.text().strip(), self.base_combo.currentText()
        self._stop.clear()
        self.worker = create_worker(
            finetune, np.asarray(image), np.asarray(labels), None, base, name, cfg,
            progress=lambda s, t, info: self.step_done.emit(s, t, info), should_stop=self._stop.is_set,
        )
        self._pbar = progress(total=cfg.max_steps, desc=f"clickseg: fine-tuning {name}")
        self.worker.returned.connect(self._on_done)
        self.worker.errored.connect(lambda err: show_error(f"clickseg: fine-tuning failed: {err}"))
        self.worker.finished.connect(self._on_finished)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"fine-tuning {base} -> {name} on {slices_words(slices)} ...")
        self.worker.start()
        return self.worker

    def cancel(self) -> None:
        """Ask the running fine-tune to stop (the best weights so far are saved)."""
        self._stop.set()
        self.status.setText("cancelling ...")

    @property
    def running(self) -> bool:
        return self.worker is not None

    def _on_step(self, step: int, total: int, info: dict) -> None:
        if self._pbar is not None:
            self._pbar.n = step
            self._pbar.refresh()
        text = f"step {step}/{total}, loss {info.get('loss', float('nan')):.3f}"
        if "noc90" in info:
            text += f", validation NoC@90 {info['noc90']:.2f} (best {info.get('best_noc90', info['noc90']):.2f})"
        self.status.setText(text)

    def _on_done(self, result: Any) -> None:
        self.result = result
        hist = result.history
        val = f"; validation NoC@90 {hist[0]['noc90']:.2f} -> {min(h['noc90'] for h in hist):.2f}" if hist else ""
        if base_kept(result.card):
            base = result.card.get("base", "the base model")
            self.status.setText(f"saved model {result.name!r} at {result.weights_path}: its weights are those of "
                                f"{base}, unchanged (no training step improved the validation{val}); "
                                f"label more slices or train longer")
            show_info(f"clickseg: {result.name!r} saved with {base}'s weights unchanged: the fine-tune did not "
                      f"improve on the base model")
        else:
            self.status.setText(f"saved model {result.name!r} at {result.weights_path}{val}")
            show_info(f"clickseg: fine-tuned model {result.name!r} saved; it is in the annotator's model menu")
        self.model_saved.emit(result.name)

    def _on_finished(self) -> None:
        if self._pbar is not None:
            self._pbar.close()
            self._pbar = None
        self.worker = None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.refresh()

    def _notify_annotators(self, name: str) -> None:
        from .annotator import AnnotatorWidget

        for w in list(self.viewer.window.dock_widgets.values()):
            w = getattr(w, "native", w)
            if isinstance(w, AnnotatorWidget):
                w.refresh_models()
