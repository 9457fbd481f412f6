"""Sample data for napari's File > Open Sample menu (declared in ``napari.yaml``).

Each function returns napari layer-data tuples: the image stack, and its ground-truth labels as
a hidden layer (handy for trying the fine-tuning widget or checking a result by eye).
"""

from __future__ import annotations

from typing import Any

__all__ = ["microscopy_volume", "mri_volume"]


def microscopy_volume() -> list[tuple[Any, dict, str]]:
    """Synthetic fluorescence nuclei stack (8, 256, 256) uint16 and its ground truth."""
    from ..data.samples import sample_microscopy_volume

    image, labels = sample_microscopy_volume()
    return [
        (image, {"name": "nuclei (synthetic)", "colormap": "gray"}, "image"),
        (labels, {"name": "nuclei ground truth", "visible": False}, "labels"),
    ]


def mri_volume() -> list[tuple[Any, dict, str]]:
    """Synthetic MRI-like (FLAIR-like) stack (12, 256, 256) uint8 with one tumour, and its ground truth."""
    from ..data.samples import sample_mri_volume

    image, labels = sample_mri_volume()
    return [
        (image, {"name": "MRI (synthetic)", "colormap": "gray"}, "image"),
        (labels, {"name": "tumour ground truth", "visible": False}, "labels"),
    ]
