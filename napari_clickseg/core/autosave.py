"""Autosave of an annotation in the per-user folder, so that nothing is lost when napari dies.

One autosave per image, named by a signature of the image's content (so it is found again when
the same data is opened, whatever the layer or file is called), in ``autosave_dir()``
(``$CLICKSEG_HOME/autosave`` if that is set, else the platform's user data folder, e.g.
``~/.local/share/napari-clickseg/autosave`` on Linux):

* ``<signature>.labels.npy`` — the committed label array (``(*lead, H, W)``, integer);
* ``<signature>.json`` — the records of the committed objects (``core.persistence``), the
  prompts (clicks, oldest first, and box) of every slice, the session settings and the time.

Every write is atomic: a temporary file in the same folder, flushed to disk, then renamed over
the old file (``os.replace``), so a crash at any moment leaves the previous or the new version,
never a half-written one. ``CLICKSEG_AUTOSAVE=0`` turns autosave off. Pure Python/numpy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
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


def image_signature(data: np.ndarray) -> str:
    """Content signature of an image or volume (hex sha1 of dtype, shape and bytes).

    Arrays over 256 MiB are signed by their shape, dtype and an evenly spread sample of about
    16 MiB of their values (the whole of the first and last slice included), so opening a large
    volume does not read all of it twice.
    """
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

    labels: np.ndarray | None = None
    records: list[ObjectRecord] = field(default_factory=list)
    prompts: list[SlicePrompts] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    saved_at: float = 0.0

    @property
    def is_empty(self) -> bool:
        """Nothing worth restoring: no labelled pixel, no record and no prompt."""
        no_labels = self.labels is None or not np.any(self.labels)
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

    @property
    def labels_path(self) -> Path:
        return self.folder / f"{self.signature}.labels.npy"

    @property
    def state_path(self) -> Path:
        return self.folder / f"{self.signature}.json"

    def exists(self) -> bool:
        return self.state_path.is_file() or self.labels_path.is_file()

    def write_labels(self, labels: np.ndarray) -> None:
        """Atomically write the committed label array."""
        arr = np.asarray(labels)
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"labels must be an integer array, got dtype {arr.dtype}")
        atomic_write(self.labels_path, lambda f: np.save(f, arr, allow_pickle=False))
        self._prune()

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
        return state

    def set_aside(self) -> None:
        """Keep the current files as ``<signature>.previous.*`` (replacing an older previous)."""
        for path in (self.labels_path, self.state_path):
            if path.is_file():
                os.replace(path, path.with_name(path.name.replace(self.signature, f"{self.signature}.previous", 1)))

    def remove(self) -> None:
        for path in (self.labels_path, self.state_path):
            path.unlink(missing_ok=True)

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
                    p.unlink(missing_ok=True)
        except OSError as err:  # pruning is housekeeping: never let it fail a save
            log.warning("could not prune old autosaves in %s: %s", self.folder, err)
