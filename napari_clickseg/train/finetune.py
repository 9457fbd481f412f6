"""Fine-tuning a learned model on the slices a user labelled (Python API of the widget and CLI).

``finetune(image, labels, ...)`` trains the base model on the labelled slices with simulated
clicks (the same loop as ``clickseg train``: ``loop.TrainLoop``), keeps some labelled slices
aside to pick the best step and stop early (``loop.improves``: validation NoC@90 with the
evaluation simulator; ties, e.g. kept-aside slices that already need 1-2 clicks, go to the
higher mIoU curve (AUC)); when no step beats the base model it says so and keeps the base
weights (``FinetuneResult.improved`` is False). It saves the result to the per-user model
folder as ``<name>.pt`` + ``<name>.json``, so ``list_models()`` shows it at once and ``load_model(name)`` loads it.

Cancelling (``should_stop`` returning True) stops early and keeps what was learned: the best
weights so far are saved, and the card records ``training.stopped = "cancelled"``.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..core.labels import labelled_slices, object_ids

__all__ = ["FinetuneConfig", "FinetuneResult", "finetune"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class FinetuneConfig:
    """Budget and settings of a fine-tune.

    Attributes:
        max_steps: optimisation steps at most.
        max_minutes: wall-time budget (training stops after it, then saves).
        lr: Adam learning rate.
        batch_size: samples per step.
        val_fraction: fraction of the labelled slices kept aside for early stopping (at least
            one when 3 or more slices are labelled; with fewer, the training slices are used).
        seed: seed of the data draws and clicks.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
        image_size: side of the square training crops (capped at the slice size).
        val_every: validate every this many steps.
        val_objects: at most this many validation objects.
        val_clicks: simulated clicks per validation object.
        patience: stop after this many validations without improvement (0 = never).
        min_area: smallest object (pixels) used for training or validation.
        freeze_bn: keep BatchNorm statistics fixed (small batches).
        scale: range (low, high) of the random rescale of the labelled slices, so the model
            also sees the smaller and larger cross-sections of the objects on other slices.
        replay: expected fraction of each batch drawn from the procedural generator (all
            kinds, ``data.synthetic``) instead of the labelled slices, so the model keeps what
            it knew about other objects while it adapts (0 = labelled slices only).
        object_roi: probability of an object-relative training ROI (side 1.2-3x the object's
            box, the zoomed views the predictor's Zoom-In gives from the second click on)
            instead of FDRN's image-relative one (``ClickSection.object_roi_prob``). The
            defaults of this and ``replay`` were chosen with ``benchmarks/bench_finetune.py``
            (docs/training.md, "Fine-tuning on labelled slices: the recipe").
        supervised_rounds: supervised head passes per object, one simulated click apart
            (``ClickSection.supervised_rounds``).
        objects_per_image: objects drawn from each training crop, sharing its encoder pass
            (``ClickSection.objects_per_image``).
        max_iterative: no-gradient click rounds before them, drawn from 0..max_iterative.
        precision: training precision (``RunSection.precision``: ``auto`` = bf16 autocast
            where the hardware has it).
        data_workers: worker processes building the next batches while the network runs
            (0 = in this process).
        allow_untrained: allow a base without trained weights (tests only).
    """

    max_steps: int = 400
    max_minutes: float = 5.0
    lr: float = 1e-4
    batch_size: int = 4
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    image_size: int = 256
    val_every: int = 50
    val_objects: int = 8
    val_clicks: int = 10
    patience: int = 3
    min_area: int = 20
    freeze_bn: bool = True
    scale: tuple[float, float] = (0.5, 1.5)
    replay: float = 0.1
    object_roi: float = 0.8
    supervised_rounds: int = 2
    objects_per_image: int = 2
    max_iterative: int = 3
    precision: str = "auto"
    data_workers: int = 1
    allow_untrained: bool = False

    def __post_init__(self) -> None:
        if self.max_steps < 0 or self.max_minutes <= 0 or self.lr <= 0 or self.batch_size < 1:
            raise ValueError("FinetuneConfig: max_steps >= 0, max_minutes > 0, lr > 0 and batch_size >= 1 are required")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"FinetuneConfig.val_fraction must lie in [0, 1), got {self.val_fraction}")
        if not 0 <= self.replay < 1:
            raise ValueError(f"FinetuneConfig.replay must lie in [0, 1), got {self.replay}")
        if not 0 <= self.object_roi <= 1:
            raise ValueError(f"FinetuneConfig.object_roi must lie in [0, 1], got {self.object_roi}")
        if len(self.scale) != 2 or not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f"FinetuneConfig.scale must be (low, high) with 0 < low <= high, got {self.scale}")
        if self.supervised_rounds < 1 or self.objects_per_image < 1 or self.max_iterative < 0 or self.data_workers < 0:
            raise ValueError("FinetuneConfig: supervised_rounds >= 1, objects_per_image >= 1, max_iterative >= 0 "
                             "and data_workers >= 0 are required")
        from .config import PRECISIONS

        if self.precision not in PRECISIONS:
            raise ValueError(f"FinetuneConfig.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")


@dataclass
class FinetuneResult:
    """The saved model.

    Attributes:
        name: registry name (``load_model(name)``).
        weights_path: ``<user_models_dir>/<name>.pt`` (the card is beside it).
        card: the model card written.
        history: one dict per validation (``step``, ``noc90``, ``miou1``, ``loss``, ...).
        improved: whether a step beat the base model on the kept-aside objects (False: the
            saved weights are the base's, unchanged; None: nothing to validate on).
    """

    name: str
    weights_path: Path
    card: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    improved: bool | None = None


def _as_volume(image: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image, labels = np.asarray(image), np.asarray(labels)
    if labels.ndim not in (2, 3):
        raise ValueError(f"labels must be (H, W) or (Z, H, W), got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) and labels.dtype != bool:
        raise ValueError(f"labels must hold integers (0 = background, 1..N = objects), got dtype {labels.dtype}")
    if labels.ndim == 2:
        image, labels = image[None], labels[None]
    if image.shape[:3] != labels.shape or image.ndim not in (3, 4) or (image.ndim == 4 and image.shape[-1] > 4):
        raise ValueError(
            f"image shape {image.shape} does not match labels shape {labels.shape}: expected image "
            f"(Z, H, W) or (Z, H, W, C) with the labels' (Z, H, W) (or one 2D slice and its labels)"
        )
    return image, labels.astype(np.int32)


def _check_name(name: str) -> None:
    from ..models.registry import _REGISTRY

    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"model name {name!r} is not usable: use 1-64 letters, digits, '.', '_' or '-', starting "
            f"with a letter or digit"
        )
    if name in _REGISTRY:
        raise ValueError(f"model name {name!r} is a built-in model; choose another name for the fine-tuned model")


def _load_base(base: str, cfg: FinetuneConfig) -> tuple[Any, str, dict[str, Any] | None]:
    """(network on CPU, family, base card or None)."""
    from ..models.networks import build_network
    from ..models.registry import get_model_info, network_families
    from ..models.weights_io import load_network, read_card

    if base.endswith(".pt") or Path(base).suffix == ".pt":
        net = load_network(base, device="cpu")
        return net, str(net.config.family), read_card(base)
    info = get_model_info(base)  # KeyError lists the names
    family = info.family or info.name
    if info.kind == "classical" or family not in network_families():
        raise ValueError(f"base model {base!r} is not a learned network; choose one of {', '.join(network_families())} "
                         f"or a fine-tuned model")
    if info.has_weights:
        return load_network(info.weights, device="cpu", family=family), family, read_card(info.weights)
    if not cfg.allow_untrained:
        raise FileNotFoundError(
            f"base model {base!r} has no trained weights at {info.weights}; train it first "
            f"(clickseg train) or pass a weights file as base"
        )
    log.warning("fine-tuning %s from random weights (allow_untrained=True)", base)
    return build_network(family), family, None


class _SliceData:
    """Training draws from labelled slices (normalised once)."""

    def __init__(self, image: np.ndarray, labels: np.ndarray, slices: list[int], cfg: FinetuneConfig) -> None:
        from ..core.image import normalize_slice

        self.images = [normalize_slice(image[z]) for z in slices]
        self.labels = [labels[z] for z in slices]
        self.ids = []
        for lab in self.labels:
            self.ids.append(object_ids(lab, cfg.min_area))
        self.usable = [i for i, ids in enumerate(self.ids) if len(ids)]
        h, w = self.labels[0].shape
        self.size = int(min(cfg.image_size, max(h, w)))
        self.size -= self.size % 16
        self.cfg = cfg
        self.replay = None  # the generator's samples, as in `clickseg train` (synthetic source only)
        if cfg.replay > 0:
            from .config import DataSection, TrainConfig
            from .mixture import DataMixture

            self.replay = DataMixture(TrainConfig(data=DataSection(sources={"synthetic": 1.0}, image_size=self.size,
                                                                   min_area=cfg.min_area)))

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from .augment import color_jitter, crop_around, flip_rotate
        from .sampler import choose_target

        if self.replay is not None and rng.random() < self.cfg.replay:
            s = self.replay.sample(rng)
            return s.image, s.labels, s.target
        for _ in range(20):
            i = self.usable[int(rng.integers(len(self.usable)))]
            target = choose_target(self.labels[i], rng, self.ids[i], merge_prob=0.05)
            low, high = self.cfg.scale
            scale = float(np.exp(rng.uniform(np.log(low), np.log(high))))
            img, lab, tgt = crop_around(self.images[i], self.labels[i], target, self.size, scale, rng)
            img, lab, tgt = flip_rotate(rng, img, lab, tgt)
            if tgt.sum() >= 10:
                return color_jitter(rng, img, gray_rgb_prob=0.0), lab, tgt
        raise RuntimeError("fine-tuning: no usable target could be drawn from the labelled slices")


def finetune(
    image: np.ndarray,
    labels: np.ndarray,
    slices: Sequence[int] | None = None,
    base: str = "fdrn",
    name: str = "finetuned",
    config: FinetuneConfig | None = None,
    progress: Callable[[int, int, dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FinetuneResult:
    """Fine-tune ``base`` on the labelled slices of a volume and save it as a user model.

    Args:
        image: (Z, H, W) or (Z, H, W, C) volume, or one (H, W[, C]) slice; any real dtype
            (each slice is percentile-normalised like at inference).
        labels: (Z, H, W) (or (H, W)) integer labels, 0 = background, 1..N = objects.
        slices: slice indices to learn from (None = every slice that carries labels).
        base: registry name of a learned model (shipped or user), or a ``.pt`` weights file.
        name: name of the new model (file ``<name>.pt`` in ``user_models_dir()``); must not be
            a built-in model's name; an existing user model of that name is replaced.
        config: budget and settings (``FinetuneConfig()`` by default: 400 steps / 5 minutes).
        progress: called as ``progress(step, total_steps, info)`` after every step; ``info``
            has ``loss`` and, after a validation, ``noc90`` / ``best_noc90``.
        should_stop: polled every step; True stops early (the best weights so far are saved).

    Returns:
        ``FinetuneResult`` (name, weights_path, card, history).

    Raises:
        ValueError: shape mismatch, no labelled slice, a listed slice without labels or out
            of range, a bad or built-in name, a non-learned base.
        KeyError: unknown base model. FileNotFoundError: base without trained weights.
    """
    import torch

    from ..data.datasets import ObjectSample
    from ..models.device import resolve_device
    from ..models.registry import user_models_dir
    from ..models.weights_io import save_model
    from .config import ClickSection
    from .loop import Score, TrainLoop
    from .precision import resolve_precision
    from .step_data import StepData
    from .validation import validate_network

    cfg = config or FinetuneConfig()
    _check_name(name)
    vol, lab = _as_volume(image, labels)
    have = set(labelled_slices(lab))
    if slices is None:
        chosen = sorted(have)
    else:
        chosen = sorted({int(z) for z in slices})
        bad = [z for z in chosen if not 0 <= z < lab.shape[0]]
        if bad:
            raise ValueError(f"slices {bad} are out of range: the volume has {lab.shape[0]} slices (0..{lab.shape[0] - 1})")
        empty = [z for z in chosen if z not in have]
        if empty:
            raise ValueError(f"slices {empty} carry no labels; label them or leave them out of slices")
    if not chosen:
        raise ValueError("no labelled slice: label at least one object on one slice before fine-tuning")
    device = resolve_device(cfg.device)
    net, family, base_card = _load_base(base, cfg)
    net = net.to(device)

    rng = np.random.default_rng(cfg.seed)
    n_val = int(math.ceil(cfg.val_fraction * len(chosen))) if len(chosen) >= 3 else 0
    val_idx = set(np.linspace(0, len(chosen) - 1, n_val + 2)[1:-1].round().astype(int).tolist()) if n_val else set()
    val_slices = [z for i, z in enumerate(chosen) if i in val_idx]
    train_slices = [z for z in chosen if z not in val_slices]
    train_data = _SliceData(vol, lab, train_slices, cfg)
    if not train_data.usable:
        raise ValueError(f"the labelled slices {train_slices} hold no object of at least {cfg.min_area} pixels")
    val_objs: list[ObjectSample] = []
    for z in val_slices or train_slices:
        for i in object_ids(lab[z], cfg.min_area):
            val_objs.append(ObjectSample(vol[z], lab[z] == i, f"z{z}#{int(i)}", f"z{z}"))
    if len(val_objs) > cfg.val_objects:
        keep = np.sort(rng.choice(len(val_objs), cfg.val_objects, replace=False))
        val_objs = [val_objs[i] for i in keep]

    clicks_cfg = ClickSection(max_iterative=cfg.max_iterative, box_prob=0.1, object_roi_prob=cfg.object_roi,
                              supervised_rounds=cfg.supervised_rounds, objects_per_image=cfg.objects_per_image)
    precision = resolve_precision(cfg.precision, device)
    net = precision.prepare(net)  # before the optimiser sees the parameters
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    history: list[dict[str, Any]] = []
    losses: list[float] = []

    def evaluate(step: int) -> tuple[Score, None]:
        res = validate_network(net, {"val": val_objs}, cfg.val_clicks, str(device))["val"]
        loss = float(np.mean(losses[-cfg.val_every:])) if losses else None
        history.append({"step": step, "noc90": res["noc90"], "noc85": res["noc85"], "miou1": res["miou1"],
                        "auc": res["auc"], "loss": loss, "objects": int(res["objects"])})
        return (res["noc90"], res["auc"]), None

    t0 = time.perf_counter()
    base_score = evaluate(0)[0] if val_objs else None
    best_state = copy.deepcopy(net.state_dict())

    def on_validated(step: int, _: Any, better: bool) -> None:
        nonlocal best_state
        if better:
            best_state = copy.deepcopy(net.state_dict())

    def on_step(step: int, info: dict[str, float]) -> None:
        losses.append(info["loss"])
        if progress is not None:
            progress(step, cfg.max_steps, info)

    data = StepData(train_data.sample, cfg.batch_size, clicks_cfg, cfg.seed, cfg.max_steps, min_area=cfg.min_area)
    loop = TrainLoop(net, opt, data, clicks_cfg, device, precision, grad_clip=5.0, freeze_bn=cfg.freeze_bn,
                     workers=cfg.data_workers)
    res = loop.run(0, cfg.max_steps, validate=evaluate if val_objs else None, val_every=cfg.val_every,
                   best=base_score, best_step=0 if val_objs else None, patience=cfg.patience,
                   max_minutes=cfg.max_minutes, should_stop=should_stop, on_step=on_step,
                   on_validated=on_validated)
    step, stopped = res.step, {"done": "max_steps", "time": "max_minutes"}.get(res.stopped, res.stopped)
    if val_objs:
        best_score, best_step = res.best, int(res.best_step or 0)
        improved = best_step > 0
        net.load_state_dict(best_state)
    else:  # nothing to select with: keep the final weights
        best_score, best_step, improved = None, step, None

    base_noc = history[0]["noc90"] if history else None
    card = {
        "description": f"fine-tuned from {base} on {len(train_slices)} labelled slice(s)",
        "base": base,
        "training": {
            "kind": "finetune",
            "base": base,
            "base_training": (base_card or {}).get("training"),
            "train_slices": train_slices,
            "val_slices": val_slices,
            "steps": step,
            "best_step": best_step,
            "improved": improved,
            "stopped": stopped,
            "precision": precision.name,
            "supervised_rounds": cfg.supervised_rounds,
            "minutes": round((time.perf_counter() - t0) / 60.0, 2),
            "config": asdict(cfg),
        },
        "evaluation": {
            "validation": "held-out labelled slices" if val_slices else "training slices (too few slices to hold any out)",
            "base_noc90": base_noc,
            "noc90": None if best_score is None else best_score[0],
            "auc": None if best_score is None else best_score[1],
            "val_clicks": cfg.val_clicks,
            "objects": len(val_objs),
        },
    }
    path = save_model(net.cpu(), user_models_dir() / f"{name}.pt", card)
    from ..models.weights_io import read_card

    if improved is False:
        log.warning("fine-tune %s: no step beat the base model on the kept-aside objects (NoC@90 %.2f); "
                    "saved the base weights unchanged", name, base_noc)
    log.info("fine-tuned model %s saved to %s (%s after %d steps)", name, path, stopped, step)
    return FinetuneResult(name, path, read_card(path), history, improved)
