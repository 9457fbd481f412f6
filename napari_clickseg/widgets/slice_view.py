"""The annotator's current slice: what the session holds, what the viewer shows, and the object on it.

``SliceView(annotator)`` makes the session hold the slice the viewer shows (encoded once,
cached), follows the viewer's dims (leaving a slice clears its preview, coming back to a slice
with prompts restores its object), draws the current object and says what it is, and clears it.
It reads and calls the annotator's public API only (``current``, ``session``, ``geometry``,
``prompts``, ``viewer``, ``model_key``, ``resegment``, ``set_prompts``, ``show_status``, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from napari.utils.notifications import show_error, show_warning

from ..core.lazy_image import slice_key
from .wording import slice_words

__all__ = ["SliceView"]


class SliceView:
    """The slice and current object of one ``AnnotatorWidget`` (``ann``)."""

    def __init__(self, ann: Any) -> None:
        self.ann = ann

    def index(self) -> tuple[int, ...]:
        """The leading (non-spatial) data index of the slice the viewer shows."""
        assert self.ann.geometry is not None
        return self.ann.geometry.current_index(self.ann.viewer)

    def hold(self) -> bool:
        """Make the session hold the viewer's current slice; False (with a message) when it cannot."""
        ann = self.ann
        if ann.geometry is None or ann.session is None:
            show_error("clickseg: choose an image layer and a model first")
            return False
        if ann.viewer.dims.ndisplay != 2:
            show_warning("clickseg: switch the viewer to 2D to annotate a slice")
            return False
        index = self.index()
        if ann.current.holds(index):
            return True
        image = ann.geometry.get_slice(index)
        try:
            ann.current.hold(index, image, slice_key(image, ann.model_key))
        except (ValueError, TypeError) as err:
            show_error(f"clickseg: {slice_words(index)} cannot be segmented: {err}")
            return False
        return True

    def on_step(self, event: Any = None) -> None:
        """The viewer moved to another slice (napari's ``dims.events.current_step``)."""
        ann = self.ann
        if ann.prompts is None or ann.geometry is None:
            return
        index = self.index()
        if index == ann.held_index:
            self.show()  # back on the session's slice (its preview was cleared on leaving)
        else:
            ann.prompts.show_mask(index, None)
            if ann.prompts.has_prompts(index):
                ann.resegment()  # come back to a slice with clicks: restore its object

    def show(self, mask: np.ndarray | None = None) -> None:
        """Draw the current object (``mask``, default the session's) on the held slice and say what it is."""
        ann = self.ann
        s, held = ann.session, ann.held_index
        if ann.prompts is None or held is None or s is None:
            return
        mask = s.mask if (mask is None and s.has_image) else mask
        ann.prompts.show_mask(held, mask)
        what = f"editing object {ann.editing.label_id}: " if ann.current.editing_here else ""
        ann.show_status(f"{ann.model_name}: {what}{len(s.clicks)} click(s), {int(mask.sum()) if mask is not None else 0} px")

    def reset(self) -> None:
        """Clear the current object's clicks, box and edited mask on this slice (labels untouched)."""
        ann = self.ann
        ann.wait_idle()
        if ann.prompts is None:
            return
        index = self.index()
        ann.set_prompts(index, [], None)
        if ann.current.holds(index):
            ann.current.reset()  # (a session holding another slice keeps that slice's object)
        ann.prompts.show_mask(index, None)

    def image_changed(self) -> None:
        """The image's data changed: slices are encoded again and the current slice's prompts
        re-segmented on the new data."""
        ann = self.ann
        ann.wait_idle()
        ann.current.forget_slices()
        if ann.prompts is not None and ann.geometry is not None and ann.prompts.has_prompts(self.index()):
            ann.resegment()
