"""The prompt layers and the session, kept in line: layer edits in, session states out.

``PromptSync`` creates the annotator's own layers (``layers.PromptLayers``: positive and
negative points, box, preview) over one image and listens to them. Every change a user makes
to the click points or the box (mouse clicks, napari's point and shape tools, deletes, moves)
calls ``on_change`` once (the annotator then asks its prediction queue for a prediction);
writes the annotator makes itself (``set_on``: undo, redo, a restored slice) call nothing.
A new box replaces the slice's old one.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from napari.utils.notifications import show_warning

from ..core.clicks import Box, Click
from .layers import ImageGeometry, PromptLayers
from .prediction_queue import Job
from .shortcuts import bind_shortcuts, unbind_shortcuts
from .viewer_objects import mark_own, markers_on_top, style_preview

__all__ = ["PromptSync", "ROLES"]

#: roles of the prompt layers (``viewer_objects.mark_own``), in ``PromptLayers.layers`` order
ROLES = ("positive", "negative", "box", "preview")


class PromptSync:
    """The prompt layers of one image, and their events.

    Args:
        viewer: the (unwrapped) napari viewer.
        geometry: the image annotated.
        on_change: called when the user changed the clicks or the box.
        keys: the widget whose shortcuts are bound on the new layers (``shortcuts``).
    """

    def __init__(self, viewer: Any, geometry: ImageGeometry, on_change: Callable[[], None], keys: Any) -> None:
        self.viewer, self.geometry, self.on_change = viewer, geometry, on_change
        selected = viewer.layers.selection.active
        self.prompts = PromptLayers(viewer, geometry)
        for layer, role in zip(self.prompts.layers, ROLES, strict=True):
            mark_own(layer, role)
        style_preview(self.prompts.preview)
        self.markers_on_top()
        self._syncing = False
        for layer in (self.prompts.positive, self.prompts.negative):
            layer.events.data.connect(self._on_points_event)
        self.prompts.box.events.data.connect(self._on_box_event)
        bind_shortcuts(keys, self.prompts.layers)
        if selected is not None:
            viewer.layers.selection.active = selected

    def markers_on_top(self) -> None:
        """Draw the click points and the box above every other layer (e.g. one added later)."""
        p = self.prompts
        markers_on_top(self.viewer, [p.box, p.negative, p.positive])

    def remove(self) -> None:
        """Remove the prompt layers from the viewer."""
        unbind_shortcuts(self.prompts.layers)
        self.prompts.remove()

    def set_on(self, index: tuple[int, ...], clicks: Sequence[Click], box: Box | None) -> None:
        """Put clicks (those inside the image) and a box on slice ``index``; ``on_change`` is not called."""
        self._syncing = True
        try:
            self.prompts.set_clicks_on(index, [c for c in clicks if self.geometry.inside(index, c.row, c.col)])
            self.prompts.set_box_on(index, box)
        finally:
            self._syncing = False

    def job(self, session: Any, index: tuple[int, ...], model: str) -> Job:
        """The prediction that brings ``session`` (holding slice ``index``) to that slice's
        prompts; clicks outside the image are left out (with a warning)."""
        clicks = self.prompts.clicks_on(index)
        outside = [c for c in clicks if not self.geometry.inside(index, c.row, c.col)]
        if outside:
            show_warning(f"clickseg: {len(outside)} click(s) outside the image ignored")
        return Job(session, index, [c for c in clicks if c not in outside], self.prompts.box_on(index), model)

    @staticmethod
    def _is_edit(event: Any) -> bool:
        return str(getattr(event, "action", "changed")) in ("added", "changed", "removed")

    def _on_points_event(self, event: Any) -> None:
        if not self._syncing and self._is_edit(event):
            self.on_change()

    def _on_box_event(self, event: Any) -> None:
        if self._syncing or not self._is_edit(event):
            return
        self._syncing = True
        try:
            self.prompts.clear_box_on(self.geometry.current_index(self.viewer), keep_newest=True)
        finally:
            self._syncing = False
        self.on_change()
