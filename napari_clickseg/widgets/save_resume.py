"""Save and resume for the annotator: labels file + prompts JSON (``AnnotationDocument``).

Functions taking the ``AnnotatorWidget`` and using its public API (``document``, ``settings``,
``set_target``, ``apply_settings``); every failure is a notification, nothing is lost. Labels of
huge slides (``ChunkedLabels``) are saved and resumed chunk by chunk (a tiled TIFF).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari.utils.notifications import show_error, show_info

from ..core.chunked_labels import ChunkedLabels
from ..core.document import AnnotationDocument
from .large_labels import add_chunked_layer

__all__ = ["save", "load", "save_dialog", "load_dialog"]


def save(ann: Any, path: str | Path | None = None) -> Path | None:
    """Save the target labels and the prompts of every committed object beside them."""
    path = path or ann.save_path
    if path is None:
        show_error("clickseg: no file name to save to")
        return None
    if ann.document is None:
        show_error("clickseg: no target labels layer to save")
        return None
    try:
        side = ann.document.save(path, ann.settings())
    except (ValueError, OSError) as err:
        show_error(f"clickseg: could not save: {err}")
        return None
    ann.save_path = Path(path)
    show_info(f"clickseg: saved {path} and {side.name}")
    return side


def load(ann: Any, path: str | Path) -> Any:
    """Resume: load a labels file (+ its prompts JSON) as the target layer."""
    try:
        saved = AnnotationDocument.load(path)
    except (ValueError, OSError) as err:
        show_error(f"clickseg: could not resume from {path}: {err}")
        return None
    g = ann.geometry
    if g is not None and saved.shape != g.spatial_shape:
        show_error(f"clickseg: {path} has shape {saved.shape}, the image needs {g.spatial_shape}")
        return None
    n = len(saved.shape)
    kw = {"scale": g.layer.scale[-n:], "translate": g.layer.translate[-n:]} if g is not None else {}
    if isinstance(saved.labels, ChunkedLabels):  # a huge slide's labels, read chunk by chunk
        layer = add_chunked_layer(ann.viewer, saved.labels, name=Path(path).stem, **kw)
    else:
        layer = ann.viewer.add_labels(saved.labels, name=Path(path).stem, **kw)
    if ann.set_target(layer) is layer:
        ann.document.records = list(saved.records)
        ann.save_path = Path(path)
        ann.apply_settings(saved.settings)
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
