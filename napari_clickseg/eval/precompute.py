"""Encode every slice of a volume into a zarr feature store on Dask (``clickseg precompute``).

The Dask client (this process) reads the volume with the project's readers, keys each slice
with ``feature_key`` and skips the slices the store already holds (so a second run encodes
nothing, and an interrupted run resumes). The rest are encoded on the cluster's workers, a few
tasks in flight per worker; each worker builds the model once (``_worker_predictor``, cached per
worker and model) and returns the slice's features, which the client writes into the store as
they arrive (one writer: no locking on the store, and workers need no access to its folder).
Every result carries the worker's ``model_identity``; a worker that loaded other weights is an
error, never a silently mixed store.

The cluster is a ``distributed.LocalCluster`` of ``workers`` single-threaded workers (threads of
this process) by default, or an existing ``dask.distributed`` cluster given by its scheduler
address. ``dask[distributed]`` and ``zarr`` are an optional extra
(``pip install 'napari-clickseg[distributed]'``), imported inside the functions that need them.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..core.feature_cache import feature_key
from ..core.feature_store import DISTRIBUTED_HINT, StoreIdentity, ZarrFeatureStore
from ..core.image import validate_slice
from ..data.readers import IMAGE_SUFFIXES, is_nifti, read_image, read_volume

__all__ = ["ModelSpec", "PrecomputeReport", "precompute", "volume_slices", "encode_slice", "worker_models"]

log = logging.getLogger(__name__)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as err:
        raise ImportError(f"clickseg precompute runs on Dask: {DISTRIBUTED_HINT}") from err
    return distributed


@dataclass(frozen=True)
class ModelSpec:
    """How a worker builds the model (hashable: the key of the per-worker model cache).

    Attributes:
        name: registry name (``clickseg models``).
        weights: explicit weights file (must exist on the workers), or None for the registry's.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"`` (resolved on each worker).
        flip_tta: flip test-time augmentation (two views per slice).
    """

    name: str = "fdrn"
    weights: str | None = None
    device: str = "auto"
    flip_tta: bool = False

    def build(self) -> Any:
        from ..models.registry import load_model

        predictor = load_model(self.name, device=self.device, weights=self.weights, flip_tta=self.flip_tta)
        if getattr(predictor, "windowed", False):
            # a store keeps whole-slice features: slices larger than the encoder's input are
            # encoded whole (downscaled), not in windows (models.windowed)
            predictor.windowed = False
        return predictor


@dataclass(frozen=True)
class PrecomputeReport:
    """What one ``precompute`` run did.

    Attributes:
        store: the store's folder.
        total: slices in the volume.
        encoded: slices encoded by this run.
        skipped: slices the store already held (or repeating an earlier slice's pixels).
        unusable: indices of slices that cannot be segmented (constant, non-finite), not stored.
    """

    store: Path
    total: int
    encoded: int
    skipped: int
    unusable: tuple[int, ...] = ()


# -- the volume ------------------------------------------------------------------------------
def _natural(s: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def volume_slices(path: str | Path) -> tuple[int, Callable[[int], np.ndarray]]:
    """``(n_slices, get_slice)`` of a TIFF stack / NIfTI volume / 2D image, or a folder of images.

    A folder's slices are its image files (those of its ``images/`` subfolder when it has one),
    in natural name order; each is read with ``data.readers.read_image``. A file is read with
    ``data.readers.read_volume`` (slices along axis 0, as ``clickseg annotate`` shows them).

    Raises:
        FileNotFoundError: nothing at ``path``; ValueError: no images in the folder.
    """
    p = Path(path)
    if p.is_dir():
        folder = p / "images" if (p / "images").is_dir() else p
        files = sorted((f for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")
                        and (f.suffix.lower() in IMAGE_SUFFIXES or is_nifti(f))), key=lambda f: _natural(f.name))
        if not files:
            raise ValueError(f"folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        return len(files), lambda z: read_image(files[z])
    if not p.exists():
        raise FileNotFoundError(f"volume {p} does not exist")
    vol = read_volume(p)
    return int(vol.shape[0]), lambda z: vol[z]


# -- on the workers --------------------------------------------------------------------------
_MODELS: dict[tuple[str, ModelSpec], tuple[Any, threading.Lock]] = {}
_MODELS_LOCK = threading.Lock()


def _worker_id() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # not inside a Dask worker
        return "local"


def _worker_predictor(spec: ModelSpec) -> tuple[Any, threading.Lock]:
    """This worker's predictor for ``spec`` (built on first use) and the lock serialising it."""
    key = (_worker_id(), spec)
    with _MODELS_LOCK:
        if key not in _MODELS:
            log.info("worker %s: loading model %s", key[0], spec.name)
            _MODELS[key] = (spec.build(), threading.Lock())
        return _MODELS[key]


def worker_models() -> list[tuple[str, ModelSpec]]:
    """(worker address, spec) of every model built in this process by ``encode_slice``."""
    with _MODELS_LOCK:
        return list(_MODELS)


def encode_slice(spec: ModelSpec, image: np.ndarray) -> tuple[str, Any]:
    """Worker task: ``(model_identity, features)`` of one slice (tensors on the CPU)."""
    from ..core.feature_cache import _from_disk, _to_cpu

    predictor, lock = _worker_predictor(spec)
    with lock:  # a predictor is stateful: one slice at a time
        predictor.set_image(image)
        features = _from_disk(_to_cpu(predictor.get_features()))
        identity = StoreIdentity.of(predictor).identity
    return identity, features


def _worker_identity(spec: ModelSpec) -> StoreIdentity:
    predictor, lock = _worker_predictor(spec)
    with lock:
        return StoreIdentity.of(predictor)


# -- on the client ---------------------------------------------------------------------------
def _client(distributed: Any, scheduler: str | None, workers: int) -> tuple[Any, list[Any]]:
    """A client for ``scheduler`` (or a new local cluster) and what to close afterwards."""
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise OSError(
                f"cannot reach the Dask scheduler at {scheduler} ({err}); start one with 'dask scheduler' "
                f"and workers with 'dask worker {scheduler}', or leave out --scheduler for a local cluster"
            ) from err
        return client, [client]
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=False,
        dashboard_address=":0", silence_logs=logging.WARNING,
    )
    client = distributed.Client(cluster)
    return client, [client, cluster]


