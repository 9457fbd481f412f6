"""The procedural training-data generator: seeded, endless, several image kinds.

Kinds (``KINDS``):

* ``nuclei`` — fluorescence-like touching nuclei (gray, bright on dark);
* ``nuclei-he`` — the same nuclei stained like H&E (RGB, dark purple on pink);
* ``glands`` — H&E-like glands (ring of epithelium around a lumen) in stroma (RGB);
* ``mri`` — MRI-like brain slice with a soft-edged tumour (gray);
* ``membranes`` — EM-like membrane network, cells inside membranes (gray);
* ``shapes`` — generic dead-leaves textured shapes (gray or RGB).

``generate`` then applies appearance variation (contrast, gamma, inversion, blur, noise,
shading, gray <-> RGB) so no kind has a fixed look.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ...core.labels import object_ids
from .glands import gland_image, stain_to_rgb
from .membranes import membrane_image
from .mri import mri_image
from .nuclei import nuclei_image
from .shapes import dead_leaves_image
from .textures import normalize01, shading_field

__all__ = ["KINDS", "SyntheticSample", "generate", "vary_appearance"]

KINDS: tuple[str, ...] = ("nuclei", "nuclei-he", "glands", "mri", "membranes", "shapes")


@dataclass
class SyntheticSample:
    """One generated image.

    Attributes:
        image: (H, W) or (H, W, 3) float32 in [0, 1].
        labels: (H, W) int32 instance ids, 0 = background.
        kind: the generator kind that made it.
    """

    image: np.ndarray
    labels: np.ndarray
    kind: str


def _nuclei_he(rng: np.random.Generator, size: tuple[int, int], scale: float):
    img, labels = nuclei_image(rng, size, scale * rng.uniform(0.6, 1.0))
    hmap = normalize01(img) * rng.uniform(0.8, 1.6)
    e = rng.uniform(0.2, 0.5) * (1 + 0.3 * ndi.gaussian_filter(rng.standard_normal(size), 3) * 3)
    return stain_to_rgb(rng, hmap, np.clip(e, 0, None)), labels


def _raw(rng: np.random.Generator, kind: str, size: tuple[int, int], scale: float):
    if kind == "nuclei":
        return nuclei_image(rng, size, scale)
    if kind == "nuclei-he":
        return _nuclei_he(rng, size, scale)
    if kind == "glands":
        return gland_image(rng, size, scale)
    if kind == "mri":
        return mri_image(rng, size, scale)
    if kind == "membranes":
        return membrane_image(rng, size, scale)
    if kind == "shapes":
        return dead_leaves_image(rng, size, scale, rgb=bool(rng.random() < 0.5))
    raise ValueError(f"unknown synthetic kind {kind!r}; known: {', '.join(KINDS)}")


def vary_appearance(rng: np.random.Generator, image: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Random contrast/gamma/blur/noise/shading and gray <-> RGB changes.

    Args:
        rng: random generator.
        image: (H, W) or (H, W, 3) float.
        strength: 0 = unchanged (apart from the [0, 1] rescale), 1 = full variation.

    Returns:
        (H, W) or (H, W, 3) float32 in [0, 1] (the channel count may change).
    """
    img = normalize01(image)
    if strength <= 0:
        return img
    rgb = img.ndim == 3
    if rng.random() < 0.3 * strength:
        img = 1.0 - img
    if rng.random() < 0.5 * strength:
        img = img ** np.float32(np.exp(rng.normal(0, 0.35 * strength)))
    if rng.random() < 0.4 * strength:
        img = ndi.gaussian_filter(img, (rng.uniform(0.3, 1.5),) * 2 + ((0,) if rgb else ()))
    if rng.random() < 0.4 * strength:
        shade = shading_field(rng, img.shape[:2], rng.uniform(0.1, 0.5))
        img = img * (shade[..., None] if rgb else shade)
    if rng.random() < 0.6 * strength:
        img = img + rng.uniform(0.005, 0.08) * rng.standard_normal(img.shape).astype(np.float32)
    # channel changes
    if rgb and rng.random() < 0.15 * strength:
        img = img.mean(-1)
    elif not rgb and rng.random() < 0.25 * strength:
        tint = rng.uniform(0.3, 1.0, 3).astype(np.float32)
        img = img[..., None] * tint
    return normalize01(img)


def generate(
    rng: np.random.Generator,
    kind: str | None = None,
    size: tuple[int, int] = (256, 256),
    scale: float | None = None,
    appearance: float = 1.0,
    min_area: int = 30,
) -> SyntheticSample:
    """Make one labelled image.

    Args:
        rng: random generator (the only source of randomness: same state, same sample).
        kind: one of ``KINDS``; None picks one uniformly.
        size: (H, W).
        scale: object-size multiplier; None draws one from U(0.6, 1.6).
        appearance: strength of ``vary_appearance`` (0 = the kind's natural look).
        min_area: objects smaller than this many pixels (e.g. cut by the border) are erased.

    Returns:
        A ``SyntheticSample`` with at least one object whenever the kind produced one.
    """
    kind = KINDS[int(rng.integers(len(KINDS)))] if kind is None else kind
    scale = float(rng.uniform(0.6, 1.6)) if scale is None else float(scale)
    image, labels = _raw(rng, kind, tuple(int(s) for s in size), scale)
    labels = _drop_small(labels, min_area)
    image = vary_appearance(rng, image, appearance)
    return SyntheticSample(image.astype(np.float32), labels.astype(np.int32), kind)


def _drop_small(labels: np.ndarray, min_area: int) -> np.ndarray:
    """``labels`` with the objects of fewer than ``min_area`` pixels set to background."""
    if min_area <= 0 or labels.max() == 0:
        return labels
    return np.where(np.isin(labels, object_ids(labels, min_area)), labels, 0)
