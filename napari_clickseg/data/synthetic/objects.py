"""Rendering of star-convex objects into an instance label map (touching objects allowed).

Each pixel goes to the object whose normalised elliptic distance is smallest (and < 1), so
overlapping objects meet along a boundary, like touching nuclei, instead of hiding each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Blob", "render_blobs"]


@dataclass
class Blob:
    """One star-convex object in a 2D image.

    Attributes:
        center: (row, col) in pixels (may be fractional or outside the image).
        radii: semi-axes (along the rotated row axis, along the rotated col axis) in pixels.
        angle: rotation in radians.
        radius_fn: angle -> relative radius (see ``textures.star_shape``); None = ellipse.
    """

    center: tuple[float, float]
    radii: tuple[float, float]
    angle: float = 0.0
    radius_fn: Callable[[np.ndarray], np.ndarray] | None = None


def render_blobs(
    shape: tuple[int, int], blobs: list[Blob], ids: list[int] | None = None, margin: float = 1.6
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise ``blobs`` into a label map and a distance map.

    Args:
        shape: (H, W).
        blobs: the objects, in any order.
        ids: label id per blob (default 1..N); id 0 means "do not label" (distance only).
        margin: the distance map is computed out to ``margin`` times each blob's radius.

    Returns:
        labels: (H, W) int32, 0 = background, ids where a blob's distance < 1.
        dist: (H, W) float32, the smallest normalised distance to any blob (inf far away);
            < 1 inside objects, usable for soft edges.
    """
    h, w = shape
    labels = np.zeros(shape, np.int32)
    dist = np.full(shape, np.inf, np.float32)
    ids = list(range(1, len(blobs) + 1)) if ids is None else ids
    for blob, idx in zip(blobs, ids):
        rmax = max(blob.radii) * margin * 1.6
        r0, r1 = int(max(0, np.floor(blob.center[0] - rmax))), int(min(h, np.ceil(blob.center[0] + rmax) + 1))
        c0, c1 = int(max(0, np.floor(blob.center[1] - rmax))), int(min(w, np.ceil(blob.center[1] + rmax) + 1))
        if r0 >= r1 or c0 >= c1:
            continue
        rr, cc = np.mgrid[r0:r1, c0:c1].astype(np.float32)
        dy, dx = rr - blob.center[0], cc - blob.center[1]
        ca, sa = np.cos(blob.angle), np.sin(blob.angle)
        u = (ca * dy + sa * dx) / max(blob.radii[0], 1e-3)
        v = (-sa * dy + ca * dx) / max(blob.radii[1], 1e-3)
        d = np.sqrt(u * u + v * v)
        if blob.radius_fn is not None:
            d = d / blob.radius_fn(np.arctan2(v, u)).astype(np.float32)
        window = dist[r0:r1, c0:c1]
        better = d < window
        window[better] = d[better]
        if idx:
            lw = labels[r0:r1, c0:c1]
            lw[better & (d < 1)] = idx
    return labels, dist
