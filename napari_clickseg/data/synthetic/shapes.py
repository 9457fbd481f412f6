"""Generic dead-leaves images: layered, occluding, textured random shapes (gray or RGB)."""

from __future__ import annotations

import numpy as np
from skimage.draw import polygon

from .objects import Blob, render_blobs
from .textures import multiscale_noise, star_shape

__all__ = ["dead_leaves_image"]


def dead_leaves_image(rng: np.random.Generator, size: tuple[int, int] = (256, 256), scale: float = 1.0, rgb: bool = True):
    """Random shapes dropped one over another; each visible part keeps its shape's id.

    Args:
        rng: random generator.
        size: (H, W).
        scale: shape-size multiplier.
        rgb: colour (HxWx3) or gray (HxW) output.

    Returns:
        image: (H, W, 3) or (H, W) float32 in [0, 1].
        labels: (H, W) int32: id of the (front-most) shape at each pixel; 0 where the textured
            background shows.
    """
    h, w = size
    n = int(rng.integers(6, 30))
    labels = np.zeros(size, np.int32)
    channels = 3 if rgb else 1
    img = np.empty((h, w, channels), np.float32)
    img[:] = rng.uniform(0, 1, channels) + 0.15 * multiscale_noise(rng, size)[..., None]
    # two texture fields shared by all shapes (each shape: own amplitude and offset)
    textures = [multiscale_noise(rng, size, (1.0, s)) for s in (2.0, 6.0)]
    for k in range(1, n + 1):
        r = min(h, w) * rng.uniform(0.05, 0.25) * scale
        c = (rng.uniform(0, h), rng.uniform(0, w))
        kind = rng.integers(3)
        if kind == 2:  # polygon
            m = int(rng.integers(3, 8))
            ang = np.sort(rng.uniform(0, 2 * np.pi, m))
            rad = r * rng.uniform(0.5, 1.2, m)
            rr, cc = polygon(c[0] + rad * np.sin(ang), c[1] + rad * np.cos(ang), size)
            mask = np.zeros(size, bool)
            mask[rr, cc] = True
        else:
            fn = star_shape(rng, rng.uniform(0.0, 0.3)) if kind == 1 else None
            lab, _ = render_blobs(size, [Blob(c, (r * rng.uniform(0.4, 1.0), r), rng.uniform(0, np.pi), fn)])
            mask = lab > 0
        if mask.sum() < 20:
            continue
        color = rng.uniform(0, 1, channels).astype(np.float32)
        shift = (int(rng.integers(h)), int(rng.integers(w)))
        tex = rng.uniform(0.0, 0.25) * np.roll(textures[int(rng.integers(2))], shift, axis=(0, 1))
        img[mask] = color + tex[mask][:, None]
        labels[mask] = k
    img = np.clip(img, 0, 1)
    return (img if rgb else img[..., 0]), labels
