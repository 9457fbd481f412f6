"""Label arrays of huge slides: zarr chunks, coarser display levels and a per-chunk object index.

A dense label array of a 20000x20000 slide is 1.6 GB of uint32. ``ChunkedLabels`` keeps the
labels ``(*lead, H, W)`` (0 = background, 1..N = objects, as ``core.labels``) in a chunked zarr
array instead - in memory (``zarr.storage.MemoryStore``) or in a zarr folder on disk - where
only chunks holding a nonzero label are stored (zarr drops chunks of zeros), so memory grows
with what is annotated, not with the slide. Next to the labels (level 0) it keeps

* **display levels** 1, 2, ...: level k holds every ``2**k``-th row and column of level 0
  (nearest subsampling, the usual pyramid of label images) down to a side of at most
  ``COARSEST_SIDE``; a viewer draws a zoomed-out slide from a coarse level and reads only the
  tiles it shows (``pyramid()``: napari's multiscale Labels);
* an **object index**: for every stored chunk of level 0, the ids it holds with their pixel
  counts and bounding boxes. Ids, areas, bounding boxes, slice ranges and the next free id
  come from it without reading the labels (``object_stats``, ``bbox``, ``max_id``).

Every write through this object (``labels[key] = values`` with basic or fancy indices) updates
the levels and the index of the chunks it touches; writing into ``levels`` directly bypasses
them. The chunks each write touched are tracked (``changes_since``), so a copy (an autosave)
can be brought up to date chunk by chunk.

Slices with more than ``CHUNKED_LABELS_MIN_PIXELS`` pixels get such labels in the annotator.
Needs zarr (the ``distributed`` extra, or napari's dependencies). No Qt, no napari.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .window import WindowedMap

__all__ = ["CHUNKED_LABELS_MIN_PIXELS", "CHUNK_SIDE", "COARSEST_SIDE", "ChunkedLabels", "needs_chunked_labels"]

#: slices with more pixels than this get ``ChunkedLabels`` (a dense uint32 array of this many
#: pixels is 256 MiB; below it the annotator's target labels are a numpy array napari can paint)
CHUNKED_LABELS_MIN_PIXELS = 8192 * 8192
#: rows and columns of one chunk (chunks span one slice of a stack)
CHUNK_SIDE = 512
#: the coarsest display level has at most this many rows and columns
COARSEST_SIDE = 1024


def needs_chunked_labels(shape: Sequence[int], min_pixels: int | None = None) -> bool:
    """Whether labels of a ``(*lead, H, W)`` shape should be chunked: ``H * W`` is above
    ``min_pixels`` (default ``CHUNKED_LABELS_MIN_PIXELS``, read at call time)."""
    limit = CHUNKED_LABELS_MIN_PIXELS if min_pixels is None else int(min_pixels)
    return int(shape[-2]) * int(shape[-1]) > limit


def _level_shapes(shape: tuple[int, ...], coarsest: int) -> list[tuple[int, ...]]:
    out = [shape]
    f = 1
    while max(-(-shape[-2] // f), -(-shape[-1] // f)) > coarsest:
        f *= 2
        out.append(shape[:-2] + (-(-shape[-2] // f), -(-shape[-1] // f)))
    return out


def _as_region(key: Any, shape: tuple[int, ...]) -> tuple[tuple[slice, ...], tuple[int, ...]] | None:
    """A basic index (ints and step-1 slices) as one slice per axis, plus the axes given as
    ints (dropped from the result's shape); None for any other index (fancy indices)."""
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1:]
    key = key + (slice(None),) * (len(shape) - len(key))
    if len(key) != len(shape):
        raise IndexError(f"index {key} has too many entries for labels of shape {shape}")
    region, dropped = [], []
    for ax, (k, n) in enumerate(zip(key, shape, strict=True)):
        if isinstance(k, (int, np.integer)):
            v = int(k) + (n if int(k) < 0 else 0)
            if not 0 <= v < n:
                raise IndexError(f"index {int(k)} is out of bounds for axis {ax} with size {n}")
            region.append(slice(v, v + 1))
            dropped.append(ax)
        elif isinstance(k, slice):
            start, stop, step = k.indices(n)
            if step != 1:
                return None
            region.append(slice(start, max(stop, start)))
        else:
            return None
    return tuple(region), tuple(dropped)


