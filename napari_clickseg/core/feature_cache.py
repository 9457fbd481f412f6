"""Bounded cache of per-slice encoder features (memory LRU + optional disk folder).

Keys come from ``feature_key(image, model_name, preprocessing)``: a sha1 of the slice's bytes
(with dtype and shape), the model name (and weights hash, if the caller folds it into the name)
and the preprocessing description, so returning to a slice of a volume - in this session or a
later one - costs a lookup instead of an encoder pass (micro-sam's data signature idea).

Values are what ``predictor.get_features()`` returns: nested dicts/tuples/lists of tensors,
numpy arrays and plain values. Memory use is estimated from tensor/array sizes; the least
recently used entries are evicted beyond ``max_items`` or ``max_bytes``. With ``disk_dir``
every ``put`` also writes ``<key>.pt`` (tensors moved to CPU, ``torch.save``), and a memory miss
falls back to the disk copy (``torch.load(weights_only=True)``); the folder is kept under
``max_disk_bytes`` by deleting the least recently used files (a read refreshes a file's time). Torch is imported lazily, so
this module is usable (memory-only) without it. An optional read-only ``backing`` store (e.g. a
``core.feature_store.ZarrFeatureStore`` filled by ``clickseg precompute``) is asked last, on a
miss of memory and disk; its hits are kept in memory only (the store already holds them).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Hashable

import numpy as np

from .paths import user_dir
from .predictor import Predictor, flip_name

__all__ = ["FeatureCache", "feature_key", "model_identity", "nbytes_of", "default_cache_dir"]

log = logging.getLogger(__name__)


def feature_key(image: np.ndarray, model_name: str, preprocessing: str = "percentile-1-99") -> str:
    """Content key of one slice for one model and preprocessing (hex sha1).

    Args:
        image: the raw slice (any dtype/shape); its bytes, dtype and shape are hashed.
        model_name: model identity; include the weights' sha256 for trained models.
        preprocessing: description of the normalisation applied before the encoder.
    """
    arr = np.ascontiguousarray(image)
    h = hashlib.sha1()
    h.update(f"{model_name}|{preprocessing}|{arr.dtype.str}|{arr.shape}|".encode())
    h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def model_identity(predictor: Predictor) -> str:
    """What features depend on: the model's name plus its weights' sha256 (from the model card).

    A model re-trained under the same name therefore never reuses the old weights' features,
    and a predictor with flip test-time augmentation (two views per slice) is its own identity.
    """
    name = str(getattr(predictor, "name", type(predictor).__name__))
    if getattr(predictor, "flip_tta", False):
        name = flip_name(name, True)
    card = getattr(predictor, "card", None)
    sha = card.get("sha256") if isinstance(card, dict) else None
    return f"{name}@{sha}" if sha else name


def default_cache_dir() -> Path:
    """Per-user folder of cached features (``$CLICKSEG_HOME/cache/features`` if that is set)."""
    return user_dir("features", cache=True)


def nbytes_of(obj: Any) -> int:
    """Approximate memory of nested features (tensors and arrays; other leaves count 0)."""
    if isinstance(obj, dict):
        return sum(nbytes_of(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(nbytes_of(v) for v in obj)
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    numel = getattr(obj, "numel", None)
    if callable(numel) and hasattr(obj, "element_size"):
        return int(numel() * obj.element_size())
    return 0


_NDARRAY = "__ndarray__"


def _to_cpu(obj: Any) -> Any:
    """Tensors to CPU; numpy arrays wrapped as tensors (``weights_only`` loading refuses numpy)."""
    import torch

    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        return {_NDARRAY: torch.from_numpy(np.ascontiguousarray(obj).copy())}
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):
        return obj.detach().cpu()
    return obj


def _from_disk(obj: Any) -> Any:
    """Inverse of ``_to_cpu``'s numpy wrapping."""
    if isinstance(obj, dict):
        if set(obj) == {_NDARRAY}:
            return obj[_NDARRAY].numpy()
        return {k: _from_disk(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_from_disk(v) for v in obj)
    return obj


class FeatureCache:
    """LRU cache of features with a memory bound and an optional disk folder.

    Args:
        max_items: most entries kept in memory (>= 1).
        max_bytes: most bytes kept in memory (estimated with ``nbytes_of``); an entry larger
            than this alone is kept on disk only (if any) and not in memory.
        disk_dir: folder for ``<key>.pt`` copies reused across sessions, or None.
        max_disk_bytes: most bytes of ``*.pt`` files kept in ``disk_dir`` (oldest use first out).
        backing: anything with ``get(key)`` (e.g. a precomputed ``ZarrFeatureStore``), asked on
            a miss of memory and disk; settable later through the ``backing`` attribute.

    Keys on disk must be file-name safe: use ``feature_key`` (hex). Other hashable keys work
    in memory; on disk they are hashed.
    """

    def __init__(
        self, max_items: int = 32, max_bytes: int = 2 << 30, disk_dir: str | Path | None = None,
        max_disk_bytes: int = 4 << 30, backing: Any = None,
    ) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.max_items = int(max_items)
        self.max_bytes = int(max_bytes)
        self.max_disk_bytes = int(max_disk_bytes)
        self.disk_dir = None if disk_dir is None else Path(disk_dir)
        if self.disk_dir is not None:
            self.disk_dir.mkdir(parents=True, exist_ok=True)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self.backing = backing
        self.hits = 0
        self.misses = 0

    # -- mapping -------------------------------------------------------------------------
    def get(self, key: Hashable) -> Any:
        """Features for ``key`` or None; a disk hit is promoted into memory."""
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key][0]
        value = self._load(key)
        if value is None and self.backing is not None:
            value = self.backing.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._remember(key, value)
        return value

    def put(self, key: Hashable, features: Any) -> None:
        """Store features (and write them to disk when ``disk_dir`` is set)."""
        if self.disk_dir is not None:
            self._save(key, features)
        self._remember(key, features)

    def __contains__(self, key: Hashable) -> bool:
        if key in self._items or (self.disk_dir is not None and self._path(key).is_file()):
            return True
        if self.backing is None:
            return False
        if hasattr(type(self.backing), "__contains__"):
            return key in self.backing
        return self.backing.get(key) is not None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Estimated bytes held in memory."""
        return self._bytes

    def clear(self, disk: bool = False) -> None:
        """Drop the memory entries (and the disk copies with ``disk=True``)."""
        self._items.clear()
        self._bytes = 0
        if disk and self.disk_dir is not None:
            for p in self.disk_dir.glob("*.pt"):
                p.unlink(missing_ok=True)

    # -- internals -----------------------------------------------------------------------
    def _remember(self, key: Hashable, value: Any) -> None:
        size = nbytes_of(value)
        if key in self._items:
            self._bytes -= self._items.pop(key)[1]
        if size > self.max_bytes:
            log.debug("features for %s (%d bytes) exceed max_bytes; not kept in memory", key, size)
            return
        self._items[key] = (value, size)
        self._bytes += size
        while len(self._items) > self.max_items or self._bytes > self.max_bytes:
            _, (_, s) = self._items.popitem(last=False)
            self._bytes -= s

    def _path(self, key: Hashable) -> Path:
        assert self.disk_dir is not None
        name = key if isinstance(key, str) and key.isalnum() else hashlib.sha1(repr(key).encode()).hexdigest()
        return self.disk_dir / f"{name}.pt"

    def _save(self, key: Hashable, value: Any) -> None:
        import torch

        path = self._path(key)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        try:
            torch.save(_to_cpu(value), tmp)
            os.replace(tmp, path)  # atomic: a crash never leaves a half-written cache file
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._prune_disk(keep=path)

    def _prune_disk(self, keep: Path) -> None:
        """Delete the least recently used ``*.pt`` files until the folder fits ``max_disk_bytes``."""
        assert self.disk_dir is not None
        files = []
        for p in self.disk_dir.glob("*.pt"):
            try:
                st = p.stat()
            except OSError:  # removed meanwhile (another session)
                continue
            files.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files, key=lambda f: f[0]):
            if total <= self.max_disk_bytes:
                break
            if p != keep:
                p.unlink(missing_ok=True)
                total -= size

    def _load(self, key: Hashable) -> Any:
        if self.disk_dir is None:
            return None
        path = self._path(key)
        if not path.is_file():
            return None
        import torch

        try:
            value = _from_disk(torch.load(path, map_location="cpu", weights_only=True))
            os.utime(path)  # recently used: pruned last
            return value
        except Exception as err:  # a corrupt cache file is a miss, and is removed
            log.warning("ignoring unreadable feature cache file %s (%s)", path, err)
            path.unlink(missing_ok=True)
            return None
