"""Normalised focal loss (NFL, Sofiiuk et al. 2019/2022), the loss of RITM, MFP, CSFPN and FDRN."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["normalized_focal_loss"]


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