class ChunkedLabels:
    """Integer labels ``(*lead, H, W)`` in zarr chunks, with display levels and an object index.

    Build one with ``create`` (empty), ``from_array`` (a copy of any label array, read chunk by
    chunk) or ``open`` (a folder written by ``create(path=...)``). Array-like: ``shape``,
    ``dtype``, ``ndim``, ``labels[key]`` (a numpy array) and ``labels[key] = values``.

    Args:
        levels: the zarr arrays, level 0 (the labels) first, then each coarser level (see the
            module docstring); they must hold consistent data (``create``/``open`` do).
        index: the object index (None: built by reading every chunk of level 0 once).
    """

    def __init__(self, levels: Sequence[Any], index: dict[tuple[int, ...], tuple[np.ndarray, ...]] | None = None) -> None:
        if not levels:
            raise ValueError("ChunkedLabels needs at least one level (the labels)")
        self.levels = list(levels)
        base = self.levels[0]
        self.shape = tuple(int(v) for v in base.shape)
        self.dtype = np.dtype(base.dtype)
        if not np.issubdtype(self.dtype, np.integer):
            raise ValueError(f"labels must be integers, got dtype {self.dtype}")
        if len(self.shape) < 2:
            raise ValueError(f"labels must have at least 2 dimensions (H, W), got shape {self.shape}")
        self.chunks = tuple(int(v) for v in base.chunks)
        if any(c != 1 for c in self.chunks[:-2]):
            raise ValueError(f"chunks {self.chunks} must span one slice of the leading axes (size 1 there)")
        self._index: dict[tuple[int, ...], tuple[np.ndarray, ...]] = {}
        self._written: dict[tuple[int, ...], int] = {}  # chunk -> write count when last written
        self._writes = 0
        if index is None:
            for coord in self.chunk_coords():
                self._scan(coord)
        else:
            self._index = dict(index)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def create(cls, shape: Sequence[int], dtype: Any = np.uint32, path: str | Path | None = None,
               chunk: int = CHUNK_SIDE, coarsest: int = COARSEST_SIDE) -> "ChunkedLabels":
        """Empty labels of ``shape`` (``(H, W)`` or ``(Z, H, W)``), in memory or in a new zarr
        folder ``path`` (a group with arrays ``"0"``, ``"1"``, ...; an existing one is replaced).

        Raises:
            ValueError: a non-integer dtype or fewer than 2 dimensions.
        """
        import zarr

        shape = tuple(int(v) for v in shape)
        if len(shape) < 2 or not np.issubdtype(np.dtype(dtype), np.integer):
            raise ValueError(f"labels need an integer dtype and (*lead, H, W) shape, got {np.dtype(dtype)} {shape}")
        store = zarr.storage.MemoryStore() if path is None else zarr.storage.LocalStore(str(path))
        group = zarr.open_group(store=store, mode="w")
        levels = []
        for k, s in enumerate(_level_shapes(shape, int(coarsest))):
            chunks = (1,) * (len(s) - 2) + (min(int(chunk), s[-2]), min(int(chunk), s[-1]))
            levels.append(group.create_array(str(k), shape=s, chunks=chunks, dtype=dtype, fill_value=0))
        return cls(levels, index={})

    @classmethod
    def open(cls, path: str | Path) -> "ChunkedLabels":
        """Labels in a zarr folder written by ``create(path=...)`` (read and written in place;
        the object index is built by reading each stored chunk once).

        Raises:
            FileNotFoundError: no such folder.
            ValueError: the folder does not hold levels "0", "1", ... of integer labels.
        """
        import zarr

        p = Path(path)
        if not p.is_dir():
            raise FileNotFoundError(f"labels folder {p} does not exist")
        group = zarr.open_group(str(p), mode="r+")
        names = sorted((k for k, _ in group.arrays() if k.isdigit()), key=int)
        if not names or names != [str(i) for i in range(len(names))]:
            raise ValueError(f"{p} is not a ChunkedLabels folder (arrays '0', '1', ...); found {sorted(k for k, _ in group.arrays())}")
        levels = [group[n] for n in names]
        expect = _level_shapes(tuple(int(v) for v in levels[0].shape), max(levels[-1].shape[-2:]))
        if [tuple(lv.shape) for lv in levels] != expect:
            raise ValueError(f"{p}: level shapes {[tuple(lv.shape) for lv in levels]} are not a 2x pyramid of level 0")
        return cls(levels)

    @classmethod
    def from_array(cls, source: Any, dtype: Any = None, path: str | Path | None = None) -> "ChunkedLabels":
        """A copy of the label array ``source`` (numpy, zarr, dask, ...; ``(*lead, H, W)``),
        read one chunk at a time (chunks of zeros are skipped)."""
        out = cls.create(source.shape, dtype=dtype or source.dtype, path=path)
        for coord in out.chunk_coords():
            region = out.chunk_region(coord)
            block = np.asarray(source[region])
            if block.any():
                out[region] = block
        return out

    # -- array protocol ----------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.asarray(self.levels[0][key])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The whole array in memory (H x W x itemsize bytes per slice: avoid on huge slides)."""
        out = np.asarray(self.levels[0][...])
        return out if dtype is None else out.astype(dtype, copy=False)

    def __setitem__(self, key: Any, values: Any) -> None:
        basic = _as_region(key, self.shape)
        if basic is None:  # fancy indices: a tuple of int arrays, one per axis
            self.set_points(key, values)
            return
        region, dropped = basic
        shape = tuple(s.stop - s.start for s in region)
        if not all(shape):
            return
        block = np.asarray(values, dtype=self.dtype)
        if dropped:
            block = np.expand_dims(block, dropped) if block.ndim == len(shape) - len(dropped) else block
        self._write(region, np.broadcast_to(block, shape))

    def set_points(self, indices: Sequence[np.ndarray], values: Any) -> None:
        """``labels[indices] = values`` for a tuple of int arrays (numpy fancy indexing, one
        array per axis): in each chunk holding points, the box of its points is read, changed
        and written back (scattered points cost the chunks they fall in, not their bounding box)."""
        idx = tuple(np.asarray(i, dtype=np.intp).ravel() for i in indices)
        if len(idx) != self.ndim:
            raise IndexError(f"{len(idx)} index arrays for labels of {self.ndim} dimensions")
        if not idx[0].size:
            return
        for ax, (i, n) in enumerate(zip(idx, self.shape, strict=True)):
            if i.min() < 0 or i.max() >= n:
                raise IndexError(f"index out of bounds for axis {ax} with size {n}")
        vals = np.asarray(values, dtype=self.dtype)
        vals = np.broadcast_to(vals.ravel() if vals.ndim else vals, idx[0].shape)
        chunk_of = np.stack([i // c for i, c in zip(idx, self.chunks, strict=True)], axis=1)
        _, group = np.unique(chunk_of, axis=0, return_inverse=True)
        for g in np.unique(group):
            sel = group.ravel() == g
            pts = tuple(i[sel] for i in idx)
            region = tuple(slice(int(i.min()), int(i.max()) + 1) for i in pts)
            block = np.array(self.levels[0][region], copy=True)
            block[tuple(i - r.start for i, r in zip(pts, region, strict=True))] = vals[sel]
            self._write(region, block)

    # -- writing -----------------------------------------------------------------------------
    def _write(self, region: tuple[slice, ...], block: np.ndarray) -> None:
        self.levels[0][region] = block
        rs, cs = region[-2], region[-1]
        lead = region[:-2]
        for k, level in enumerate(self.levels[1:], start=1):
            f = 1 << k
            i0, i1 = -(-rs.start // f), -(-rs.stop // f)
            j0, j1 = -(-cs.start // f), -(-cs.stop // f)
            if i0 < i1 and j0 < j1:
                sub = block[..., i0 * f - rs.start :: f, j0 * f - cs.start :: f][..., : i1 - i0, : j1 - j0]
                level[lead + (slice(i0, i1), slice(j0, j1))] = sub
        self._writes += 1
        for coord in self._coords_in(region):
            self._scan(coord)
            self._written[coord] = self._writes

    def changes_since(self, stamp: int = 0) -> tuple[list[tuple[int, ...]], int]:
        """Chunks written after ``stamp`` (sorted) and the stamp to pass next time; ``0`` gives
        every chunk written since this object was made. Several followers (an autosave, ...)
        can each keep their own stamp."""
        return sorted(c for c, n in self._written.items() if n > stamp), self._writes

    # -- chunks ------------------------------------------------------------------------------
    @property
    def chunk_grid(self) -> tuple[int, ...]:
        """Number of chunks along each axis."""
        return tuple(-(-n // c) for n, c in zip(self.shape, self.chunks, strict=True))

    def chunk_coords(self) -> Iterator[tuple[int, ...]]:
        """Every chunk coordinate of level 0, in C order."""
        return iter(np.ndindex(*self.chunk_grid))

    def chunk_region(self, coord: Sequence[int]) -> tuple[slice, ...]:
        """The slices of level 0 covered by chunk ``coord``."""
        return tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(coord, self.chunks, self.shape, strict=True))

    def stored_chunks(self) -> list[tuple[int, ...]]:
        """Coordinates of the chunks holding at least one nonzero label (from the index)."""
        return sorted(self._index)

    def _coords_in(self, region: tuple[slice, ...]) -> Iterator[tuple[int, ...]]:
        return itertools.product(*(range(s.start // c, -(-s.stop // c)) for s, c in zip(region, self.chunks, strict=True)))

    def _scan(self, coord: Sequence[int]) -> None:
        """Rebuild the index entry of one chunk from its stored values (cost: the chunk read
        plus a sort of its nonzero pixels)."""
        coord = tuple(int(v) for v in coord)
        region = self.chunk_region(coord)
        block = np.asarray(self.levels[0][region])
        where = np.nonzero(block)
        if not where[0].size:
            self._index.pop(coord, None)
            return
        values = block[where]
        order = np.argsort(values, kind="stable")
        values = values[order]
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        counts = np.diff(np.r_[starts, values.size])
        lo = np.stack([np.minimum.reduceat(w[order], starts) + s.start for w, s in zip(where, region, strict=True)], axis=1)
        hi = np.stack([np.maximum.reduceat(w[order], starts) + 1 + s.start for w, s in zip(where, region, strict=True)], axis=1)
        self._index[coord] = (values[starts].astype(np.int64), counts.astype(np.int64), lo.astype(np.int64), hi.astype(np.int64))

    # -- the object index --------------------------------------------------------------------
    def _entries(self, lead: Sequence[int] | None = None) -> tuple[np.ndarray, ...]:
        n = self.ndim
        parts = [v for c, v in self._index.items() if lead is None or tuple(c[: n - 2]) == tuple(lead)]
        if not parts:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, n), np.int64), np.zeros((0, n), np.int64))
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(4))

    def max_id(self) -> int:
        """The largest id present (0 for empty labels)."""
        return max((int(v[0].max()) for v in self._index.values()), default=0)

    def ids(self) -> list[int]:
        """The ids present, increasing."""
        ids = self._entries()[0]
        return [int(v) for v in np.unique(ids)]

    def object_stats(self) -> list[Any]:
        """Every object as a ``core.objects.ObjectStats`` (id, area, first/last slice), by id."""
        from .objects import ObjectStats

        ids, counts, lo, hi = self._entries()
        if not ids.size:
            return []
        uniq, inv = np.unique(ids, return_inverse=True)
        area = np.bincount(inv, weights=counts).astype(np.int64)
        out = []
        for k, lid in enumerate(uniq):
            rows = inv == k
            first, last = (int(lo[rows, 0].min()), int(hi[rows, 0].max()) - 1) if self.ndim > 2 else (None, None)
            out.append(ObjectStats(int(lid), int(area[k]), first, last))
        return out

    def bbox(self, label_id: int, lead: Sequence[int] | None = None) -> tuple[slice, ...] | None:
        """Bounding box of object ``label_id`` as slices of level 0 (all axes), or of its part
        on slice ``lead`` (the leading index, e.g. ``(z,)``); None when it is not there."""
        ids, _, lo, hi = self._entries(lead)
        sel = ids == int(label_id)
        if not sel.any():
            return None
        return tuple(slice(int(a), int(b)) for a, b in zip(lo[sel].min(0), hi[sel].max(0), strict=True))

    def object_mask(self, label_id: int, lead: Sequence[int] = ()) -> WindowedMap:
        """Object ``label_id`` on slice ``lead`` as a bool ``core.window.WindowedMap`` of its
        bounding box there (only that box is read; empty when the object is not there)."""
        lead = tuple(int(v) for v in lead)
        shape = self.shape[-2:]
        box = self.bbox(label_id, lead)
        if box is None:
            return WindowedMap.empty(shape, bool)
        rs, cs = box[-2:]
        return WindowedMap(shape, (rs.start, cs.start), self[lead + (rs, cs)] == int(label_id), False)

    def slice_areas(self, label_id: int) -> dict[int, int]:
        """Pixels of object ``label_id`` per index of axis 0 (stacks; {} for 2D labels)."""
        if self.ndim < 3:
            return {}
        out: dict[int, int] = {}
        for coord, (ids, counts, _, _) in self._index.items():
            sel = ids == int(label_id)
            if sel.any():
                out[coord[0]] = out.get(coord[0], 0) + int(counts[sel].sum())
        return out

    def pyramid(self) -> list[Any]:
        """The levels, finest first, for a multiscale viewer layer (level 0 is this object, so
        what the viewer reads at full resolution goes through the same array)."""
        return [self, *self.levels[1:]]

    def __repr__(self) -> str:
        return f"ChunkedLabels(shape={self.shape}, dtype={self.dtype}, levels={len(self.levels)}, stored chunks={len(self._index)})"
