"""The training-data mixture: synthetic images and the training parts of real datasets.

``DataMixture.sample(rng)`` returns one ``TrainSample``: a square ``image_size`` image
(HxWx3 float32 in [0, 1], normalised like ``core.image.normalize_slice`` does at inference),
its instance labels and the chosen target, after crop/rescale (native range or
object-relative, ``data.object_scale_prob``), flips/rotations and the appearance
augmentations of ``data.appearance`` (``augment.appearance``). A sample depends only on the
``rng`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.real_data import RealImageSet, data_root
from ..data.synthetic import KINDS, generate
from .augment import appearance, crop_around, flip_rotate, object_scale
from .config import TrainConfig
from .sampler import choose_target

__all__ = ["TrainSample", "DataMixture", "to_rgb_float", "percentile_range"]


@dataclass
class TrainSample:
    """One training image with its target.

    Attributes:
        image: (S, S, 3) float32 in [0, 1].
        labels: (S, S) int32 instance ids (0 = background).
        target: (S, S) bool, the object to segment.
        source: ``"synthetic:<kind>"`` or the dataset name.
    """

    image: np.ndarray
    labels: np.ndarray
    target: np.ndarray
    source: str


def to_rgb_float(image: np.ndarray) -> np.ndarray:
    """HxW / HxWxC (C = 1..4) of any dtype -> HxWx3 float32 (values unchanged)."""
    a = np.asarray(image, dtype=np.float32)
    if a.ndim == 2:
        a = a[..., None]
    c = a.shape[-1]
    if c == 1:
        return np.repeat(a, 3, -1)
    if c == 2:
        return np.concatenate([a, a.mean(-1, keepdims=True)], -1)
    return a[..., :3]


def percentile_range(image: np.ndarray, low: float = 1.0, high: float = 99.0) -> tuple[float, float]:
    """The (low, high) percentiles over all channels (as ``normalize_slice``), min/max fallback."""
    lo, hi = np.percentile(image, [low, high])
    if hi - lo < 1e-6:
        lo, hi = float(np.min(image)), float(np.max(image))
    return float(lo), float(hi)


class DataMixture:
    """Draws training samples from the sources of ``cfg.data.sources`` by weight.

    Args:
        cfg: the training configuration (``data``, ``clicks.merge_prob``).
    """

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        d = cfg.data
        items = [(n, float(w)) for n, w in d.sources.items() if w > 0]
        self.names = [n for n, _ in items]
        weights = np.array([w for _, w in items])
        self.probs = weights / weights.sum()
        real = [n for n in self.names if n != "synthetic"]
        root = data_root(d.root) if real else None
        self.real = {n: RealImageSet(root, n, "train", d.min_area) for n in real}
        for name, ds in self.real.items():
            if len(ds) == 0:
                raise ValueError(f"data.sources: dataset {name!r} has no training images")
        self.kinds = tuple(d.synthetic_kinds) or KINDS
        bad = [k for k in self.kinds if k not in KINDS]
        if bad:
            raise ValueError(f"data.synthetic_kinds: unknown kind(s) {bad}; known: {', '.join(KINDS)}")
        self._ranges: dict[tuple[str, int], tuple[float, float]] = {}

    def sample(self, rng: np.random.Generator, tries: int = 20) -> TrainSample:
        """One augmented sample (retries when a draw leaves no usable target)."""
        d = self.cfg.data
        size = int(d.image_size)
        for _ in range(tries):
            src = self.names[int(rng.choice(len(self.names), p=self.probs))]
            if src == "synthetic":
                kind = self.kinds[int(rng.integers(len(self.kinds)))]
                s = generate(rng, kind, (size, size), min_area=d.min_area)
                image = to_rgb_float(s.image)
                lo, hi = percentile_range(image)
                image = np.clip((image - lo) / max(hi - lo, 1e-6), 0, 1)
                labels = s.labels
                ids = np.unique(labels)
                ids = ids[ids > 0]
                target = choose_target(labels, rng, ids, self.cfg.clicks.merge_prob)
                source = f"synthetic:{kind}"
                if target is None:
                    continue
            else:
                ds = self.real[src]
                i = int(rng.integers(len(ds)))
                raw, labels = ds.load(i)
                image = to_rgb_float(raw)
                key = (src, i)
                if key not in self._ranges:
                    self._ranges[key] = percentile_range(image)
                lo, hi = self._ranges[key]
                target = choose_target(labels, rng, ds.object_ids(labels), self.cfg.clicks.merge_prob)
                if target is None:
                    continue
                if d.object_scale_prob > 0 and rng.random() < d.object_scale_prob:
                    scale = object_scale(rng, target, tuple(d.object_extent), tuple(d.scale_limits))
                else:
                    scale = float(np.exp(rng.uniform(np.log(d.scale[0]), np.log(d.scale[1]))))
                image, labels, target = crop_around(image, labels, target, size, scale, rng)
                image = np.clip((image - lo) / max(hi - lo, 1e-6), 0, 1)
                source = src
            image, labels, target = flip_rotate(rng, image, labels, target)
            if int(target.sum()) < d.min_area:
                continue
            stained = source in d.appearance.stain_datasets
            image = appearance(rng, image, d.appearance, stained=stained)
            return TrainSample(image.astype(np.float32), labels.astype(np.int32), target.astype(bool), source)
        raise RuntimeError(f"no usable training target after {tries} draws; check data.sources and data.min_area")
