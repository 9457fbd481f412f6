"""Autosave of an annotation in the per-user folder, so that nothing is lost when napari dies.

One autosave per image, named by a signature of the image's content (so it is found again when
the same data is opened, whatever the layer or file is called), in ``autosave_dir()``
(``$CLICKSEG_HOME/autosave`` if that is set, else the platform's user data folder, e.g.
``~/.local/share/napari-clickseg/autosave`` on Linux):

* ``<signature>.labels.npy`` — the committed label array (``(*lead, H, W)``, integer); for
  ``core.chunked_labels.ChunkedLabels`` (huge slides) ``<signature>.labels.zarr`` instead, a
  zarr array with the same chunks, to which each write copies only the chunks written since
  the previous one (chunks of zeros are not stored);
* ``<signature>.json`` — the records of the committed objects (``core.persistence``), the
  prompts (clicks, oldest first, and box) of every slice, the session settings and the time.

Every write is atomic: a temporary file in the same folder, flushed to disk, then renamed over
the old file (``os.replace``), so a crash at any moment leaves the previous or the new version,
never a half-written one. For the zarr labels of a huge slide this holds chunk by chunk (zarr
writes each chunk file that way): a crash during a write leaves every chunk either as before or
as after it. ``CLICKSEG_AUTOSAVE=0`` turns autosave off. Pure Python/numpy (zarr for huge slides).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .clicks import Box, Click
from .paths import user_dir
from .persistence import ObjectRecord

__all__ = [
    "ENV_SWITCH",
    "SlicePrompts",
    "AutosaveState",
    "Autosave",
    "autosave_enabled",
    "autosave_dir",
    "image_signature",
    "atomic_write",
]

log = logging.getLogger(__name__)

#: environment variable; "0", "false", "no" or "off" turns autosave off
ENV_SWITCH = "CLICKSEG_AUTOSAVE"
FORMAT = "napari-clickseg autosave"
VERSION = 1
#: images larger than this are signed by a fixed sample of their bytes, not all of them
_FULL_HASH_BYTES = 256 << 20


def autosave_enabled() -> bool:
    """False when ``$CLICKSEG_AUTOSAVE`` is ``0``, ``false``, ``no`` or ``off``."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def autosave_dir() -> Path:
    """The per-user autosave folder (created on first write)."""
    return user_dir("autosave")


def _lazy_signature(data: Any) -> str:
    """Signature of a large lazy array: dtype, shape and a 4x4 grid of 64x64 windows of its
    first and last slice (the image axes are the last two, or the two before a last axis of at
    most 4 channels); nothing else is read."""
    shape = tuple(int(v) for v in data.shape)
    ax = len(shape) - 3 if (len(shape) >= 3 and shape[-1] <= 4) else len(shape) - 2
    h = hashlib.sha1(f"{np.dtype(data.dtype).str}|{shape}|lazy|".encode())
    lead = shape[:ax]
    for at in sorted({tuple(0 for _ in lead), tuple(n - 1 for n in lead)}):
        for r in np.linspace(0, max(shape[ax] - 64, 0), 4).astype(int):
            for c in np.linspace(0, max(shape[ax + 1] - 64, 0), 4).astype(int):
                window = np.asarray(data[at + (slice(int(r), int(r) + 64), slice(int(c), int(c) + 64))])
                h.update(np.ascontiguousarray(window).tobytes())
    return h.hexdigest()


