"""Validation and normalisation of 2D slices, shared by every predictor.

A *slice* is a 2D array HxW (gray) or HxWxC (C channels last, C in 1..3 for the models; use
``select_channels`` for more). Any real dtype is accepted. Every check raises ``ValueError`` or
``TypeError`` with a message that names the argument and says what to do.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = [
    "MIN_SIDE",
    "validate_slice",
    "normalize_slice",
    "select_channels",
    "validate_prob",
]

#: The smallest image side the tools accept (in pixels).
MIN_SIDE = 8


def validate_slice(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Check that ``image`` is a usable 2D slice and return it as a numpy array.

    Args:
        image: HxW or HxWxC array (C <= 4 channels last), any real dtype.
        name: how the argument is called in error messages (e.g. a file name).

    Returns:
        The same data as an ``np.ndarray`` (no copy where possible).

    Raises:
        TypeError: for non-numeric data.
        ValueError: for wrong dimensionality, tiny or empty images, NaN/inf values, or
            constant images (nothing to segment).
    """
    if image is None:
        raise TypeError(f"{name} is None; pass a 2D array HxW or HxWxC")
    try:
        arr = np.asarray(image)
    except ValueError:  # numpy: "inhomogeneous shape" for nested lists of unequal lengths
        raise ValueError(
            f"{name} is a ragged sequence (rows or channels of different lengths); pass a "
            f"rectangular array HxW or HxWxC"
        ) from None
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass an image with pixels")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} has dtype {arr.dtype}; expected an integer or float image")
    if arr.ndim == 3 and arr.shape[-1] > 4 and arr.shape[0] <= 4:
        raise ValueError(
            f"{name} has shape {arr.shape}, which looks channels-first; expected HxW or HxWxC "
            f"(channels last). Use np.moveaxis(image, 0, -1)."
        )
    if arr.ndim == 3 and arr.shape[-1] > 4:
        raise ValueError(
            f"{name} has shape {arr.shape}: a 3D volume or an image with {arr.shape[-1]} channels "
            f"where a 2D slice is expected. Pass one slice (volume[z]) or select up to 3 channels."
        )
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"{name} has {arr.ndim} dimensions (shape {arr.shape}); expected a 2D slice HxW or HxWxC"
        )
    h, w = arr.shape[:2]
    if h < MIN_SIDE or w < MIN_SIDE:
        raise ValueError(
            f"{name} is {h}x{w} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed to segment anything"
        )
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"{name} contains {n_bad} NaN or infinite values; replace them first "
            f"(e.g. np.nan_to_num(image))"
        )
    if arr.size and float(arr.max()) == float(arr.min()):
        raise ValueError(f"{name} is constant (every pixel is {arr.flat[0]}); there is nothing to segment")
    return arr


def select_channels(image: np.ndarray, channels: Sequence[int] | None) -> np.ndarray:
    """Pick channels of an HxWxC image (channels last); ``None`` keeps the image as it is.

    Raises:
        ValueError: if a channel index is out of range or more than 3 channels are picked.
    """
    if channels is None:
        return image
    arr = np.asarray(image)
    if arr.ndim == 2:
        if list(channels) not in ([0], []):
            raise ValueError(f"channels {list(channels)} requested from a single-channel image")
        return arr
    chans = list(channels)
    if not 1 <= len(chans) <= 3:
        raise ValueError(f"choose 1 to 3 channels, got {chans}")
    for c in chans:
        if not 0 <= c < arr.shape[-1]:
            raise ValueError(f"channel {c} does not exist: the image has {arr.shape[-1]} channels")
    out = arr[..., chans]
    return out[..., 0] if len(chans) == 1 else out


def _percentiles(a: np.ndarray, qs: Sequence[float], repeat: int = 1) -> tuple[float, ...]:
    """``np.percentile(np.repeat(a.ravel(), repeat), qs)`` (linear), without building the repeat.

    Gray slices are normalised as their 3-channel replica would be (so a gray image and the
    same image stored as equal RGB channels give identical results), at a third of the memory.
    """
    flat = a.ravel()
    n = flat.size * repeat
    pos = np.asarray(qs, dtype=np.float64) / 100.0 * (n - 1)
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    part = np.partition(flat, np.unique(np.concatenate([below, above]) // repeat))
    v0, v1 = part[below // repeat], part[above // repeat]
    return tuple(float(v) for v in v0 + (pos - below) * (v1 - v0))


def normalize_slice(
    image: np.ndarray, low: float = 1.0, high: float = 99.0, name: str = "image"
) -> np.ndarray:
    """Percentile-scale a slice to [0, 1] and return it as HxWx3 float32.

    Gray images are replicated to 3 channels; 2-channel images get their mean as the third
    channel; a 4th channel (alpha) is dropped. Scaling uses the ``low``/``high`` percentiles
    over all channels together (so colour balance is kept), then clips to [0, 1].

    The result does not depend on the image's offset or scale: ``a * image + b`` (``a > 0``)
    gives the same output as ``image`` up to float rounding, for any finite values of any
    dtype (the arithmetic runs in float64 on values first divided by their largest magnitude,
    so values beyond the float32 range neither overflow nor lose their contrast). When the
    percentiles coincide (very sparse images) the min and max are used instead.

    Args:
        image: HxW or HxWxC (C in 1..4), any real dtype, finite, not constant.
        low, high: percentiles mapped to 0 and 1.

    Returns:
        float32 array HxWx3 in [0, 1].
    """
    arr = validate_slice(image, name)
    if arr.ndim == 3 and arr.shape[-1] == 4:
        arr = arr[..., :3]
    a = arr.astype(np.float64)  # a copy: the caller's image is never changed
    magnitude = float(max(abs(a.max()), abs(a.min())))
    if magnitude > 0:
        a /= magnitude  # now in [-1, 1]: no overflow below, for any finite input
    if a.ndim == 3 and a.shape[-1] == 2:
        a = np.concatenate([a, a.mean(axis=-1, keepdims=True)], axis=-1)
    # percentiles over all 3 output channels; a gray slice counts 3 times, as if replicated
    lo, hi = _percentiles(a, (low, high), repeat=3 if a.ndim == 2 or a.shape[-1] == 1 else 1)
    if not hi > lo:  # very sparse images: fall back to min/max
        lo, hi = float(a.min()), float(a.max())
    if hi > lo:
        a -= lo
        a /= hi - lo
        np.clip(a, 0.0, 1.0, out=a)
    else:  # distinct values that underflowed to one after the division (subnormal inputs)
        a[...] = 0.0
    out = a.astype(np.float32)
    if out.ndim == 2:
        out = out[..., None]
    if out.shape[-1] == 1:
        out = np.repeat(out, 3, axis=-1)
    return out


def validate_prob(prob: np.ndarray | None, shape: Sequence[int], name: str = "prev_prob") -> np.ndarray | None:
    """Check an HxW probability map against an image of shape (H, W, ...); returns float32."""
    if prob is None:
        return None
    p = np.asarray(prob)
    if p.shape != tuple(shape[:2]):
        raise ValueError(f"{name} has shape {p.shape} but the image is {tuple(shape[:2])}")
    p = p.astype(np.float32, copy=False)
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"{name} must lie in [0, 1], got [{p.min():.3g}, {p.max():.3g}]")
    return p
