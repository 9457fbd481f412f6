"""Save and resume an annotation: the labels file plus a JSON of prompts and settings beside it.

``labels.tif`` gets ``labels.clickseg.json`` next to it, holding for every committed object its
id, slice, clicks, box, model and how it was made (clicked or propagated), plus the session
settings. With it a session can be continued (the labels are loaded back, the next id follows
on) and reproduced (replay the clicks with the recorded model). Pure Python/numpy; no napari.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .clicks import Box, Click

__all__ = [
    "ObjectRecord",
    "AnnotationFile",
    "sidecar_path",
    "save_annotation",
    "load_annotation",
    "FORMAT_VERSION",
]

FORMAT_VERSION = 1
_LABEL_SUFFIXES = (".tif", ".tiff", ".npy")


@dataclass
class ObjectRecord:
    """How one committed object was made.

    Attributes:
        label_id: the object's id in the label array.
        index: leading slice coordinates (``()`` for 2D, ``(z,)`` for stacks).
        clicks: the clicks, oldest first, (row, col) in slice pixels.
        box: box prompt (row0, col0, row1, col1) or None.
        model: registry name of the model that produced it.
        source: ``"clicks"`` (a new object or more of one), ``"edited"`` (an existing object
            corrected: its pixels on ``index`` replaced) or ``"propagated"``.
        time: when it was committed, seconds since the epoch (``time.time()``); None if unknown
            (files written before this field existed).
    """

    label_id: int
    index: tuple[int, ...] = ()
    clicks: list[Click] = field(default_factory=list)
    box: Box | None = None
    model: str = ""
    source: str = "clicks"
    time: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "label_id": int(self.label_id),
            "index": [int(v) for v in self.index],
            "clicks": [[c.row, c.col, c.is_positive] for c in self.clicks],
            "box": None if self.box is None else list(self.box.as_tuple()),
            "model": self.model,
            "source": self.source,
        }
        if self.time is not None:
            out["time"] = float(self.time)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ObjectRecord":
        return cls(
            label_id=int(d["label_id"]),
            index=tuple(int(v) for v in d.get("index", ())),
            clicks=[Click(r, c, bool(p)) for r, c, p in d.get("clicks", [])],
            box=None if d.get("box") is None else Box(*d["box"]),
            model=str(d.get("model", "")),
            source=str(d.get("source", "clicks")),
            time=None if d.get("time") is None else float(d["time"]),
        )


@dataclass
class AnnotationFile:
    """Everything saved beside a labels file.

    Attributes:
        objects: one record per committed object, in commit order.
        settings: free-form session settings (model, device, threshold, image layer, ...).
    """

    objects: list[ObjectRecord] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def sidecar_path(labels_path: str | Path) -> Path:
    """``labels.tif`` -> ``labels.clickseg.json`` (same folder)."""
    p = Path(labels_path)
    return p.with_name(p.name.split(".")[0] + ".clickseg.json")


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in _LABEL_SUFFIXES:
        raise ValueError(f"labels file {path} must end in {', '.join(_LABEL_SUFFIXES)}")


def _write_chunked(path: Path, labels: Any) -> None:
    """Write a ``core.chunked_labels.ChunkedLabels`` one chunk at a time: a tiled TIFF (one
    tile per chunk, zlib) or a ``.npy`` file filled through a memory map."""
    th, tw = labels.chunks[-2:]
    stored = set(labels.stored_chunks())
    if path.suffix.lower() == ".npy":
        out = np.lib.format.open_memmap(path, mode="w+", dtype=labels.dtype, shape=labels.shape)
        for coord in sorted(stored):
            region = labels.chunk_region(coord)
            out[region] = labels[region]
        out.flush()
        del out
        return
    import tifffile

    zero = np.zeros((th, tw), labels.dtype)

    def tiles():
        for lead in np.ndindex(*labels.shape[:-2]):
            for i in range(labels.chunk_grid[-2]):
                for j in range(labels.chunk_grid[-1]):
                    coord = tuple(lead) + (i, j)
                    if coord not in stored:
                        yield zero
                        continue
                    block = np.asarray(labels[labels.chunk_region(coord)])
                    block = block.reshape(block.shape[-2:])  # one slice of a stack
                    tile = np.zeros((th, tw), labels.dtype)
                    tile[: block.shape[0], : block.shape[1]] = block
                    yield tile

    tmp = path.with_name(f".{path.name}.tmp")
    tifffile.imwrite(tmp, tiles(), shape=labels.shape, dtype=labels.dtype, tile=(th, tw), compression="zlib")
    tmp.replace(path)


def save_annotation(labels_path: str | Path, labels: np.ndarray, annotation: AnnotationFile) -> Path:
    """Write the label array (TIFF or .npy) and its JSON sidecar; returns the JSON path.

    ``labels`` may be a ``core.chunked_labels.ChunkedLabels``: it is then written one chunk
    at a time (a tiled TIFF, or a ``.npy`` file through a memory map), never read whole.
    """
    path = Path(labels_path)
    _check_suffix(path)
    chunked = callable(getattr(labels, "stored_chunks", None))  # ChunkedLabels: written chunk by chunk
    arr = labels if chunked else np.asarray(labels)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"labels must be an integer array, got dtype {arr.dtype}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if chunked:
        _write_chunked(path, labels)
    elif path.suffix.lower() == ".npy":
        np.save(path, arr)
    else:
        import tifffile

        tifffile.imwrite(path, arr, compression="zlib")
    side = sidecar_path(path)
    doc = {
        "format": "napari-clickseg annotation",
        "version": FORMAT_VERSION,
        "labels_file": path.name,
        "shape": list(arr.shape),
        "settings": annotation.settings,
        "objects": [r.to_json() for r in annotation.objects],
    }
    tmp = side.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(side)  # never leave a half-written sidecar
    return side


def load_annotation(labels_path: str | Path, lazy: bool = False) -> tuple[Any, AnnotationFile]:
    """Read a labels file and its sidecar (an absent sidecar gives an empty record list).

    Args:
        labels_path: ``.tif``/``.tiff``/``.npy`` labels file.
        lazy: return the labels unread: a read-only memory map (``.npy``) or a ``zarr.Array``
            over the TIFF (tifffile's zarr store), which slicing reads part by part.

    Raises:
        FileNotFoundError: the labels file does not exist.
        ValueError: unknown suffix, a sidecar that is not ours or whose shape disagrees.
    """
    path = Path(labels_path)
    _check_suffix(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels file {path} does not exist")
    if path.suffix.lower() == ".npy":
        arr = np.load(path, allow_pickle=False, mmap_mode="r" if lazy else None)
    elif lazy:
        from .lazy_image import open_lazy

        arr = open_lazy(path)
    else:
        import tifffile

        arr = tifffile.imread(path)
    side = sidecar_path(path)
    if not side.is_file():
        return arr, AnnotationFile()
    try:
        doc = json.loads(side.read_text())
    except ValueError as err:
        raise ValueError(f"{side} is not valid JSON ({err}); fix or delete it") from None
    if doc.get("format") != "napari-clickseg annotation":
        raise ValueError(f"{side} is not a napari-clickseg annotation file")
    if list(doc.get("shape", arr.shape)) != list(arr.shape):
        raise ValueError(f"{side} describes labels of shape {doc.get('shape')}, but {path} has {arr.shape}")
    objs = [ObjectRecord.from_json(d) for d in doc.get("objects", [])]
    return arr, AnnotationFile(objects=objs, settings=dict(doc.get("settings", {})))
