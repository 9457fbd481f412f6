"""Small synthetic pictures shared by the widget tests."""

from __future__ import annotations

import numpy as np


def disk_image(size=96, centre=(40, 50), radius=18, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """(size, size) float32 picture of a bright disk on a noisy background, and the disk mask."""
    rr, cc = np.ogrid[:size, :size]
    disk = (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius**2
    img = 0.15 + 0.7 * disk + np.random.default_rng(seed).normal(0, 0.04, disk.shape)
    return img.astype(np.float32), disk


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (0 for two empty ones)."""
    return np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b))


def write_mask(path, labels):
    """Write a label image/volume for a test as a user's tool would: PNG (imageio), TIFF
    (tifffile) or NIfTI (``core.nifti.write_nifti``); booleans as uint8. Returns the path."""
    from pathlib import Path

    p, arr = Path(path), np.asarray(labels)
    arr = arr.astype(np.uint8) if arr.dtype == bool else arr
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.name.lower().endswith((".nii", ".nii.gz")):
        from napari_clickseg.core.nifti import write_nifti

        return write_nifti(p, arr)
    if p.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(p, arr)
    else:
        import imageio.v3 as iio

        iio.imwrite(p, arr)
    return p
