"""Training loop: data mixture -> iterative click training -> checkpoints, CSV logs, validation.

Output folder layout (``out``):

* ``checkpoint.pt`` — resumable state (network, optimiser, step, best score, config);
  written every ``run.checkpoint_every`` steps and when the run stops.
* ``best.pt`` + ``best.json`` — the best network so far by ``loop.improves`` (lowest mean
  validation NoC@90, ties to the higher mean AUC),
  in the shipped-model format (``models.weights_io.save_model``) with a model card.
* ``last.pt`` + ``last.json`` — the latest network in the same format.
* ``train_log.csv`` — step, loss, lr, seconds per step, rounds, clicks, supervised head
  passes, wall time.
* ``val_log.csv`` — step, group, objects, noc85, noc90, miou1, miou5, auc.
* ``config.json`` — the configuration of the run.

Every sample of step ``k`` comes from ``numpy.random.default_rng([seed, k, i])``
(``step_data.StepData``), so a resumed run continues the same data stream; the optimisation
itself is ``loop.TrainLoop``, shared with fine-tuning.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..data.splits import VALIDATION
from .config import TrainConfig, config_to_dict
from .loop import Score, TrainLoop
from .mixture import DataMixture
from .precision import resolve_precision
from .step_data import StepData, sample_source

__all__ = ["Trainer", "TrainSummary", "build_training_network"]

log = logging.getLogger(__name__)

TRAIN_FIELDS = ["step", "loss", "lr", "sec_per_step", "n_iterative", "clicks", "supervised", "wall_s"]
VAL_FIELDS = ["step", "group", "objects", "noc85", "noc90", "miou1", "miou5", "auc"]


@dataclass
class TrainSummary:
    """What a (chunk of a) run did."""

    out: Path
    start_step: int
    step: int
    best_noc90: float | None
    stopped: str
    last_validation: dict[str, dict[str, float]] = field(default_factory=dict)


def build_training_network(cfg: TrainConfig) -> torch.nn.Module:
    """Random network of ``cfg.model``, or the ``model.init`` weights (same family).

    With ``model.init`` the network keeps the init's architecture changed by
    ``model.overrides`` (e.g. ``{refine = 16}`` adds a boundary refiner); layers whose names and
    shapes match start from the init's weights, the others fresh (logged); the fresh BatchNorm
    layers keep training their statistics under ``optim.freeze_bn``. The names of the fresh
    entries are the network's ``fresh_entries`` (a tuple of state-dict keys; the attribute is
    absent without an init), for ``optim.fresh_lr_mult``.
    """
    from ..models.networks import build_network
    from ..models.weights_io import warm_start_network
    from .iterative import keep_fresh_statistics

    if cfg.model.init:
        net, fresh = warm_start_network(cfg.model.init, family=cfg.model.family, **dict(cfg.model.overrides))
        if fresh:
            log.info("model.init %s: %d entries start fresh (%s ...)", cfg.model.init, len(fresh), ", ".join(fresh[:4]))
            keep_fresh_statistics(net, fresh)  # optim.freeze_bn fixes only the statistics the init had
        net.fresh_entries = tuple(fresh)
        if int(net.crop_size) != cfg.model.crop_size:
            log.warning("model.init has crop_size %s; model.crop_size %s is ignored", net.crop_size, cfg.model.crop_size)
        return net
    return build_network(cfg.model.family, crop_size=cfg.model.crop_size, **dict(cfg.model.overrides))


def _append_csv(path: Path, fields: list[str], rows: list[dict[str, Any]]) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in fields})


def init_lineage(
    init: str, init_card: dict[str, Any] | None, steps: int, samples_per_step: int = 0
) -> dict[str, Any]:
    """Card fields that say where a run started: ``total_steps``, ``total_samples`` and ``init``.

    Args:
        init: the ``model.init`` weights file ("" = random start).
        init_card: that file's model card (``weights_io.read_card``; None for a random start).
        steps: steps of this run.
        samples_per_step: training samples per step of this run.

    Returns:
        ``{"total_steps": steps, "total_samples": steps * samples_per_step}`` for a random
        start; otherwise also ``init`` = {``weights`` (the path as configured), ``sha256``,
        ``training`` (the init card's training record)}, and the totals add the init's own
        (an older card without ``total_samples`` counts ``steps * batch``).
    """
    samples = int(steps) * int(samples_per_step)
    if not init or init_card is None:
        return {"total_steps": int(steps), "total_samples": samples}
    before = init_card.get("training") or {}
    done = int(before.get("total_steps", before.get("steps", 0)) or 0)
    seen = before.get("total_samples")
    if seen is None:
        seen = done * int(before.get("batch", 0) or 0)
    return {"total_steps": int(steps) + done, "total_samples": samples + int(seen),
            "init": {"weights": str(init), "sha256": init_card.get("sha256"), "training": before}}


def _read_init_card(init: str) -> dict[str, Any] | None:
    if not init:
        return None
    from ..models.weights_io import read_card

    return read_card(init)


class Trainer:
    """Runs a training configuration into an output folder (resumable).

    Args:
        cfg: the configuration.
        out: output folder (created).
        device: overrides ``cfg.run.device``.
    """

    def __init__(self, cfg: TrainConfig, out: str | Path, device: str | None = None) -> None:
        from ..models.device import resolve_device

        self.cfg = cfg
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.device = resolve_device(device or cfg.run.device)
        if cfg.run.threads > 0:
            torch.set_num_threads(cfg.run.threads)
        self.mixture = DataMixture(cfg)
        self.precision = resolve_precision(cfg.run.precision, self.device)
        self.net = self.precision.prepare(build_training_network(cfg).to(self.device))
        self._init_card = _read_init_card(cfg.model.init)  # read once; every export cites it
        # entries the init does not hold get their own group only when their lr differs
        fresh_names = set(getattr(self.net, "fresh_entries", ())) if cfg.optim.fresh_lr_mult != 1.0 else set()
        enc, rest, fresh = [], [], []
        for n, p in self.net.named_parameters():
            (fresh if n in fresh_names else enc if n.startswith("encoder.") else rest).append(p)
        groups = [{"params": rest, "lr_mult": 1.0}]
        if enc and cfg.optim.encoder_lr_mult == 0:  # a frozen encoder: no gradient, no backward pass
            for p in enc:
                p.requires_grad_(False)
        elif enc:
            groups.append({"params": enc, "lr_mult": cfg.optim.encoder_lr_mult})
        if fresh:  # optim.fresh_lr_mult
            groups.append({"params": fresh, "lr_mult": cfg.optim.fresh_lr_mult})
        # the starting network, fixed, for the distillation term (loss.distill_weight)
        self.teacher = None
        if cfg.loss.distill_weight > 0:
            self.teacher = self.precision.prepare(build_training_network(cfg).to(self.device)).eval()
            self.teacher.requires_grad_(False)
        self.optimizer = torch.optim.Adam(groups, lr=cfg.optim.lr, betas=(0.9, 0.999), eps=1e-8,
                                          weight_decay=cfg.optim.weight_decay, foreach=True)
        self.step = 0
        self.best: Score | None = None
        self._val_groups: dict[str, list[Any]] | None = None
        data = StepData(sample_source(self.mixture.sample), cfg.optim.batch_size, cfg.clicks, cfg.run.seed,
                        cfg.optim.steps, min_area=cfg.data.min_area)
        self.loop = TrainLoop(self.net, self.optimizer, data, cfg.clicks, self.device, self.precision,
                              grad_clip=cfg.optim.grad_clip, workers=cfg.run.data_workers, lr_at=self.lr_at,
                              loss=cfg.loss, freeze_bn=cfg.optim.freeze_bn, teacher=self.teacher)

    # -- schedule ---------------------------------------------------------------------------
    def lr_at(self, step: int) -> float:
        """Step decay: /10 at each milestone (fractions of ``optim.steps``)."""
        o = self.cfg.optim
        passed = sum(step >= m * o.steps for m in o.milestones)
        return o.lr * (0.1**passed)

    # -- checkpoints ------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def save_checkpoint(self) -> Path:
        state = {
            "format": 1,
            "step": self.step,
            "best_noc90": None if self.best is None else self.best[0],
            "best_score": None if self.best is None else list(self.best),
            "model": config_to_dict(self.cfg)["model"],
            "config": config_to_dict(self.cfg),
            "net_config": _asdict(self.net.config),
            "state_dict": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
        }
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(self.checkpoint_path)
        return self.checkpoint_path

    def load_checkpoint(self) -> None:
        """Restore from ``checkpoint.pt``; the model section must match the config."""
        p = self.checkpoint_path
        if not p.is_file():
            raise FileNotFoundError(f"cannot resume: {p} does not exist (start without --resume)")
        state = torch.load(p, map_location="cpu", weights_only=True)
        if state.get("model") != config_to_dict(self.cfg)["model"]:
            raise ValueError(
                f"cannot resume from {p}: its [model] section {state.get('model')} differs from the config's "
                f"{config_to_dict(self.cfg)['model']}; use a new --out folder"
            )
        self.net.load_state_dict(state["state_dict"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        score, noc = state.get("best_score"), state.get("best_noc90")
        # checkpoints before the shared loop kept NoC@90 only: its AUC counts as 0 (any tie wins)
        self.best = tuple(score) if score else (None if noc is None else (float(noc), 0.0))

    def export(self, name: str, validation: dict[str, dict[str, float]] | None = None) -> Path:
        """Write ``out/<name>.pt`` + card (model format) for the current network."""
        from ..eval.report import card_metrics
        from ..models.weights_io import save_model

        c = self.cfg
        card = {
            "description": f"{c.model.family} trained by clickseg train ({self.step} steps)",
            "training": {
                "steps": self.step,
                "batch": c.optim.batch_size,
                "image_size": c.data.image_size,
                "crop_size": int(self.net.crop_size),
                "samples": self.step * self.samples_per_step,
                "data": {k: v for k, v in c.data.sources.items() if v > 0},
                "left_out": list(c.data.left_out),
                "validation_parts": {k: VALIDATION[k] for k in c.real_datasets() if k in VALIDATION},
                "engine": {"precision": self.precision.name, "data_workers": c.run.data_workers,
                           "supervised_rounds": c.clicks.supervised_rounds,
                           "objects_per_image": c.clicks.objects_per_image},
                "learning_curve": self.learning_curve(),
                "config": config_to_dict(c),
            },
            "evaluation": {"training_validation": {
                "protocol": "eval.runner.evaluate on the validation parts, 20 clicks, threshold 0.49",
                **{group: card_metrics(row) for group, row in (validation or {}).items()}}},
        }
        card["training"].update(init_lineage(c.model.init, self._init_card, self.step, self.samples_per_step))
        return save_model(self.net, self.out / f"{name}.pt", card)

    @property
    def samples_per_step(self) -> int:
        """Training samples ((image, target object) pairs) per step."""
        return self.cfg.optim.batch_size * self.cfg.clicks.objects_per_image

    def learning_curve(self) -> list[dict[str, float]]:
        """Mean validation NoC@90 and mIoU@1 against steps and samples seen, from ``val_log.csv``.

        ``samples`` counts from the start of the lineage (a ``model.init`` run adds its init's).
        """
        path = self.out / "val_log.csv"
        if not path.is_file():
            return []
        before = init_lineage(self.cfg.model.init, self._init_card, 0)["total_samples"]
        rows = []
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if r["group"] == "mean":
                    step = int(r["step"])
                    rows.append({"step": step, "samples": before + step * self.samples_per_step,
                                 "noc90": float(r["noc90"]), "miou1": float(r["miou1"])})
        return rows

    # -- validation -------------------------------------------------------------------------
    def validation_groups(self) -> dict[str, list[Any]]:
        from .validation import build_validation_groups

        if self._val_groups is None:
            v = self.cfg.validation
            self._val_groups = build_validation_groups(
                self.cfg.validation_datasets(), self.cfg.data.root or None,
                v.objects_per_dataset, v.synthetic_objects, v.seed,
            )
        return self._val_groups

    def validate(self) -> dict[str, dict[str, float]]:
        from .validation import validate_network

        res = validate_network(self.net, self.validation_groups(), self.cfg.validation.max_clicks, str(self.device))
        _append_csv(self.out / "val_log.csv", VAL_FIELDS,
                    [{"step": self.step, "group": g, **{k: round(v, 4) for k, v in r.items()}} for g, r in res.items()])
        self.net.train()
        return res

    # -- the loop ---------------------------------------------------------------------------
    def run(
        self,
        resume: bool = False,
        max_minutes: float | None = None,
        until_step: int | None = None,
        progress: Callable[[int, int, dict[str, float]], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainSummary:
        """Train until ``optim.steps`` (or ``until_step`` / ``max_minutes``), checkpointing.

        Args:
            resume: continue from ``out/checkpoint.pt``.
            max_minutes: stop (with a checkpoint) after this much wall time.
            until_step: stop at this step (a chunk of a longer run).
            progress: called as ``progress(step, total, info)`` after every step.
            should_stop: polled every step; True stops the run cleanly.
        """
        c = self.cfg
        if resume:
            self.load_checkpoint()
        (self.out / "config.json").write_text(json.dumps(config_to_dict(c), indent=2) + "\n")
        start_step = self.step
        total = c.optim.steps if until_step is None else min(c.optim.steps, int(until_step))
        last_val: dict[str, dict[str, float]] = {}
        pending: list[dict[str, Any]] = []

        def validate(step: int) -> tuple[Score, dict[str, dict[str, float]]]:
            self.step = step
            res = self.validate()
            mean = res.get("mean", {})
            return (mean.get("noc90", float("inf")), mean.get("auc", 0.0)), res

        def on_validated(step: int, res: dict[str, dict[str, float]], better: bool) -> None:
            nonlocal last_val
            last_val = res
            self.export("last", res)
            if better:
                self.best = validate_score(res)
                self.export("best", res)
            log.info("step %d: validation mean NoC@90 %.2f (best %.2f)", step,
                     res.get("mean", {}).get("noc90", -1), self.best[0] if self.best else -1)

        def on_step(step: int, info: dict[str, float]) -> None:
            nonlocal pending
            self.step = step
            pending.append(info)
            if step % c.run.log_every == 0 or step == total:
                _append_csv(self.out / "train_log.csv", TRAIN_FIELDS, [_mean_row(pending)])
                pending = []
            if progress is not None:
                progress(step, total, info)
            if step % c.run.checkpoint_every == 0:
                self.save_checkpoint()

        if start_step == 0 and c.model.init and c.validation.every and self.best is None:
            # the starting weights' own score: later steps must beat it to become best.pt
            res = self.validate()
            self.best = validate_score(res)
            self.export("best", res)
            last_val = res
            log.info("step 0 (model.init): validation mean NoC@90 %.2f", self.best[0])
        result = self.loop.run(
            self.step, total, validate=validate if c.validation.every else None, val_every=c.validation.every,
            final_step=c.optim.steps, best=self.best, max_minutes=max_minutes, should_stop=should_stop,
            on_step=on_step, on_validated=on_validated,
        )
        self.step = result.step
        if pending:
            _append_csv(self.out / "train_log.csv", TRAIN_FIELDS, [_mean_row(pending)])
        self.save_checkpoint()
        if not (self.out / "last.pt").exists() or self.step != start_step:
            self.export("last", last_val or None)
        best = None if self.best is None else self.best[0]
        return TrainSummary(self.out, start_step, self.step, best, result.stopped, last_val)


def validate_score(res: dict[str, dict[str, float]]) -> Score:
    """The selection score of a validation result: (mean NoC@90, mean AUC)."""
    mean = res.get("mean", {})
    return (float(mean.get("noc90", float("inf"))), float(mean.get("auc", 0.0)))


def _mean_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    last = rows[-1]
    out = {"step": last["step"], "lr": f"{last['lr']:.3g}", "wall_s": round(last["wall_s"], 1)}
    for k in ("loss", "sec_per_step", "n_iterative", "clicks", "supervised"):
        out[k] = round(float(np.mean([r[k] for r in rows])), 4)
    return out


def _asdict(cfg: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(cfg)
