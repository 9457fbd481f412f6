"""MRI-like brain slices with a soft-edged tumour blob in structured tissue.

The head is an ellipse with a skull ring, folded grey/white-matter texture and dark
ventricles; the tumour is a star-convex, FLAIR-bright blob with a soft edge and a faint halo.
``mri_volume`` makes a (Z, H, W) stack whose tumour spans several neighbouring slices.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .objects import Blob, render_blobs
from .textures import shading_field, smooth_noise, star_shape

__all__ = ["mri_image", "mri_volume"]


def _brain_model(rng: np.random.Generator, hw: tuple[int, int]):
    h, w = hw
    return dict(
        center=(h * rng.uniform(0.45, 0.55), w * rng.uniform(0.45, 0.55)),
        radii=(h * rng.uniform(0.36, 0.44), w * rng.uniform(0.30, 0.38)),
        angle=rng.normal(0, 0.1),
        shape_fn=star_shape(rng, 0.03, 3),
        fold_a=smooth_noise(rng, hw, rng.uniform(5, 9)),
        fold_b=smooth_noise(rng, hw, rng.uniform(5, 9)),
        fold_freq=rng.uniform(2.0, 3.5),
        wm_level=rng.uniform(0.4, 0.6),
        gm_level=rng.uniform(0.3, 0.45),
        csf_level=rng.uniform(0.05, 0.15),
        skull_level=rng.uniform(0.1, 0.5),
        ventricles=[
            (rng.uniform(-0.08, 0.08), side * rng.uniform(0.05, 0.12), rng.uniform(0.06, 0.12))
            for side in (-1, 1)
        ],
    )


def _brain_slice(brain: dict, hw: tuple[int, int], t: float, shrink: float) -> tuple[np.ndarray, np.ndarray]:
    """Intensity (float32 HxW) and brain mask (bool) of the head at phase ``t`` of the stack."""
    h, w = hw
    radii = (brain["radii"][0] * shrink, brain["radii"][1] * shrink)
    blobs = [Blob(brain["center"], (radii[0] * 1.08, radii[1] * 1.1), brain["angle"], brain["shape_fn"]),
             Blob(brain["center"], radii, brain["angle"], brain["shape_fn"])]
    head, _ = render_blobs(hw, blobs[:1], margin=1.2)
    brain_mask, bdist = render_blobs(hw, blobs[1:], margin=1.2)
    field = np.cos(t) * brain["fold_a"] + np.sin(t) * brain["fold_b"]
    folds = 0.5 + 0.5 * np.sin(brain["fold_freq"] * field)
    depth = np.clip(1 - bdist, 0, 1)  # 0 at the brain surface, ~1 in the middle
    wm = np.clip((folds - 0.5) * 3 + depth * 2 - 0.4, 0, 1)
    img = brain["gm_level"] + (brain["wm_level"] - brain["gm_level"]) * wm
    vent, _ = render_blobs(
        hw,
        [Blob((brain["center"][0] + dy * h, brain["center"][1] + dx * w), (r * h * shrink * 1.5, r * w * shrink * 0.5), 0.0)
         for dy, dx, r in brain["ventricles"]],
        margin=1.2,
    )
    img = np.where(vent > 0, brain["csf_level"], img)
    img = np.where(brain_mask > 0, img, 0.0)
    skull = (head > 0) & (brain_mask == 0)
    img = np.where(skull, brain["skull_level"], img).astype(np.float32)
    return img, brain_mask > 0


def _tumour(rng: np.random.Generator, brain: dict, hw: tuple[int, int], scale: float):
    h, w = hw
    ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.55)
    c = (brain["center"][0] + rad * brain["radii"][0] * np.sin(ang),
         brain["center"][1] + rad * brain["radii"][1] * np.cos(ang))
    r = min(h, w) * rng.uniform(0.05, 0.16) * scale
    return dict(
        center=c, radii=(r * rng.uniform(0.7, 1.0), r * rng.uniform(1.0, 1.3)), angle=rng.uniform(0, np.pi),
        shape_fn=star_shape(rng, rng.uniform(0.05, 0.2), 6), level=rng.uniform(0.65, 1.0),
        softness=rng.uniform(0.05, 0.25), halo=rng.uniform(0.0, 0.15), core=rng.uniform(0.0, 0.4),
    )


def _paint_tumour(img, brain_mask, tum, hw, f: float, drift: tuple[float, float]):
    c = (tum["center"][0] + drift[0], tum["center"][1] + drift[1])
    labels, dist = render_blobs(hw, [Blob(c, (tum["radii"][0] * f, tum["radii"][1] * f), tum["angle"], tum["shape_fn"])], margin=2.2)
    soft = 1 / (1 + np.exp(np.clip(-(1 - dist) / max(tum["softness"] * 0.5, 1e-3), -50, 50)))
    halo = np.exp(-np.clip(dist - 1, 0, None) * 3) * (dist >= 1)
    core = np.clip(1 - dist / 0.5, 0, 1) * tum["core"]
    level = tum["level"] * (1 - core)
    img = img * (1 - soft) + level * soft + tum["halo"] * halo
    img = np.where(brain_mask, img, img * 0 + np.where(img > 0, img, 0))
    labels = (labels > 0) & brain_mask
    return img.astype(np.float32), labels.astype(np.int32)


def _finish(rng, img, noise):
    img = ndi.gaussian_filter(img, rng.uniform(0.5, 1.2))
    img = img * shading_field(rng, img.shape, rng.uniform(0.05, 0.3))
    # Rician-like noise: magnitude of a complex Gaussian perturbation
    n1, n2 = (noise * rng.standard_normal(img.shape).astype(np.float32) for _ in range(2))
    return np.sqrt((img + n1) ** 2 + n2**2).astype(np.float32)


def mri_image(rng: np.random.Generator, size: tuple[int, int] = (256, 256), scale: float = 1.0):
    """One 2D MRI-like (FLAIR-like) brain slice with one tumour.

    Returns:
        image: (H, W) float32, roughly in [0, 1.2].
        labels: (H, W) int32, 1 = tumour, 0 = everything else.
    """
    brain = _brain_model(rng, size)
    img, mask = _brain_slice(brain, size, rng.uniform(0, 2 * np.pi), rng.uniform(0.8, 1.0))
    tum = _tumour(rng, brain, size, scale)
    img, labels = _paint_tumour(img, mask, tum, size, 1.0, (0.0, 0.0))
    return _finish(rng, img, rng.uniform(0.01, 0.06)), labels


def mri_volume(rng: np.random.Generator, shape: tuple[int, int, int] = (12, 256, 256), scale: float = 1.0):
    """A (Z, H, W) MRI-like stack with one tumour spanning several neighbouring slices.

    Returns:
        image: (Z, H, W) float32 roughly in [0, 1.2].
        labels: (Z, H, W) int32, 1 = tumour (present on the middle slices only).
    """
    z, h, w = shape
    brain = _brain_model(rng, (h, w))
    tum = _tumour(rng, brain, (h, w), scale)
    zc, rz = (z - 1) / 2 + rng.uniform(-1, 1), max(2.0, z * rng.uniform(0.3, 0.4))
    drift = rng.normal(0, 1.0, 2)
    imgs, labs = [], []
    for k in range(z):
        t = 0.15 * k
        shrink = 1.0 - 0.25 * ((k - (z - 1) / 2) / max(z, 1)) ** 2
        img, mask = _brain_slice(brain, (h, w), t, shrink)
        rel = (k - zc) / rz
        if abs(rel) < 0.95:
            f = np.sqrt(1 - rel * rel)
            img, lab = _paint_tumour(img, mask, tum, (h, w), f, (drift[0] * (k - zc), drift[1] * (k - zc)))
        else:
            lab = np.zeros((h, w), np.int32)
        imgs.append(_finish(rng, img, 0.03))
        labs.append(lab)
    return np.stack(imgs), np.stack(labs)