def image_signature(data: np.ndarray) -> str:
    """Content signature of an image or volume (hex sha1 of dtype, shape and bytes).

    Arrays over 256 MiB are signed by their shape, dtype and an evenly spread sample of about
    16 MiB of their values (the whole of the first and last slice included), so opening a large
    volume does not read all of it twice. A lazy array (dask, zarr; anything but numpy) over
    256 MiB is signed by its shape, dtype and 16 windows of 64x64 pixels of its first and last
    slice, so only those are read.
    """
    if not isinstance(data, np.ndarray) and hasattr(data, "shape") and hasattr(data, "dtype"):
        nbytes = int(np.prod(data.shape)) * np.dtype(data.dtype).itemsize
        if nbytes > _FULL_HASH_BYTES and len(data.shape) >= 2:
            return _lazy_signature(data)
    arr = np.asarray(data)
    h = hashlib.sha1(f"{arr.dtype.str}|{arr.shape}|".encode())
    if arr.nbytes <= _FULL_HASH_BYTES:
        h.update(np.ascontiguousarray(arr).tobytes())
    else:
        flat = arr.reshape(-1)
        step = max(1, arr.nbytes // (16 << 20))  # about 16 MiB of values
        h.update(np.ascontiguousarray(flat[::step]).tobytes())
        h.update(np.ascontiguousarray(arr[0]).tobytes())
        h.update(np.ascontiguousarray(arr[-1]).tobytes())
    return h.hexdigest()


def atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write ``path`` through ``write(binary file)`` via a temporary file + ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class SlicePrompts:
    """The prompts of one slice's unfinished object.

    Attributes:
        index: leading slice coordinates (``()`` for 2D).
        clicks: oldest first, (row, col) in slice pixels.
        box: box prompt or None.
    """

    index: tuple[int, ...]
    clicks: list[Click] = field(default_factory=list)
    box: Box | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": [int(v) for v in self.index],
            "clicks": [[c.row, c.col, c.is_positive] for c in self.clicks],
            "box": None if self.box is None else list(self.box.as_tuple()),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "SlicePrompts":
        return cls(
            index=tuple(int(v) for v in d.get("index", ())),
            clicks=[Click(r, c, bool(p)) for r, c, p in d.get("clicks", [])],
            box=None if d.get("box") is None else Box(*d["box"]),
        )


@dataclass
class AutosaveState:
    """What an autosave holds.

    Attributes:
        labels: the committed label array, or None if no target layer was written yet.
        records: one record per committed object, in commit order.
        prompts: the unfinished objects' prompts, one entry per slice that has any.
        settings: free-form session settings (model, image layer name, ...).
        saved_at: time of the last write (seconds since the epoch).
    """

    labels: Any = None
    records: list[ObjectRecord] = field(default_factory=list)
    prompts: list[SlicePrompts] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    saved_at: float = 0.0

    @property
    def is_empty(self) -> bool:
        """Nothing worth restoring: no labelled pixel, no record and no prompt."""
        if self.labels is None:
            no_labels = True
        elif isinstance(self.labels, np.ndarray):
            no_labels = not np.any(self.labels)
        else:  # a zarr array (huge slide): stored chunks hold labels, chunks of zeros are not stored
            no_labels = int(self.labels.nchunks_initialized) == 0
        return no_labels and not self.records and not any(p.clicks or p.box for p in self.prompts)


class Autosave:
    """The autosave files of one image.

    Args:
        signature: ``image_signature`` of the image.
        folder: where the files live (default ``autosave_dir()``).
        keep: at most this many images' autosaves are kept; older ones are deleted when a new
            one is written.
    """

    def __init__(self, signature: str, folder: str | Path | None = None, keep: int = 20) -> None:
        if not signature or not signature.isalnum():
            raise ValueError(f"autosave signature must be alphanumeric (a hex digest), got {signature!r}")
        self.signature = signature
        self.folder = Path(folder) if folder is not None else autosave_dir()
        self.keep = int(keep)
        self._chunked: tuple[int, int] | None = None  # (id of the ChunkedLabels copied, its stamp)

    @property
    def labels_path(self) -> Path:
        return self.folder / f"{self.signature}.labels.npy"

    @property
    def labels_zarr_path(self) -> Path:
        """Where the labels of a huge slide (``ChunkedLabels``) are kept: a zarr array."""
        return self.folder / f"{self.signature}.labels.zarr"

    @property
    def state_path(self) -> Path:
        return self.folder / f"{self.signature}.json"

    def exists(self) -> bool:
        return self.state_path.is_file() or self.labels_path.is_file() or self.labels_zarr_path.is_dir()

    def write_labels(self, labels: Any) -> None:
        """Write the committed label array: atomically as ``.npy``; a ``ChunkedLabels`` as a zarr
        array, copying only the chunks written since the previous write of the same object
        (the first write of an object replaces what was there)."""
        if callable(getattr(labels, "changes_since", None)):
            self._write_chunked(labels)
            self._prune()
            return
        arr = np.asarray(labels)
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"labels must be an integer array, got dtype {arr.dtype}")
        atomic_write(self.labels_path, lambda f: np.save(f, arr, allow_pickle=False))
        _remove(self.labels_zarr_path)
        self._chunked = None
        self._prune()

    def _write_chunked(self, labels: Any) -> None:
        import zarr

        path = self.labels_zarr_path
        same = self._chunked is not None and self._chunked[0] == id(labels) and path.is_dir()
        if same:
            dst = zarr.open_array(str(path), mode="r+")
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            _remove(path)
            self.labels_path.unlink(missing_ok=True)
            dst = zarr.create_array(str(path), shape=labels.shape, chunks=labels.chunks, dtype=labels.dtype, fill_value=0)
        coords, stamp = labels.changes_since(self._chunked[1] if same else 0)
        for coord in coords:
            region = labels.chunk_region(coord)
            dst[region] = labels[region]
        self._chunked = (id(labels), stamp)

    def write_state(
        self,
        records: Sequence[ObjectRecord],
        prompts: Sequence[SlicePrompts],
        settings: dict[str, Any] | None = None,
        labels_shape: Sequence[int] | None = None,
    ) -> None:
        """Atomically write the records, the prompts of every slice and the settings."""
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "signature": self.signature,
            "saved_at": time.time(),
            "labels_shape": None if labels_shape is None else [int(v) for v in labels_shape],
            "settings": settings or {},
            "objects": [r.to_json() for r in records],
            "prompts": [p.to_json() for p in prompts if p.clicks or p.box is not None],
        }
        text = json.dumps(doc, indent=1).encode()
        atomic_write(self.state_path, lambda f: f.write(text))
        self._prune()

    def read(self) -> AutosaveState | None:
        """The saved state, or None if there is none.

        Raises:
            ValueError: a file that is not a readable autosave of this image (it names the file).
        """
        if not self.exists():
            return None
        state = AutosaveState()
        if self.state_path.is_file():
            try:
                doc = json.loads(self.state_path.read_text())
            except (OSError, ValueError) as err:
                raise ValueError(f"autosave {self.state_path} cannot be read ({err})") from None
            if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("signature") != self.signature:
                raise ValueError(f"autosave {self.state_path} is not a napari-clickseg autosave of this image")
            try:
                state.records = [ObjectRecord.from_json(d) for d in doc.get("objects", [])]
                state.prompts = [SlicePrompts.from_json(d) for d in doc.get("prompts", [])]
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"autosave {self.state_path} has a malformed entry ({err})") from None
            state.settings = dict(doc.get("settings") or {})
            state.saved_at = float(doc.get("saved_at", 0.0))
        if self.labels_path.is_file():
            try:
                state.labels = np.load(self.labels_path, allow_pickle=False)
            except (OSError, ValueError) as err:
                raise ValueError(f"autosave {self.labels_path} cannot be read ({err})") from None
            state.saved_at = max(state.saved_at, self.labels_path.stat().st_mtime)
        elif self.labels_zarr_path.is_dir():
            import zarr

            try:  # a huge slide's labels: opened, not read (restoring copies them chunk by chunk)
                state.labels = zarr.open_array(str(self.labels_zarr_path), mode="r")
            except Exception as err:  # noqa: BLE001 - any unreadable store is reported the same way
                raise ValueError(f"autosave {self.labels_zarr_path} cannot be read ({err})") from None
            if not np.issubdtype(np.dtype(state.labels.dtype), np.integer):
                raise ValueError(f"autosave {self.labels_zarr_path} does not hold integer labels")
        return state

    def set_aside(self) -> None:
        """Keep the current files as ``<signature>.previous.*`` (replacing an older previous)."""
        for path in (self.labels_path, self.labels_zarr_path, self.state_path):
            if path.exists():
                aside = path.with_name(path.name.replace(self.signature, f"{self.signature}.previous", 1))
                _remove(aside)
                os.replace(path, aside)
        self._chunked = None

    def remove(self) -> None:
        for path in (self.labels_path, self.labels_zarr_path, self.state_path):
            _remove(path)
        self._chunked = None

    def _prune(self) -> None:
        """Delete the autosaves of all but the ``keep`` most recently written images."""
        try:
            by_sig: dict[str, float] = {}
            for p in self.folder.iterdir():
                sig = p.name.split(".")[0]
                if sig and sig != self.signature and not p.name.startswith("."):
                    by_sig[sig] = max(by_sig.get(sig, 0.0), p.stat().st_mtime)
            old = sorted(by_sig, key=by_sig.get, reverse=True)[max(self.keep - 1, 0):]
            for p in list(self.folder.iterdir()):
                if p.name.split(".")[0] in old:
                    _remove(p)
        except OSError as err:  # pruning is housekeeping: never let it fail a save
            log.warning("could not prune old autosaves in %s: %s", self.folder, err)


def _remove(path: Path) -> None:
    """Delete a file or a folder (a zarr store) if it is there."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
