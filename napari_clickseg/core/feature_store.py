"""Encoder features of many slices in one chunked zarr store (``clickseg precompute``'s output).

Layout (zarr group at ``STORE.zarr``)::

    STORE.zarr/                 attrs: format, model, model_identity, weights_sha256,
                                       preprocessing, encoder (the feature identity), source
      features/<key>/           one group per slice; <key> = core.feature_cache.feature_key
        <name>                  one array per tensor/array of ``get_features()["features"]``,
                                one chunk each; group attrs: shape, slice, complete, scalars

Slices are found by *content*: the group name is ``feature_key(slice, model_identity)``, the
same key the annotator's and the session's feature cache use, so a store can be read by any
front end that holds the same slice, whatever the file it came from. A group counts only once
its ``complete`` attribute is written (after its arrays), so an interrupted write is redone,
never read. The store's identity is ``model_identity`` (model name + weights sha256, flip TTA),
the preprocessing and the encoder settings: opening it for a predictor whose identity differs
raises ``StoreMismatchError`` naming both models; features of other weights are never served.

Reading is lazy: ``get(key)`` opens one slice's arrays only. Writing is meant for one process
(``eval.precompute`` writes from the Dask client); reads may run anywhere. zarr is an optional
dependency (``pip install napari-clickseg[distributed]``), imported inside the functions that
need it; torch is imported when tensors are converted.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable

import numpy as np

from .feature_cache import model_identity

__all__ = [
    "STORE_FORMAT",
    "DEFAULT_PREPROCESSING",
    "DISTRIBUTED_HINT",
    "StoreIdentity",
    "StoreMismatchError",
    "check_identity",
    "ZarrFeatureStore",
    "import_zarr",
]

log = logging.getLogger(__name__)

#: value of the root ``format`` attribute; a store of another format is refused
STORE_FORMAT = "clickseg-features/1"
#: preprocessing part of the feature identity (``feature_key``'s default: percentile 1-99 scaling)
DEFAULT_PREPROCESSING = "percentile-1-99"
#: how to install the optional dependencies of stores and ``clickseg precompute``
DISTRIBUTED_HINT = "pip install 'napari-clickseg[distributed]'"

_TENSOR = "tensor"
_NDARRAY = "ndarray"


def import_zarr() -> Any:
    """The ``zarr`` module, or an ImportError that names the extra to install."""
    try:
        import zarr
    except ImportError as err:
        raise ImportError(f"feature stores need zarr, an optional dependency: {DISTRIBUTED_HINT}") from err
    return zarr


class StoreMismatchError(ValueError):
    """A feature store was made by another model, other weights or other encoder settings."""


def _plain(obj: Any) -> Any:
    """JSON-safe copy of a config value (dataclasses, tuples, paths -> dicts, lists, strings)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _plain(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


@dataclass(frozen=True)
class StoreIdentity:
    """What a store's features depend on; two stores are interchangeable iff these are equal.

    Attributes:
        model: the registry name of the model (``predictor.name``).
        identity: ``core.feature_cache.model_identity(predictor)`` (name, weights sha256, flip
            TTA); it is also the model part of every slice's ``feature_key``.
        weights_sha256: sha256 of the weights file (model card), None for untrained/classical.
        preprocessing: the slice normalisation before the encoder.
        encoder: JSON-safe encoder settings: architecture config, crop size, views, input
            normalisation of the model card.
    """

    model: str
    identity: str
    weights_sha256: str | None = None
    preprocessing: str = DEFAULT_PREPROCESSING
    encoder: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, predictor: Any, preprocessing: str = DEFAULT_PREPROCESSING) -> "StoreIdentity":
        """The identity of ``predictor``'s features (any Predictor; learned ones carry more)."""
        card = getattr(predictor, "card", None)
        card = card if isinstance(card, dict) else {}
        encoder = {
            "family": getattr(predictor, "family", type(predictor).__name__),
            "config": _plain(getattr(predictor, "config", None)),
            "crop_size": getattr(predictor, "crop_size", None),
            "views": getattr(predictor, "views", 1),
            "input_normalisation": _plain(card.get("input_normalisation")),
        }
        return cls(
            model=str(getattr(predictor, "name", type(predictor).__name__)),
            identity=model_identity(predictor),
            weights_sha256=card.get("sha256"),
            preprocessing=preprocessing,
            encoder=_plain(encoder),
        )

    def as_attrs(self) -> dict[str, Any]:
        """Root attributes of a store with this identity."""
        return {
            "format": STORE_FORMAT,
            "model": self.model,
            "model_identity": self.identity,
            "weights_sha256": self.weights_sha256,
            "preprocessing": self.preprocessing,
            "encoder": self.encoder,
        }

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> "StoreIdentity":
        return cls(
            model=str(attrs.get("model")),
            identity=str(attrs.get("model_identity")),
            weights_sha256=attrs.get("weights_sha256"),
            preprocessing=str(attrs.get("preprocessing", DEFAULT_PREPROCESSING)),
            encoder=dict(attrs.get("encoder") or {}),
        )

    def describe(self) -> str:
        sha = f"weights sha256 {self.weights_sha256[:12]}..." if self.weights_sha256 else "no weights file"
        flip = ", flip test-time augmentation" if "+flip" in self.identity else ""
        return f"model {self.model!r} ({sha}{flip})"


