"""Which layers the annotator works on: the image, the target labels, the layer objects are edited from.

Composition, not inheritance: ``LayerChoice(annotator)`` holds the image being annotated (its
``layers.ImageGeometry`` and prompt layers, ``prompt_sync.PromptSync``) and the target Labels
layer with its ``AnnotationDocument``, switches between layers, and keeps the panel's menus
(``panel.Controls``) in line with the viewer's layers, never offering the annotator's own
layers (click points, box, preview). A layer is checked before it is used: one that cannot be
used is a notification saying why and what to do, and None. Layers may be given as layer
objects (plain or napari-proxied) or names. It calls the annotator's public API only
(``current``, ``session``, ``autosave``, ``objects``, ``link``, ``resegment``, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_warning

from ..core.document import AnnotationDocument
from .large_labels import chunked_of, document_for, new_target_layer
from .layers import ImageGeometry
from .panel import NEW_LABELS, TARGET_SOURCE
from .prompt_sync import PromptSync
from .viewer_objects import is_own, unwrap

__all__ = ["LayerChoice"]


class LayerChoice:
    """The image and target layers of one ``AnnotatorWidget`` (``ann``).

    Attributes:
        geometry: the image annotated (None: no image chosen).
        sync: its prompt layers (None without an image).
        target: the target Labels layer (None: the next commit creates one).
        document: the target's ``AnnotationDocument`` (None without a target).
    """

    def __init__(self, ann: Any) -> None:
        self.ann = ann
        self.viewer, self.controls = ann.viewer, ann.controls
        self.geometry: ImageGeometry | None = None
        self.sync: PromptSync | None = None
        self.target: Labels | None = None
        self.document: AnnotationDocument | None = None

    # -- reading ---------------------------------------------------------------------------
    def is_own(self, layer: Any) -> bool:
        """Whether ``layer`` is one of the annotator's own layers."""
        layer = unwrap(layer)
        return is_own(layer) or (self.sync is not None and any(layer is own for own in self.sync.prompts.layers))

    def find(self, layer: Any) -> Any:
        """The plain layer object of ``layer`` (a layer or a name; None when no layer has that name)."""
        if isinstance(layer, str):
            layer = self.viewer.layers[layer] if layer in self.viewer.layers else None
        return unwrap(layer)

    def names(self, kind: type) -> list[str]:
        """Names of the viewer's layers of ``kind`` (Image or Labels) that are not the annotator's."""
        return [lyr.name for lyr in self.viewer.layers if isinstance(lyr, kind) and not self.is_own(lyr)]

    def labels_layer(self, layer: Any) -> Labels | None:
        """``layer`` if it can be the target or an edit source of the image (a Labels layer of
        the image's shape holding integer ids in memory); else notify and None."""
        layer, shape = self.find(layer), self.geometry.spatial_shape
        if not isinstance(layer, Labels) or self.is_own(layer):
            what = "one of the annotator's own layers" if self.is_own(layer) else "not a Labels layer"
            show_error(f"clickseg: {getattr(layer, 'name', layer)!r} is {what}; choose another labels layer or create a new one")
        elif layer.data.shape != shape:
            show_error(f"clickseg: labels layer {layer.name!r} has shape {layer.data.shape}, but the image needs "
                       f"{shape}; choose another layer or create a new one")
        elif not isinstance(layer.data, np.ndarray) and chunked_of(layer) is None:
            show_error(f"clickseg: labels layer {layer.name!r} is not held in memory (numpy); convert it first")
        elif not np.issubdtype(layer.data.dtype, np.integer):
            show_error(f"clickseg: labels layer {layer.name!r} holds {layer.data.dtype} values, not integer ids; convert it first")
        else:
            return layer
        return None

    def edit_source(self, source: Any = None) -> Labels | None:
        """The Labels layer objects are edited from: ``source`` (a layer or name), by default
        the one chosen under "edit objects of" (the target itself unless another is chosen)."""
        if self.geometry is None:
            show_error("clickseg: choose an image layer first")
            return None
        source = source if source is not None else self.controls.source_combo.currentText()
        if source in (None, TARGET_SOURCE) or source is self.target:
            if self.target is None:
                show_error("clickseg: there is no target labels layer to edit yet; choose one (or a layer under 'edit objects of')")
            return self.target
        return self.labels_layer(source)

    # -- menus -----------------------------------------------------------------------------
    def refresh(self, event: Any = None) -> None:
        """Re-read the viewer's layers into the image, target and edit-source menus; the first
        image layer added is annotated. The target menu shows the target (or "new layer"):
        the annotator never writes into a layer the user did not choose (e.g. a ground truth)."""
        if event is not None and getattr(event, "type", "") == "inserted" and self.sync is not None:
            self.sync.markers_on_top()
        images, labels = self.names(Image), self.names(Labels)
        c = self.controls
        c.set_choices(c.image_combo, images)
        c.set_choices(c.labels_combo, labels + [NEW_LABELS])
        c.set_choices(c.source_combo, [TARGET_SOURCE] + labels)
        if self.geometry is None and images:
            self.set_image(images[-1])
        t = self.target
        c.labels_combo.setCurrentText(t.name if t is not None and t.name in labels else NEW_LABELS)

    def on_removed(self, event: Any) -> None:
        """A layer was removed from the viewer: let go of it if it was the image or the target."""
        layer = unwrap(event.value)
        if self.geometry is not None and layer is self.geometry.layer:
            show_warning("clickseg: the annotated image layer was removed; choose another image")
            self.drop_image()
        elif layer is self.target:
            show_warning(f"clickseg: the target labels layer {layer.name!r} was removed; the next commit "
                         f"creates a new one (its undo history is gone with it)")
            self.drop_target()
        self.refresh()

    def show_image(self) -> None:
        """Make the image menus show the layer actually annotated (not a refused choice)."""
        g = self.geometry
        shown = g is not None and g.layer in self.viewer.layers
        self.controls.show_image(g.layer.name if shown else None, g.channel_axis if g else None, g.channels if g else None)

    # -- switching -------------------------------------------------------------------------
    def set_image(self, layer: Any, force: bool = False) -> bool:
        """Annotate ``layer`` (``AnnotatorWidget.set_image_layer``)."""
        ann, layer = self.ann, self.find(layer)
        if not isinstance(layer, Image) or self.is_own(layer):
            show_error(f"clickseg: {getattr(layer, 'name', layer)!r} is not an image layer to annotate; choose an Image layer")
            self.show_image()
            return False
        if self.geometry is not None and layer is self.geometry.layer and not force:
            return True
        if ann.session is not None and ann.session.has_image and ann.session.clicks:
            show_warning("clickseg: image changed; the unfinished object was dropped (committed labels are kept)")
        try:
            geometry = ImageGeometry(layer, *self.controls.channel_choice())
        except ValueError as err:
            show_error(f"clickseg: {err}")
            self.show_image()
            return False
        self.drop_image()
        self.geometry = geometry
        self.sync = PromptSync(self.viewer, geometry, ann.resegment, ann)
        if self.target is not None and self.target.data.shape != geometry.spatial_shape:
            show_warning(f"clickseg: target {self.target.name!r} does not match the new image; choose or create one")
            self.drop_target()
        self.show_image()
        ann.autosave.image_opened()  # offers to restore an autosave of this image
        return True

    def drop_image(self) -> None:
        """Stop annotating the image: its prompt layers go, the current object with them."""
        self.ann.autosave.image_closed()
        if self.sync is not None:
            self.sync.remove()
        self.sync, self.geometry = None, None
        self.ann.current.drop()
        self.ann.show_status("")

    def set_target(self, layer: Any = None) -> Labels | None:
        """Use ``layer`` (Labels or name) as the target (``AnnotatorWidget.set_target``)."""
        ann = self.ann
        if self.geometry is None:
            show_error("clickseg: choose an image layer first")
            return None
        if layer in (None, NEW_LABELS):
            layer = new_target_layer(self.viewer, self.geometry)  # chunked on huge slides (large_labels)
        layer = self.labels_layer(layer)
        if layer is None:
            self.controls.labels_combo.setCurrentText(self.target.name if self.target is not None else NEW_LABELS)
            return self.target
        if layer is not self.target:
            self.target = layer
            ann.current.editing = None
            ann.link.attach(layer)
            self.document = document_for(layer, ann.link)
            self.document.listeners.append(self._on_document_change)
            ann.objects.watch(layer)
            ann.autosave.watch(layer)
        self.refresh()
        self.controls.labels_combo.setCurrentText(layer.name)
        return layer

    def drop_target(self) -> None:
        """Let go of the target layer (and its document; the next commit creates a new one)."""
        self.ann.link.detach()
        self.ann.objects.watch(None)
        self.ann.autosave.watch(None)
        self.target, self.document = None, None
        self.ann.current.editing = None

    def _on_document_change(self, what: str) -> None:
        if not what.startswith("hand edit"):
            self.ann.autosave.save_now()  # committed labels reach the disk at once
