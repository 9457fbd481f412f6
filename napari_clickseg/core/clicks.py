"""Clicks and box prompts (undo/redo of a session's prompts: ``core.session``).

Coordinates are (row, col) = (y, x) in image pixels, pixel centres at integer positions,
everywhere in this package. Models that need (x, y) flip in their own adapter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

__all__ = ["Box", "Click", "check_clicks_inside"]


def _as_pixel(value: float, name: str) -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return int(round(f))


@dataclass(frozen=True)
class Click:
    """One user (or simulated) click.

    Attributes:
        row: pixel row (y), rounded to the nearest integer on construction.
        col: pixel column (x), rounded to the nearest integer on construction.
        is_positive: True for "this belongs to the object", False for background.
    """

    row: int
    col: int
    is_positive: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "row", _as_pixel(self.row, "Click.row"))
        object.__setattr__(self, "col", _as_pixel(self.col, "Click.col"))
        object.__setattr__(self, "is_positive", bool(self.is_positive))

    @property
    def coords(self) -> tuple[int, int]:
        """(row, col) of the click."""
        return (self.row, self.col)

    def inside(self, shape: Sequence[int]) -> bool:
        """Whether the click lies inside an image of shape (H, W, ...)."""
        return 0 <= self.row < shape[0] and 0 <= self.col < shape[1]


@dataclass(frozen=True)
class Box:
    """An axis-aligned box prompt (IOG), inclusive pixel bounds in (row, col) order.

    Attributes:
        row0, col0: top-left pixel (inclusive).
        row1, col1: bottom-right pixel (inclusive); row1 >= row0 and col1 >= col0.
    """

    row0: int
    col0: int
    row1: int
    col1: int

    def __post_init__(self) -> None:
        r0, c0 = _as_pixel(self.row0, "Box.row0"), _as_pixel(self.col0, "Box.col0")
        r1, c1 = _as_pixel(self.row1, "Box.row1"), _as_pixel(self.col1, "Box.col1")
        r0, r1 = min(r0, r1), max(r0, r1)
        c0, c1 = min(c0, c1), max(c0, c1)
        for k, v in zip(("row0", "col0", "row1", "col1"), (r0, c0, r1, c1)):
            object.__setattr__(self, k, v)

    @property
    def center(self) -> tuple[int, int]:
        """(row, col) of the box centre (integer division)."""
        return ((self.row0 + self.row1) // 2, (self.col0 + self.col1) // 2)

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) in pixels, bounds inclusive."""
        return (self.row1 - self.row0 + 1, self.col1 - self.col0 + 1)

    def clip(self, shape: Sequence[int]) -> "Box":
        """Return the box clipped to an image of shape (H, W, ...).

        Raises:
            ValueError: if the box does not overlap the image at all.
        """
        h, w = int(shape[0]), int(shape[1])
        if self.row1 < 0 or self.col1 < 0 or self.row0 >= h or self.col0 >= w:
            raise ValueError(
                f"box {self.as_tuple()} (row0, col0, row1, col1) lies outside the image of "
                f"size {h}x{w}; draw the box on the image"
            )
        return Box(max(self.row0, 0), max(self.col0, 0), min(self.row1, h - 1), min(self.col1, w - 1))

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.row0, self.col0, self.row1, self.col1)


def check_clicks_inside(clicks: Sequence[Click], shape: Sequence[int]) -> None:
    """Raise a clear ValueError if any click lies outside an image of shape (H, W, ...)."""
    for i, c in enumerate(clicks):
        if not isinstance(c, Click):
            raise TypeError(f"click {i} is {type(c).__name__}, expected Click(row, col, is_positive)")
        if not c.inside(shape):
            raise ValueError(
                f"click {i} at (row={c.row}, col={c.col}) lies outside the image of size "
                f"{shape[0]}x{shape[1]}; click inside the image"
            )
