"""The annotator's model: what is loaded, its feature-cache identity, and fresh copies for workers.

A worker thread (propagation, precompute) never shares the session's predictor (a stateful
predictor must not be used from two threads): ``ModelChoice.make`` builds a new one from the
factory kept with the model. Loading failures raise; the annotator turns them into messages.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from ..core.feature_cache import model_identity
from ..models.registry import get_model_info, load_model, loadable_models
from .panel import Controls

__all__ = ["ModelChoice", "load_predictor"]


def load_predictor(name: str, device: str, flip_tta: bool) -> tuple[Any, Callable[[], Any]]:
    """Load registry model ``name`` on ``device``; returns (predictor, factory of new copies).

    Flip TTA applies to learned models only (classical ones load without it).

    Raises:
        Exception: whatever loading raises (unknown name, missing weights, bad device).
    """
    flip = flip_tta and get_model_info(name).kind != "classical"
    predictor = load_model(name, device=device, flip_tta=flip)
    return predictor, lambda: load_model(name, device=device, flip_tta=flip)


class ModelChoice:
    """The model of one annotator.

    Attributes:
        name: the model's name (None before one is chosen).
        key: name + weights hash, the model part of feature-cache keys.
    """

    def __init__(self) -> None:
        self.name: str | None = None
        self.key = ""
        self._factory: Callable[[], Any] | None = None

    def use(self, predictor: Any, factory: Callable[[], Any] | None = None) -> None:
        """Make ``predictor`` the model; ``factory`` builds new copies (default: deep copies)."""
        self.name, self.key = getattr(predictor, "name", "custom"), model_identity(predictor)
        self._factory = factory or (lambda: copy.deepcopy(predictor))

    def make(self) -> Any:
        """A new predictor of the current model (for a worker thread).

        Raises:
            RuntimeError: no model chosen yet.
        """
        if self._factory is None:
            raise RuntimeError("no model loaded; choose a model first")
        return self._factory()

    @staticmethod
    def refresh_menu(controls: Controls) -> None:
        """Re-read the registry (e.g. after a fine-tune) into the model menu (loadable models
        only; the model shown stays listed)."""
        combo, names = controls.model_combo, loadable_models()
        if names != [combo.itemText(i) for i in range(combo.count())]:
            current = combo.currentText()
            controls.set_choices(combo, names + ([current] if current and current not in names else []), current)

    def show(self, controls: Controls) -> None:
        """Make the model menu show the current model (added to it when not listed)."""
        combo = controls.model_combo
        if self.name is None:
            return
        if combo.findText(self.name) < 0:
            combo.addItem(self.name)
        combo.setCurrentText(self.name)
