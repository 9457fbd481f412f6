"""Small synthetic sample volumes (napari sample data, ``clickseg evaluate --data sample-*``).

Both are built by the procedural generator in ``data.synthetic``; they are
deterministic for a given seed and take well under a second to make.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_microscopy_volume", "sample_mri_volume"]


def _to_uint(img: np.ndarray, dtype: type, top: int) -> np.ndarray:
    lo, hi = np.percentile(img, (0.5, 99.95))
    scaled = np.clip((img - lo) / max(hi - lo, 1e-6), 0, 1) * top
    return np.round(scaled).astype(dtype)


def sample_microscopy_volume(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fluorescence-like stack of touching, textured nuclei.

    Nuclei are ellipsoids that drift and grow slightly along z, so each object continues
    through neighbouring slices with the same label id.

    Args:
        seed: random seed (same seed, same volume).

    Returns:
        image: (8, 256, 256) uint16 (12-bit range, 0..4095).
        labels: (8, 256, 256) int32, 0 = background, one id per nucleus (consistent across z).
    """
    from .synthetic.nuclei import nuclei_volume

    img, labels = nuclei_volume(np.random.default_rng(seed), (8, 256, 256))
    return _to_uint(img, np.uint16, 4095), labels.astype(np.int32)


def sample_mri_volume(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An MRI-like (FLAIR-like) brain stack with one soft-edged tumour over several slices.

    Args:
        seed: random seed (same seed, same volume).

    Returns:
        image: (12, 256, 256) uint8.
        labels: (12, 256, 256) int32, 1 = tumour (on the middle slices), 0 elsewhere.
    """
    from .synthetic.mri import mri_volume

    img, labels = mri_volume(np.random.default_rng(seed), (12, 256, 256))
    return _to_uint(img, np.uint8, 255), labels.astype(np.int32)
