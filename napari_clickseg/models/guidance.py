"""Guidance maps drawn at network-input (crop) resolution, batched in torch.

* click disks (RITM, Sofiiuk et al. 2022; r = 5 px at crop resolution), split into the *current* click (the
  last valid row) and the *historical* ones (FDRN's current/history decoupling);
* IOG inside/outside Gaussians for a box prompt (Zhang et al., CVPR 2020);
* MFP modulation of the previous probability (Lee et al., CVPR 2024; the numpy reference
  ``core.modulation.modulate`` is applied per sample - inputs only, no gradient involved).

Click tensors are (B, N, 3) rows (row, col, is_positive), padded with rows of -1, oldest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from ..core.modulation import MFPConfig, modulate
from .roi import crop_image_to_roi, map_points_to_roi

__all__ = [
    "ClickGuidance", "HeadInputs", "click_guidance", "box_guidance", "mfp_modulate", "mfp_inputs",
    "prepare_head_inputs", "last_valid_index",
]

DISK_RADIUS = 5.0
IOG_SIGMA = 10.0
IOG_CORNER_PUSH = 10.0


def last_valid_index(clicks: Tensor) -> tuple[Tensor, Tensor]:
    """Index of the last valid click row per sample and the number of valid rows.

    Args:
        clicks: (B, N, 3) (row, col, is_positive), padding rows have row < 0 or col < 0.

    Returns:
        (index (B,) long, -1 where no valid click; count (B,) long).
    """
    valid = (clicks[..., 0] >= 0) & (clicks[..., 1] >= 0)
    n = clicks.shape[1]
    ar = torch.arange(n, device=clicks.device).expand_as(valid)
    if n == 0:
        return torch.full((clicks.shape[0],), -1, dtype=torch.long, device=clicks.device), valid.sum(dim=1)
    idx = torch.where(valid, ar, torch.full_like(ar, -1)).max(dim=1).values
    return idx, valid.sum(dim=1)


class ClickGuidance:
    """Disk maps of one batch at crop resolution (plain container)."""

    def __init__(
        self, hist: Tensor, current: Tensor, crop_clicks: Tensor, valid: Tensor, current_idx: Tensor, count: Tensor
    ) -> None:
        self.hist = hist  #: (B, 2, s, s) historical positive / negative disks
        self.current = current  #: (B, 2, s, s) current click disk (pos / neg channel)
        self.crop_clicks = crop_clicks  #: (B, N, 3) clicks in crop pixels
        self.valid = valid  #: (B, N) bool, non-padding rows
        self.current_idx = current_idx  #: (B,) index of the current click row (-1: none)
        self.count = count  #: (B,) number of valid clicks


def _disks(rows: Tensor, cols: Tensor, sels: list[Tensor], size: int, radius: float) -> Tensor:
    """(B, N) centres + K (B, N) bool selections -> (B, K, s, s) float unions of disks.

    Each selected click is stamped into a local window (cheap for the few clicks of an
    interaction and for padded training batches alike).
    """
    b = rows.shape[0]
    out = torch.zeros((b, len(sels), size, size), device=rows.device)
    sel = torch.stack(sels, 1)  # (B, K, N)
    hits = sel.nonzero().tolist()
    if not hits:
        return out
    rc = torch.stack((rows, cols), -1).detach().cpu().tolist()  # one sync, then python floats
    r2 = radius * radius
    rad = int(math.ceil(radius))
    for bi, k, n in hits:
        r, c = rc[bi][n]
        i0, i1 = max(math.floor(r) - rad, 0), min(math.ceil(r) + rad, size - 1)
        j0, j1 = max(math.floor(c) - rad, 0), min(math.ceil(c) + rad, size - 1)
        if i1 < i0 or j1 < j0:
            continue
        ys = torch.arange(i0, i1 + 1, device=rows.device, dtype=torch.float32)[:, None] - r
        xs = torch.arange(j0, j1 + 1, device=rows.device, dtype=torch.float32)[None, :] - c
        win = out[bi, k, i0 : i1 + 1, j0 : j1 + 1]
        torch.maximum(win, ((ys * ys + xs * xs) <= r2).to(win.dtype), out=win)
    return out


def click_guidance(clicks: Tensor, rois: Tensor, size: int, radius: float = DISK_RADIUS) -> ClickGuidance:
    """Draw historical and current click disks in crop coordinates.

    Args:
        clicks: (B, N, 3) float (row, col, is_positive) image pixels, -1 padding, oldest first.
        rois: (B, 4) (row0, col0, row1, col1) inclusive image pixels.
        size: crop side.
        radius: disk radius in crop pixels.
    """
    b = clicks.shape[0]
    clicks = clicks.to(torch.float32)
    idx, count = last_valid_index(clicks)
    valid = (clicks[..., 0] >= 0) & (clicks[..., 1] >= 0)
    crop = map_points_to_roi(clicks, rois, size)
    crop[..., :2] = torch.where(valid[..., None], crop[..., :2], torch.full_like(crop[..., :2], -1e4))
    pos = clicks[..., 2] > 0.5
    n = clicks.shape[1]
    is_cur = torch.arange(n, device=clicks.device)[None, :] == idx[:, None]
    hist = valid & ~is_cur
    r, c = crop[..., 0], crop[..., 1]
    if n == 0:
        z = torch.zeros((b, 2, size, size), device=clicks.device)
        return ClickGuidance(z, z.clone(), crop, valid, idx, count)
    cur = is_cur & valid
    maps = _disks(r, c, [hist & pos, hist & ~pos, cur & pos, cur & ~pos], size, radius)
    return ClickGuidance(maps[:, :2], maps[:, 2:], crop, valid, idx, count)


def box_guidance(
    boxes: Tensor | None, clicks: Tensor, rois: Tensor, size: int, batch: int, device: torch.device
) -> Tensor:
    """IOG inside/outside guidance at crop resolution (zeros where there is no box).

    Inside point: the first valid positive click inside the box, else the box centre. Outside
    points: the four box corners pushed 10 crop pixels outwards. Each point is a Gaussian
    ``exp(-4 ln2 |x - c|^2 / sigma^2)`` (sigma = 10 crop pixels, a FWHM), several points are
    combined by max. Values lie in [0, 1] (IOG's joint min-max scaling to [0, 255] is replaced
    by this fixed [0, 1] range, which the Gaussians already span).

    Args:
        boxes: (B, 4) (row0, col0, row1, col1) image pixels, rows of -1 = no box; or None.
        clicks: (B, N, 3) clicks (row, col, is_positive), -1 padding.
        rois: (B, 4) crop ROIs.
        size: crop side.

    Returns:
        (B, 2, s, s) float32: channel 0 inside, channel 1 outside.
    """
    out = torch.zeros((batch, 2, size, size), device=device)
    if boxes is None:
        return out
    boxes = boxes.to(device, torch.float32)
    has = (boxes >= 0).all(dim=1)
    if not bool(has.any()):
        return out
    r0, c0, r1, c1 = boxes.unbind(-1)
    centre = torch.stack(((r0 + r1) / 2, (c0 + c1) / 2), -1)  # (B, 2)
    cl = clicks.to(device, torch.float32)
    if cl.shape[1]:
        inside = (
            (cl[..., 2] > 0.5) & (cl[..., 0] >= r0[:, None]) & (cl[..., 0] <= r1[:, None])
            & (cl[..., 1] >= c0[:, None]) & (cl[..., 1] <= c1[:, None])
        )
        first = torch.where(inside, torch.arange(cl.shape[1], device=device)[None], cl.shape[1]).amin(1)
        got = first < cl.shape[1]
        pick = cl[torch.arange(batch, device=device), first.clamp(max=cl.shape[1] - 1), :2]
        centre = torch.where(got[:, None], pick, centre)
    corners = torch.stack(
        (torch.stack((r0, c0), -1), torch.stack((r0, c1), -1), torch.stack((r1, c0), -1), torch.stack((r1, c1), -1)),
        1,
    )  # (B, 4, 2) image pixels
    pts = map_points_to_roi(torch.cat((centre[:, None], corners), 1), rois, size)  # (B, 5, 2)
    ctr = pts[:, :1]
    cor = pts[:, 1:]
    mid = ctr.expand_as(cor)
    cor = cor + IOG_CORNER_PUSH * torch.sign(cor - mid)
    cor = cor.clamp(0, size - 1)
    ar = torch.arange(size, device=device, dtype=torch.float32)
    k = 4.0 * math.log(2.0) / IOG_SIGMA**2

    def gauss(p: Tensor) -> Tensor:  # (B, M, 2) -> (B, s, s), max over points
        gy = torch.exp(-k * (ar[None, None, :] - p[..., 0:1]) ** 2)  # (B, M, s)
        gx = torch.exp(-k * (ar[None, None, :] - p[..., 1:2]) ** 2)
        return (gy[..., :, None] * gx[..., None, :]).amax(dim=1)

    maps = torch.stack((gauss(ctr), gauss(cor)), 1)
    return maps * has.to(maps.dtype)[:, None, None, None]


def mfp_modulate(
    prev_crop: Tensor, crop_clicks: Tensor, valid: Tensor, cfg: MFPConfig = MFPConfig()
) -> Tensor:
    """MFP-modulate (B, 1, s, s) previous-probability crops around each sample's newest click.

    Args:
        prev_crop: (B, 1, s, s) float in [0, 1].
        crop_clicks: (B, N, 3) clicks in crop pixels (row, col, is_positive); may lie outside
            the crop (negative or >= s) for clicks outside the ROI.
        valid: (B, N) bool, the non-padding rows.

    Returns:
        (B, 1, s, s) modulated maps (same dtype/device; no gradient).
    """
    with torch.no_grad():
        p_np = prev_crop.detach().to("cpu", torch.float32).numpy()
        c_np = crop_clicks.detach().to("cpu", torch.float32).numpy()
        v_np = valid.detach().cpu().numpy()
        out = np.empty_like(p_np)
        for i in range(p_np.shape[0]):
            rows, ok = c_np[i], v_np[i]
            seq = [(float(r), float(c), bool(v > 0.5)) for r, c, v in rows[ok]]
            out[i, 0] = modulate(p_np[i, 0], seq, cfg)
        return torch.from_numpy(out).to(prev_crop.device, prev_crop.dtype)


@dataclass
class HeadInputs:
    """Everything a click head sees at crop resolution (shared by all learned networks).

    Attributes:
        img: (B, 3, s, s) image crop in [0, 1] (network dtype).
        prev: (B, 1, s, s) previous probability crop in [0, 1] (float32).
        guide: disk maps and click bookkeeping (``ClickGuidance``).
        iog: (B, 2, s, s) IOG inside/outside maps (zeros without a box).
    """

    img: Tensor
    prev: Tensor
    guide: ClickGuidance
    iog: Tensor

    def subset(self, idx: Tensor) -> "HeadInputs":
        g = self.guide
        sub = ClickGuidance(g.hist[idx], g.current[idx], g.crop_clicks[idx], g.valid[idx], g.current_idx[idx], g.count[idx])
        return HeadInputs(self.img[idx], self.prev[idx], sub, self.iog[idx])


def prepare_head_inputs(
    image: Tensor, rois: Tensor, clicks: Tensor, prev_prob: Tensor, boxes: Tensor | None, size: int, dtype: torch.dtype
) -> HeadInputs:
    """Crop the image and previous probability (one resampling pass) and draw the guidance.

    Args:
        image: (B, 3, H, W) float in [0, 1] or uint8.
        rois: (B, 4) ROIs (row0, col0, row1, col1), image pixels, inclusive.
        clicks: (B, N, 3) (row, col, is_positive), -1 padding, oldest first.
        prev_prob: (B, 1, H, W) in [0, 1].
        boxes: (B, 4) or None.
        size: crop side.
        dtype: dtype of the image crop (the network's).
    """
    both = crop_image_to_roi(image, rois, size, extra=prev_prob)
    img, prev = both[:, :3].to(dtype), both[:, 3:].clamp(0.0, 1.0)
    g = click_guidance(clicks, rois, size)
    iog = box_guidance(boxes, clicks, rois, size, rois.shape[0], rois.device)
    return HeadInputs(img, prev, g, iog)


def mfp_inputs(
    inp: HeadInputs,
    cfg: MFPConfig | None,
    double_pass: bool,
    plain_pass: Callable[[Tensor, HeadInputs], Tensor],
) -> tuple[Tensor, Tensor]:
    """(prev, modulated prev) crops for the head, with MFP's first-click double pass.

    Samples whose previous-probability crop is all zero but that have a click first get a
    no-gradient head pass with ``P = P~ = 0`` (``plain_pass(idx, inputs_subset) -> logits``);
    its sigmoid replaces their previous probability, which is then modulated (MFP, Lee et al. 2024).
    Done inside ``decode`` so training and inference see the same inputs.

    Args:
        inp: the head inputs.
        cfg: MFP parameters, or None to feed the plain previous probability twice.
        double_pass: run the first-click double pass.
        plain_pass: head on a subset of the batch with prev_mod = prev.

    Returns:
        (prev (B, 1, s, s), prev_mod (B, 1, s, s)), float32.
    """
    prev = inp.prev
    if cfg is None:
        return prev, prev
    g = inp.guide
    if double_pass:
        need = (g.count > 0) & (prev.flatten(1).amax(dim=1) <= 0)
        if bool(need.any()):
            idx = need.nonzero()[:, 0]
            with torch.no_grad():
                first = torch.sigmoid(plain_pass(idx, inp.subset(idx)).float())
            prev = prev.clone()
            prev[idx] = first.to(prev.dtype)
    return prev, mfp_modulate(prev, g.crop_clicks, g.valid, cfg)
