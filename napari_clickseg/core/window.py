"""Windows of large slices and the windowed probability map (numpy only).

A slice larger than an encoder's input is segmented in *windows*: a rectangle of the slice read
at an integer downscale (``Window``). Windows lie on a fixed grid per scale (``choose_window``),
so the window used for given prompts depends on the prompts alone (predictions stay a pure
function of their inputs) and encoded windows can be cached by (scale, position).

The probability (or mask) of one object on a huge slice is a ``WindowedMap``: a small array at
an offset, with a constant fill value everywhere else. It converts to a dense HxW array only on
request, and only when the slice is small enough (``DENSE_MAX_PIXELS``), so the memory of a
prediction is bounded by the object, not by the slide.

Coordinates are (row, col) in native slice pixels; rectangles are given as inclusive
``(row0, col0, row1, col1)`` bounds like ``core.zoom.Roi``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = [
    "DENSE_MAX_PIXELS",
    "Window",
    "WindowedMap",
    "as_windowed",
    "choose_window",
    "grid_start",
    "union_bounds",
]

#: slices with at most this many pixels get dense HxW probability maps (64 MiB as float32);
#: larger ones get ``WindowedMap`` results
DENSE_MAX_PIXELS = 4096 * 4096

Bounds = tuple[int, int, int, int]


def union_bounds(*bounds: Bounds | None) -> Bounds | None:
    """Smallest inclusive rectangle holding every given one (None entries are skipped)."""
    real = [b for b in bounds if b is not None]
    if not real:
        return None
    return (min(b[0] for b in real), min(b[1] for b in real), max(b[2] for b in real), max(b[3] for b in real))


@dataclass(frozen=True)
class Window:
    """A rectangle of a slice, read at ``scale`` native pixels per window pixel.

    Attributes:
        row0, col0: top-left native pixel (inside the slice).
        rows, cols: native extent (the window covers rows ``row0 .. row0 + rows - 1``).
        scale: integer downscale (1 = native resolution).
    """

    row0: int
    col0: int
    rows: int
    cols: int
    scale: int = 1

    def __post_init__(self) -> None:
        if self.rows < 1 or self.cols < 1 or self.scale < 1 or self.row0 < 0 or self.col0 < 0:
            raise ValueError(f"invalid window {self}")

    @property
    def bounds(self) -> Bounds:
        """Inclusive native (row0, col0, row1, col1)."""
        return (self.row0, self.col0, self.row0 + self.rows - 1, self.col0 + self.cols - 1)

    @property
    def shape(self) -> tuple[int, int]:
        """(h, w) of the window image: the native extent divided by ``scale``, rounded up."""
        return (-(-self.rows // self.scale), -(-self.cols // self.scale))

    @property
    def key(self) -> tuple[int, int, int, int, int]:
        """Cache key: (scale, row0, col0, rows, cols)."""
        return (self.scale, self.row0, self.col0, self.rows, self.cols)

    def contains(self, bounds: Bounds) -> bool:
        """Whether the inclusive native rectangle ``bounds`` lies inside the window."""
        r0, c0, r1, c1 = self.bounds
        return r0 <= bounds[0] and c0 <= bounds[1] and bounds[2] <= r1 and bounds[3] <= c1

    def covers(self, shape: Sequence[int]) -> bool:
        """Whether the window is the whole slice of shape (H, W)."""
        return self.row0 == 0 and self.col0 == 0 and self.rows >= shape[0] and self.cols >= shape[1]

    def to_window(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) native (row, col) -> window-image (row, col) (pixel centres map to centres)."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        off = np.array([self.row0, self.col0], np.float64)
        return (p - off + 0.5) / self.scale - 0.5

    def to_native(self, points: np.ndarray) -> np.ndarray:
        """Inverse of ``to_window``."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        off = np.array([self.row0, self.col0], np.float64)
        return (p + 0.5) * self.scale - 0.5 + off

    def open_sides(self, shape: Sequence[int]) -> tuple[bool, bool, bool, bool]:
        """(top, left, bottom, right): whether that side lies inside the slice (not on its edge)."""
        r0, c0, r1, c1 = self.bounds
        return (r0 > 0, c0 > 0, r1 < int(shape[0]) - 1, c1 < int(shape[1]) - 1)


