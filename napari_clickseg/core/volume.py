"""Propagation of a committed object through the slices of a volume.

Pure numpy/scipy (no Qt, no napari). Slices are 2D along the first axis of a volume; a caller
passes ``get_slice(z) -> HxW[xC] array`` so that channel selection and lazy (dask/zarr) volumes
stay the caller's business.

For each next slice the object is re-segmented by the predictor, prompted from the previous
slice's mask: positive clicks at the maxima of the distance transform of its interior (the
points deepest inside the object), plus, optionally, its bounding box (padded) as a box prompt.
Propagation stops where the object ends. A new slice's mask is refused (and propagation ends
before it) when any of these holds (``stop_reason``):

* ``faded``: the mean intensity inside the new mask keeps less than ``min_contrast`` of the
  start object's contrast against its surroundings (``ObjectAppearance``). Models keep finding
  *something* past the end of an object (a neighbouring structure, a bright rim); what they
  find no longer looks like the object (how the thresholds were chosen: ``docs/experiments.md``).
* ``leaked``: more than ``max_outside`` of the new mask lies outside the previous slice's mask
  dilated by ``leak_margin`` pixels (the mask spills into a neighbour).
* ``jumped``: IoU with the previous slice's mask below ``min_iou`` (micro-sam #382).
* ``vanished``: fewer than ``min_area`` pixels.

The functions return the new masks only; the caller commits them as one undoable step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable

import numpy as np
from scipy import ndimage as ndi

from .clicks import Box, Click
from .predictor import FeatureStore, Predictor, use_slice
from .session import DEFAULT_THRESHOLD

__all__ = [
    "PropagationConfig",
    "ObjectAppearance",
    "stop_reason",
    "prompts_from_mask",
    "propagate",
    "propagate_between",
    "mask_iou",
]


@dataclass(frozen=True)
class PropagationConfig:
    """Settings of slice-to-slice propagation.

    Attributes:
        min_iou: stop when IoU(new mask, previous slice's mask) falls below this (0..1).
        min_area: stop when the new mask has fewer pixels than this.
        min_contrast: stop when the new mask keeps less than this fraction of the start
            object's contrast (``ObjectAppearance.kept``); None turns the rule off.
        max_outside: stop when more than this fraction of the new mask lies outside the
            previous mask dilated by ``leak_margin`` pixels (0..1); None turns the rule off.
        leak_margin: dilation of the previous mask for ``max_outside``, in pixels.
        n_positive: most positive clicks taken from the previous mask's distance maxima.
        use_box: also prompt with the previous mask's bounding box (padded by ``box_margin``).
        box_margin: padding of the box, as a fraction of the box side (plus 2 pixels).
        max_slices: most slices to fill in one call (None: up to the end of the volume).
        threshold: probability above which a pixel belongs to the object.
    """

    min_iou: float = 0.3
    min_area: int = 8
    min_contrast: float | None = 0.35
    max_outside: float | None = 0.5
    leak_margin: int = 3
    n_positive: int = 3
    use_box: bool = True
    box_margin: float = 0.15
    max_slices: int | None = None
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_iou <= 1.0:
            raise ValueError(f"min_iou must lie in [0, 1], got {self.min_iou}")
        if self.max_outside is not None and not 0.0 <= self.max_outside <= 1.0:
            raise ValueError(f"max_outside must lie in [0, 1] or be None, got {self.max_outside}")
        if self.leak_margin < 0:
            raise ValueError(f"leak_margin must be >= 0 pixels, got {self.leak_margin}")
        if self.n_positive < 1:
            raise ValueError(f"n_positive must be >= 1, got {self.n_positive}")
        if self.max_slices is not None and self.max_slices < 1:
            raise ValueError(f"max_slices must be >= 1 or None, got {self.max_slices}")


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two bool masks of the same shape (1.0 when both are empty)."""
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def _pixels(image: np.ndarray) -> np.ndarray:
    """HxW or HxWxC image -> HxWxC float64 (C >= 1)."""
    arr = np.asarray(image, dtype=np.float64)
    return arr[..., None] if arr.ndim == 2 else arr


@dataclass(frozen=True)
class ObjectAppearance:
    """How an object stands out from its surroundings on the slice it was drawn on.

    ``contrast`` is the mean intensity (per channel) inside the object minus the mean in a ring
    ``ring`` pixels wide around it; ``background`` is the ring's mean. ``kept(image, mask)``
    projects another mask's mean intensity onto that contrast: 1 = looks like the object,
    0 = looks like its surroundings (negative: darker/brighter than them, the other way).

    Attributes:
        background: (C,) float, ring mean per channel.
        contrast: (C,) float, object mean minus ring mean.
        usable: False when the object barely differs from its ring (its contrast is under a
            quarter of the ring's own spread); ``kept`` then returns None (rule off).
    """

    background: np.ndarray
    contrast: np.ndarray
    usable: bool

    @classmethod
    def measure(cls, image: np.ndarray, mask: np.ndarray, ring: int = 6) -> "ObjectAppearance":
        """Measure on ``image`` (HxW or HxWxC) the object ``mask`` (HxW bool, non-empty)."""
        px = _pixels(image)
        m = np.asarray(mask, dtype=bool)
        around = ndi.binary_dilation(m, iterations=ring) & ~m
        if not m.any() or not around.any():
            return cls(np.zeros(px.shape[-1]), np.zeros(px.shape[-1]), False)
        inside, outside = px[m].mean(0), px[around]
        contrast = inside - outside.mean(0)
        norm = float(np.linalg.norm(contrast))
        spread = float((outside @ (contrast / norm)).std()) if norm > 0 else 0.0
        return cls(outside.mean(0), contrast, norm > 0 and norm >= 0.25 * spread)

    def kept(self, image: np.ndarray, mask: np.ndarray) -> float | None:
        """Fraction of the contrast that ``mask`` (HxW bool) on ``image`` keeps (None: unusable)."""
        m = np.asarray(mask, dtype=bool)
        if not self.usable or not m.any():
            return None
        mean = _pixels(image)[m].mean(0)
        return float((mean - self.background) @ self.contrast / (self.contrast @ self.contrast))


def stop_reason(mask: np.ndarray, prev: np.ndarray, image: np.ndarray, config: PropagationConfig,
                appearance: ObjectAppearance | None = None) -> str | None:
    """Why ``mask`` (HxW bool, on ``image``) does not continue the object ``prev``; None if it does.

    Returns:
        ``"vanished"``, ``"jumped"``, ``"leaked"`` or ``"faded"`` (see the module docstring).
    """
    area = np.count_nonzero(mask)
    if area < config.min_area:
        return "vanished"
    if mask_iou(mask, prev) < config.min_iou:
        return "jumped"
    if config.max_outside is not None:
        grown = ndi.binary_dilation(prev, iterations=config.leak_margin) if config.leak_margin else prev
        if np.count_nonzero(mask & ~grown) > config.max_outside * area:
            return "leaked"
    if config.min_contrast is not None and appearance is not None:
        kept = appearance.kept(image, mask)
        if kept is not None and kept < config.min_contrast:
            return "faded"
    return None


def prompts_from_mask(mask: np.ndarray, config: PropagationConfig = PropagationConfig()) -> tuple[list[Click], Box | None]:
    """Prompts for the next slice from an HxW bool mask of the object on the previous slice.

    Returns:
        (clicks, box): positive clicks, deepest point first, each at least the object's
        "radius" away from the others; the padded bounding box (or None if ``use_box`` is off).

    Raises:
        ValueError: if the mask is empty.
    """
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        raise ValueError("the previous slice's mask is empty; nothing to propagate")
    dt = ndi.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]
    clicks: list[Click] = []
    work = dt.copy()
    peak = float(dt.max())
    radius = max(peak, 2.0)
    rr, cc = np.ogrid[: m.shape[0], : m.shape[1]]
    for _ in range(config.n_positive):
        r, c = np.unravel_index(int(np.argmax(work)), work.shape)
        if work[r, c] <= 0 or (clicks and work[r, c] < max(2.0, 0.5 * peak)):
            break
        clicks.append(Click(int(r), int(c), True))
        work[(rr - r) ** 2 + (cc - c) ** 2 <= radius**2] = 0
    box = None
    if config.use_box:
        rows, cols = np.nonzero(m)
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        pr, pc = int(round(config.box_margin * h)) + 2, int(round(config.box_margin * w)) + 2
        box = Box(rows.min() - pr, cols.min() - pc, rows.max() + pr, cols.max() + pc).clip(m.shape)
    return clicks, box


