"""Torch-only ROI-align, inverse paste and point mapping (no torchvision).

A ROI is ``(row0, col0, row1, col1)`` in image pixels, *inclusive* bounds, floats allowed
(training uses fractional ROIs). Pixel ``i`` covers ``[i - 0.5, i + 0.5]``, so the ROI spans
``[row0 - 0.5, row1 + 0.5]``. A crop of ``size x size`` divides that span into equal cells and
samples their centres (``grid_sample(..., align_corners=False)`` semantics). The same convention
is used by the numpy twin in ``core/zoom.py``, so both agree to float precision:

* image -> crop:  ``u = (y - row0 + 0.5) * size / (row1 - row0 + 1) - 0.5``
* crop -> image:  ``y = (u + 0.5) * (row1 - row0 + 1) / size + row0 - 0.5``

Because everything is expressed in normalised coordinates of the *field of view*, a feature map
at any stride (1/4, 1/16, or of a downscaled encoder input) is ROI-aligned with the ROI given in
full-resolution image pixels: pass ``src_hw`` = the full-resolution (H, W).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "crop_to_roi",
    "paste_from_roi",
    "map_points_to_roi",
    "roi_grid",
    "crop_image_to_roi",
]


def _check_rois(rois: Tensor, batch: int) -> Tensor:
    if rois.ndim != 2 or rois.shape != (batch, 4):
        raise ValueError(f"rois must have shape ({batch}, 4) = (row0, col0, row1, col1), got {tuple(rois.shape)}")
    return rois


def roi_grid(rois: Tensor, size: int, src_hw: tuple[float, float]) -> Tensor:
    """Sampling grid for ``grid_sample`` (align_corners=False) of a ``size x size`` crop.

    Args:
        rois: float (B, 4) ROIs (row0, col0, row1, col1), inclusive, in pixels of an image of
            size ``src_hw``.
        size: crop side in pixels.
        src_hw: (H, W) of the image the ROIs refer to (floats allowed: a field of view).

    Returns:
        (B, size, size, 2) float grid in [-1, 1]-normalised (x, y) order (grid_sample's order).
    """
    h, w = float(src_hw[0]), float(src_hw[1])
    rois = rois.to(torch.float32)
    r0, c0, r1, c1 = rois.unbind(-1)
    # the ROI spans [row0 - 0.5, row1 + 0.5] = normalised [r0 / h * 2 - 1, (r1 + 1) / h * 2 - 1];
    # affine_grid maps output cell centres in [-1, 1] linearly onto it
    sy, sx = (r1 - r0 + 1) / h, (c1 - c0 + 1) / w
    ty, tx = (r0 + r1 + 1) / h - 1, (c0 + c1 + 1) / w - 1
    zero = torch.zeros_like(sx)
    theta = torch.stack((torch.stack((sx, zero, tx), -1), torch.stack((zero, sy, ty), -1)), 1)
    return F.affine_grid(theta, [rois.shape[0], 1, size, size], align_corners=False)


def crop_to_roi(
    t: Tensor,
    rois: Tensor,
    size: int,
    mode: str = "bilinear",
    src_hw: tuple[int, int] | None = None,
) -> Tensor:
    """ROI-align: resample the region ``rois`` of ``t`` to ``size x size``.

    Args:
        t: (B, C, h, w) tensor (an image, a probability map, or a feature map covering the
            same field of view as an image of size ``src_hw``).
        rois: (B, 4) float (row0, col0, row1, col1), inclusive bounds, in pixels of ``src_hw``.
        size: output side.
        mode: ``"bilinear"`` or ``"nearest"`` (grid_sample modes).
        src_hw: (H, W) the ROIs refer to; defaults to ``t``'s own (h, w).

    Returns:
        (B, C, size, size) tensor, same dtype as ``t`` (float dtypes); outside the image the
        border value is repeated.
    """
    if t.ndim != 4:
        raise ValueError(f"crop_to_roi expects a (B, C, H, W) tensor, got shape {tuple(t.shape)}")
    _check_rois(rois, t.shape[0])
    hw = (t.shape[-2], t.shape[-1]) if src_hw is None else src_hw
    grid = roi_grid(rois.to(t.device), size, hw).to(t.dtype)
    return F.grid_sample(t, grid, mode=mode, padding_mode="border", align_corners=False)


def paste_from_roi(
    crop: Tensor,
    rois: Tensor,
    out_hw: tuple[int, int],
    base: Tensor | None = None,
    mode: str = "bilinear",
) -> Tensor:
    """Inverse of ``crop_to_roi``: resample a crop back into the image frame.

    Pixels whose centre lies inside the ROI span take the crop's (bilinearly resampled) value;
    all other pixels keep ``base`` (zeros when ``base`` is None). Only the ROI's bounding box is
    resampled, so this is cheap even for 4096x4096 outputs.

    Args:
        crop: (B, C, s, s) values in crop coordinates (probabilities or logits).
        rois: (B, 4) float (row0, col0, row1, col1), inclusive, in pixels of ``out_hw``.
        out_hw: (H, W) of the output.
        base: (B, C, H, W) values outside the ROI; not modified (a new tensor is returned).
        mode: ``"bilinear"`` or ``"nearest"``.

    Returns:
        (B, C, H, W) tensor.
    """
    if crop.ndim != 4:
        raise ValueError(f"paste_from_roi expects a (B, C, s, s) crop, got shape {tuple(crop.shape)}")
    b, c, s, s2 = crop.shape
    _check_rois(rois, b)
    h, w = int(out_hw[0]), int(out_hw[1])
    if base is None:
        out = crop.new_zeros((b, c, h, w))
    else:
        if tuple(base.shape) != (b, c, h, w):
            raise ValueError(f"base has shape {tuple(base.shape)}, expected {(b, c, h, w)}")
        out = base.clone()
    rois_f = rois.detach().to("cpu", torch.float64)
    for i in range(b):
        r0, c0, r1, c1 = (float(v) for v in rois_f[i])
        # output pixels whose centre lies in [row0 - 0.5, row1 + 0.5]
        i0, i1 = max(math.ceil(r0 - 0.5), 0), min(math.floor(r1 + 0.5), h - 1)
        j0, j1 = max(math.ceil(c0 - 0.5), 0), min(math.floor(c1 + 0.5), w - 1)
        if i1 < i0 or j1 < j0:
            continue
        ys = torch.arange(i0, i1 + 1, device=crop.device, dtype=torch.float32)
        xs = torch.arange(j0, j1 + 1, device=crop.device, dtype=torch.float32)
        # pixel centre -> normalised crop coordinate: (y - row0 + 0.5) / (row1 - row0 + 1) * 2 - 1
        gy = (ys - r0 + 0.5) / (r1 - r0 + 1) * 2 - 1
        gx = (xs - c0 + 0.5) / (c1 - c0 + 1) * 2 - 1
        grid = torch.stack(
            (gx[None, :].expand(len(ys), len(xs)), gy[:, None].expand(len(ys), len(xs))), dim=-1
        )[None].to(crop.dtype)
        vals = F.grid_sample(crop[i : i + 1], grid, mode=mode, padding_mode="border", align_corners=False)
        out[i : i + 1, :, i0 : i1 + 1, j0 : j1 + 1] = vals.to(out.dtype)
    return out


def map_points_to_roi(points: Tensor, rois: Tensor, size: int) -> Tensor:
    """Map (row, col) image-pixel points into ``size x size`` crop coordinates.

    Args:
        points: (B, N, 2+) float; columns 0, 1 are (row, col). Extra columns (e.g. the click
            polarity) are passed through unchanged. Padding rows (row < 0 or col < 0) stay -1.
        rois: (B, 4) float (row0, col0, row1, col1), inclusive.
        size: crop side.

    Returns:
        Tensor like ``points`` with (row, col) in crop pixels (may fall outside [0, size)).
    """
    if points.ndim != 3 or points.shape[-1] < 2:
        raise ValueError(f"points must have shape (B, N, 2+), got {tuple(points.shape)}")
    _check_rois(rois, points.shape[0])
    rois = rois.to(points.device, torch.float32)
    p = points.to(torch.float32)
    r0, c0, r1, c1 = (rois[:, k : k + 1] for k in range(4))
    rr = (p[..., 0] - r0 + 0.5) * size / (r1 - r0 + 1) - 0.5
    cc = (p[..., 1] - c0 + 0.5) * size / (c1 - c0 + 1) - 0.5
    valid = (p[..., 0] >= 0) & (p[..., 1] >= 0)
    out = p.clone()
    out[..., 0] = torch.where(valid, rr, torch.full_like(rr, -1.0))
    out[..., 1] = torch.where(valid, cc, torch.full_like(cc, -1.0))
    return out


def crop_image_to_roi(image: Tensor, rois: Tensor, size: int, extra: Tensor | None = None) -> Tensor:
    """ROI-align an image stored as float in [0, 1] *or* uint8 in [0, 255] (+ extra maps).

    Each sample is first cut to its ROI's integer bounding box (plus a 1-pixel margin) and only
    that part is converted to float and resampled, so a 4096x4096 slice (kept as uint8 by the
    predictor: 4x less memory) costs no more per click than a small one. The result equals
    ``crop_to_roi(cat([image.float() / 255 (uint8 only), extra]), rois, size)``.

    Args:
        image: (B, C, H, W) float in [0, 1] or uint8.
        rois: (B, 4) (row0, col0, row1, col1) inclusive, image pixels.
        size: crop side.
        extra: optional (B, K, H, W) float maps (e.g. the previous probability) cropped in the
            same pass and appended as the last K channels.

    Returns:
        (B, C [+ K], size, size) float32.
    """
    _check_rois(rois, image.shape[0])
    h, w = image.shape[-2:]
    out = []
    rois_cpu = rois.detach().to("cpu", torch.float64)
    for i in range(image.shape[0]):
        r0, c0, r1, c1 = (float(v) for v in rois_cpu[i])
        i0, i1 = min(max(math.floor(r0) - 1, 0), h - 1), max(min(math.ceil(r1) + 1, h - 1), 0)
        j0, j1 = min(max(math.floor(c0) - 1, 0), w - 1), max(min(math.ceil(c1) + 1, w - 1), 0)
        i1, j1 = max(i1, i0), max(j1, j0)
        sub = image[i : i + 1, :, i0 : i1 + 1, j0 : j1 + 1]
        sub = sub.float().div_(255.0) if image.dtype == torch.uint8 else sub.float()
        if extra is not None:
            sub = torch.cat([sub, extra[i : i + 1, :, i0 : i1 + 1, j0 : j1 + 1].float()], 1)
        roi = torch.tensor([[r0 - i0, c0 - j0, r1 - i0, c1 - j0]], dtype=torch.float32, device=image.device)
        out.append(crop_to_roi(sub, roi, size))
    return torch.cat(out, 0)
