"""napari-clickseg: click-based interactive segmentation of 2D slices for napari.

Python API (the same core as the ``clickseg`` CLI and the napari widgets)::

    from napari_clickseg import load_model, InteractiveSession, Click
    session = InteractiveSession(load_model("random-walker"), image)
    mask = session.add_click(120, 80)            # (row, col), positive
    mask = session.add_click(130, 95, False)     # negative click

    doc = AnnotationDocument.blank(image.shape[:2])   # the committed labels, undo/redo, save
    lid = doc.commit(session.mask, clicks=session.clicks, model="random-walker")
    doc.edit(lid, session=session)               # correct an existing object: its mask is the prompt
    doc.replace(lid, session.mask, clicks=session.clicks)
    doc.undo(); doc.save("labels.tif")           # AnnotationDocument.load("labels.tif") resumes
"""

from __future__ import annotations

__version__ = "0.1.0"  # the package version (pyproject.toml reads it from here)

from .core.clicks import Box, Click
from .core.document import AnnotationDocument
from .core.session import InteractiveSession
from .models.registry import build_model, list_models, load_model

__all__ = [
    "AnnotationDocument",
    "Box",
    "Click",
    "InteractiveSession",
    "build_model",
    "list_models",
    "load_model",
    "__version__",
]
