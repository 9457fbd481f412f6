"""Classical (non-learned) interactive baselines: random walker, graph cut, geodesic distance.

These are the rows of FDRN's Table 1 that need no training, behind the same ``BasePredictor``
protocol as the networks. ``_encode`` only normalises the slice (``normalize_slice``: HxWx3
float32 in [0, 1]) and pre-computes cheap maps; all real work happens per click, in three steps
(a pure function of clicks, previous probability and box):

1. a **work region** around the clicks, the previous mask and the box, downscaled so that its
   longer side is at most 192 px (``seed_region.compute_region``);
2. **seeds** from the clicks, plus background seeds on the region's sides inside the image and
   on a box outline (``seed_region.click_seeds``; see that module for the exact rules);
3. **segmentation** by the method on the work region, upsampled (bilinear) and pasted back;
   outside the region the probability is 0.

The previous probability (``prev_prob``, e.g. a mask prompt: an existing object being edited)
sets the work region, adds colour samples (graph cut) and, when the clicks give no object seed
(only negative clicks so far), seeds the object with its core (``seed_region.mask_prompt_seeds``);
a positive click makes the clicks the only object seeds again, so the mask then only bounds the
region.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import ndimage

from ..core.clicks import Box, Click
from ..core.image import normalize_slice
from .base import BasePredictor
from .seed_region import (
    BG,
    FG,
    THRESHOLD,
    RegionConfig,
    WorkRegion,
    click_seeds,
    compute_region,
    crop_to_work,
    mask_prompt_seeds,
    paste_from_work,
    region_ring,
)

__all__ = [
    "RegionConfig",
    "RandomWalkerPredictor",
    "GraphCutPredictor",
    "GeodesicPredictor",
    "build_random_walker",
    "build_graph_cut",
    "build_geodesic",
]


class _ClassicalPredictor(BasePredictor):
    """Common parts: normalised slice as features, work region, seeds, paste back."""

    supports_box = True
    trained = True  # nothing to train: never "untrained"

    #: Gaussian sigma (pixels) applied to the normalised slice in ``_encode``
    smooth: float = 1.0

    def __init__(self, region: RegionConfig | None = None) -> None:
        super().__init__()
        self.region = region or RegionConfig()
        self.device = "cpu"

    def _encode(self, image: np.ndarray) -> dict[str, Any]:
        norm = normalize_slice(image)
        gray = bool(np.array_equal(norm[..., 0], norm[..., 1]) and np.array_equal(norm[..., 0], norm[..., 2]))
        norm = norm[..., :1] if gray else norm
        if self.smooth > 0:  # light denoising: pixel noise otherwise acts as many weak edges
            norm = ndimage.gaussian_filter(norm, sigma=(self.smooth, self.smooth, 0))
        return {"image": norm, "gray": gray}

    def _predict(self, features: dict[str, Any], clicks: tuple[Click, ...], prev_prob: np.ndarray | None,
                 box: Box | None) -> np.ndarray:
        img = features["image"]
        shape = (img.shape[0], img.shape[1])
        work = compute_region(shape, clicks, prev_prob, box, self.region)
        seeds = click_seeds(shape, work, clicks, box, self.region)
        prev = None if prev_prob is None else crop_to_work(prev_prob, work) > THRESHOLD
        if not (seeds == FG).any() and prev is not None and prev.any():
            seeds = mask_prompt_seeds(seeds, prev, self.region)  # negative clicks on a given mask
        if not (seeds == FG).any():  # only negative clicks: nothing is the object
            return np.zeros(shape, np.float32)
        prob = self._segment(features, work, seeds, prev)
        return paste_from_work(np.clip(prob, 0.0, 1.0), work, shape)

    def _segment(self, features: dict[str, Any], work: WorkRegion, seeds: np.ndarray,
                 prev: np.ndarray | None) -> np.ndarray:
        """Object probability at work resolution (h, w) from seeds (0/FG/BG) and the previous
        mask (bool, work resolution, or None)."""
        raise NotImplementedError


class RandomWalkerPredictor(_ClassicalPredictor):
    """Random walker (Grady 2006, scikit-image) from click seeds.

    The probability is the random walker's probability that a walker from each pixel first
    reaches an object seed (``return_full_prob=True``), computed on the work region.

    Args:
        beta: edge penalty of ``skimage.segmentation.random_walker`` (larger = edges stop
            the walkers more). 1000 rather than scikit-image's 130: with single clicks (tiny
            seeds) on [0, 1]-normalised slices, 130 lets walkers leak across object edges.
        mode: solver, ``"cg_j"`` (conjugate gradient, Jacobi preconditioner) or ``"cg"``.
        tol: the solver's tolerance.
        region: work-region settings.
    """

    smooth = 0.0  # the walker copes with pixel noise; smoothing blurs thin membranes (EM)

    def __init__(self, beta: float = 8.0, mode: str = "cg_j", tol: float = 1e-3,
                 region: RegionConfig | None = None) -> None:
        super().__init__(region)
        self.tol = float(tol)
        self.beta = float(beta)
        self.mode = mode

    def _segment(self, features: dict[str, Any], work: WorkRegion, seeds: np.ndarray,
                 prev: np.ndarray | None) -> np.ndarray:
        from skimage.segmentation import random_walker

        data = crop_to_work(features["image"], work)
        std = float(data.std())
        g2 = np.concatenate([np.sum(np.diff(data, axis=a) ** 2, axis=-1).ravel() for a in (0, 1)])
        mean_g2 = float(g2.mean())
        if std < 1e-6 or mean_g2 < 1e-12:  # flat region: no edges to follow
            return (seeds == FG).astype(np.float32)
        # scikit-image weights edges by exp(-beta * g2 / (10 std sqrt(C))); this beta makes that
        # exp(-self.beta * g2 / mean(g2)): contrast relative to the region's own edge statistics
        beta = self.beta * 10.0 * std * np.sqrt(data.shape[-1]) / mean_g2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "isolated pixels/regions" notes from the solver
            prob = random_walker(data, seeds.astype(np.int32), beta=beta, mode=self.mode, tol=self.tol,
                                 return_full_prob=True, channel_axis=-1)
        return np.nan_to_num(prob[0], nan=0.0)


def build_random_walker(info: Any = None, device: str = "auto", weights: Any = None) -> RandomWalkerPredictor:
    """Registry builder for ``random-walker`` (``device`` and ``weights`` are ignored: CPU, no weights)."""
    return RandomWalkerPredictor()


def _colour_codes(image: np.ndarray, bins: int) -> np.ndarray:
    """HxW int codes of a quantised HxWxC [0, 1] image (C = 1 or 3), ``bins`` levels per channel."""
    q = np.minimum((image * bins).astype(np.int64), bins - 1)
    code = q[..., 0]
    for ch in range(1, q.shape[-1]):
        code = code * bins + q[..., ch]
    return code


def _histogram_model(codes: np.ndarray, samples: np.ndarray, bins: int, channels: int) -> np.ndarray:
    """Smoothed, normalised colour histogram of ``codes[samples]`` as a flat probability table."""
    hist = np.bincount(codes[samples], minlength=bins ** channels).astype(np.float64)
    hist = ndimage.gaussian_filter(hist.reshape((bins,) * channels), sigma=1.0, mode="constant").ravel()
    hist += 1e-3 * hist.sum() / hist.size + 1e-12  # every colour stays possible
    return hist / hist.sum()


def _gauss_nll(data: np.ndarray, samples: np.ndarray, min_std: float) -> np.ndarray:
    """Negative log density (per pixel, HxW) of one Gaussian fitted to ``samples`` (N x C)."""
    c = data.shape[-1]
    mean = samples.mean(axis=0)
    cov = np.cov(samples.T).reshape(c, c) if len(samples) > 1 else np.zeros((c, c))
    cov = cov + (min_std ** 2) * np.eye(c)
    inv = np.linalg.inv(cov)
    diff = data.reshape(-1, c) - mean
    maha = np.einsum("ni,ij,nj->n", diff, inv, diff).reshape(data.shape[:2])
    return 0.5 * maha + 0.5 * np.log(np.linalg.det(2 * np.pi * cov))


class GraphCutPredictor(_ClassicalPredictor):
    """Boykov-Jolly interactive graph cut (max-flow with PyMaxflow) from click seeds.

    Energy on the 4-connected grid of the work region:

    * n-links ``smoothness * exp(-beta * |I_p - I_q|^2)`` with ``beta = 1 / (2 mean |I_p - I_q|^2)``
      (Boykov and Jolly 2001; Rother et al. 2004);
    * t-links ``-log P(I_p | object)`` and ``-log P(I_p | background)`` from smoothed colour
      models: smoothed colour histograms (``bins`` levels per channel; ``fg_model="gauss"``
      fits one Gaussian to the object instead) of the object samples (disks of
      ``sample_radius`` work pixels around the object seeds, plus the previous mask if
      ``use_prev``) and of the background seeds and the region's outer ring;
    * with negative clicks, a click-distance term: pixels nearer (Euclidean) to a negative
      click than to every positive one pay ``distance_weight * (d_pos - d_neg) / diagonal``
      for being object (without it a negative click inside an area of object colour only
      removes its own seed disk; one-sided, so a negative click never adds object pixels);
    * seeds are hard constraints (infinite t-links).

    The cut is binary; the returned probability is the 0/1 cut smoothed by a Gaussian of
    ``soft_sigma`` work pixels (0.5 on the cut boundary), so ``prob > 0.49`` reproduces the cut.
    """

    smooth = 1.0

    def __init__(self, smoothness: float = 20.0, bins: int = 16, sample_radius: int = 6,
                 soft_sigma: float = 1.0, fg_model: str = "hist", min_std: float = 0.1,
                 distance_weight: float = 20.0, use_prev: bool = True, region: RegionConfig | None = None) -> None:
        super().__init__(region)
        self.distance_weight = float(distance_weight)
        self.use_prev = use_prev
        self.fg_model = fg_model
        self.min_std = float(min_std)
        self.smoothness = float(smoothness)
        self.bins = int(bins)
        self.sample_radius = int(sample_radius)
        self.soft_sigma = float(soft_sigma)

    def _segment(self, features: dict[str, Any], work: WorkRegion, seeds: np.ndarray,
                 prev: np.ndarray | None) -> np.ndarray:
        import maxflow

        data = np.clip(crop_to_work(features["image"], work), 0.0, 1.0)
        channels = data.shape[-1]
        bins = self.bins if channels == 3 else 4 * self.bins
        codes = _colour_codes(data, bins)
        fg_seed, bg_seed = seeds == FG, seeds == BG
        fg_samples = ndimage.binary_dilation(fg_seed, iterations=self.sample_radius)
        if prev is not None and self.use_prev:
            fg_samples |= prev
        fg_samples &= ~bg_seed
        if self.fg_model == "gauss":
            d_fg = _gauss_nll(data, data[fg_samples], self.min_std) + np.log(bins ** channels)
        else:
            d_fg = -np.log(_histogram_model(codes, fg_samples, bins, channels)[codes])
        # background colours: its seeds plus the region's outer ring (soft samples only, so an
        # object touching the image border can still reach it)
        ring = region_ring(work, 2, all_sides=not any(work.inner))
        bg_samples = bg_seed | (ring & ~fg_samples)
        d_bg = -np.log(_histogram_model(codes, bg_samples, bins, channels)[codes])
        neg = (seeds == BG) & ~region_ring(work, 1)  # negative clicks and box outline
        if self.distance_weight > 0 and neg.any():
            # nearer to a negative click than to every positive one: leaning to background
            d_pos = ndimage.distance_transform_edt(~fg_seed)
            d_neg = ndimage.distance_transform_edt(~neg)
            scale = self.distance_weight / float(np.hypot(*seeds.shape))
            d_fg = d_fg + scale * np.maximum(d_pos - d_neg, 0)

        dr = np.sum(np.diff(data, axis=1) ** 2, axis=-1)  # right neighbours, h x (w-1)
        dd = np.sum(np.diff(data, axis=0) ** 2, axis=-1)  # down neighbours, (h-1) x w
        mean_sq = (dr.sum() + dd.sum()) / max(dr.size + dd.size, 1)
        beta = 1.0 / (2.0 * max(float(mean_sq), 1e-8))
        h, w = seeds.shape
        w_right = np.zeros((h, w))
        w_down = np.zeros((h, w))
        w_right[:, :-1] = self.smoothness * np.exp(-beta * dr)
        w_down[:-1, :] = self.smoothness * np.exp(-beta * dd)

        g = maxflow.Graph[float]()
        nodes = g.add_grid_nodes((h, w))
        right = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]])
        down = np.array([[0, 0, 0], [0, 0, 0], [0, 1, 0]])
        g.add_grid_edges(nodes, weights=w_right, structure=right, symmetric=True)
        g.add_grid_edges(nodes, weights=w_down, structure=down, symmetric=True)
        big = 1e9
        # source = object: a pixel cut to the sink (background) pays the source capacity
        src = np.where(fg_seed, big, np.where(bg_seed, 0.0, d_bg))
        snk = np.where(bg_seed, big, np.where(fg_seed, 0.0, d_fg))
        g.add_grid_tedges(nodes, src, snk)
        g.maxflow()
        obj = ~g.get_grid_segments(nodes)  # True = sink side = background
        if self.soft_sigma <= 0:
            return obj.astype(np.float32)
        return ndimage.gaussian_filter(obj.astype(np.float32), self.soft_sigma)


class GeodesicPredictor(_ClassicalPredictor):
    """Geodesic distance to the object seeds versus the background seeds.

    The local cost is ``floor + (|grad I| / mean |grad I|) ** power`` on the (Gaussian-
    smoothed) work region, so paths that cross strong edges are long. Paths from the object
    seeds also pay ``colour * min_k |I - c_k|^2 / total variance``, where ``c_k`` is the mean
    colour of the k-th object seed disk, so they stay cheap only inside regions that look like
    some clicked pixels (without that term a
    single click far from any background seed claims half the region). Geodesic distances
    ``d_pos`` (to the positive clicks) and ``d_neg`` (to the negative clicks, the region border
    and the box outline) come from ``skimage.graph.MCP_Geometric``; the probability is
    ``d_neg / (d_pos + d_neg)`` (1 on positive seeds, 0 on negative ones, 0.5 half-way).
    """

    smooth = 1.0

    def __init__(self, floor: float = 0.05, power: float = 2.0, colour: float = 5.0,
                 region: RegionConfig | None = None) -> None:
        super().__init__(region)
        self.colour = float(colour)
        self.floor = float(floor)
        self.power = float(power)

    def _encode(self, image: np.ndarray) -> dict[str, Any]:
        feats = super()._encode(image)
        img = feats["image"]
        gy = ndimage.sobel(img, axis=0)
        gx = ndimage.sobel(img, axis=1)
        feats["grad"] = np.sqrt(np.sum(gx ** 2 + gy ** 2, axis=-1)).astype(np.float32)
        return feats

    def _segment(self, features: dict[str, Any], work: WorkRegion, seeds: np.ndarray,
                 prev: np.ndarray | None) -> np.ndarray:
        from skimage.graph import MCP_Geometric

        grad = crop_to_work(features["grad"], work)
        scale = float(grad.mean())
        cost = self.floor + (grad / scale) ** self.power if scale > 1e-8 else np.ones_like(grad)
        cost_pos = cost
        if self.colour > 0:  # leaving the clicked colours is also costly for the object's paths
            data = crop_to_work(features["image"], work)
            labels, n = ndimage.label(seeds == FG)
            centres = np.stack([ndimage.mean(data[..., ch], labels, np.arange(1, n + 1))
                                for ch in range(data.shape[-1])], axis=-1).reshape(n, -1)
            dev = np.min([np.sum((data - c) ** 2, axis=-1) for c in centres], axis=0)
            cost_pos = cost + self.colour * dev / max(float(data.var() * data.shape[-1]), 1e-8)
        d_pos = _geodesic(MCP_Geometric, cost_pos, seeds == FG)
        d_neg = _geodesic(MCP_Geometric, cost, seeds == BG)
        total = d_pos + d_neg
        return np.where(total > 0, d_neg / np.maximum(total, 1e-12), 0.5).astype(np.float32)


def _geodesic(mcp_cls: Any, cost: np.ndarray, starts: np.ndarray) -> np.ndarray:
    mcp = mcp_cls(cost, fully_connected=True)
    dist, _ = mcp.find_costs(np.argwhere(starts))
    return np.nan_to_num(np.asarray(dist, np.float64), nan=np.inf, posinf=1e12)


def build_graph_cut(info: Any = None, device: str = "auto", weights: Any = None) -> GraphCutPredictor:
    """Registry builder for ``graph-cut`` (``device`` and ``weights`` are ignored)."""
    return GraphCutPredictor()


def build_geodesic(info: Any = None, device: str = "auto", weights: Any = None) -> GeodesicPredictor:
    """Registry builder for ``geodesic`` (``device`` and ``weights`` are ignored)."""
    return GeodesicPredictor()
