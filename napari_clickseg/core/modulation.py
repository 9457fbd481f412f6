"""MFP probability-map modulation (Lee et al., CVPR 2024, arXiv 2404.18448).

Before each prediction the previous probability map is gamma-corrected around the *newest*
click only: pushed towards 1 near a positive click, towards 0 near a negative click. The
network receives both the original and the modulated map.

All coordinates are (row, col) in the pixels of the map given (the network-input / Zoom-In crop
resolution), and all distances are measured there.

Formula (our defaults: the paper's cap plus its public code's floor):

* window radius ``R = min(d_opp / 2, R_max)`` with ``d_opp`` the distance to the nearest earlier
  click of the opposite type (``R = R_max`` if there is none), then ``R = max(R, 10)``; when that
  10 px floor applies, pixels closer to an opposite click ``c`` than the click ``u`` is
  (``|x - c| < |u - c|``, for opposite clicks within 10 px of ``u``) are removed from the window.
* ``Gamma``: positive ``ln p / ln 0.99`` (so ``p ** (1 / Gamma) = 0.99``), 1 if ``p >= 0.99``;
  negative ``ln 0.01 / ln p`` (so ``p ** Gamma = 0.01``), 1 if ``p <= 0.01``; with ``p`` the
  previous probability at the click. ``p == 0`` (positive) / ``p == 1`` (negative) exactly: the
  window is overwritten with the ramp ``1 - d / d_max`` / ``d / d_max`` (Euclidean ``d``).
* per-pixel ``gamma`` in the window: clicks 1..N (N = 7) use the probability distance
  ``d = (P_x - p)^2``, ``gamma = (Gamma - 1) * max((median(d) - d)^3 / median(d)^3, 0) + 1``;
  later clicks the Euclidean one, ``gamma = Gamma * (1 - d / R) + d / R``.
* positive: ``P~ = P ** (1 / gamma)``; negative: ``P~ = P ** gamma``; the click pixel itself is
  then set to exactly 1 / 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["MFPConfig", "modulate", "max_gamma", "window_radius"]


@dataclass(frozen=True)
class MFPConfig:
    """Hyper-parameters of the modulation (Lee et al. 2024).

    Attributes:
        n_prob: clicks 1..n_prob use the probability distance, later ones the Euclidean one.
        r_max: largest window radius in pixels.
        r_floor: smallest window radius in pixels (C-MFP's floor).
        target: probability the click pixel is pushed to (0.99; 1 - target for negatives).
    """

    n_prob: int = 7
    r_max: float = 100.0
    r_floor: float = 10.0
    target: float = 0.99


def window_radius(
    u: tuple[float, float], opposite: Sequence[tuple[float, float]], cfg: MFPConfig = MFPConfig()
) -> float:
    """Window radius R for click ``u`` given earlier clicks of the opposite type (row, col)."""
    if len(opposite) == 0:
        return float(cfg.r_max)
    d = min(math.hypot(u[0] - c[0], u[1] - c[1]) for c in opposite)
    return float(max(min(d / 2.0, cfg.r_max), cfg.r_floor))


def max_gamma(p: float, is_positive: bool, cfg: MFPConfig = MFPConfig()) -> float:
    """Gamma that moves probability ``p`` to ``target`` (positive) or ``1 - target`` (negative).

    Returns 1.0 when no correction is needed and ``inf`` for the ramp special cases
    (``p == 0`` positive, ``p == 1`` negative).
    """
    p = float(p)
    if is_positive:
        if p >= cfg.target:
            return 1.0
        if p <= 0.0:
            return math.inf
        return math.log(p) / math.log(cfg.target)
    low = 1.0 - cfg.target
    if p <= low:
        return 1.0
    if p >= 1.0:
        return math.inf
    return math.log(low) / math.log(p)


def modulate(
    prob: np.ndarray,
    clicks: Sequence[tuple[float, float, bool]],
    cfg: MFPConfig = MFPConfig(),
) -> np.ndarray:
    """Modulate ``prob`` around the newest click.

    Args:
        prob: HxW float array in [0, 1] (the previous probability at network-input resolution).
        clicks: (row, col, is_positive) of the clicks so far, oldest first, in ``prob``'s pixels;
            the last one is the click being answered. Its 1-based position in this list decides
            probability (<= ``cfg.n_prob``) vs Euclidean distance. Clicks are rounded to the
            nearest pixel; a newest click outside the map leaves ``prob`` unchanged.
        cfg: hyper-parameters.

    Returns:
        HxW float32 modulated map in [0, 1] (a new array; ``prob`` is not modified).
    """
    p_in = np.asarray(prob, dtype=np.float32)
    if p_in.ndim != 2:
        raise ValueError(f"prob must be 2D (HxW), got shape {p_in.shape}")
    out = p_in.copy()
    if len(clicks) == 0:
        return out
    h, w = out.shape
    ur, uc, upos = clicks[-1]
    ur, uc, upos = int(round(float(ur))), int(round(float(uc))), bool(upos)
    if not (0 <= ur < h and 0 <= uc < w):
        return out
    t = len(clicks)  # 1-based index of the newest click
    opposite = [(float(r), float(c)) for r, c, pos in clicks[:-1] if bool(pos) != upos]
    radius = window_radius((ur, uc), opposite, cfg)
    # work on the bounding square of the window only (<= 201 x 201 pixels)
    rr = int(math.floor(radius))
    r0, r1 = max(ur - rr, 0), min(ur + rr, h - 1)
    c0, c1 = max(uc - rr, 0), min(uc + rr, w - 1)
    ys = np.arange(r0, r1 + 1, dtype=np.float32)[:, None]
    xs = np.arange(c0, c1 + 1, dtype=np.float32)[None, :]
    dist = np.sqrt((ys - ur) ** 2 + (xs - uc) ** 2)
    win = dist <= radius
    if opposite and min(math.hypot(ur - a, uc - b) for a, b in opposite) / 2.0 < cfg.r_floor:
        for a, b in opposite:
            d_uc = math.hypot(ur - a, uc - b)
            if d_uc <= cfg.r_floor:
                win &= np.sqrt((ys - a) ** 2 + (xs - b) ** 2) >= d_uc
    win[ur - r0, uc - c0] = True
    patch = out[r0 : r1 + 1, c0 : c1 + 1]
    p_u = float(p_in[ur, uc])
    gamma_max = max_gamma(p_u, upos, cfg)
    vals = patch[win]
    if math.isinf(gamma_max):  # ramp special case
        d = dist[win]
        d_max = float(d.max())
        ramp = d / d_max if d_max > 0 else np.zeros_like(d)
        patch[win] = (1.0 - ramp) if upos else ramp
    elif gamma_max > 1.0:
        if t <= cfg.n_prob:
            d = (vals.astype(np.float64) - p_u) ** 2  # float64: a tiny median must not underflow
            d_med = float(np.median(d))
            if d_med > 0:
                frac = np.maximum(((d_med - d) / d_med) ** 3, 0.0)
            else:  # the limit of the formula when more than half of the window equals p_u
                frac = (d == 0).astype(np.float32)
            gamma = (gamma_max - 1.0) * frac + 1.0
        else:
            q = dist[win] / radius
            gamma = gamma_max * (1.0 - q) + q
        patch[win] = np.power(vals, 1.0 / gamma) if upos else np.power(vals, gamma)
    out[ur, uc] = 1.0 if upos else 0.0
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
