"""The annotator's pending predictions: one at a time, newest prompts win, stale results dropped.

``PredictionQueue.request()`` says "the prompts changed". In background mode the session's
prediction runs in a napari thread worker; prompts that change meanwhile are queued (only the
newest is kept: the running job picks them up when it ends), and a result whose session version
or slice is no longer current is dropped, never shown (``dropped_results`` counts them).
``cancel()`` withdraws the prompts the running job works on at once; its result is dropped
when it arrives and the session steps back (undo: cheap, nothing predicted again).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error

from ..core.clicks import Box, Click
from ..core.session import InteractiveSession, SessionState

__all__ = ["Job", "PredictionQueue", "apply_prompts"]


@dataclass(frozen=True)
class Job:
    """One prediction to run: bring ``session`` (holding slice ``index``) to these prompts."""

    session: InteractiveSession
    index: tuple[int, ...]
    clicks: Sequence[Click]
    box: Box | None
    model: str = "the model"


def apply_prompts(job: Job) -> tuple[int, tuple[int, ...], np.ndarray]:
    """Bring the session to the job's prompts; returns (session version, slice, mask).

    Clicks added at the end (a burst, or a slice replayed) become one undo step per click;
    any other change of the click list is one step (``InteractiveSession.set_clicks``).
    """
    session, clicks = job.session, tuple(job.clicks)
    if job.box != session.box:
        session.set_box(job.box)
    done = session.clicks
    if len(clicks) > len(done) and clicks[: len(done)] == done:
        for k in range(len(done) + 1, len(clicks) + 1):
            session.set_clicks(clicks[:k])
    else:
        session.set_clicks(clicks)
    return session.version, job.index, session.mask


class PredictionQueue:
    """Runs the predictions of one annotator.

    Args:
        prepare: returns the ``Job`` that brings the session to the current prompts, or None
            (no slice or model: nothing to do); called each time a prediction is due.
        current: returns (session, slice it holds) of the annotator now; a result for another
            session, slice or session version is stale.
        show: ``show(index, mask)`` displays a current result.
        withdraw: ``withdraw(index, state)`` puts the prompt layers of slice ``index`` back to
            ``state`` (a ``SessionState``) when a prediction is cancelled.
        status: ``status(text)`` for one-line messages.
        background: whether predictions run in a thread worker (else right away).
        busy: the busy indicator (``start(text)``, ``stop()``, ``label``).
    """

    def __init__(self, prepare: Callable[[], Job | None], current: Callable[[], tuple[Any, Any]],
                 show: Callable[[tuple[int, ...], np.ndarray], None], withdraw: Callable[[tuple[int, ...], SessionState], None], status: Callable[[str], None],
                 background: Callable[[], bool], busy: Any) -> None:
        self.prepare, self.current, self.show, self.withdraw, self.status = prepare, current, show, withdraw, status
        self.background, self.busy = background, busy
        self.predicting = False  # a background prediction is running
        self.pending = False  # prompts changed since the last prediction started
        #: predictions computed for prompts that changed while they ran, and therefore dropped
        self.dropped_results = 0
        self._job: Job | None = None
        self._started_from: SessionState | None = None
        self._cancel_from: SessionState | None = None

    def request(self) -> None:
        """The prompts changed: predict now, or as soon as the running prediction ends."""
        self.pending = True
        if not self.predicting:
            self._run_pending()

    def _run_pending(self) -> None:
        self.pending = False
        job = self.prepare()
        if job is None:
            return
        if not self.background():
            try:
                _, index, mask = apply_prompts(job)
            except (ValueError, RuntimeError) as err:
                show_error(f"clickseg: segmentation failed: {err}")
                return
            self.show(index, mask)
            return
        self.predicting, self._job, self._started_from = True, job, job.session.state
        self.busy.start(f"{job.model} is working on {len(job.clicks)} click(s)" + (" and a box" if job.box is not None else "") + " ...")
        worker = create_worker(apply_prompts, job)
        worker.returned.connect(self._on_result)
        worker.errored.connect(lambda err: show_error(f"clickseg: segmentation failed: {err}"))
        worker.finished.connect(self._on_finished)
        worker.start()

    def _on_result(self, result: tuple[int, tuple[int, ...], np.ndarray]) -> None:
        version, index, mask = result
        if self._cancel_from is not None:
            return  # cancelled: dropped; the session steps back in _on_finished
        session, held = self.current()
        if self.pending or self._job is None or session is not self._job.session or version != session.version \
                or index != held:
            self.dropped_results += 1  # superseded while it ran
            return
        self.show(index, mask)

    def _on_finished(self) -> None:
        self.predicting = False
        job, self._job = self._job, None
        if self._cancel_from is not None:
            back, self._cancel_from = self._cancel_from, None
            session = job.session if job is not None else None
            if session is not None and session.has_image:
                while session.state is not back and session.can_undo:
                    session.undo()  # cheap: earlier states are kept, nothing is predicted again
                self.show(job.index, session.mask)
            self.status("cancelled: the click(s) the model was working on were withdrawn")
        if self.pending:
            self._run_pending()
        else:
            self.busy.stop()

    def cancel(self) -> None:
        """Cancel the running prediction: its prompts are withdrawn now and its result dropped
        when it arrives. No-op when idle."""
        if not self.predicting or self._started_from is None or self._job is None:
            return
        self.pending = False
        self._cancel_from = self._started_from
        self.withdraw(self._job.index, self._started_from)
        self.busy.label.setText("cancelling (the model finishes its step; the result is dropped) ...")
        self.status("cancelled: the click(s) the model was working on were withdrawn")

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Process Qt events until no prediction is running or queued (or the timeout)."""
        from qtpy.QtWidgets import QApplication

        end = time.monotonic() + timeout_s
        while (self.predicting or self.pending) and time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.005)
