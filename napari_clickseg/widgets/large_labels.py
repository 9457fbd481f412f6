"""The annotator's layers on huge slides: chunked target labels and a window-sized preview.

A dense uint32 target for a 20000x20000 slide is 1.6 GB, and napari holds the whole displayed
plane of a single-scale Labels layer in memory whatever backs it (a zarr array included: its
slice is read in full). So on slides with more than ``core.chunked_labels.CHUNKED_LABELS_MIN_PIXELS``
pixels the target the annotator creates is a ``ChunkedLabels`` (zarr chunks in memory, only
those holding labels stored) shown as a *multiscale* Labels layer: napari reads only the tiles
it draws, at the level it draws. napari cannot paint into multiscale labels (its brush, fill
and eraser are off on such a layer); the annotator's commits, edits, deletions, undo and redo
all work, writing only the object's bounding box. Smaller slides keep a numpy target napari
paints into.

The preview of the current object on a slice with windowed maps (``core.lazy_image.is_large``)
is a Labels layer holding the object's rectangle only, placed at its offset (``translate``).

Functions here take napari layers and are the only place the annotator tells numpy and chunked
targets apart (``chunked_of``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..core import chunked_labels as _chunked
from ..core.chunked_labels import ChunkedLabels
from ..core.document import AnnotationDocument
from ..core.labels import mask_bbox
from ..core.window import WindowedMap

__all__ = [
    "chunked_of", "labels_of", "new_target_layer", "add_chunked_layer", "redraw", "document_for",
    "value_at", "object_mask", "WindowPreview",
]


def chunked_of(layer: Any) -> ChunkedLabels | None:
    """The ``ChunkedLabels`` behind a Labels layer made by ``add_chunked_layer`` (else None)."""
    data = getattr(layer, "data", None)
    if getattr(layer, "multiscale", False) and data is not None and len(data):
        data = data[0]
    return data if isinstance(data, ChunkedLabels) else None


def labels_of(layer: Any) -> Any:
    """What to read a target layer's labels from: its ``ChunkedLabels`` or its numpy array."""
    found = chunked_of(layer)
    return found if found is not None else np.asarray(layer.data)


def add_chunked_layer(viewer: Any, labels: ChunkedLabels, **kwargs: Any) -> Any:
    """Add ``labels`` to ``viewer`` as a multiscale Labels layer (its levels, finest first)."""
    return viewer.add_labels(labels.pyramid(), multiscale=True, **kwargs)


def new_target_layer(viewer: Any, geometry: Any, name: str = "clickseg labels", min_pixels: int | None = None) -> Any:
    """An empty target Labels layer for ``geometry`` (the image's scale and translate):
    ``ChunkedLabels`` when its slices have more than ``min_pixels`` pixels (default
    ``CHUNKED_LABELS_MIN_PIXELS``), else a numpy uint32 array."""
    shape = tuple(geometry.spatial_shape)
    n = len(shape)
    kw = dict(name=name, scale=geometry.layer.scale[-n:], translate=geometry.layer.translate[-n:])
    limit = _chunked.CHUNKED_LABELS_MIN_PIXELS if min_pixels is None else min_pixels
    if _chunked.needs_chunked_labels(shape, limit):
        return add_chunked_layer(viewer, ChunkedLabels.create(shape), **kw)
    return viewer.add_labels(np.zeros(shape, np.uint32), **kw)


def redraw(layer: Any) -> None:
    """Make napari draw a chunked layer's levels again after a write (setting its data drops
    napari's copy of the coarsest level; only the tiles in view are read)."""
    layer.data = layer.data


def document_for(layer: Any, link: Any) -> AnnotationDocument:
    """The annotation document of a target layer; its writes go through ``link`` (the
    annotator's ``TargetLink``): ``data_setitem`` for numpy layers, for chunked ones a write
    into the ``ChunkedLabels`` (its bounding box) and a redraw."""
    chunked = chunked_of(layer)
    if chunked is None:
        return AnnotationDocument(layer.data, write=link.write)

    def write(indices: tuple[np.ndarray, ...], values: np.ndarray) -> None:
        with link.writing():
            chunked.set_points(indices, values)
            redraw(layer)

    return AnnotationDocument(chunked, write=write)


def value_at(layer: Any, index: Sequence[int]) -> int:
    """The label at data index ``index`` (all axes) of a Labels layer."""
    data = chunked_of(layer)
    return int(np.asarray((data if data is not None else layer.data)[tuple(int(v) for v in index)]))


def object_mask(layer: Any, lead: tuple[int, ...], label_id: int) -> np.ndarray | WindowedMap:
    """Object ``label_id`` on slice ``lead`` of a Labels layer: HxW bool, or for a chunked
    layer a bool ``WindowedMap`` of its bounding box (only that box is read)."""
    chunked = chunked_of(layer)
    if chunked is not None:
        return chunked.object_mask(label_id, lead)
    return np.asarray(layer.data[lead]) == int(label_id)


class WindowPreview:
    """The current object's preview on a large slice: a Labels layer holding the object's
    rectangle (uint8, 1 on the object) at its offset, instead of a slice-sized array.

    Args:
        viewer: the napari viewer.
        geometry: ``layers.ImageGeometry`` of the annotated image (scale, translate, shape).
        name: the layer's name.
    """

    def __init__(self, viewer: Any, geometry: Any, name: str) -> None:
        n = len(geometry.spatial_shape)
        self.n_lead = n - 2
        self.scale = np.asarray(geometry.layer.scale[-n:], float)
        self.origin = np.asarray(geometry.layer.translate[-n:], float)
        self.layer = viewer.add_labels(np.zeros((1,) * n, np.uint8), name=name, opacity=0.5,
                                       scale=self.scale, translate=self.origin)

    def show(self, lead: tuple[int, ...], mask: np.ndarray | WindowedMap | None) -> None:
        """Show ``mask`` (a ``WindowedMap``, or HxW bool) of slice ``lead``; None or an empty
        mask clears the preview."""
        box = None
        if mask is not None:
            if isinstance(mask, WindowedMap):
                box = mask.bbox()
            else:
                b = mask_bbox(mask)
                box = None if b is None else (b[0].start, b[1].start, b[0].stop - 1, b[1].stop - 1)
        if box is None:
            data, at = np.zeros((1, 1), np.uint8), (0,) * (self.n_lead + 2)
        else:
            rect = mask.read(box) if isinstance(mask, WindowedMap) else np.asarray(mask)[box[0] : box[2] + 1, box[1] : box[3] + 1]
            data, at = rect.astype(np.uint8), (*lead, box[0], box[1])
        self.layer.translate = self.origin + self.scale * np.asarray(at, float)
        self.layer.data = data.reshape((1,) * self.n_lead + data.shape)

    def shown(self, shape: Sequence[int]) -> WindowedMap:
        """What the layer shows, as a bool ``WindowedMap`` of a slice of ``shape`` (H, W)."""
        at = np.rint((np.asarray(self.layer.translate, float) - self.origin) / self.scale).astype(int)[-2:]
        data = np.asarray(self.layer.data).reshape(np.asarray(self.layer.data).shape[-2:]) > 0
        return WindowedMap(shape, tuple(at), data, False)