def precompute(
    volume: str | Path,
    out: str | Path,
    model: str | ModelSpec = "fdrn",
    scheduler: str | None = None,
    workers: int = 1,
    client: Any = None,
    progress: bool = True,
    in_flight: int = 2,
) -> PrecomputeReport:
    """Encode the slices of ``volume`` that ``out`` does not hold yet, on Dask.

    Args:
        volume: TIFF stack, NIfTI volume, 2D image, or a folder of images (``volume_slices``).
        out: the zarr store (created when absent; an existing one must match the model).
        model: registry name or a ``ModelSpec`` (weights, device, flip TTA).
        scheduler: address of a running Dask scheduler (``tcp://HOST:PORT``); None starts a
            local cluster of ``workers`` single-threaded workers.
        workers: size of the local cluster (ignored with ``scheduler`` or ``client``).
        client: an existing ``distributed.Client`` to use (left open).
        progress: show a tqdm progress bar (stderr).
        in_flight: tasks kept in flight per worker (bounds the slices held in memory).

    Returns:
        A ``PrecomputeReport``.

    Raises:
        ImportError: ``dask[distributed]``/``zarr`` are not installed (names the extra).
        StoreMismatchError: ``out`` was made by another model or other weights.
        RuntimeError: a worker built the model with other weights than the store's.
    """
    distributed = _import_distributed()
    spec = model if isinstance(model, ModelSpec) else ModelSpec(str(model))
    n, get_slice = volume_slices(volume)
    owned: list[Any] = []
    if client is None:
        client, owned = _client(distributed, scheduler, workers)
    try:
        identity = client.submit(_worker_identity, spec, pure=False).result()
        store = ZarrFeatureStore.create(out, identity, source=str(volume))
        todo, skipped, unusable, seen = [], 0, [], set()
        for z in range(n):
            image = np.asarray(get_slice(z))
            try:
                validate_slice(image)
            except (ValueError, TypeError) as err:
                log.warning("slice %d is not stored: %s", z, err)
                unusable.append(z)
                continue
            key = feature_key(image, identity.identity, identity.preprocessing)
            if key in seen or key in store:  # done, or the same pixels as an earlier slice
                skipped += 1
            else:
                seen.add(key)
                todo.append((z, key))
        encoded = _run(distributed, client, spec, get_slice, todo, store, identity, progress, in_flight)
    finally:
        for obj in owned:
            obj.close()
    return PrecomputeReport(Path(out), n, encoded, skipped, tuple(unusable))


def _run(distributed: Any, client: Any, spec: ModelSpec, get_slice: Callable[[int], np.ndarray],
         todo: list[tuple[int, str]], store: ZarrFeatureStore, identity: StoreIdentity, progress: bool,
         in_flight: int) -> int:
    """Encode ``todo`` ((slice, key) pairs) on the cluster, writing each result as it arrives."""
    from tqdm.auto import tqdm

    if not todo:
        return 0
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    pending: Iterable = iter(todo)
    meta: dict[Any, tuple[int, str]] = {}

    def submit_next() -> Any:
        for z, key in pending:
            fut = client.submit(encode_slice, spec, np.asarray(get_slice(z)), key=f"clickseg-encode-{key}", pure=False)
            meta[fut] = (z, key)
            return fut
        return None

    first = [f for f in (submit_next() for _ in range(max(1, in_flight) * n_workers)) if f is not None]
    done = 0
    with tqdm(total=len(todo), desc="encoding slices", unit="slice", disable=not progress) as bar:
        queue = distributed.as_completed(first)
        for fut in queue:
            z, key = meta.pop(fut)
            worker_identity, features = fut.result()
            if worker_identity != identity.identity:
                raise RuntimeError(
                    f"a Dask worker encoded slice {z} with {worker_identity!r}, but the store holds "
                    f"{identity.identity!r}: the workers' weights differ; install the same model on every worker"
                )
            store.write(key, features, slice_index=z)
            done += 1
            bar.update(1)
            nxt = submit_next()
            if nxt is not None:
                queue.add(nxt)
    return done