def grid_start(lo: int, hi: int, size: int, side: int) -> int | None:
    """Start of the grid interval of length ``side`` that holds [lo, hi] in [0, size).

    The grid has starts ``0, side // 2, 2 * (side // 2), ...`` (the last one shifted to end at
    ``size``); among the intervals holding [lo, hi], the one whose centre is nearest to the
    centre of [lo, hi] is chosen (ties: the smaller start). Any [lo, hi] no longer than
    ``side // 2 + 1`` fits in one of them.

    Returns:
        the start, 0 when ``side >= size``, or None when no grid interval holds [lo, hi].
    """
    if side >= size:
        return 0
    stride = max(side // 2, 1)
    n = -(-(size - side) // stride) + 1
    centre = (lo + hi + 1) / 2.0
    best: tuple[float, int] | None = None
    for k in range(n):
        s = min(k * stride, size - side)
        if s <= lo and hi <= s + side - 1:
            d = abs(s + side / 2.0 - centre)
            if best is None or d < best[0]:
                best = (d, s)
    return None if best is None else best[1]


def choose_window(shape: Sequence[int], bounds: Bounds, side: int, min_scale: int = 1, max_scale: int = 64) -> Window:
    """The grid window of the smallest scale (1, 2, 4, ...) that holds ``bounds``.

    A window at scale ``s`` is ``side * s`` native pixels a side (clipped to the slice) and
    ``side`` pixels a side once read at downscale ``s``; windows of one scale lie on a grid of
    half-overlapping positions (``grid_start``), so equal inputs always give the same window.

    Args:
        shape: (H, W, ...) of the slice.
        bounds: inclusive native (row0, col0, row1, col1) the window must hold (clipped).
        side: window side in window pixels (the encoder's input side).
        min_scale: smallest scale to consider (rounded up to a power of 2).
        max_scale: largest scale; at it the window is the best grid window around
            ``bounds`` even if ``bounds`` does not fit (then it is centred on it).

    Returns:
        the ``Window``; at the first scale where ``side * s`` covers the slice it is the slice.
    """
    h, w = int(shape[0]), int(shape[1])
    r0, c0 = max(int(bounds[0]), 0), max(int(bounds[1]), 0)
    r1, c1 = min(int(bounds[2]), h - 1), min(int(bounds[3]), w - 1)
    scale = 1 << max(int(math.ceil(math.log2(max(min_scale, 1)))), 0)
    while True:
        n = side * scale
        a, b = grid_start(r0, r1, h, n), grid_start(c0, c1, w, n)
        last = scale >= max_scale or (n >= h and n >= w)
        if a is not None and b is not None:
            return Window(a, b, min(n, h), min(n, w), scale)
        if last:  # does not fit: centre a window of this scale on the bounds
            a = 0 if n >= h else min(max((r0 + r1 + 1) // 2 - n // 2, 0), h - n)
            b = 0 if n >= w else min(max((c0 + c1 + 1) // 2 - n // 2, 0), w - n)
            return Window(a, b, min(n, h), min(n, w), scale)
        scale *= 2


class WindowedMap:
    """A 2D map of a slice that equals ``fill`` everywhere outside one rectangle.

    Used for probabilities (float32 in [0, 1]) and masks (bool) of objects on slices too large
    for a dense HxW array. Immutable by convention: methods return new maps.

    Args:
        shape: (H, W) of the slice.
        offset: (row0, col0) of ``data`` in the slice.
        data: (h, w) array placed at ``offset``; must lie inside the slice.
        fill: the value everywhere else (0 for probabilities, False for masks).
    """

    __slots__ = ("shape", "offset", "data", "fill")

    def __init__(self, shape: Sequence[int], offset: Sequence[int], data: np.ndarray, fill: Any = 0) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.offset = (int(offset[0]), int(offset[1]))
        self.data = np.asarray(data)
        if self.data.ndim != 2:
            raise ValueError(f"WindowedMap data must be 2D (h, w), got shape {self.data.shape}")
        r, c = self.offset
        if r < 0 or c < 0 or r + self.data.shape[0] > self.shape[0] or c + self.data.shape[1] > self.shape[1]:
            raise ValueError(f"data of shape {self.data.shape} at offset {self.offset} leaves the slice {self.shape}")
        self.fill = self.data.dtype.type(fill)

    # -- construction --------------------------------------------------------------------
    @classmethod
    def empty(cls, shape: Sequence[int], dtype: Any = np.float32) -> "WindowedMap":
        """A map that is 0 (False) everywhere."""
        return cls(shape, (0, 0), np.zeros((0, 0), dtype))

    @classmethod
    def from_dense(cls, array: np.ndarray, keep_above: float = 0.0) -> "WindowedMap":
        """Wrap a dense HxW array, trimmed to the bounding box of its values above ``keep_above``
        (values at or below it outside that box become 0)."""
        arr = np.asarray(array)
        if arr.ndim != 2:
            raise ValueError(f"expected an HxW array, got shape {arr.shape}")
        return cls(arr.shape, (0, 0), arr).trimmed(keep_above)

    # -- reading -------------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return 2

    @property
    def bounds(self) -> Bounds | None:
        """Inclusive (row0, col0, row1, col1) of ``data`` in the slice; None when it is empty."""
        h, w = self.data.shape
        if h == 0 or w == 0:
            return None
        return (self.offset[0], self.offset[1], self.offset[0] + h - 1, self.offset[1] + w - 1)

    def bbox(self, above: float | None = None) -> Bounds | None:
        """Inclusive slice bounds of the nonzero values (or those ``> above``); None if none."""
        m = self.data != 0 if above is None else self.data > above
        rr = np.flatnonzero(m.any(axis=1))
        if rr.size == 0:
            return None
        cc = np.flatnonzero(m.any(axis=0))
        r, c = self.offset
        return (r + int(rr[0]), c + int(cc[0]), r + int(rr[-1]), c + int(cc[-1]))

    def read(self, bounds: Bounds) -> np.ndarray:
        """The dense values of the inclusive rectangle ``bounds`` (inside the slice)."""
        r0, c0, r1, c1 = (int(v) for v in bounds)
        if r0 < 0 or c0 < 0 or r1 >= self.shape[0] or c1 >= self.shape[1] or r1 < r0 or c1 < c0:
            raise ValueError(f"rectangle {bounds} is not inside the slice {self.shape}")
        out = np.full((r1 - r0 + 1, c1 - c0 + 1), self.fill, self.data.dtype)
        own = self.bounds
        if own is not None:
            a0, b0 = max(r0, own[0]), max(c0, own[1])
            a1, b1 = min(r1, own[2]), min(c1, own[3])
            if a0 <= a1 and b0 <= b1:
                out[a0 - r0 : a1 - r0 + 1, b0 - c0 : b1 - c0 + 1] = self.data[
                    a0 - own[0] : a1 - own[0] + 1, b0 - own[1] : b1 - own[1] + 1
                ]
        return out

    def to_dense(self, max_pixels: int | None = DENSE_MAX_PIXELS) -> np.ndarray:
        """The whole HxW map as one array.

        Raises:
            MemoryError: when the slice has more than ``max_pixels`` pixels (pass None to
                force it); use ``data``/``offset`` or ``read`` instead.
        """
        h, w = self.shape
        if max_pixels is not None and h * w > max_pixels:
            raise MemoryError(
                f"a {h}x{w} slice is too large for a dense map ({h * w} > {max_pixels} pixels); "
                f"read the object's rectangle instead (WindowedMap.data at .offset, or .read(bounds))"
            )
        return self.read((0, 0, h - 1, w - 1))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.to_dense()
        return out if dtype is None else out.astype(dtype, copy=False)

    def any(self) -> bool:
        return bool(self.fill) or bool(np.any(self.data))

    def count_nonzero(self) -> int:
        """Number of nonzero pixels of the whole slice."""
        inside = int(np.count_nonzero(self.data))
        return inside + (self.shape[0] * self.shape[1] - self.data.size if self.fill else 0)

    def sum(self) -> float:
        return float(self.data.sum(dtype=np.float64)) + float(self.fill) * (self.shape[0] * self.shape[1] - self.data.size)

    def __gt__(self, threshold: float) -> "WindowedMap":
        return WindowedMap(self.shape, self.offset, self.data > threshold, self.fill > threshold)

    def __repr__(self) -> str:
        return f"WindowedMap(shape={self.shape}, offset={self.offset}, data={self.data.shape} {self.data.dtype}, fill={self.fill!r})"

    # -- derived maps --------------------------------------------------------------------
    def trimmed(self, keep_above: float = 0.0, margin: int = 0) -> "WindowedMap":
        """The same map cut to the bounding box of values ``> keep_above`` (grown by ``margin``,
        inside the slice); values outside that box become ``fill``. Requires a 0/False fill."""
        if self.fill:
            raise ValueError("only maps with a 0/False fill can be trimmed")
        box = self.bbox(above=keep_above) if keep_above else self.bbox()
        if box is None:
            return WindowedMap.empty(self.shape, self.data.dtype)
        h, w = self.shape
        box = (max(box[0] - margin, 0), max(box[1] - margin, 0), min(box[2] + margin, h - 1), min(box[3] + margin, w - 1))
        return WindowedMap(self.shape, box[:2], self.read(box), self.fill)

    def with_rectangle(self, offset: Sequence[int], values: np.ndarray) -> "WindowedMap":
        """A new map equal to this one except in the rectangle of ``values`` at ``offset``."""
        vals = np.asarray(values, dtype=self.data.dtype)
        rect = (int(offset[0]), int(offset[1]), int(offset[0]) + vals.shape[0] - 1, int(offset[1]) + vals.shape[1] - 1)
        box = union_bounds(self.bounds, rect)
        assert box is not None
        out = self.read(box)
        out[rect[0] - box[0] : rect[2] - box[0] + 1, rect[1] - box[1] : rect[3] - box[1] + 1] = vals
        return WindowedMap(self.shape, box[:2], out, self.fill)


def as_windowed(prob: np.ndarray | WindowedMap | None, shape: Sequence[int] | None = None) -> WindowedMap | None:
    """A ``WindowedMap`` view of a dense HxW map (trimmed to its nonzero box) or of itself.

    ``None`` stays None. ``shape``, when given, is checked against the map's slice shape.
    """
    if prob is None:
        return None
    out = prob if isinstance(prob, WindowedMap) else WindowedMap.from_dense(prob)
    if shape is not None and out.shape != (int(shape[0]), int(shape[1])):
        raise ValueError(f"map of shape {out.shape} does not match the slice {tuple(shape[:2])}")
    return out
