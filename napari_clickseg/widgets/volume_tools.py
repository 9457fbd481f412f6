"""3D tools of the annotator: propagation through the stack and volume-wide precompute.

Composition, not inheritance: ``VolumeTools(annotator)`` reads the annotator's public state
(image geometry, document, settings, ``make_predictor``, ``feature_store``), runs the work in
napari thread workers (each with its own predictor) with a progress bar, and commits
propagation results into the annotator's document as one undo step. Stacks of slices larger
than ``core.window.DENSE_MAX_PIXELS`` (windowed maps) are refused by both, with a message:
propagation needs dense masks and whole-slice features of every slice.
"""

from __future__ import annotations

import threading
from typing import Any

from napari.qt.threading import create_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info, show_warning

from ..core.feature_cache import feature_key
from ..core.labels import labelled_slices, object_ids
from ..core.lazy_image import is_large
from ..core.volume import PropagationConfig, propagate, propagate_between
from ..core.window import DENSE_MAX_PIXELS
from .wording import STOP_WORDS, slice_words, slices_words
from .workers import precompute_features, run_propagation

__all__ = ["VolumeTools"]

_SIDE = int(round(DENSE_MAX_PIXELS**0.5))
_LIMIT = f"{_SIDE}x{_SIDE}"  # slices with more pixels: no propagation, no precompute here


class VolumeTools:
    """Propagation and precompute for one ``AnnotatorWidget`` (``ann``)."""

    def __init__(self, ann: Any) -> None:
        self.ann = ann
        self._workers: list[Any] = []
        self._abort = threading.Event()

    def _last_object(self) -> tuple[int, tuple[int, ...]] | None:
        doc = self.ann.document
        if doc is None:
            return None
        index = self.ann.current_index()
        for r in reversed(doc.records):
            if r.index == index and doc.object_mask(r.label_id, index).any():
                return r.label_id, index
        ids = object_ids(doc.labels[index])
        return (int(ids[-1]), index) if ids.size else None

    def propagate(self, direction: int, label_id: int | None = None) -> Any:
        """Propagate an object from the current slice: +1 forward, -1 backward, 0 between.

        Runs in a thread worker; the result is committed as one undo step. Returns the worker.
        """
        if self.ann.geometry is None or self.ann.geometry.n_lead != 1:
            show_warning("clickseg: propagation needs a 3D stack")
            return None
        if is_large(self.ann.geometry.spatial_shape[-2:]):
            h, w = self.ann.geometry.spatial_shape[-2:]
            show_warning(f"clickseg: propagation works on stacks of slices up to {_LIMIT} pixels; these slices are "
                         f"{h}x{w} (segment each slice with clicks)")
            return None
        found = self._last_object() if label_id is None else (label_id, self.ann.current_index())
        if found is None or self.ann.document is None:
            show_warning("clickseg: commit an object on this slice first, then propagate it")
            return None
        lid, index = found
        z = index[0]
        doc = self.ann.document
        lab = doc.labels
        src = lab[z] == lid
        if not src.any():
            show_warning(f"clickseg: object {lid} is not on {slice_words(z)}")
            return None
        g, store, model = self.ann.geometry, self.ann.feature_store, self.ann.model_key
        cfg = PropagationConfig(min_iou=self.ann.settings()["min_iou"])
        key_fn = lambda k: feature_key(g.get_slice((k,)), model)  # noqa: E731
        stops: dict[int, str] = {}  # slice -> why the propagation stopped before it
        common = dict(config=cfg, feature_store=store, key_fn=key_fn, on_stop=stops.__setitem__)
        if direction == 0:
            others = [k for k in labelled_slices(lab == lid) if abs(k - z) > 1]
            if not others:
                show_warning(f"clickseg: object {lid} is on no other slice (at least 2 away) to propagate between")
                return None
            z1 = int(min(others, key=lambda k: abs(k - z)))
            other = lab[z1] == lid

            def job(pred, stop):
                return propagate_between(lambda k: g.get_slice((k,)), g.n_slices, pred, z, src, z1, other, should_stop=stop, **common)
        else:
            def job(pred, stop):
                return propagate(lambda k: g.get_slice((k,)), g.n_slices, pred, z, src, direction, should_stop=stop, **common)

        self._abort.clear()
        worker = create_worker(run_propagation, self.ann.make_predictor, job, self._abort)
        worker.returned.connect(lambda out: self._commit_propagation(out, lid, doc, z, stops))
        worker.errored.connect(lambda err: show_error(f"clickseg: propagation failed: {err}"))
        self._start(worker, f"propagating object {lid}")
        return worker

    def _commit_propagation(self, out: dict, lid: int, doc: Any, z: int, stops: dict | None = None) -> None:
        if doc is not self.ann.document:
            show_warning("clickseg: the target layer changed during propagation; result dropped")
            return
        done = doc.commit_slices({(k,): m for k, m in out.items()}, lid, overwrite=self.ann.settings()["overwrite"],
                                 model=self.ann.model_name or "")
        why = "; ".join(f"stopped before {slice_words(k)}: {STOP_WORDS.get(r, r)}" for k, r in sorted((stops or {}).items()))
        if not done:
            show_info(f"clickseg: object {lid} did not propagate beyond {slice_words(z)}" + (f" ({why})" if why else ""))
            return
        show_info(f"clickseg: object {lid} propagated to {slices_words(out)}" + (f"; {why}" if why else ""))
        self.ann.show_status(f"object {lid} propagated to {slices_words(out)}" + (f" ({why})" if why else ""))

    def precompute(self) -> Any:
        """Encode every slice of the stack in a thread worker (progress bar, cancellable)."""
        if self.ann.geometry is None or self.ann.model_name is None:
            show_error("clickseg: choose an image layer and a model first")
            return None
        g, model = self.ann.geometry, self.ann.model_key
        if is_large(g.spatial_shape[-2:]):
            show_warning(f"clickseg: slices larger than {_LIMIT} pixels are encoded window by window as you click; "
                         f"there is nothing to precompute for them here")
            return None
        worker = create_worker(
            precompute_features, self.ann.make_predictor, lambda k: g.get_slice((k,) if g.n_lead else ()),
            g.n_slices, lambda k: feature_key(g.get_slice((k,) if g.n_lead else ()), model), self.ann.feature_store,
        )
        self._start(worker, "encoding slices", total=g.n_slices)
        return worker

    def _start(self, worker: Any, what: str, total: int = 0) -> None:
        pbar = progress(total=total or 1, desc=f"clickseg: {what}")
        if total:
            worker.yielded.connect(lambda _: pbar.update(1))
        self._workers.append(worker)

        def done() -> None:
            pbar.close()
            if worker in self._workers:
                self._workers.remove(worker)

        worker.finished.connect(done)
        worker.start()

    @property
    def busy(self) -> bool:
        return bool(self._workers)

    def cancel(self) -> None:
        """Stop running background work (precompute, propagation)."""
        self._abort.set()
        for w in list(self._workers):
            if hasattr(w, "quit"):
                w.quit()
