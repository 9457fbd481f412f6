"""The one training loop of ``clickseg train``, ``clickseg finetune`` and the fine-tune widget.

``TrainLoop.run`` takes the steps' batches from ``step_data.step_batches`` (built ahead by
worker processes), runs ``iterative.train_step`` under the resolved precision, validates every
``val_every`` steps and at the last step, and keeps the best validation by one rule,
``improves``. What differs between a training run and a fine-tune (checkpoints and CSV logs,
exports, keeping the best weights in memory) is done by the caller's hooks.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .config import ClickSection, LossSection
from .iterative import train_step
from .precision import Precision
from .step_data import StepData, step_batches

__all__ = ["Score", "improves", "LoopResult", "TrainLoop"]

log = logging.getLogger(__name__)

Score = tuple[float, float]
"""A validation score: (NoC@90, AUC of the mIoU curve)."""


def improves(score: Score, best: Score | None) -> bool:
    """Whether a validation ``(noc90, auc)`` beats the best so far (None: anything does).

    Fewer clicks to IoU 0.9 wins; on a tie (objects that already need 1-2 clicks cannot show
    progress in NoC@90) a higher mIoU curve (AUC, by more than 1e-4) wins.
    """
    if best is None:
        return True
    return score[0] < best[0] - 1e-9 or (abs(score[0] - best[0]) <= 1e-9 and score[1] > best[1] + 1e-4)


@dataclass
class LoopResult:
    """What a run of the loop did.

    Attributes:
        start_step, step: first and next step (``step - start_step`` steps were taken).
        stopped: ``"done"``, ``"time"``, ``"cancelled"`` or ``"early_stopping"``.
        best: the best validation score (including one passed in), or None.
        best_step: the step of ``best`` (None when no validation ran).
        validations: number of validations run.
        seconds: wall time of the loop.
    """

    start_step: int
    step: int
    stopped: str
    best: Score | None
    best_step: int | None
    validations: int
    seconds: float


class TrainLoop:
    """Optimises a network over a range of steps (see the module docstring).

    Args:
        net: network with ``encode``/``decode``/``crop_size``, laid out by
            ``precision.prepare`` before its optimiser was built.
        optimizer: its optimiser; param groups may carry ``lr_mult``.
        data: the steps' batches.
        clicks: click settings of ``train_step``.
        device: training device.
        precision: resolved training precision.
        grad_clip: max gradient norm (0 = off).
        freeze_bn: BatchNorm statistics fixed (fine-tuning).
        workers: data worker processes (0 = batches built in this process).
        lr_at: learning rate of a step (None = the optimiser's as set).
        loss: loss settings of ``train_step`` (None = NFL only).
        teacher: fixed reference network of the distillation term (``loss.distill_weight``).
    """

    def __init__(
        self, net: nn.Module, optimizer: torch.optim.Optimizer, data: StepData, clicks: ClickSection,
        device: torch.device, precision: Precision, grad_clip: float = 0.0, freeze_bn: bool = False,
        workers: int = 1, lr_at: Callable[[int], float] | None = None, loss: LossSection | None = None,
        teacher: nn.Module | None = None,
    ) -> None:
        self.net, self.optimizer, self.data, self.clicks, self.loss = net, optimizer, data, clicks, loss
        self.teacher = teacher
        self.device, self.precision, self.grad_clip, self.freeze_bn = device, precision, grad_clip, freeze_bn
        self.workers, self.lr_at = workers, lr_at
        self.scaler = precision.scaler()

    def run(
        self,
        start: int,
        stop: int,
        *,
        validate: Callable[[int], tuple[Score, Any]] | None = None,
        val_every: int = 0,
        final_step: int | None = None,
        best: Score | None = None,
        best_step: int | None = None,
        patience: int = 0,
        max_minutes: float | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_step: Callable[[int, dict[str, float]], None] | None = None,
        on_validated: Callable[[int, Any, bool], None] | None = None,
    ) -> LoopResult:
        """Run steps ``start .. stop - 1``.

        Args:
            start, stop: step range.
            validate: ``validate(step) -> (score, details)``; None = no validation.
            val_every: validate after every this many steps (0 = only at ``final_step``).
            final_step: the run's last step, validated whatever ``val_every`` says
                (default ``stop``; a chunk that stops early passes the whole run's).
            best, best_step: the best score so far (a resumed run, or the base model's).
            patience: stop after this many validations without improvement (0 = never).
            max_minutes: stop after this much wall time.
            should_stop: polled before every step; True stops cleanly.
            on_step: ``on_step(step, info)`` after every step (``info`` has ``loss``, ``lr``,
                ``sec_per_step``, ``supervised``, ``wall_s``, and after a validation ``noc90``
                and ``best_noc90``).
            on_validated: ``on_validated(step, details, improved)`` after every validation.
        """
        final = stop if final_step is None else final_step
        t_start = time.perf_counter()
        step, stopped, since_best, n_val = int(start), "done", 0, 0
        log.info("training precision: %s; data workers: %d", self.precision.why, self.workers)
        batches = step_batches(self.data, start, stop, self.workers)
        try:
            t_prev = time.perf_counter()
            while step < stop:
                if should_stop is not None and should_stop():
                    stopped = "cancelled"
                    break
                if max_minutes is not None and time.perf_counter() - t_start > 60.0 * max_minutes:
                    stopped = "time"
                    break
                item = next(batches)
                if item.step != step:  # the loader must hand the steps over in order
                    raise RuntimeError(f"data for step {item.step} arrived at step {step}")
                lr = self._set_lr(step)
                info = train_step(self.net, self.optimizer, item.batch, self.clicks, item.rng, self.device,
                                  self.grad_clip, freeze_bn=self.freeze_bn, precision=self.precision,
                                  scaler=self.scaler, loss_cfg=self.loss, teacher=self.teacher)
                step += 1
                now = time.perf_counter()
                info.update(lr=lr, sec_per_step=now - t_prev, step=step, wall_s=now - t_start)
                if not np.isfinite(info["loss"]):
                    raise FloatingPointError(f"training loss became {info['loss']} at step {step}; lower the learning rate")
                if validate is not None and ((val_every and step % val_every == 0) or step == final):
                    score, details = validate(step)
                    n_val += 1
                    better = improves(score, best)
                    if better:
                        best, best_step, since_best = score, step, 0
                    else:
                        since_best += 1
                    info.update(noc90=score[0], best_noc90=best[0] if best else score[0])
                    if on_validated is not None:
                        on_validated(step, details, better)
                if on_step is not None:
                    on_step(step, info)
                t_prev = time.perf_counter()  # validation and hooks are not step time
                if patience and since_best >= patience:
                    stopped = "early_stopping"
                    break
        finally:
            batches.close()  # stops the data workers
        return LoopResult(int(start), step, stopped, best, best_step, n_val, time.perf_counter() - t_start)

    def _set_lr(self, step: int) -> float:
        if self.lr_at is None:
            return float(self.optimizer.param_groups[0]["lr"]) / float(self.optimizer.param_groups[0].get("lr_mult", 1.0))
        lr = float(self.lr_at(step))
        for g in self.optimizer.param_groups:
            g["lr"] = lr * g.get("lr_mult", 1.0)
        return lr
