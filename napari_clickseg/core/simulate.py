"""The click simulator: the one used by evaluation, training and tests (RITM convention).

Standard rule (RITM / f-BRS, Sofiiuk et al. 2020, 2022), for one object with ground truth ``gt`` and an optional
``ignore`` mask, given the current binary prediction ``pred``:

1. ``FN = gt & ~pred & valid`` and ``FP = ~gt & pred & valid`` (``valid = ~ignore``).
2. Each is padded with a 1-px zero border, its exact Euclidean distance transform computed
   (``scipy.ndimage.distance_transform_edt``) and the border cropped off, so the image border
   counts as boundary.
3. The distance is set to 0 at every pixel already clicked for this object.
4. If ``max DT_FN > max DT_FP`` the click is **positive** at the arg-max of DT_FN, else it is
   **negative** at the arg-max of DT_FP (ties are negative; the first maximum in raster order
   wins). With an empty prediction the first click therefore lands on the object pixel farthest
   from its boundary.

When no unclicked error pixel is left (both maxima are 0) there is nothing to correct and
``make_next_click`` returns ``None``; the evaluation then carries the last IoU forward.

Variants:

* ``sample_training_click`` — RITM's training-time rule: a uniformly random pixel among those
  whose distance exceeds half the larger maximum, in the chosen error map (seeded ``rng``).
* click jitter (CSFPN): every click (ideal or misleading) is shifted by integer offsets drawn
  uniformly from [-a, a]^2 and clipped to the image; its label is kept (no region check).
* misleading clicks (FDRN): ``misleading`` of the ``max_clicks`` click slots are drawn at random
  per object, each with a 50/50 coin between *repetitive* (the DT maximum of the correctly
  predicted region of the same label as the previous click: no new information) and *false*
  (the standard click with its label flipped). The draws depend only on ``(seed, index)``, so
  every model sees the same misleading slots and kinds for the same object. The first slot is
  never misleading (a repetitive click needs a previous click, and a negative first click gives
  no object to segment); this is our choice, the FDRN paper does not say.

Coordinates are (row, col) everywhere; clicks are ``core.clicks.Click``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import distance_transform_edt

from .clicks import Click

__all__ = [
    "Clicker",
    "ClickerState",
    "padded_edt",
    "standard_click",
    "sample_training_click",
    "jitter_click",
    "misleading_plan",
    "rng_for_object",
]


def padded_edt(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance to the nearest non-mask pixel, the image border counting as one.

    Args:
        mask: HxW bool.

    Returns:
        HxW float64: 0 outside ``mask``, >= 1 inside (1 on pixels touching the boundary or the
        image border).
    """
    m = np.asarray(mask, bool)
    out = np.zeros(m.shape, np.float64)
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if rows.size == 0:
        return out
    # Only the mask's bounding box plus a 1-px ring of zeros is transformed: every zero pixel
    # farther out has a ring pixel at most as far from any box pixel, so the result is exact
    # (and the image border, outside which the ring is the padding, still counts as boundary).
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    box = np.pad(m[r0:r1, c0:c1], 1, mode="constant", constant_values=False)
    out[r0:r1, c0:c1] = distance_transform_edt(box)[1:-1, 1:-1]
    return out


def _first_argmax(dt: np.ndarray) -> tuple[int, int]:
    """(row, col) of the first maximum of ``dt`` in raster order."""
    flat = int(np.argmax(dt))  # np.argmax returns the first occurrence
    r, c = divmod(flat, dt.shape[1])
    return r, c


