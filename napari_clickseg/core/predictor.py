"""The Predictor protocol every model follows, its error types, and how model variants are named.

The FDRN split: ``set_image`` is the expensive part (image encoder), run once per slice;
``predict`` is the cheap part, run once per click, and never re-runs the encoder. ``predict``
is a pure function of (features, clicks, prev_prob, box): the same inputs give the same output,
which is what lets a session undo/redo without surprises and a widget predict in a worker
thread (one predictor per thread, calls serialised).

Contracts:
    image: HxW or HxWxC (channels last, C <= 4), any real dtype, finite, not constant; the
        predictor owns normalisation.
    clicks: sequence of ``Click(row, col, is_positive)``, oldest first, (row, col) in image
        pixels, inside the image.
    prev_prob: HxW float in [0, 1] or None (no previous prediction).
    box: ``Box`` (inclusive (row0, col0, row1, col1)) or None.
    returns: HxW float32 probability in [0, 1]; ``prob > 0.49`` is the mask (RITM convention).
    features: ``get_features()`` returns an opaque object that ``set_features`` of a predictor
        of the same model accepts in place of an encoder run.
    mask_prompt (optional): ``mask_prompt(mask, threshold) -> prob``, an existing HxW bool mask
        as the previous probability this model understands (``prob > threshold`` exactly the
        mask); ``InteractiveSession.start_from_mask`` uses it when present and the session's
        ``soft_masks`` is on (the learned models: ``core.mask_prompt``), else the 0/1 map.
    from_mask (optional keyword of ``predict``, default False): the object started from an
        existing mask (an edit, ``InteractiveSession.start_from_mask``) and no box replaced it.
        A model with ``edit_head = True`` (a click head trained for edits,
        ``models.edit_head``) then predicts with that head; others ignore the flag. The session
        passes it only to models whose ``edit_head`` is True.

A *model spec* names a registry model and a variant of it: ``NAME[@CROP][+flip]``, e.g.
``ritm-like@256+flip`` (the ``ritm-like`` family built with a 256 px head crop, with flip
test-time augmentation). ``parse_model_spec`` and ``split_flip`` read specs; ``flip_name``
writes the flip suffix. This module imports nothing but numpy and ``core.clicks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable, Protocol, Sequence, runtime_checkable

import numpy as np

from .clicks import Box, Click

__all__ = [
    "Predictor",
    "FeatureStore",
    "use_slice",
    "NoImageError",
    "UntrainedModelWarning",
    "MASK_THRESHOLD",
    "FLIP_SUFFIX",
    "split_flip",
    "flip_name",
    "ModelSpec",
    "parse_model_spec",
]

#: the mask threshold of the protocol: ``prob > MASK_THRESHOLD`` is the mask
MASK_THRESHOLD = 0.49

#: suffix naming a model run with flip test-time augmentation (reports, benchmarks, caches)
FLIP_SUFFIX = "+flip"


class NoImageError(RuntimeError):
    """``predict`` (or ``get_features``) was called before ``set_image``."""


class UntrainedModelWarning(UserWarning):
    """A predictor with random (untrained) weights was used for a prediction."""


@runtime_checkable
class Predictor(Protocol):
    """What every model offers (learned and classical); see the module docstring for contracts."""

    name: str

    def set_image(self, image: np.ndarray) -> None:
        """Encode one slice (expensive; once per slice); replaces any previous slice."""

    def predict(
        self,
        clicks: Sequence[Click],
        prev_prob: np.ndarray | None = None,
        box: Box | None = None,
        *,
        from_mask: bool = False,
    ) -> np.ndarray:
        """HxW float32 probability of the object from the prompts (cheap; once per click).

        Raises:
            NoImageError: no slice was set.
        """

    def reset_image(self) -> None:
        """Forget the current slice and its features."""

    def get_features(self) -> Any:
        """The current slice's features (opaque), for ``set_features`` later."""

    def set_features(self, features: Any) -> None:
        """Restore features from ``get_features`` instead of encoding the slice again."""

    @property
    def is_image_set(self) -> bool:
        """Whether a slice (or its features) is set."""


class FeatureStore(Protocol):
    """Anything that keeps encoder features by key (``core.feature_cache.FeatureCache``, ...)."""

    def get(self, key: Hashable) -> Any:
        """The features stored under ``key``, or None."""

    def put(self, key: Hashable, features: Any) -> None:
        """Keep ``features`` under ``key``."""


def use_slice(predictor: Predictor, image: np.ndarray, key: Hashable | None = None,
              store: FeatureStore | None = None) -> bool:
    """Make ``image`` the predictor's slice: from ``store``'s features for ``key`` if it has them,
    else by encoding it (and putting the features into ``store`` under ``key``, unless the
    predictor segments this slice in windows: ``predictor.windowed_slice`` is then set and the
    windows' features stay in its own cache).

    Returns:
        True when the encoder ran, False when stored features were used.
    """
    feats = store.get(key) if (store is not None and key is not None) else None
    if feats is not None:
        predictor.set_features(feats)
        return False
    predictor.set_image(image)
    # a slice the predictor segments in windows keeps its features in its own window cache
    windowed = getattr(predictor, "windowed_slice", None) is not None
    if store is not None and key is not None and not windowed:
        store.put(key, predictor.get_features())
    return True


def split_flip(spec: str) -> tuple[str, bool]:
    """``"fdrn+flip"`` -> ``("fdrn", True)``; ``"fdrn"`` -> ``("fdrn", False)``.

    Raises:
        ValueError: for any other ``+`` suffix.
    """
    name, plus, suffix = spec.partition("+")
    if plus and plus + suffix != FLIP_SUFFIX:
        raise ValueError(f"model {spec!r}: the only suffix is {FLIP_SUFFIX!r} (flip test-time augmentation)")
    return name, bool(plus)


def flip_name(name: str, flip: bool) -> str:
    """The inverse of ``split_flip``: ``name`` with the flip suffix when ``flip``."""
    return name + FLIP_SUFFIX if flip else name


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec ``NAME[@CROP][+flip]``.

    Attributes:
        name: registry model name.
        crop: head crop side in pixels for a learned family built at another crop, or None
            (the model's own).
        flip: flip test-time augmentation.
    """

    name: str
    crop: int | None = None
    flip: bool = False

    def __str__(self) -> str:
        return flip_name(self.name if self.crop is None else f"{self.name}@{self.crop}", self.flip)


def parse_model_spec(spec: str) -> ModelSpec:
    """``"ritm-like@256+flip"`` -> ``ModelSpec("ritm-like", 256, True)``.

    Raises:
        ValueError: an empty name, a crop that is not a positive integer, or an unknown suffix.
    """
    base, flip = split_flip(spec.strip())
    name, at, crop = base.partition("@")
    if not name:
        raise ValueError(f"model spec {spec!r} has no model name (NAME[@CROP][+flip])")
    if not at:
        return ModelSpec(name, None, flip)
    if not crop.isdigit() or int(crop) < 1:
        raise ValueError(
            f"model spec {spec!r}: the part after '@' is a crop size in pixels (a positive integer, "
            f"e.g. fdrn@320), got {crop!r}"
        )
    return ModelSpec(name, int(crop), flip)
