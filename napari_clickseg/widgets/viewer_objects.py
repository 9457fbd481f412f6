"""Identity of viewers and layers as a dock widget sees them, and the annotator's own layers.

A widget docked through napari's Plugins menu (``viewer.window.add_plugin_dock_widget``, the
npe2 manifest path) receives its viewer wrapped in napari's ``PublicOnlyProxy``, and every
layer read through that viewer comes back as a *new* proxy object. Identity checks
(``layer is self.target``, ``id(layer)``) then fail (napari/napari#5767): removed layers go
unnoticed and own layers are offered as targets. The widgets therefore work on the plain
objects (``unwrap``); the proxy only guards private attributes, which they do not touch.

The annotator's own layers (click points, box, preview) carry a role in their ``metadata``
(``OWN_ROLE_KEY``), so any widget can recognise them whatever the layer's name or wrapper.
"""

from __future__ import annotations

from typing import Any

__all__ = ["unwrap", "mark_own", "own_role", "is_own", "style_preview", "markers_on_top", "OWN_ROLE_KEY",
           "PREVIEW_COLOR"]

#: the preview (the object being segmented) is drawn as an outline of this colour: committed
#: objects are filled with their id's colour, so the two cannot be mistaken for one another
PREVIEW_COLOR = "#ffffff"
PREVIEW_CONTOUR = 2

#: ``layer.metadata`` key naming the annotator's own layers ("positive", "negative", "box", "preview")
OWN_ROLE_KEY = "clickseg_role"


def unwrap(obj: Any) -> Any:
    """The plain object behind napari's (wrapt) proxies; ``obj`` itself when not wrapped."""
    inner = getattr(obj, "__wrapped__", None)
    while inner is not None and inner is not obj:
        obj, inner = inner, getattr(inner, "__wrapped__", None)
    return obj


def mark_own(layer: Any, role: str) -> None:
    """Mark ``layer`` as one of the annotator's own layers, with its ``role``."""
    unwrap(layer).metadata[OWN_ROLE_KEY] = role


def own_role(layer: Any) -> str | None:
    """The role of one of the annotator's own layers (None for any other layer)."""
    meta = getattr(unwrap(layer), "metadata", None)
    return meta.get(OWN_ROLE_KEY) if isinstance(meta, dict) else None


def is_own(layer: Any) -> bool:
    """Whether ``layer`` is one of the annotator's own layers (points, box, preview)."""
    return own_role(layer) is not None


def style_preview(layer: Any) -> None:
    """Draw a preview Labels layer (values 0/1) as a ``PREVIEW_COLOR`` outline, opaque."""
    from napari.utils.colormaps import DirectLabelColormap

    layer = unwrap(layer)
    layer.colormap = DirectLabelColormap(color_dict={None: "transparent", 0: "transparent", 1: PREVIEW_COLOR})
    layer.contour = PREVIEW_CONTOUR
    layer.opacity = 1.0


def markers_on_top(viewer: Any, layers: list[Any]) -> None:
    """Move ``layers`` (click points, box) to the top of the layer list, in their order.

    Layers added later (a target labels layer created by the first commit, say) would otherwise
    be drawn over the click markers.
    """
    order = list(viewer.layers)
    present = [lyr for lyr in layers if any(lyr is o for o in order)]
    if not present or all(a is b for a, b in zip(order[-len(present):], present, strict=True)):
        return
    for lyr in present:
        viewer.layers.move(viewer.layers.index(lyr), len(viewer.layers))
