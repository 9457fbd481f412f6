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

__all__ = ["unwrap", "mark_own", "own_role", "is_own", "OWN_ROLE_KEY"]

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