def check_identity(path: Path, stored: StoreIdentity, wanted: StoreIdentity) -> None:
    """Raise ``StoreMismatchError`` (naming both models) unless the store at ``path`` fits ``wanted``."""
    if stored.identity != wanted.identity:
        raise StoreMismatchError(
            f"feature store {path} was made by {stored.describe()}, not by {wanted.describe()}; its "
            f"features do not fit this model. Precompute a store for it (clickseg precompute VOLUME "
            f"--out NEW.zarr --model {wanted.model}) or use the model the store was made with"
        )
    for what in ("preprocessing", "encoder"):
        if getattr(stored, what) != getattr(wanted, what):
            raise StoreMismatchError(
                f"feature store {path} was made by {stored.describe()} with other {what} settings "
                f"({getattr(stored, what)!r}, here {getattr(wanted, what)!r}); precompute a new store"
            )


class ZarrFeatureStore:
    """Slice features in a zarr group, keyed by ``feature_key`` (get/put like ``FeatureCache``).

    Use ``ZarrFeatureStore.open`` (read, checking the identity) or ``ZarrFeatureStore.create``
    (open for writing, creating the store when absent).

    Attributes:
        path: the store's folder.
        identity: the identity recorded in the store.
        writable: whether ``put``/``write`` may add slices.
        reads: number of slices read from the store (``get`` hits).
    """

    def __init__(self, path: Path, group: Any, identity: StoreIdentity, writable: bool) -> None:
        self.path = path
        self._root = group
        self.identity = identity
        self.writable = writable
        self.reads = 0

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, expect: StoreIdentity | Any | None = None) -> "ZarrFeatureStore":
        """Open an existing store for reading.

        Args:
            path: the ``.zarr`` folder.
            expect: a ``StoreIdentity`` or a predictor: the store must have been made for it
                (else ``StoreMismatchError``); None accepts any store.

        Raises:
            FileNotFoundError: no store at ``path``.
            ValueError: ``path`` is not a clickseg feature store.
            StoreMismatchError: made by another model, other weights or other settings.
        """
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"feature store {p} does not exist; make it with 'clickseg precompute'")
        group = cls._open_group(p, "r")
        stored = cls._stored_identity(p, group)
        if expect is not None:
            check_identity(p, stored, expect if isinstance(expect, StoreIdentity) else StoreIdentity.of(expect))
        return cls(p, group, stored, writable=False)

    @classmethod
    def create(cls, path: str | Path, identity: StoreIdentity, source: str | None = None) -> "ZarrFeatureStore":
        """Open ``path`` for writing; a new store gets ``identity``, an existing one must match it.

        Raises:
            StoreMismatchError: the existing store was made by other weights/settings.
            ValueError: ``path`` exists and is not a clickseg feature store.
        """
        p = Path(path)
        if p.exists():
            group = cls._open_group(p, "a")
            check_identity(p, cls._stored_identity(p, group), identity)
        else:
            zarr = import_zarr()
            group = zarr.open_group(str(p), mode="w")
            group.attrs.update({**identity.as_attrs(), "source": source})
            group.create_group("features")
        return cls(p, group, identity, writable=True)

    @staticmethod
    def _open_group(p: Path, mode: str) -> Any:
        zarr = import_zarr()
        try:
            return zarr.open_group(str(p), mode=mode)
        except Exception as err:  # zarr raises several kinds for a folder that is no group
            raise ValueError(f"{p} is not a zarr feature store ({type(err).__name__}: {err})") from err

    @staticmethod
    def _stored_identity(p: Path, group: Any) -> StoreIdentity:
        attrs = dict(group.attrs)
        if attrs.get("format") != STORE_FORMAT:
            raise ValueError(
                f"{p} is not a clickseg feature store (format {attrs.get('format')!r}, expected "
                f"{STORE_FORMAT!r}); make one with 'clickseg precompute'"
            )
        return StoreIdentity.from_attrs(attrs)

    # -- mapping -------------------------------------------------------------------------
    def __contains__(self, key: Hashable) -> bool:
        return self._complete_group(key) is not None

    def keys(self) -> list[str]:
        """Keys of the complete slices."""
        feats = self._root["features"]
        return sorted(k for k, g in feats.groups() if g.attrs.get("complete"))

    def __len__(self) -> int:
        return len(self.keys())

    def slice_keys(self) -> dict[int, str]:
        """``{slice index: key}`` of the complete slices that recorded their index."""
        feats = self._root["features"]
        return {int(g.attrs["slice"]): k for k, g in feats.groups()
                if g.attrs.get("complete") and g.attrs.get("slice") is not None}

    def get(self, key: Hashable) -> Any:
        """Features (as ``predictor.get_features()`` returns them) for ``key``, or None."""
        group = self._complete_group(key)
        if group is None:
            return None
        import torch

        attrs = dict(group.attrs)
        inner: dict[str, Any] = dict(attrs.get("scalars") or {})
        for name, kind in (attrs.get("arrays") or {}).items():
            arr = np.asarray(group[name][...])
            inner[name] = torch.from_numpy(arr) if kind == _TENSOR else arr
        self.reads += 1
        features = inner.pop("__value__") if attrs.get("single") else inner
        return {"shape": tuple(attrs["shape"]), "features": features, "model": attrs.get("model")}

    def put(self, key: Hashable, features: Any) -> None:
        """Add one slice's features (``predictor.get_features()``); no-op on a read-only store."""
        if self.writable:
            self.write(str(key), features)

    def write(self, key: str, features: Any, slice_index: int | None = None) -> None:
        """Write one slice's features under ``key``; ``slice_index`` is recorded for listings.

        Raises:
            PermissionError: the store was opened read-only.
            TypeError: the features are not a dict of tensors/arrays/plain values.
        """
        if not self.writable:
            raise PermissionError(f"feature store {self.path} was opened read-only")
        if not isinstance(features, dict) or "features" not in features or "shape" not in features:
            raise TypeError("write expects the object returned by predictor.get_features()")
        inner = features["features"]
        single = not isinstance(inner, dict)
        items = {"__value__": inner} if single else inner
        feats = self._root["features"]
        if str(key) in feats:
            del feats[str(key)]  # an incomplete earlier write
        group = feats.create_group(str(key))
        arrays: dict[str, str] = {}
        scalars: dict[str, Any] = {}
        for name, value in items.items():
            if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
                import torch

                t = value.detach().cpu()
                arr = (t.float() if t.dtype in (torch.bfloat16, torch.float16) and t.is_floating_point() else t).numpy()
                kind = _TENSOR
            elif isinstance(value, np.ndarray) and value.dtype != object:
                arr, kind = value, _NDARRAY
            elif value is None or isinstance(value, (bool, int, float, str)):
                scalars[name] = value
                continue
            else:
                raise TypeError(f"feature {name!r} is a {type(value).__name__}; a store keeps tensors, arrays and plain values")
            _write_array(group, name, np.ascontiguousarray(arr))
            arrays[name] = kind
        # written last: a group without ``complete`` is an interrupted write and is redone
        group.attrs.update({
            "shape": [int(s) for s in features["shape"]], "model": features.get("model"), "slice": slice_index,
            "arrays": arrays, "scalars": scalars, "single": single, "complete": True,
        })

    def _complete_group(self, key: Hashable) -> Any:
        feats = self._root["features"]
        name = str(key)
        if name not in feats:
            return None
        group = feats[name]
        return group if group.attrs.get("complete") else None


def _write_array(group: Any, name: str, arr: np.ndarray) -> None:
    """One array of ``arr``'s shape stored as a single chunk (zarr 3 ``create_array``, else zarr 2)."""
    if hasattr(group, "create_array"):
        a = group.create_array(name, shape=arr.shape, dtype=arr.dtype, chunks=arr.shape if arr.ndim else "auto")
    else:  # zarr 2
        a = group.create_dataset(name, shape=arr.shape, dtype=arr.dtype, chunks=arr.shape if arr.ndim else True)
    a[...] = arr
