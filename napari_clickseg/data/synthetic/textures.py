"""Random fields shared by the procedural generators: smooth noise, shading, blob shapes.

Every function takes a ``numpy.random.Generator`` so results are reproducible from a seed.
Arrays are (row, col) = (y, x); values are float32 unless stated.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "smooth_noise",
    "multiscale_noise",
    "shading_field",
    "star_shape",
    "normalize01",
]


def normalize01(a: np.ndarray) -> np.ndarray:
    """Rescale ``a`` linearly to [0, 1] (constant arrays become 0). Returns float32."""
    a = np.asarray(a, dtype=np.float32)
    lo, hi = float(a.min()), float(a.max())
    if hi - lo < 1e-12:
        return np.zeros_like(a)
    return (a - lo) / (hi - lo)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise of ``shape`` rescaled to zero mean, unit std (float32).

    Computed at reduced resolution for large ``sigma`` (fast) and zoomed back.
    """
    factor = max(1, int(sigma // 4))
    small = tuple(max(2, -(-s // factor)) for s in shape)
    field = ndi.gaussian_filter(rng.standard_normal(small).astype(np.float32), sigma / factor)
    if factor > 1:
        zoom = [s / t for s, t in zip(shape, small)]
        field = ndi.zoom(field, zoom, order=1)[tuple(slice(0, s) for s in shape)]
    field = field - field.mean()
    std = float(field.std())
    return field / std if std > 1e-8 else field


def multiscale_noise(
    rng: np.random.Generator, shape: tuple[int, ...], sigmas: tuple[float, ...] = (1.0, 4.0, 16.0),
    weights: tuple[float, ...] | None = None,
) -> np.ndarray:
    """Sum of :func:`smooth_noise` at several scales (a cheap fractal texture), unit std."""
    weights = weights or tuple(1.0 for _ in sigmas)
    out = np.zeros(shape, np.float32)
    for s, w in zip(sigmas, weights):
        out += w * smooth_noise(rng, shape, s)
    std = float(out.std())
    return out / std if std > 1e-8 else out


def shading_field(rng: np.random.Generator, shape: tuple[int, int], strength: float) -> np.ndarray:
    """Multiplicative illumination field around 1 (float32 HxW): linear ramp + broad bump."""
    h, w = shape
    rr, cc = np.mgrid[0:h, 0:w].astype(np.float32)
    rr /= max(h - 1, 1)
    cc /= max(w - 1, 1)
    a, b = rng.uniform(-1, 1, 2)
    ramp = a * (rr - 0.5) + b * (cc - 0.5)
    cy, cx = rng.uniform(0, 1, 2)
    bump = np.exp(-((rr - cy) ** 2 + (cc - cx) ** 2) / (2 * rng.uniform(0.2, 0.6) ** 2)) - 0.5
    return (1.0 + strength * (ramp + rng.uniform(-1, 1) * bump)).astype(np.float32)


def star_shape(rng: np.random.Generator, irregularity: float, n_harmonics: int = 5):
    """A random star-convex radius function ``r(theta)`` around 1.

    Returns:
        A vectorised function mapping angles (radians, any shape) to radii (same shape) with
        mean ~1 and relative perturbation of about ``irregularity``.
    """
    amps = rng.normal(0, irregularity, n_harmonics) / np.arange(1, n_harmonics + 1) ** 0.7
    phases = rng.uniform(0, 2 * np.pi, n_harmonics)
    ks = np.arange(2, n_harmonics + 2)

    # tabulated once (720 angles) and interpolated: much faster than summing harmonics per pixel
    grid = np.linspace(-np.pi, np.pi, 721)
    table = np.maximum(1.0 + np.sum(amps * np.cos(ks * grid[:, None] + phases), axis=-1), 0.3)

    def radius(theta: np.ndarray) -> np.ndarray:
        return np.interp(theta, grid, table, period=2 * np.pi).astype(np.float32)

    return radius

