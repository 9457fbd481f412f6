"""The annotator's settings as saved beside the labels (``clickseg.json``) and in the autosave.

``read(ann)`` collects them from the annotator's public state and controls; ``apply(ann, d)``
brings back the ones a resumed session should keep using (the model and flip TTA); the others
(device, overwrite, ...) stay as the user has them now.
"""

from __future__ import annotations

from typing import Any

__all__ = ["read", "apply"]


def read(ann: Any) -> dict[str, Any]:
    """The settings of annotator ``ann``: model, device, flip TTA, threshold, image layer,
    channel axis and channels, overwrite, and the propagation's minimal IoU (a fraction)."""
    c, g = ann.controls, ann.geometry
    return {"model": ann.model_name, "device": c.device_combo.currentText(), "flip_tta": c.flip_box.isChecked(),
            "threshold": ann.session.threshold if ann.session else None,
            "image_layer": g.layer.name if g else None, "channel_axis": g.channel_axis if g else None,
            "channels": list(g.channels or []) if g else None,
            "overwrite": c.overwrite_box.isChecked(), "min_iou": c.min_iou.value() / 100}


def apply(ann: Any, settings: dict[str, Any]) -> None:
    """Use a saved session's model and flip TTA in annotator ``ann`` (one model load at most)."""
    model, flip = settings.get("model"), bool(settings.get("flip_tta", False))
    box = ann.controls.flip_box
    if flip != box.isChecked():
        box.blockSignals(True)  # toggling it would load the model once more
        box.setChecked(flip)
        box.blockSignals(False)
        ann.set_model(model or ann.model_name or "random-walker")
    elif model and model != ann.model_name:
        ann.set_model(model)
