"""EM-like membrane networks: cells are the regions inside dark, wiggly membranes.

A Voronoi tessellation of random seeds (nearest seed via ``scipy.ndimage``'s distance
transform indices) warped by smooth displacement fields; membranes are the cell boundaries.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import find_boundaries

from .textures import multiscale_noise, smooth_noise

__all__ = ["membrane_image"]


def membrane_image(rng: np.random.Generator, size: tuple[int, int] = (256, 256), scale: float = 1.0):
    """One ssTEM-like image of cells separated by membranes.

    Returns:
        image: (H, W) float32 in [0, 1] (dark membranes, gray textured cytoplasm).
        labels: (H, W) int32, one id per cell; membrane pixels are 0.
    """
    h, w = size
    cell = rng.uniform(18, 45) * scale
    n = max(3, int(h * w / cell**2))
    seeds = np.ones(size, bool)
    pts = (rng.uniform(0, 1, (n, 2)) * (h - 1, w - 1)).astype(int)
    seeds[pts[:, 0], pts[:, 1]] = False
    _, (ir, ic) = ndi.distance_transform_edt(seeds, return_indices=True)
    ids = np.zeros(size, np.int32)
    ids[pts[:, 0], pts[:, 1]] = np.arange(1, n + 1)
    # warp: look up the nearest seed at displaced positions -> wiggly boundaries
    amp = rng.uniform(2, 6) * scale
    rr, cc = np.mgrid[0:h, 0:w]
    dr = np.clip(rr + amp * smooth_noise(rng, size, 6 * scale), 0, h - 1).astype(int)
    dc = np.clip(cc + amp * smooth_noise(rng, size, 6 * scale), 0, w - 1).astype(int)
    cells = ids[ir[dr, dc], ic[dr, dc]]
    thick = max(1, int(round(rng.uniform(1, 3) * scale)))
    membrane = find_boundaries(cells, mode="thick")
    if thick > 1:
        membrane = ndi.binary_dilation(membrane, iterations=thick - 1)
    labels = np.where(membrane, 0, cells).astype(np.int32)
    tex = multiscale_noise(rng, size, (1.0, 2.5, 8.0))
    base = rng.uniform(0.5, 0.8)
    per_cell = rng.uniform(-0.12, 0.12, n + 1).astype(np.float32)
    img = base + per_cell[cells] + rng.uniform(0.04, 0.12) * tex
    # organelles: a few dark blobs inside cells
    org = smooth_noise(rng, size, 2.5 * scale) > rng.uniform(1.8, 2.6)
    img = np.where(org, img - rng.uniform(0.15, 0.35), img)
    img = np.where(membrane, rng.uniform(0.05, 0.25) + 0.05 * tex, img)
    img = ndi.gaussian_filter(img, rng.uniform(0.6, 1.4))
    img = img + rng.uniform(0.01, 0.05) * rng.standard_normal(size)
    return np.clip(img, 0, 1).astype(np.float32), labels
