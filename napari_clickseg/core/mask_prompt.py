"""A mask prompt in the learned models' own terms: an existing mask as a soft probability map.

An existing mask (an object being edited, ``InteractiveSession.start_from_mask``) reaches a
model as the previous probability of the next click, the input through which every model
receives its own last prediction. The learned models were trained with their own maps there:
about 0.5 at the object's boundary, rising to 0.8-0.95 some pixels inside, falling off outside,
never exactly 0 or 1, with a fall-off of about the same number of *crop* pixels whatever the
object's size (the head's logits are at 1/4 of the Zoom-In crop). A hard 0/1 mask is unlike
anything they saw, and it drives MFP's modulation (``core.modulation``) into its special case:
at a positive click on p = 0 or a negative one on p = 1, the whole window around the click (up
to 100 crop pixels) is overwritten with a ramp, which wipes out the given mask next to every
correcting click.

``soft_mask`` therefore turns the mask into

    p = sigmoid(logit(b) + s / width), clipped to [low, high]

with ``s`` the signed distance to the mask's boundary in pixels (``+0.5`` on the mask's own
boundary pixels, growing inwards; ``-0.5`` on the background's, falling outwards) and ``b``
the level the boundary straddles: ``max(threshold, 0.5)`` inside and ``min(threshold,
MASK_THRESHOLD)`` outside, so that ``p > threshold``, ``p > MASK_THRESHOLD`` (models) and
``p > 0.5`` (Zoom-In) are all exactly the mask. Inside, ``high`` is a plateau (as the
networks' interiors); outside there is none down to ``low``: a flat region at the clicked
probability would be taken whole by MFP's probability distance. ``zoom_width`` gives the
fall-off in image pixels that is ``CROP_WIDTH`` pixels of the crop the network will see for
this mask (the Zoom-In ROI of the mask, ``core.zoom``): a nucleus of 15 px gets a sharp map,
a gland of 200 px a soft one. ``CROP_WIDTH``, ``HIGH`` and ``LOW`` come from the fdrn and
fdrn-v2 maps. Used when a session's ``soft_masks`` is on (off by default: measured against the
0/1 mask, it saves clicks on some parts and costs clicks on others, ``docs/editing.md``).
Classical models keep the 0/1 mask (they only threshold it).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import ndimage

from .predictor import MASK_THRESHOLD
from .zoom import ZoomConfig, compute_roi

__all__ = ["soft_mask", "zoom_width", "WIDTH", "CROP_WIDTH", "HIGH", "LOW"]

#: pixels over which ``soft_mask``'s map rises (inside) and falls (outside) by one logit unit
WIDTH = 3.0
#: the same in pixels of the Zoom-In crop (``zoom_width``)
CROP_WIDTH = 10.0
#: the plateau inside the mask
HIGH = 0.9
#: the floor far outside the mask (never exactly 0)
LOW = 1e-6


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def soft_mask(mask: np.ndarray, threshold: float = MASK_THRESHOLD, width: float = WIDTH, high: float = HIGH,
              low: float = LOW) -> np.ndarray:
    """The soft probability map of a hard mask (see the module docstring).

    Args:
        mask: HxW bool (or integer: nonzero is the mask), (row, col) order.
        threshold: the mask threshold of the session; ``soft_mask(m) > threshold`` is ``m``.
        width: fall-off in pixels (> 0).
        high, low: plateau inside and floor outside; raised / lowered where needed to stay
            above / below the thresholds.

    Returns:
        HxW float32 in (0, 1). An empty mask gives ``low`` everywhere, a full one ``high``.

    Raises:
        ValueError: ``mask`` is not 2D, ``threshold`` not in (0, 1) or ``width`` not > 0.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2D (H, W), got shape {m.shape}")
    if not 0.0 < threshold < 1.0 or not width > 0:
        raise ValueError(f"threshold must lie in (0, 1) and width be > 0, got {threshold}, {width}")
    m = m.astype(bool, copy=False)
    b_in, b_out = max(threshold, 0.5), min(threshold, MASK_THRESHOLD)
    high, low = max(high, (1.0 + b_in) / 2.0), min(low, b_out / 2.0)
    out = np.full(m.shape, low, np.float32)
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if rows.size == 0:
        return out
    # beyond ``reach`` pixels outside the mask the map is ``low``: only that box is transformed
    reach = int(math.ceil(width * (_logit(b_out) - _logit(low)))) + 1
    r0, r1 = max(int(rows[0]) - reach, 0), min(int(rows[-1]) + reach + 1, m.shape[0])
    c0, c1 = max(int(cols[0]) - reach, 0), min(int(cols[-1]) + reach + 1, m.shape[1])
    box = m[r0:r1, c0:c1]
    if box.all():
        out[r0:r1, c0:c1] = high
        return out
    inside = ndimage.distance_transform_edt(box) - 0.5  # >= 0.5 on mask pixels
    outside = ndimage.distance_transform_edt(~box) - 0.5  # >= 0.5 on background pixels
    z = np.where(box, _logit(b_in) + inside / width, _logit(b_out) - outside / width)
    p = 1.0 / (1.0 + np.exp(-z))
    out[r0:r1, c0:c1] = np.clip(p, low, high)
    return out


#: the Zoom-In parameters ``zoom_width`` assumes unless given
DEFAULT_ZOOM = ZoomConfig()


def zoom_width(mask: np.ndarray, zoom: ZoomConfig = DEFAULT_ZOOM, crop_size: int = 256,
               crop_width: float = CROP_WIDTH) -> float:
    """The fall-off (image pixels) that is ``crop_width`` pixels of the crop a network sees.

    The crop is the Zoom-In ROI of ``mask`` alone (``core.zoom.compute_roi`` with ``zoom``,
    as for a correcting click), resampled to ``crop_size`` pixels a side.

    Args:
        mask: HxW bool.
        zoom: the network's Zoom-In parameters.
        crop_size: the side of its crop.
        crop_width: the fall-off in crop pixels.

    Returns:
        ``crop_width * ROI side / crop_size``, at least 0.5 px (``WIDTH`` for an empty mask).
    """
    m = np.asarray(mask, bool)
    if not m.any():
        return WIDTH
    roi = compute_roi(m.shape, [], m.astype(np.float32), None, dataclasses.replace(zoom, skip_clicks=-1))
    return max(float(crop_width) * max(roi.shape) / float(crop_size), 0.5)
