"""Validation during training and fine-tuning: NoC@90 with the evaluation simulator.

A fixed set of ``ObjectSample`` per group (each real dataset's validation part, plus synthetic
objects) is evaluated with ``eval.runner.evaluate`` (the standard protocol: Zoom-In
predictor, 20 simulated clicks, threshold 0.49) on an inference copy of the network.
Training depends on evaluation here, and evaluation never on training.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core.labels import object_ids
from ..data.datasets import ObjectSample

__all__ = ["synthetic_objects", "build_validation_groups", "validate_network"]

log = logging.getLogger(__name__)


def synthetic_objects(n: int, seed: int = 0, size: int = 256, min_area: int = 100) -> list[ObjectSample]:
    """``n`` fixed synthetic objects (one per image, kinds in turn), independent of training."""
    from ..data.synthetic import KINDS, generate

    out: list[ObjectSample] = []
    i = 0
    while len(out) < n and i < 20 * max(n, 1):
        rng = np.random.default_rng([987654321, seed, i])
        kind = KINDS[i % len(KINDS)]
        s = generate(rng, kind, (size, size), appearance=0.5, min_area=min_area)
        ok = object_ids(s.labels, min_area)
        i += 1
        if len(ok) == 0:
            continue
        obj = int(ok[rng.integers(len(ok))])
        out.append(ObjectSample(s.image, s.labels == obj, f"synthetic-{kind}-{i - 1}#{obj}", f"synthetic-{i - 1}"))
    return out


def build_validation_groups(
    datasets: list[str], root: str | Path | None, objects_per_dataset: int, synthetic: int, seed: int = 0
) -> dict[str, list[ObjectSample]]:
    """The fixed validation objects: {group name: objects}.

    ``root`` is the data root (None: ``$CLICKSEG_DATA``). Missing datasets, or no data root at
    all, are skipped with a warning.
    """
    from ..data.real_data import data_root, validation_objects

    groups: dict[str, list[ObjectSample]] = {}
    if datasets:
        try:
            root = data_root(root)
        except FileNotFoundError as err:
            log.warning("validation: skipping the real datasets (%s)", err)
            datasets = []
    for name in datasets:
        try:
            objs = validation_objects(root, name, objects_per_dataset, seed=seed)
        except FileNotFoundError as err:
            log.warning("validation: skipping %s (%s)", name, err)
            continue
        if objs:
            groups[name] = objs
    if synthetic > 0:
        groups["synthetic"] = synthetic_objects(synthetic, seed)
    return groups


def validate_network(
    net: Any,
    groups: dict[str, list[ObjectSample]],
    max_clicks: int = 20,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Evaluate ``net`` on every group with the standard click protocol.

    Args:
        net: a network from ``build_network`` (not modified: an inference copy is made).
        groups: {name: objects with image, gt, name, image_key}.
        max_clicks: clicks per object.
        device: inference device.
        progress: called with each group name before it runs.

    Returns:
        {group: {"objects", "noc85", "noc90", "miou1", "miou5", "auc"}} plus ``"mean"`` (the
        unweighted mean of the groups' numbers; model selection uses ``mean["noc90"]``).
    """
    from ..eval.runner import evaluate
    from ..models.learned_predictor import LearnedPredictor

    predictor = LearnedPredictor(net, device=device, trained=True)
    predictor.name = "validation"
    out: dict[str, dict[str, float]] = {}
    for name, objs in groups.items():
        if progress is not None:
            progress(name)
        res = evaluate(predictor, objs, max_clicks=max_clicks, warmup=False, dataset=name)
        curve = res.miou_curve
        out[name] = {
            "objects": float(len(res.objects)),
            "noc85": float(res.noc(0.85)),
            "noc90": float(res.noc(0.90)),
            "miou1": float(curve[0]),
            "miou5": float(curve[min(4, len(curve) - 1)]),
            "auc": float(res.auc),
        }
    if out:
        keys = ["noc85", "noc90", "miou1", "miou5", "auc"]
        out["mean"] = {k: float(np.mean([v[k] for v in out.values()])) for k in keys}
        out["mean"]["objects"] = float(sum(v["objects"] for k, v in out.items() if k != "mean"))
    return out
