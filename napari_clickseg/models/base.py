"""``BasePredictor``: argument checking and feature bookkeeping shared by every model.

The protocol itself, its contracts and error types are in ``core.predictor``.
"""

from __future__ import annotations

import abc
from typing import Any, Sequence

import numpy as np

from ..core.clicks import Box, Click, check_clicks_inside
from ..core.image import validate_prob, validate_slice
from ..core.predictor import NoImageError

__all__ = ["BasePredictor"]


class BasePredictor(abc.ABC):
    """Argument checking and bookkeeping shared by all predictors (``core.predictor.Predictor``).

    Subclasses implement ``_encode(image) -> features`` and
    ``_predict(features, clicks, prev_prob, box) -> prob``; this class validates inputs, caches
    the features, and counts encoder runs (``encode_count``, used by tests to prove that
    ``predict`` never re-encodes).

    Contracts:
        image: HxW or HxWxC (channels last, C <= 4), any real dtype, finite, not constant.
        clicks: sequence of ``Click(row, col, is_positive)``, oldest first, inside the image.
        prev_prob: HxW float in [0, 1] or None (no previous prediction).
        box: ``Box`` (inclusive (row0, col0, row1, col1)) or None.
        returns: HxW float32 probability in [0, 1]; ``prob > 0.49`` is the mask.
    """

    #: registry name; set by the registry when the model is built
    name: str = "unnamed"
    #: whether this model can use a box prompt without any click
    supports_box: bool = True

    def __init__(self) -> None:
        self._features: Any = None
        self._shape: tuple[int, ...] | None = None
        self.encode_count = 0

    # -- image ---------------------------------------------------------------------------
    def set_image(self, image: np.ndarray) -> None:
        """Encode one slice (expensive; once per slice). Replaces any previous image."""
        arr = validate_slice(image)
        self._features = self._encode(arr)
        self._shape = tuple(arr.shape[:2])
        self.encode_count += 1

    def reset_image(self) -> None:
        """Forget the current slice and its features."""
        self._features = None
        self._shape = None

    @property
    def is_image_set(self) -> bool:
        return self._features is not None

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the current slice."""
        self._require_image()
        assert self._shape is not None
        return (int(self._shape[0]), int(self._shape[1]))

    def get_features(self) -> Any:
        """Return the cached features of the current slice (opaque; pass to ``set_features``)."""
        self._require_image()
        return {"shape": self._shape, "features": self._features, "model": self.name}

    def set_features(self, features: Any) -> None:
        """Restore features from ``get_features`` (no encoder run)."""
        if not isinstance(features, dict) or "features" not in features or "shape" not in features:
            raise TypeError("set_features expects the object returned by get_features()")
        if features.get("model") not in (None, self.name):
            raise ValueError(
                f"features were computed by model {features.get('model')!r}, not {self.name!r}"
            )
        self._features = features["features"]
        self._shape = tuple(features["shape"])

    # -- prediction ----------------------------------------------------------------------
    def predict(
        self,
        clicks: Sequence[Click],
        prev_prob: np.ndarray | None = None,
        box: Box | None = None,
        *,
        from_mask: bool = False,
    ) -> np.ndarray:
        """Predict the object's probability map from clicks (cheap; once per click).

        ``from_mask`` (an edit of an existing mask, ``core.predictor``) is ignored here; models
        with an edit head (``LearnedPredictor``) choose their head by it before calling this."""
        self._require_image()
        assert self._shape is not None
        clicks = tuple(clicks)
        check_clicks_inside(clicks, self._shape)
        prev = validate_prob(prev_prob, self._shape)
        if box is not None:
            if not isinstance(box, Box):
                raise TypeError(f"box must be a Box, got {type(box).__name__}")
            box = box.clip(self._shape)
        if not clicks and box is None:
            return np.zeros(self._shape[:2], np.float32) if prev is None else prev.copy()
        prob = self._predict(self._features, clicks, prev, box)
        prob = np.asarray(prob, dtype=np.float32)
        if prob.shape != tuple(self._shape[:2]):
            raise RuntimeError(f"{self.name} returned shape {prob.shape}, expected {self._shape[:2]}")
        return np.clip(np.nan_to_num(prob, nan=0.0), 0.0, 1.0)

    def _require_image(self) -> None:
        if self._features is None:
            raise NoImageError(f"{self.name}: call set_image(image) before predict()")

    # -- to implement --------------------------------------------------------------------
    @abc.abstractmethod
    def _encode(self, image: np.ndarray) -> Any:
        """Expensive per-slice work. ``image`` is validated (HxW or HxWxC, raw dtype)."""

    @abc.abstractmethod
    def _predict(
        self,
        features: Any,
        clicks: tuple[Click, ...],
        prev_prob: np.ndarray | None,
        box: Box | None,
    ) -> np.ndarray:
        """Cheap per-click work; returns HxW probabilities in [0, 1]."""
