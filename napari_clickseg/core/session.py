"""InteractiveSession: one object being segmented on one 2D slice.

The session sits between a front end (widget, CLI, script) and a Predictor. It holds the slice,
the clicks (with undo/redo), the optional box prompt and the previous probability map, and calls
``predictor.set_image`` once per slice and ``predictor.predict`` once per click. It never imports
Qt or napari and never prints: front ends read ``mask``/``prob`` and write results themselves.

Contract: undo and redo restore earlier states exactly (no re-prediction), so undo is instant
and never changes a result the user has already seen.

An object can also start from an existing mask (``start_from_mask``: editing an object that is
already committed, or one from another tool): that mask is the object's state before any click,
the previous probability the first click is predicted from (a *mask prompt*, MFP's input). What a
model makes of it is the model's business (``models.base``: every model takes ``prev_prob``); a
model with a head trained for edits (``predictor.edit_head``) is told so (``from_mask``) for
every prediction of that object while no box replaces the mask.

Large and lazy slices: ``set_image`` accepts arrays that are not in memory (dask, zarr, a
multiscale list whose finest level is used; ``core.lazy_image``). A lazy slice of at most
``core.window.DENSE_MAX_PIXELS`` pixels is read into memory; a larger one (lazy or numpy) is
handed to the predictor as it is, which must then accept it (``predictor.accepts_lazy``, the
learned models: they read only windows of it). On such a slice ``prob`` and ``mask`` are
``core.window.WindowedMap`` objects (the object's rectangle at an offset) instead of dense HxW
arrays, so no full-slide array is ever made; ``core.window.as_windowed`` gives front ends one
type for both. Features of slices the predictor segments in windows stay in its window cache
and are not put into ``feature_store`` (a store hit, e.g. precomputed whole-slice features,
is still used).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Hashable, Sequence

import numpy as np

from .clicks import Box, Click
from .image import validate_slice
from .lazy_image import check_lazy_slice, finest_level, is_large
from .mask_anchor import anchor_for, first_anchor
from .predictor import MASK_THRESHOLD, FeatureStore, Predictor, use_slice
from .simulate import padded_edt
from .window import WindowedMap

__all__ = ["InteractiveSession", "SessionState", "SessionHistory", "SliceHistories", "DEFAULT_THRESHOLD"]

#: RITM convention: ``prob > 0.49`` is the mask.
DEFAULT_THRESHOLD = MASK_THRESHOLD


@dataclass(frozen=True)
class SessionState:
    """One step of the interaction: the prompts so far and the prediction they gave.

    Attributes:
        clicks: clicks, oldest first, (row, col) in slice pixels.
        box: box prompt or None.
        prob: HxW float32 in [0, 1] (a ``WindowedMap`` on large slices), or None before the
            first prediction.
    """

    clicks: tuple[Click, ...] = ()
    box: Box | None = None
    prob: np.ndarray | None = None


@dataclass(frozen=True)
class SessionHistory:
    """The undo/redo history of one session on one slice (see ``InteractiveSession.history``).

    Attributes:
        image_key: the feature key of the slice it belongs to.
        shape: (H, W) of that slice.
        states: undo stack, oldest first (the last is the current state).
        redo: redo stack, the next redo last.
        seed: the mask prompt the object started from (``start_from_mask``), or None.
        anchor: the mask prompt's anchor click and its reach (``start_from_mask``), or None.
    """

    image_key: Hashable | None
    shape: tuple[int, int] | None
    states: tuple[SessionState, ...]
    redo: tuple[SessionState, ...]
    seed: np.ndarray | None = None
    anchor: tuple[Click, float] | None = None


class InteractiveSession:
    """Segment one object at a time on one slice from clicks and an optional box.

    Args:
        predictor: any object following the Predictor protocol (``core.predictor``).
        image: optional first slice (HxW or HxWxC).
        threshold: probability above which a pixel is in the mask (default 0.49).
        feature_store: optional cache of encoder features, used with ``set_image(..., key=...)``
            so returning to a slice costs a lookup, not an encoder pass.
    """

    def __init__(
        self,
        predictor: Predictor,
        image: np.ndarray | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        feature_store: FeatureStore | None = None,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
        self.predictor = predictor
        self.threshold = float(threshold)
        self.feature_store = feature_store
        self._image_key: Hashable | None = None
        self._shape: tuple[int, int] | None = None
        self._states: list[SessionState] = [SessionState()]
        self._redo: list[SessionState] = []
        self._seed: np.ndarray | None = None
        self._anchor: tuple[Click, float] | None = None
        self._depth: tuple[Any, np.ndarray, tuple[int, int]] | None = None  # (mask prompt, depth, offset)
        #: whether ``start_from_mask`` adds an anchor click (see there)
        self.anchor_masks = True
        #: whether ``start_from_mask`` gives a bool mask to the model as its soft map (see there)
        self.soft_masks = False

        #: increases on every change; front ends drop results computed for an older version
        self.version = 0
        if image is not None:
            self.set_image(image)

    # -- slice ---------------------------------------------------------------------------
    def set_image(self, image: np.ndarray, key: Hashable | None = None) -> None:
        """Make ``image`` the current slice and start a new object.

        Encodes the slice (once), unless ``key`` equals the current slice's key, or the
        feature store already holds features for ``key``.

        Args:
            image: HxW or HxWxC numpy array, or a lazy one (dask, zarr, multiscale list; see
                the module docstring).
            key: feature-cache key of the slice (``core.feature_cache.feature_key``, or
                ``core.lazy_image.lazy_key`` for lazy slices), or None.

        Raises:
            ValueError: for unusable slices, or a large lazy slice with a predictor that
                needs the whole slice in memory.
        """
        arr = self._checked(image)
        if key is None or key != self._image_key or not self.predictor.is_image_set:
            use_slice(self.predictor, arr, key, self.feature_store)
        self._image_key = key
        self._shape = (int(arr.shape[0]), int(arr.shape[1]))
        self.reset()

    def _checked(self, image: Any) -> Any:
        """The slice to hand to the predictor: numpy (validated), or a large lazy array."""
        if isinstance(image, np.ndarray):
            return validate_slice(image)
        img = finest_level(image)
        shape = tuple(getattr(img, "shape", ()))
        if len(shape) < 2 or not is_large(shape):  # small (or not an array): read and checked whole
            return validate_slice(np.asarray(img) if shape else img)
        if not getattr(self.predictor, "accepts_lazy", False):
            name = getattr(self.predictor, "name", type(self.predictor).__name__)
            raise ValueError(
                f"model {name!r} needs the whole {shape[0]}x{shape[1]} slice in memory; use a learned "
                f"model (e.g. fdrn), which reads only windows of it, or pass a smaller region"
            )
        return check_lazy_slice(image)

    @property
    def has_image(self) -> bool:
        return self._shape is not None

    @property
    def image_key(self) -> Hashable | None:
        return self._image_key

    # -- state ---------------------------------------------------------------------------
    @property
    def state(self) -> SessionState:
        return self._states[-1]

    @property
    def clicks(self) -> tuple[Click, ...]:
        return self.state.clicks

    @property
    def box(self) -> Box | None:
        return self.state.box

    @property
    def prob(self) -> np.ndarray | WindowedMap:
        """HxW float32 probability of the current object (zeros before any prompt); on large
        slices a ``WindowedMap`` (see the module docstring)."""
        self._require_image()
        p = self.state.prob
        if p is None:
            assert self._shape is not None
            return WindowedMap.empty(self._shape) if is_large(self._shape) else np.zeros(self._shape, np.float32)
        return p

    @property
    def mask(self) -> np.ndarray | WindowedMap:
        """HxW bool mask of the current object (``prob > threshold``); a bool ``WindowedMap``
        on large slices."""
        return self.prob > self.threshold

    @property
    def seed(self) -> np.ndarray | None:
        """HxW float32 mask prompt the current object started from (``start_from_mask``), or None."""
        return self._seed

    @property
    def can_undo(self) -> bool:
        return len(self._states) > 1

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # -- prompts -------------------------------------------------------------------------
    def add_click(self, row: float, col: float, is_positive: bool = True) -> np.ndarray:
        """Add one click at (row, col) and return the new HxW bool mask."""
        return self.add(Click(row, col, is_positive))

    def add(self, click: Click) -> np.ndarray:
        """Add a ``Click`` and return the new mask."""
        self._require_image()
        s = self.state
        clicks = s.clicks + (click,)
        prob = self._predict(clicks, s.prob, s.box)
        self._push(SessionState(clicks, s.box, prob))
        return self.mask

    def set_box(self, box: Box | Sequence[int] | None) -> np.ndarray:
        """Prompt with a box (row0, col0, row1, col1), keeping existing clicks; returns the mask.

        ``None`` removes the box (the prediction is recomputed from the clicks alone).
        """
        self._require_image()
        if box is not None and not isinstance(box, Box):
            box = Box(*box)
        if box is not None:
            box = box.clip(self._shape)
        s = self.state
        prob = self._predict(s.clicks, None, box) if (s.clicks or box) else self._seed
        self._push(SessionState(s.clicks, box, prob))
        return self.mask

    def set_clicks(self, clicks: Sequence[Click]) -> np.ndarray:
        """Replace the click list (e.g. after the user moved or deleted a point).

        Rolls back to the longest unchanged prefix and re-predicts only the changed tail,
        one click at a time, so the previous-probability chain stays as it would have been.
        The whole change is one undo step.
        """
        self._require_image()
        clicks = tuple(clicks)
        if clicks == self.clicks:
            return self.mask
        base = self._prefix_state(clicks)
        prob, done = base.prob, base.clicks
        for c in clicks[len(done):]:
            done = done + (c,)
            prob = self._predict(done, prob, base.box)
        if not clicks and base.box is None:
            prob = self._seed  # no prompt left: back to the mask the object started from (or none)
        self._push(SessionState(clicks, base.box, prob))
        return self.mask

    def _predict(self, clicks: tuple[Click, ...], prev_prob: Any, box: Box | None) -> Any:
        """The predictor's map for ``clicks`` (the anchor added, ``_model_clicks``); an object
        that started from a mask and has no box is predicted as an edit (``from_mask``) by
        models with an edit head (``predictor.edit_head``, ``core.predictor``)."""
        edit = self._seed is not None and box is None and bool(getattr(self.predictor, "edit_head", False))
        kwargs = {"from_mask": True} if edit else {}
        return self.predictor.predict(self._model_clicks(clicks), prev_prob=prev_prob, box=box, **kwargs)

    def _model_clicks(self, clicks: tuple[Click, ...]) -> tuple[Click, ...]:
        """The clicks the predictor gets: the mask prompt's anchor (if any, see
        ``start_from_mask`` and ``core.mask_anchor``) first, then ``clicks``."""
        if self._anchor is None:
            return tuple(clicks)
        a, reach = self._anchor
        if not any(not c.is_positive and (c.row - a.row) ** 2 + (c.col - a.col) ** 2 < (reach / 2) ** 2 for c in clicks):
            return (a,) + tuple(clicks)
        moved = anchor_for(*self._seed_depth(), clicks)  # the part around the first anchor is wrong
        return ((moved,) if moved is not None else ()) + tuple(clicks)

    def _seed_depth(self) -> tuple[np.ndarray, tuple[int, int]]:
        """Distance of each pixel of the mask prompt to its boundary, and the (row, col) offset
        of that array in the slice (a large slice's prompt is its rectangle only); cached per
        mask prompt."""
        if self._depth is None or self._depth[0] is not self._seed:
            seed = self._seed
            data, offset = (seed.data, seed.offset) if isinstance(seed, WindowedMap) else (np.asarray(seed), (0, 0))
            self._depth = (seed, padded_edt(data > self.threshold), offset)
        return self._depth[1], self._depth[2]

    def _prefix_state(self, clicks: tuple[Click, ...]) -> SessionState:
        box = self.state.box
        best = SessionState(box=box, prob=self._seed if box is None else None)
        for st in self._states:
            n = len(st.clicks)
            if st.box == box and n <= len(clicks) and st.clicks == clicks[:n] and n >= len(best.clicks):
                best = st
        if not best.clicks and box is not None:
            best = SessionState((), box, self._predict((), None, box))
        return best

    # -- history -------------------------------------------------------------------------
    def undo(self) -> np.ndarray:
        """Go back one step (click, box or click edit); returns the mask. No-op at the start."""
        self._require_image()
        if self.can_undo:
            self._redo.append(self._states.pop())
            self.version += 1
        return self.mask

    def redo(self) -> np.ndarray:
        """Re-apply the last undone step; returns the mask. No-op if nothing was undone."""
        self._require_image()
        if self._redo:
            self._states.append(self._redo.pop())
            self.version += 1
        return self.mask

    def history(self) -> SessionHistory:
        """A snapshot of the undo/redo history (cheap: the states are immutable, not copied)."""
        self._require_image()
        return SessionHistory(self._image_key, self._shape, tuple(self._states), tuple(self._redo), self._seed, self._anchor)

    def restore_history(self, history: SessionHistory) -> bool:
        """Bring back a ``history()`` snapshot taken on the slice now set (same key and size).

        Returns:
            True if restored; False (nothing changed) when the snapshot belongs to another
            slice, another image or no key at all.
        """
        self._require_image()
        if history.image_key is None or history.image_key != self._image_key or history.shape != self._shape:
            return False
        self._states = list(history.states)
        self._redo = list(history.redo)
        self._seed, self._anchor = history.seed, history.anchor
        self.version += 1
        return True

    def reset(self) -> None:
        """Forget the current object's prompts and mask prompt (the slice stays encoded)."""
        self._states = [SessionState()]
        self._redo = []
        self._seed, self._anchor = None, None
        self.version += 1

    def start_from_mask(self, mask: np.ndarray) -> np.ndarray:
        """Start a new object from an existing mask (a mask prompt); returns the current mask.

        The mask becomes the object's state before any click and the previous probability of
        its first click, so the next clicks correct it instead of starting from nothing; undo
        goes back to it, not beyond. A box prompt replaces it (a box predicts from no previous
        map). ``reset`` forgets it.

        The model is also told *which* object the mask is: with ``anchor_masks`` (default),
        every prediction gets one extra positive click, first, at the mask's pixel farthest from
        its boundary (``core.simulate.padded_edt``; the click a user would make first), which
        ``clicks`` does not list. A negative click within half that distance of it says the
        part around it is what is wrong: the anchor then moves to the innermost pixel of the
        rest of the mask, or is left out when no substantial part is left
        (``core.mask_anchor``).

        A bool (or integer) mask is given to the model as a 0/1 map; with ``soft_masks`` (off
        by default) in the model's own terms where it says how (``predictor.mask_prompt(mask,
        threshold)``; the learned models: a soft map, about 0.5 at the boundary, 0.9 inside,
        falling off outside, ``core.mask_prompt``; measured against the 0/1 map in
        ``docs/editing.md``: neither is better everywhere). Either way ``prob > threshold`` is
        exactly ``mask`` before any click. A float map is used as given.

        Args:
            mask: HxW bool (or a probability map, float in [0, 1]) of the slice set now; on a
                large slice also a ``WindowedMap`` (the object's rectangle at an offset), kept
                as one (no dense HxW map is made).

        Raises:
            ValueError: wrong shape, or a float map outside [0, 1].
            RuntimeError: no slice set.
        """
        self._require_image()
        windowed = isinstance(mask, WindowedMap)
        arr = mask.data if windowed else np.asarray(mask)
        if tuple(mask.shape if windowed else arr.shape) != self._shape:
            raise ValueError(f"mask has shape {tuple(mask.shape if windowed else arr.shape)}, but the slice is {self._shape}")
        if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
            make = getattr(self.predictor, "mask_prompt", None) if self.soft_masks else None
            prob = make(arr > 0, self.threshold) if callable(make) else (arr > 0).astype(np.float32)
        else:
            prob = np.array(arr, np.float32)  # the session's own: the caller may change ``mask`` afterwards
            if prob.size and (not np.isfinite(prob).all() or prob.min() < 0.0 or prob.max() > 1.0):
                raise ValueError("a float mask prompt must be a probability map with values in [0, 1]")
        offset = mask.offset if windowed else (0, 0)
        self.reset()
        if windowed or is_large(self._shape):  # a large slice: the object's rectangle only
            prob = WindowedMap(self._shape, offset, prob, 0.0).trimmed() if windowed else WindowedMap.from_dense(prob)
        self._seed = prob
        if self.anchor_masks:
            self._anchor = first_anchor(*self._seed_depth())
        self._states = [SessionState(prob=prob)]
        return self.mask

    def _push(self, state: SessionState) -> None:
        self._states.append(state)
        self._redo.clear()
        self.version += 1

    def _require_image(self) -> None:
        if self._shape is None:
            raise RuntimeError("no slice set: call session.set_image(image) first")


class SliceHistories:
    """The undo/redo histories of slices left with an unfinished object, for coming back.

    Keeps the newest ``max_slices`` (least recently left dropped first). A history comes back
    only onto the slice it was taken on (same feature key and size; ``restore_history``).
    """

    def __init__(self, max_slices: int = 16) -> None:
        self.max_slices = int(max_slices)
        self._kept: OrderedDict[Hashable, SessionHistory] = OrderedDict()

    def leave(self, index: Hashable, session: InteractiveSession) -> None:
        """``session`` leaves slice ``index``: keep its history if it holds an unfinished object."""
        if session.has_image and (session.can_undo or session.seed is not None):
            self._kept[index] = session.history()
            self._kept.move_to_end(index)
            while len(self._kept) > self.max_slices:
                self._kept.popitem(last=False)

    def come_back(self, index: Hashable, session: InteractiveSession) -> bool:
        """``session`` now holds slice ``index``: bring its kept history back (True if restored)."""
        kept = self._kept.pop(index, None)
        return kept is not None and session.restore_history(kept)

    def clear(self) -> None:
        self._kept.clear()
