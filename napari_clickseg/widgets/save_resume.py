"""Save and resume for the annotator: labels file + prompts JSON (``core.persistence``).

Functions taking the ``AnnotatorWidget``; every failure is a notification, nothing is lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari.utils.notifications import show_error, show_info

from ..core.persistence import AnnotationFile, load_annotation, save_annotation

__all__ = ["settings", "save", "load", "save_dialog", "load_dialog"]


def settings(ann: Any) -> dict:
    """The session settings saved beside the labels."""
    return {
        "model": ann.model_name, "device": ann.device_combo.currentText(),
        "flip_tta": ann.flip_box.isChecked(),
        "threshold": ann.session.threshold if ann.session else None,
        "image_layer": ann.geometry.layer.name if ann.geometry else None,
        "channel_axis": ann.geometry.channel_axis if ann.geometry else None,
        "channels": list(ann.geometry.channels or []) if ann.geometry else None,
        "overwrite": ann.overwrite_box.isChecked(), "min_iou": ann.min_iou.value() / 100,
    }


def save(ann: Any, path: str | Path | None = None) -> Path | None:
    """Save the target labels and the prompts of every committed object beside them."""
    path = path or ann.save_path
    if path is None:
        show_error("clickseg: no file name to save to")
        return None
    if ann.target is None:
        show_error("clickseg: no target labels layer to save")
        return None
    try:
        side = save_annotation(path, ann.target.data, AnnotationFile(list(ann.records), settings(ann)))
    except (ValueError, OSError) as err:
        show_error(f"clickseg: could not save: {err}")
        return None
    ann.save_path = Path(path)
    show_info(f"clickseg: saved {path} and {side.name}")
    return side


def load(ann: Any, path: str | Path) -> Any:
    """Resume: load a labels file (+ its prompts JSON) as the target layer."""
    try:
        arr, saved = load_annotation(path)
    except (ValueError, OSError) as err:
        show_error(f"clickseg: could not resume from {path}: {err}")
        return None
    if ann.geometry is not None and arr.shape != ann.geometry.spatial_shape:
        show_error(f"clickseg: {path} has shape {arr.shape}, the image needs {ann.geometry.spatial_shape}")
        return None
    g = ann.geometry
    n = arr.ndim
    kw = {"scale": g.layer.scale[-n:], "translate": g.layer.translate[-n:]} if g is not None else {}
    layer = ann.viewer.add_labels(arr, name=Path(path).stem, **kw)
    if ann.set_target(layer) is layer:
        ann.records = list(saved.objects)
        ann.save_path = Path(path)
        model = saved.settings.get("model")
        flip = bool(saved.settings.get("flip_tta", False))
        if flip != ann.flip_box.isChecked():
            ann.flip_box.blockSignals(True)
            ann.flip_box.setChecked(flip)
            ann.flip_box.blockSignals(False)
            ann.set_model(model or ann.model_name or "random-walker")
        elif model and model != ann.model_name:
            ann.set_model(model)
    return layer


def save_dialog(ann: Any) -> None:
    """Ask for a file name, then ``save``."""
    from qtpy.QtWidgets import QFileDialog

    start = str(ann.save_path or "labels.tif")
    path, _ = QFileDialog.getSaveFileName(ann, "Save labels", start, "TIFF (*.tif *.tiff);;NumPy (*.npy)")
    if path:
        save(ann, path)


def load_dialog(ann: Any) -> None:
    """Ask for a labels file, then ``load``."""
    from qtpy.QtWidgets import QFileDialog

    path, _ = QFileDialog.getOpenFileName(ann, "Resume from labels", "", "Labels (*.tif *.tiff *.npy)")
    if path:
        load(ann, path)
