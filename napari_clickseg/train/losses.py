"""Losses: the normalised focal loss (NFL, Sofiiuk et al. 2019/2022) of RITM, MFP, CSFPN and FDRN, a
boundary-band term for the boundary refiner, and a distillation term that keeps a fine-tune close
to its starting network (Learning without Forgetting, Li & Hoiem 2017)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["normalized_focal_loss", "boundary_band", "boundary_loss", "distillation_loss"]


def normalized_focal_loss(
    logits: Tensor,
    target: Tensor,
    valid: Tensor | None = None,
    alpha: float = 0.5,
    gamma: float = 2.0,
    eps: float = 1e-12,
) -> Tensor:
    """NFL with per-image normalisation of the focal weights, averaged over the batch.

    Per pixel: ``p_t = 1 - |y - p|``, ``alpha_t = alpha`` (y = 1) or ``1 - alpha`` (y = 0),
    ``beta = (1 - p_t)^gamma``; the weights are rescaled per image so that they average to 1
    over its valid pixels (the factor carries no gradient), and the per-image loss is
    ``sum(v * alpha_t * beta_hat * -log(p_t)) / sum(v)``.

    Args:
        logits: (B, 1, H, W) or (B, H, W) raw scores.
        target: same shape, 0/1 (values >= 0.5 count as 1).
        valid: same shape, 1 where the pixel counts (None: all).
        alpha: class balance (0.5 = equal).
        gamma: focusing exponent.
        eps: numerical floor.

    Returns:
        Scalar loss.
    """
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ in shape")
    y = (target >= 0.5).to(logits.dtype)
    v = torch.ones_like(logits) if valid is None else valid.to(logits.dtype)
    p = torch.sigmoid(logits)
    pt = torch.where(y > 0, p, 1 - p)
    # log(p_t) computed stably from the logits (equals log(min(p_t + eps, 1)) up to eps)
    log_pt = torch.where(y > 0, F.logsigmoid(logits), F.logsigmoid(-logits)).clamp_min(torch.log(torch.tensor(eps)))
    alpha_t = torch.where(y > 0, torch.full_like(p, alpha), torch.full_like(p, 1 - alpha))
    beta = (1 - pt) ** gamma * v
    dims = tuple(range(1, logits.ndim))
    with torch.no_grad():
        norm = v.sum(dims, keepdim=True) / (beta.sum(dims, keepdim=True) + eps)
    per_pixel = -alpha_t * beta * norm * log_pt
    per_image = (per_pixel * v).sum(dims) / (v.sum(dims) + eps)
    return per_image.mean()


def boundary_band(target: Tensor, radius: int) -> Tensor:
    """Pixels within ``radius`` (chessboard distance) of the target's boundary, on both sides.

    Args:
        target: (B, 1, H, W) 0/1.
        radius: band half-width in pixels (>= 1).

    Returns:
        (B, 1, H, W) float 0/1: dilation minus erosion of the target by a (2r+1)^2 square.
    """
    y = (target >= 0.5).float()
    k = 2 * int(radius) + 1
    dil = F.max_pool2d(y, k, stride=1, padding=radius)
    ero = 1 - F.max_pool2d(1 - y, k, stride=1, padding=radius)
    return dil - ero


def boundary_loss(logits: Tensor, target: Tensor, radius: int = 2, eps: float = 1e-6) -> Tensor:
    """Binary cross-entropy over the boundary band only (per image, then batch mean).

    The band of a full crop without boundary is empty and contributes 0, so the term only
    weighs the pixels where a one- or two-pixel error of the mask sits.

    Args:
        logits: (B, 1, H, W) raw scores.
        target: same shape, 0/1.
        radius: band half-width (``boundary_band``).
        eps: guards the division for empty bands.

    Returns:
        Scalar loss.
    """
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ in shape")
    band = boundary_band(target, radius)
    bce = F.binary_cross_entropy_with_logits(logits, (target >= 0.5).to(logits.dtype), reduction="none")
    dims = tuple(range(1, logits.ndim))
    return ((bce * band).sum(dims) / (band.sum(dims) + eps)).mean()


def distillation_loss(logits: Tensor, teacher_logits: Tensor, keep: Tensor) -> Tensor:
    """Binary cross-entropy of ``logits`` against the teacher's probabilities, over the kept samples.

    Args:
        logits: (B, 1, H, W) raw scores of the network being trained.
        teacher_logits: same shape, raw scores of the reference network (no gradient flows there).
        keep: (B,) bool, the samples the term applies to.

    Returns:
        Scalar: the per-pixel mean over the kept samples (0 when none is kept).
    """
    if logits.shape != teacher_logits.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and teacher_logits {tuple(teacher_logits.shape)} differ in shape")
    if keep.shape != logits.shape[:1]:
        raise ValueError(f"keep has shape {tuple(keep.shape)}, expected ({logits.shape[0]},)")
    if not bool(keep.any()):
        return logits.sum() * 0.0
    target = torch.sigmoid(teacher_logits[keep].detach().float())
    return F.binary_cross_entropy_with_logits(logits[keep].float(), target)
