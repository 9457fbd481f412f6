"""H&E-like histology: glands as irregular epithelial rings around a lumen in stroma.

Colours come from a two-stain optical-density model (haematoxylin = purple nuclei and
epithelium, eosin = pink stroma): ``RGB = exp(-(H * h_vec + E * e_vec))``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .objects import Blob, render_blobs
from .textures import multiscale_noise, smooth_noise, star_shape

__all__ = ["gland_image", "stain_to_rgb"]

_H_VEC = np.array([0.65, 0.70, 0.29], np.float32)
_E_VEC = np.array([0.07, 0.99, 0.11], np.float32)


def stain_to_rgb(rng: np.random.Generator, h: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Haematoxylin/eosin densities (HxW, >= 0) -> RGB float32 (HxWx3, [0, 1]), random stain tint."""
    hv = _H_VEC * rng.uniform(0.8, 1.2, 3).astype(np.float32)
    ev = _E_VEC * rng.uniform(0.8, 1.2, 3).astype(np.float32)
    od = h[..., None] * hv + e[..., None] * ev
    return np.exp(-od).astype(np.float32)


def _nuclei_dots(rng, shape, density, radius, where):
    """Density map of small dark nuclei scattered over ``where`` (HxW float in [0, 1])."""
    h, w = shape
    n = int(density * h * w / (radius * radius * 40))
    if n == 0:
        return np.zeros(shape, np.float32)
    pts = rng.uniform(0, 1, (n, 2)) * (h, w)
    keep = where[np.clip(pts[:, 0].astype(int), 0, h - 1), np.clip(pts[:, 1].astype(int), 0, w - 1)] > rng.uniform(0, 1, n)
    img = np.zeros(shape, np.float32)
    p = pts[keep].astype(int)
    img[np.clip(p[:, 0], 0, h - 1), np.clip(p[:, 1], 0, w - 1)] = 1.0
    img = ndi.grey_dilation(img, footprint=_disk(max(1, int(radius))))
    return ndi.gaussian_filter(img, 0.7)


def _disk(r: int) -> np.ndarray:
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    return x * x + y * y <= r * r


def gland_image(rng: np.random.Generator, size: tuple[int, int] = (256, 256), scale: float = 1.0):
    """One H&E-like image with several glands.

    Args:
        rng: random generator.
        size: (H, W).
        scale: gland-size multiplier.

    Returns:
        image: (H, W, 3) float32 RGB in [0, 1].
        labels: (H, W) int32, one id per gland (epithelial ring + lumen), 0 = stroma.
    """
    h, w = size
    mean_r = rng.uniform(25, 55) * scale
    n = max(1, int(rng.uniform(0.25, 0.5) * h * w / (np.pi * mean_r**2)))
    glands = []
    for _ in range(n):
        r = mean_r * rng.uniform(0.6, 1.4)
        glands.append(Blob((rng.uniform(0, h), rng.uniform(0, w)), (r * rng.uniform(0.6, 1.0), r),
                           rng.uniform(0, np.pi), star_shape(rng, rng.uniform(0.05, 0.25), 6)))
    # gaps between glands: shrink the rendered labels so that glands rarely touch
    labels, dist = render_blobs(size, glands)
    ring = rng.uniform(0.35, 0.7)  # lumen occupies dist < ring
    lumen = (labels > 0) & (dist < ring * (1 + 0.15 * smooth_noise(rng, size, 4)))
    epi = (labels > 0) & ~lumen
    tex = multiscale_noise(rng, size, (1.0, 3.0, 10.0))
    stroma_e = rng.uniform(0.25, 0.6) * (1 + 0.35 * tex)
    e = np.where(labels > 0, 0.0, stroma_e)
    e = np.where(epi, rng.uniform(0.2, 0.45) * (1 + 0.2 * tex), e)
    e = np.where(lumen, rng.uniform(0.0, 0.15), e)
    hmap = np.where(epi, rng.uniform(0.25, 0.6) * (1 + 0.3 * tex), 0.03 * (1 + tex))
    # nuclei: dense along the basal side of the epithelium, sparse in stroma
    basal = epi & (dist > ring + (1 - ring) * 0.4)
    hmap = hmap + 1.4 * _nuclei_dots(rng, size, 2.5, rng.uniform(1.5, 3.0) * scale, basal.astype(np.float32))
    hmap = hmap + 1.2 * _nuclei_dots(rng, size, 0.6, rng.uniform(1.5, 2.5) * scale, (labels == 0).astype(np.float32) * 0.5)
    e = np.clip(e, 0, None)
    hmap = np.clip(ndi.gaussian_filter(hmap, 0.6), 0, None)
    rgb = stain_to_rgb(rng, hmap, ndi.gaussian_filter(e, 0.8))
    return rgb, labels.astype(np.int32)
