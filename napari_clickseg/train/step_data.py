"""The training batches of each step, made ahead of the network (worker processes).

``StepData[k]`` is the prompted batch of optimisation step ``k``: ``batch_size`` images drawn
with ``numpy.random.default_rng([seed, k, i])`` (``clicks.objects_per_image`` targets each: the
drawn one, then other objects of the same crop from that image's generator), and initial
prompts drawn with ``default_rng([seed, k, 1_000_003])``, which also comes back (advanced past
the prompts) for the click simulation of that step. So step ``k``'s data depends only on ``(seed, k)``: a resumed
run, and a run with any number of workers, sees the same stream.

``step_batches`` iterates the steps through a ``torch.utils.data.DataLoader`` whose worker
processes ("spawn": safe beside Qt and OpenMP threads) build the next batches while the main
process runs the network; ``workers=0`` builds them in the main process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

import numpy as np
import torch

from .config import ClickSection
from .iterative import PromptedBatch, make_prompts
from .sampler import other_target

WORKER_NICENESS = 10  #: added to the data workers' niceness

__all__ = ["Draw", "StepBatch", "StepData", "sample_source", "step_batches"]


class Draw(Protocol):
    """A sample source: ``draw(rng) -> (image (S, S, 3) float32 in [0, 1], labels (S, S) int, target (S, S) bool)``."""

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


@dataclass
class StepBatch:
    """One step's data.

    Attributes:
        step: the step index ``k``.
        batch: images, targets, initial prompts and ROIs.
        rng: the step's click generator, positioned after the prompt draws.
    """

    step: int
    batch: PromptedBatch
    rng: np.random.Generator


class StepData(torch.utils.data.Dataset):
    """Map-style dataset: index = step.

    Args:
        draw: picklable sample source (``sample_source(DataMixture.sample)``).
        batch_size: images per step (``clicks.objects_per_image`` samples each).
        clicks: prompt settings of ``make_prompts``.
        seed: the run's seed.
        steps: length (the last step + 1).
        min_area: smallest extra target (pixels).
    """

    def __init__(self, draw: Draw, batch_size: int, clicks: ClickSection, seed: int, steps: int,
                 min_area: int = 40) -> None:
        self.draw, self.batch_size, self.clicks, self.seed, self.steps = draw, int(batch_size), clicks, int(seed), int(steps)
        self.min_area = int(min_area)  # of the extra targets

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, step: int) -> StepBatch:
        k, m = int(step), int(self.clicks.objects_per_image)
        images, labels, targets, owners = [], [], [], []
        for i in range(self.batch_size):
            g = np.random.default_rng([self.seed, k, i])
            image, lab, target = self.draw(g)
            images.append(image)
            first = taken = target
            for j in range(m):
                if j:  # another object of the crop (the first one again, other prompts, when there is none)
                    other = other_target(lab, taken, g, self.min_area, self.clicks.merge_prob)
                    target = first if other is None else other
                    taken = taken | target
                labels.append(lab)
                targets.append(target)
                owners.append(i)
        rng = np.random.default_rng([self.seed, k, 1_000_003])
        batch = make_prompts(images, targets, labels, self.clicks, rng, owners=owners if m > 1 else None)
        return StepBatch(k, batch, rng)


def _as_is(item: Any) -> Any:
    return item


def _worker_init(_: int) -> None:
    """One thread, lower priority: a worker takes the core time the network leaves idle
    instead of preempting its threads (a preempted OpenMP thread stalls the whole step)."""
    torch.set_num_threads(1)
    if hasattr(os, "nice"):
        try:
            os.nice(WORKER_NICENESS)
        except OSError:
            pass


def step_batches(data: StepData, start: int, stop: int, workers: int = 1, prefetch: int = 2) -> Iterator[StepBatch]:
    """The batches of steps ``start .. stop - 1`` in order.

    Args:
        data: the step dataset.
        start, stop: step range.
        workers: worker processes building batches ahead (0 = in this process).
        prefetch: batches each worker keeps ready.
    """
    steps = range(int(start), int(stop))
    if workers <= 0:
        for k in steps:
            yield data[k]
        return
    loader = torch.utils.data.DataLoader(
        data, batch_size=None, sampler=steps, num_workers=int(workers), prefetch_factor=int(prefetch),
        collate_fn=_as_is, multiprocessing_context="spawn", worker_init_fn=_worker_init,
    )
    yield from loader


def sample_source(fn: Callable[[np.random.Generator], Any]) -> Draw:
    """Adapt a ``TrainSample``-returning sampler (``DataMixture.sample``) to the ``Draw`` shape."""
    return _SampleDraw(fn)


class _SampleDraw:
    def __init__(self, fn: Callable[[np.random.Generator], Any]) -> None:
        self.fn = fn

    def __call__(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = self.fn(rng)
        return s.image, s.labels, s.target
