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
