"""Fluorescent nuclei / cells: touching, textured star-convex blobs of varied size and contrast.

``nuclei_volume`` makes a (Z, H, W) stack whose nuclei continue through neighbouring slices
(each nucleus is an ellipsoid that drifts and grows slightly with z); ``nuclei_image`` is one
2D slice of the same model, used by the training generator.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .objects import Blob, render_blobs
from .textures import multiscale_noise, shading_field, star_shape

__all__ = ["nuclei_volume", "nuclei_image"]


def _draw_nuclei(rng: np.random.Generator, hw: tuple[int, int], scale: float, density: float):
    h, w = hw
    mean_r = rng.uniform(6, 16) * scale
    n = int(np.clip(density * h * w / (np.pi * mean_r**2), 2, 200))
    nuclei = []
    for _ in range(n):
        r = mean_r * rng.uniform(0.6, 1.4)
        nuclei.append(
            dict(
                center=(rng.uniform(-0.05, 1.05) * h, rng.uniform(-0.05, 1.05) * w),
                radii=(r * rng.uniform(0.7, 1.0), r * rng.uniform(1.0, 1.4)),
                angle=rng.uniform(0, np.pi),
                radius_fn=star_shape(rng, rng.uniform(0.02, 0.12)),
                brightness=rng.uniform(0.35, 1.0),
                drift=rng.normal(0, 0.8 * scale, 2),
                growth=rng.uniform(-0.03, 0.05),
                z0=0.0,
                rz=1.0,
            )
        )
    return nuclei


def _render_slice(rng, hw, nuclei, z: float | None, texture_strength: float):
    blobs, kept = [], []
    for k, nu in enumerate(nuclei):
        if z is None:
            f, dz = 1.0, 0.0
        else:
            dz = z - nu["z0"]
            rel = dz / nu["rz"]
            if abs(rel) >= 0.92:
                continue
            f = np.sqrt(1 - rel * rel) * (1 + nu["growth"] * dz)
        c = (nu["center"][0] + nu["drift"][0] * dz, nu["center"][1] + nu["drift"][1] * dz)
        blobs.append(Blob(c, (nu["radii"][0] * f, nu["radii"][1] * f), nu["angle"], nu["radius_fn"]))
        kept.append(k)
    labels, dist = render_blobs(hw, blobs, [k + 1 for k in kept])
    bright = np.zeros(len(nuclei) + 1, np.float32)
    bright[1:] = [nu["brightness"] for nu in nuclei]
    tex = multiscale_noise(rng, hw, (1.0, 3.0))
    inside = bright[labels] * (1 + texture_strength * tex)
    # dim, soft rim: intensity falls near the boundary (touching nuclei get a darker seam)
    rim = np.clip(1.0 - np.clip(dist, 0, 1) ** 6 * 0.5, 0, 1)
    img = np.where(labels > 0, inside * rim, 0.0).astype(np.float32)
    return img, labels


def _finish(rng, img: np.ndarray, background: float, noise: float, blur: float) -> np.ndarray:
    img = ndi.gaussian_filter(img, blur) if blur > 0 else img
    img = img * shading_field(rng, img.shape, rng.uniform(0.0, 0.4)) + background
    img = img + noise * rng.standard_normal(img.shape).astype(np.float32) * np.sqrt(np.clip(img, 0.01, None))
    return np.clip(img, 0, None).astype(np.float32)


def nuclei_image(rng: np.random.Generator, size: tuple[int, int] = (256, 256), scale: float = 1.0):
    """One 2D fluorescence-like image of nuclei.

    Args:
        rng: random generator.
        size: (H, W).
        scale: object-size multiplier.

    Returns:
        image: (H, W) float32 in [0, ~1.3] (gray, bright nuclei on a dark background).
        labels: (H, W) int32 instance ids (0 = background), consecutive not guaranteed.
    """
    nuclei = _draw_nuclei(rng, size, scale, rng.uniform(0.2, 0.6))
    img, labels = _render_slice(rng, size, nuclei, None, rng.uniform(0.05, 0.3))
    img = _finish(rng, img, rng.uniform(0.02, 0.15), rng.uniform(0.02, 0.1), rng.uniform(0.5, 2.0))
    return img, labels


def nuclei_volume(
    rng: np.random.Generator, shape: tuple[int, int, int] = (8, 256, 256), scale: float = 1.0
):
    """A (Z, H, W) fluorescence-like stack of nuclei that continue through neighbouring slices.

    Returns:
        image: (Z, H, W) float32 in [0, ~1.3].
        labels: (Z, H, W) int32; one id per nucleus, the same id on every slice it crosses.
    """
    z, h, w = shape
    nuclei = _draw_nuclei(rng, (h, w), scale, 0.45)
    for nu in nuclei:
        nu["z0"] = rng.uniform(-1, z)
        nu["rz"] = rng.uniform(2.5, 6.0)
    tex_strength = 0.2
    imgs, labs = [], []
    for k in range(z):
        img, lab = _render_slice(rng, (h, w), nuclei, float(k), tex_strength)
        imgs.append(img)
        labs.append(lab)
    img = ndi.gaussian_filter(np.stack(imgs), (0.6, 1.2, 1.2))
    shade = shading_field(rng, (h, w), 0.3)
    img = img * shade[None] + 0.06
    img = img + 0.05 * rng.standard_normal(img.shape).astype(np.float32) * np.sqrt(np.clip(img, 0.01, None))
    return np.clip(img, 0, None).astype(np.float32), np.stack(labs).astype(np.int32)
