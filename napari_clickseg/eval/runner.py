"""The standard evaluation run: simulated clicks on every object, metrics and timings.

``evaluate`` implements the standard click-simulation protocol of the field (RITM, Sofiiuk et
al. 2022; NoC@85/90/95 with 20 clicks) for any Predictor:

* each object is evaluated from scratch with the shared ``core.simulate.Clicker``;
* the image is encoded once per image (objects with the same ``image_key`` in a row share one
  ``set_image``; that encoder time is attributed to each of them);
* all ``max_clicks`` clicks are run (no early stop), so the mIoU curve is complete; the previous
  probability map is fed back as it is (not binarised); the mask is ``prob > threshold``;
* a run stops early only when the prediction has no error left at any unclicked pixel (the
  simulator has no click to make); its last IoU is then carried forward.

No printing: progress goes through the ``progress`` callback.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterable

import numpy as np

from ..core.clicks import Click
from ..core.metrics import (
    DEFAULT_TARGETS,
    boundary_iou,
    iou,
    miou_curve,
    never_reached,
    noc,
    noc_nof,
    recall_precision,
    normalized_auc,
)
from ..core.predictor import Predictor
from ..core.simulate import Clicker
from ..core.window import WindowedMap
from ..data.datasets import ObjectSample
from .latency import LatencyStats, latency_stats

__all__ = ["EvalConfig", "ObjectResult", "EvalResult", "evaluate"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalConfig:
    """Settings of one evaluation run.

    Attributes:
        max_clicks: clicks per object (20 in every paper of the field).
        threshold: ``prob > threshold`` is the mask (0.49, RITM scripts).
        jitter: click jitter amplitude in pixels (CSFPN robustness; 0 = off).
        misleading: misleading clicks per object (FDRN robustness; 0 = off).
        seed: fixes which objects/slots are perturbed and how (same for every model).
        targets: IoU targets of NoC/NoF.
    """

    max_clicks: int = 20
    threshold: float = 0.49
    jitter: int = 0
    misleading: int = 0
    seed: int = 0
    targets: tuple[float, ...] = DEFAULT_TARGETS

    def __post_init__(self) -> None:
        if int(self.max_clicks) < 1:
            raise ValueError(f"max_clicks must be at least 1, got {self.max_clicks}")
        if not 0.0 < float(self.threshold) < 1.0:
            raise ValueError(f"threshold must lie in (0, 1), got {self.threshold}")
        if int(self.jitter) < 0:
            raise ValueError(f"jitter must be >= 0 pixels, got {self.jitter}")
        if not 0 <= int(self.misleading) <= max(int(self.max_clicks) - 1, 0):
            raise ValueError(
                f"misleading must lie in 0..{int(self.max_clicks) - 1} (max_clicks - 1; the first "
                f"click is never misleading), got {self.misleading}"
            )
        if int(self.seed) < 0:
            raise ValueError(f"seed must be >= 0 (it seeds numpy.random.default_rng), got {self.seed}")


def target_key(target: float) -> str:
    """0.85 -> "85" (the keys of ``noc``/``nof`` in summary.json)."""
    return str(int(round(target * 100)))


@dataclass
class ObjectResult:
    """Everything measured for one object.

    Attributes:
        index: position in the evaluation (seeds the perturbations).
        name: the sample's name (file and instance id).
        image_key: the key of its image (objects with equal keys share one encoder run).
        area: object size in pixels.
        ious: IoU after each click actually made (length <= max_clicks).
        clicks: the simulated clicks, (row, col) in image pixels.
        click_kinds: per click "standard", "repetitive" or "false".
        boundary_iou: boundary IoU after the last click.
        first_recall: share of the object's (scored) pixels inside the mask after the first
            click, in [0, 1]; below 1 where the first mask misses part of the object.
        first_precision: share of the first mask's (scored) pixels on the object, in [0, 1]
            (1.0 for an empty mask); below 1 where the first mask spills past the object.
        noc: {target: NoC} for the configured targets.
        encode_ms: encoder time of its image (ms).
        click_ms: ``predict`` time of each click (ms).
    """

    index: int
    name: str
    image_key: Hashable
    area: int
    ious: list[float]
    clicks: list[Click]
    click_kinds: list[str]
    boundary_iou: float
    noc: dict[float, int]
    encode_ms: float
    click_ms: list[float]
    first_recall: float = 0.0
    first_precision: float = 1.0

    @property
    def final_iou(self) -> float:
        return self.ious[-1] if self.ious else 0.0


@dataclass
class EvalResult:
    """All objects of one run plus the aggregated metrics (computed on demand)."""

    config: EvalConfig
    objects: list[ObjectResult] = field(default_factory=list)
    model: str = ""
    dataset: str = ""
    wall_s: float = 0.0

    @property
    def all_ious(self) -> list[list[float]]:
        return [o.ious for o in self.objects]

    def noc(self, target: float) -> float:
        return noc_nof(self.all_ious, target, self.config.max_clicks)[0]

    def nof(self, target: float) -> int:
        return noc_nof(self.all_ious, target, self.config.max_clicks)[1]

    def never_reached(self, target: float) -> int:
        return sum(never_reached(x, target, self.config.max_clicks) for x in self.all_ious)

    @property
    def miou_curve(self) -> np.ndarray:
        return miou_curve(self.all_ious, self.config.max_clicks)

    @property
    def auc(self) -> float:
        return normalized_auc(self.miou_curve)

    @property
    def boundary_iou_mean(self) -> float:
        vals = [o.boundary_iou for o in self.objects]
        return float(np.mean(vals)) if vals else float("nan")

    @property
    def latency(self) -> LatencyStats:
        objs = self.objects
        return latency_stats([o.encode_ms for o in objs], [o.click_ms for o in objs])

    @property
    def n_images(self) -> int:
        return len({o.image_key for o in self.objects})


def evaluate(
    predictor: Predictor,
    objects: Iterable[ObjectSample],
    max_clicks: int = 20,
    threshold: float = 0.49,
    jitter: int = 0,
    misleading: int = 0,
    seed: int = 0,
    progress: Callable[[ObjectResult], None] | None = None,
    *,
    model: str | None = None,
    dataset: str = "",
    warmup: bool = True,
) -> EvalResult:
    """Run the standard click-simulation protocol on every object.

    Args:
        predictor: a Predictor (``set_image`` once per image, ``predict`` once per click).
        objects: ``ObjectSample`` (``image`` HxW or HxWxC: numpy, or lazy - dask, zarr - for
            predictors that read windows, see ``core.session``; ``gt`` HxW bool; ``name``;
            optional ``ignore`` HxW bool = not scored; ``image_key``: consecutive samples with
            the same key share one encoder run).
        max_clicks: clicks per object.
        threshold: mask = ``prob > threshold``.
        jitter: click jitter amplitude a (pixels).
        misleading: misleading clicks per object.
        seed: seed of the perturbations (independent of the model).
        progress: called with each finished ``ObjectResult``.
        model: model name for the report (default ``predictor.name``).
        dataset: dataset name for the report.
        warmup: run one untimed encode + click first, so one-off start-up costs (lazy imports,
            allocator warm-up) do not land in the first object's timings.

    Returns:
        ``EvalResult`` with per-object IoU curves, NoC, boundary IoU and timings.
    """
    cfg = EvalConfig(max_clicks, threshold, jitter, misleading, seed)
    result = EvalResult(cfg, model=model or str(getattr(predictor, "name", "")), dataset=dataset)
    start = time.perf_counter()
    current_key: Hashable = object()
    encode_ms = 0.0
    for index, sample in enumerate(objects):
        image, name, ignore, key = sample.image, str(sample.name or f"object-{index}"), sample.ignore, sample.image_key
        gt = np.asarray(sample.gt, bool)
        if image is None or gt.ndim != 2:
            raise ValueError(f"sample {name!r} needs an 'image' and a 2D 'gt' mask")
        if tuple(np.shape(image)[:2]) != gt.shape:
            raise ValueError(
                f"sample {name!r}: gt has shape {gt.shape} but the image is {np.shape(image)[:2]}"
            )
        clicker = Clicker(gt, ignore, jitter=cfg.jitter, misleading=cfg.misleading,
                          max_clicks=cfg.max_clicks, seed=cfg.seed, index=index)
        if warmup and index == 0:
            predictor.set_image(image)
            predictor.predict([Clicker(gt).make_next_click(np.zeros_like(gt))])
            current_key = object()
        if key is None or key != current_key:
            t0 = time.perf_counter()
            predictor.set_image(image)
            encode_ms = (time.perf_counter() - t0) * 1000.0
            current_key = object() if key is None else key
        obj = _run_object(predictor, clicker, gt, ignore, cfg)
        obj.index, obj.name, obj.encode_ms = index, name, encode_ms
        obj.image_key = key if key is not None else name
        result.objects.append(obj)
        if progress is not None:
            progress(obj)
    result.wall_s = time.perf_counter() - start
    if not result.objects:
        log.warning("evaluate: no objects to evaluate")
    return result


def _run_object(predictor: Predictor, clicker: Clicker, gt: np.ndarray, ignore: np.ndarray | None,
                cfg: EvalConfig) -> ObjectResult:
    """Simulate up to ``max_clicks`` clicks on one object (image already set)."""
    prev_prob: np.ndarray | None = None
    pred = np.zeros(gt.shape, bool)
    ious: list[float] = []
    click_ms: list[float] = []
    first: tuple[float, float] = (0.0, 1.0)
    for _ in range(cfg.max_clicks):
        if clicker.make_next_click(pred) is None:
            break  # nothing left to correct: the last IoU is carried forward
        t0 = time.perf_counter()
        prob = predictor.predict(tuple(clicker.clicks), prev_prob=prev_prob)
        click_ms.append((time.perf_counter() - t0) * 1000.0)
        prev_prob = prob
        pred = prob > cfg.threshold
        if isinstance(pred, WindowedMap):  # a large slice: the simulator needs the dense mask
            pred = pred.to_dense(max_pixels=None)
        ious.append(iou(pred, gt, ignore))
        if len(ious) == 1:
            first = recall_precision(pred, gt, ignore)
    return ObjectResult(
        index=-1, name="", image_key=None, area=int(np.count_nonzero(gt)), ious=ious,
        clicks=list(clicker.clicks), click_kinds=list(clicker.kinds),
        boundary_iou=boundary_iou(pred, gt),
        noc={t: noc(ious, t, cfg.max_clicks) for t in cfg.targets},
        encode_ms=0.0, click_ms=click_ms, first_recall=first[0], first_precision=first[1],
    )