def _as_bool_2d(arr: np.ndarray, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2D HxW mask, got shape {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape} but the ground truth is {shape}")
    return a.astype(bool, copy=False)


def _error_maps(
    gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None, clicked: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gt, padded EDT of false negatives, of false positives); clicked pixels zeroed."""
    gt = _as_bool_2d(gt, "gt")
    pred = _as_bool_2d(pred, "pred", gt.shape)
    if valid is None:
        valid = np.ones(gt.shape, bool)
    fn = gt & ~pred & valid
    fp = ~gt & pred & valid
    dt_fn = padded_edt(fn)
    dt_fp = padded_edt(fp)
    if clicked is not None:
        dt_fn[clicked] = 0.0
        dt_fp[clicked] = 0.0
    return gt, dt_fn, dt_fp


def standard_click(
    gt: np.ndarray,
    pred: np.ndarray,
    valid: np.ndarray | None = None,
    clicked: np.ndarray | None = None,
) -> Click | None:
    """The evaluation-time next click (RITM rule, see module docstring).

    Args:
        gt: HxW bool ground truth of the object.
        pred: HxW bool current prediction.
        valid: HxW bool, False where the ground truth is ignored (None: all valid).
        clicked: HxW bool, True at pixels clicked already (their distance is zeroed).

    Returns:
        ``Click(row, col, is_positive)``, or None if no unclicked error pixel is left.
    """
    gt, dt_fn, dt_fp = _error_maps(gt, pred, valid, clicked)
    fn_max, fp_max = float(dt_fn.max()), float(dt_fp.max())
    if fn_max == 0.0 and fp_max == 0.0:
        return None
    if fn_max > fp_max:
        return Click(*_first_argmax(dt_fn), True)
    return Click(*_first_argmax(dt_fp), False)


def sample_training_click(
    gt: np.ndarray,
    pred: np.ndarray,
    rng: np.random.Generator,
    valid: np.ndarray | None = None,
    clicked: np.ndarray | None = None,
) -> Click | None:
    """The training-time next click (RITM ``get_next_points``), seeded by ``rng``.

    The error map is chosen as in ``standard_click`` (positive iff max DT_FN > max DT_FP), then
    the click is a uniformly random pixel of that map whose distance exceeds half of
    max(max DT_FN, max DT_FP). Exact EDT with the same 1-px padding is used (RITM uses an
    approximate one).

    Args:
        gt: HxW bool ground truth.
        pred: HxW bool current prediction (e.g. ``prob > 0.49``).
        rng: ``np.random.Generator`` (the caller owns the seed).
        valid: HxW bool, False where ignored (None: all valid).
        clicked: HxW bool of pixels already clicked (excluded), or None.

    Returns:
        A ``Click``, or None when there is no unclicked error pixel.
    """
    gt, dt_fn, dt_fp = _error_maps(gt, pred, valid, clicked)
    fn_max, fp_max = float(dt_fn.max()), float(dt_fp.max())
    if fn_max == 0.0 and fp_max == 0.0:
        return None
    positive = fn_max > fp_max
    dt = dt_fn if positive else dt_fp
    candidates = np.argwhere(dt > max(fn_max, fp_max) / 2.0)
    r, c = candidates[int(rng.integers(len(candidates)))]
    return Click(int(r), int(c), positive)


def jitter_click(
    click: Click, amplitude: int, shape: tuple[int, ...], rng: np.random.Generator
) -> Click:
    """Shift a click by integer offsets uniform in [-a, a]^2, clipped to the image; label kept.

    Args:
        click: the ideal click.
        amplitude: a >= 0 in pixels (0 returns the click unchanged and draws nothing).
        shape: (H, W, ...) of the image.
        rng: seeded generator; two offsets are drawn (row, then col).
    """
    if amplitude <= 0:
        return click
    dr, dc = (int(v) for v in rng.integers(-amplitude, amplitude + 1, size=2))
    row = min(max(click.row + dr, 0), int(shape[0]) - 1)
    col = min(max(click.col + dc, 0), int(shape[1]) - 1)
    return Click(row, col, click.is_positive)


def rng_for_object(seed: int, index: int, stream: int = 0) -> np.random.Generator:
    """A generator that depends only on (seed, object index, stream) - never on the model.

    Stream 0 draws the misleading plan, stream 1 the jitter offsets.
    """
    return np.random.default_rng([int(seed), int(index), int(stream)])


def misleading_plan(misleading: int, max_clicks: int, seed: int, index: int) -> dict[int, str]:
    """Which click slots of one object are misleading, and how.

    Args:
        misleading: K, the number of misleading clicks (0 <= K <= max_clicks - 1).
        max_clicks: number of click slots (slots are numbered 1..max_clicks).
        seed, index: the evaluation seed and the object's index; nothing else is used.

    Returns:
        {slot: "repetitive" | "false"} for the K chosen slots (slot 1 is never chosen).
    """
    if misleading <= 0:
        return {}
    if misleading > max_clicks - 1:
        raise ValueError(
            f"misleading={misleading} clicks do not fit in max_clicks={max_clicks} "
            f"(the first click is never misleading); use at most {max_clicks - 1}"
        )
    rng = rng_for_object(seed, index, 0)
    slots = rng.choice(np.arange(2, max_clicks + 1), size=misleading, replace=False)
    coins = rng.random(misleading) < 0.5
    return {int(s): ("repetitive" if coin else "false") for s, coin in zip(sorted(slots), coins)}


@dataclass(frozen=True)
class ClickerState:
    """Snapshot of a ``Clicker`` (for undo, or to replay an object)."""

    clicks: tuple[Click, ...]
    clicked: np.ndarray
    rng_state: dict[str, Any] | None


class Clicker:
    """Simulates a user correcting one object, one click at a time (RITM ``Clicker``).

    Args:
        gt: HxW ground truth of the object (nonzero = object).
        ignore: HxW bool, True where the ground truth is unknown (excluded from errors), or None.
        jitter: click jitter amplitude a in pixels (0 = off).
        misleading: number K of misleading clicks among ``max_clicks`` (0 = off).
        max_clicks: number of click slots the misleading plan is drawn over.
        seed: evaluation seed; with ``index`` it fixes the misleading plan and jitter offsets.
        index: the object's index in the evaluation (same for every model).

    Attributes:
        clicks: the clicks made so far, oldest first.
        clicked: HxW bool map of clicked pixels.
        kinds: per click, "standard", "repetitive" or "false".
    """

    def __init__(
        self,
        gt: np.ndarray,
        ignore: np.ndarray | None = None,
        *,
        jitter: int = 0,
        misleading: int = 0,
        max_clicks: int = 20,
        seed: int = 0,
        index: int = 0,
    ) -> None:
        self.gt = _as_bool_2d(gt, "gt")
        if not self.gt.any():
            raise ValueError("gt is empty: the object has no pixels, so there is nothing to click")
        if ignore is None:
            self.valid = np.ones(self.gt.shape, bool)
        else:
            self.valid = ~_as_bool_2d(ignore, "ignore", self.gt.shape)
        if jitter < 0:
            raise ValueError(f"jitter must be >= 0 pixels, got {jitter}")
        self.jitter = int(jitter)
        self.plan = misleading_plan(int(misleading), int(max_clicks), seed, index)
        self._rng = rng_for_object(seed, index, 1) if self.jitter else None
        self.clicks: list[Click] = []
        self.kinds: list[str] = []
        self.clicked = np.zeros(self.gt.shape, bool)

    # -- state -----------------------------------------------------------------------------
    def get_state(self) -> ClickerState:
        rng_state = None if self._rng is None else self._rng.bit_generator.state
        return ClickerState(tuple(self.clicks), self.clicked.copy(), rng_state)

    def set_state(self, state: ClickerState) -> None:
        self.clicks = list(state.clicks)
        self.kinds = self.kinds[: len(self.clicks)]
        self.clicked = state.clicked.copy()
        if self._rng is not None and state.rng_state is not None:
            self._rng.bit_generator.state = state.rng_state

    def reset(self) -> None:
        self.clicks, self.kinds = [], []
        self.clicked[:] = False

    def add_click(self, click: Click, kind: str = "standard") -> None:
        """Record a click (made by the simulator or given from outside)."""
        if not click.inside(self.gt.shape):
            raise ValueError(f"click {click} lies outside the {self.gt.shape} mask")
        self.clicks.append(click)
        self.kinds.append(kind)
        self.clicked[click.row, click.col] = True

    # -- clicks ----------------------------------------------------------------------------
    def make_next_click(self, pred_mask: np.ndarray) -> Click | None:
        """Compute, record and return the next click for the current prediction.

        Args:
            pred_mask: HxW bool prediction after the previous clicks (all False before the first).

        Returns:
            The new ``Click``, or None when there is nothing left to correct (no click recorded).
        """
        pred = _as_bool_2d(pred_mask, "pred_mask", self.gt.shape)
        slot = len(self.clicks) + 1
        kind = self.plan.get(slot, "standard")
        click = None
        if kind == "repetitive":
            click = self._repetitive_click(pred)
            if click is None:
                kind = "false"
        if click is None:
            click = standard_click(self.gt, pred, self.valid, self.clicked)
            if kind == "false":
                if click is None:  # nothing to get wrong: repeat inside the correct region
                    click, kind = self._repetitive_click(pred), "repetitive"
                else:
                    click = Click(click.row, click.col, not click.is_positive)
        if click is None:
            return None
        if self._rng is not None:
            click = jitter_click(click, self.jitter, self.gt.shape, self._rng)
        self.add_click(click, kind)
        return click

    def _repetitive_click(self, pred: np.ndarray) -> Click | None:
        """DT maximum of the correctly predicted region with the previous click's label."""
        if not self.clicks:
            return None
        positive = self.clicks[-1].is_positive
        region = (self.gt & pred if positive else ~self.gt & ~pred) & self.valid
        dt = padded_edt(region)
        dt[self.clicked] = 0.0
        if float(dt.max()) == 0.0:
            return None
        return Click(*_first_argmax(dt), positive)