def _segment(predictor: Predictor, image: np.ndarray, key: Hashable | None, prev: np.ndarray,
             config: PropagationConfig, store: FeatureStore | None) -> np.ndarray:
    use_slice(predictor, image, key, store)
    clicks, box = prompts_from_mask(prev, config)
    prob = predictor.predict(clicks, prev_prob=None, box=box)
    mask = prob > config.threshold
    # keep only the parts connected to a prompt click (no stray blobs elsewhere on the slice)
    lab, n = ndi.label(mask)
    if n > 1:
        keep = {int(lab[c.row, c.col]) for c in clicks} - {0}
        mask = np.isin(lab, list(keep)) if keep else mask & prev
    return mask


def propagate(
    get_slice: Callable[[int], np.ndarray],
    n_slices: int,
    predictor: Predictor,
    start: int,
    start_mask: np.ndarray,
    direction: int,
    config: PropagationConfig = PropagationConfig(),
    stop: int | None = None,
    feature_store: FeatureStore | None = None,
    key_fn: Callable[[int], Hashable] | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_stop: Callable[[int, str], None] | None = None,
) -> dict[int, np.ndarray]:
    """Propagate an object from slice ``start`` towards ``+1`` or ``-1`` (``direction``).

    Args:
        get_slice: ``z -> HxW or HxWxC`` slice of the image volume.
        n_slices: number of slices along the first axis.
        predictor: a Predictor (``core.predictor``); its current image is replaced.
        start: slice index holding ``start_mask``.
        start_mask: HxW bool mask of the object on slice ``start``.
        direction: ``+1`` (forward) or ``-1`` (backward).
        config: thresholds and prompt settings.
        stop: last slice to fill (inclusive); default the end of the volume in ``direction``.
        feature_store, key_fn: optional feature cache and slice -> cache key function.
        progress: ``progress(done, total)`` after each slice.
        should_stop: polled between slices; True ends the propagation early (cancel).
        on_stop: ``on_stop(z, reason)`` when slice ``z``'s mask is refused by a stop rule
            (``stop_reason``); not called when the volume's end, ``stop`` or a cancel ends it.

    Returns:
        ``{z: HxW bool mask}`` for every slice filled, in order of filling.
    """
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 (forward) or -1 (backward), got {direction}")
    if not 0 <= start < n_slices:
        raise ValueError(f"start slice {start} lies outside 0..{n_slices - 1}")
    end = (n_slices - 1 if direction > 0 else 0) if stop is None else int(np.clip(stop, 0, n_slices - 1))
    targets = list(range(start + direction, end + direction, direction))
    if config.max_slices is not None:
        targets = targets[: config.max_slices]
    out: dict[int, np.ndarray] = {}
    prev = np.asarray(start_mask, dtype=bool)
    appearance = ObjectAppearance.measure(get_slice(start), prev) if (config.min_contrast is not None and targets) else None
    for i, z in enumerate(targets):
        if should_stop is not None and should_stop():
            break
        if not prev.any():
            break
        image = get_slice(z)
        mask = _segment(predictor, image, key_fn(z) if key_fn else None, prev, config, feature_store)
        reason = stop_reason(mask, prev, image, config, appearance)
        if reason is not None:
            if on_stop is not None:
                on_stop(z, reason)
            break
        out[z] = mask
        prev = mask
        if progress is not None:
            progress(i + 1, len(targets))
    return out


def propagate_between(
    get_slice: Callable[[int], np.ndarray],
    n_slices: int,
    predictor: Predictor,
    z0: int,
    mask0: np.ndarray,
    z1: int,
    mask1: np.ndarray,
    config: PropagationConfig = PropagationConfig(),
    **kwargs: Any,
) -> dict[int, np.ndarray]:
    """Fill the slices strictly between two annotated slices ``z0`` and ``z1``.

    The lower half is propagated forward from the lower slice, the upper half backward from the
    upper slice (each half stops on its own if the object vanishes). Keyword arguments go to
    ``propagate``.
    """
    if z0 > z1:
        z0, z1, mask0, mask1 = z1, z0, mask1, mask0
    if z1 - z0 < 2:
        return {}
    mid = (z0 + z1) // 2
    out = propagate(get_slice, n_slices, predictor, z0, mask0, +1, config, stop=mid, **kwargs)
    out.update(propagate(get_slice, n_slices, predictor, z1, mask1, -1, config, stop=mid + 1, **kwargs))
    return out
