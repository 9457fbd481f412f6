"""Background work of the annotator: volume precompute and propagation in napari thread workers.

Each worker gets its *own* predictor (built by the widget's model factory), never the
interactive session's one: a stateful predictor must not be shared across threads
(segment-anything #357). Features go through a lock-protected store shared with the session.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Hashable

import numpy as np

from ..core.predictor import Predictor, use_slice

__all__ = ["LockedStore", "precompute_features", "run_propagation"]


class LockedStore:
    """Wrap a FeatureCache (get/put) with a lock so a worker and the UI thread can share it."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            return self.store.get(key)

    def put(self, key: Hashable, features: Any) -> None:
        with self._lock:
            self.store.put(key, features)


def precompute_features(
    make_predictor: Callable[[], Predictor],
    get_slice: Callable[[int], np.ndarray],
    n_slices: int,
    key_fn: Callable[[int], Hashable],
    store: LockedStore,
):
    """Generator (for ``thread_worker``): encode every slice not yet cached; yields the slice index.

    Slices the predictor segments in windows (larger than its encoder's input,
    ``models.windowed``) are skipped: their windows are encoded when clicks need them.
    ``worker.quit()`` stops it between slices.
    """
    predictor = make_predictor()
    for z in range(n_slices):
        use_slice(predictor, get_slice(z), key_fn(z), store)
        yield z


def run_propagation(make_predictor: Callable[[], Predictor], job: Callable[[Predictor, Callable[[], bool]], dict],
                    abort_flag: threading.Event) -> dict:
    """Function (for ``thread_worker``): ``job(predictor, should_stop) -> {z: mask}``."""
    return job(make_predictor(), abort_flag.is_set)
