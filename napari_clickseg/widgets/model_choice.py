"""The annotator's model: what is loaded, its feature-cache identity, and fresh copies for workers.

A worker thread (propagation, precompute) never shares the session's predictor (a stateful
predictor must not be used from two threads): ``ModelChoice.make`` builds a new one from the
factory kept with the model. Loading failures raise; the annotator turns them into messages.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from napari.utils.notifications import show_error, show_info, show_warning

from ..core.feature_cache import model_identity
from ..core.session import InteractiveSession
from ..models.registry import get_model_info, load_model, loadable_models
from .panel import Controls

__all__ = ["ModelChoice", "load_predictor", "switch_model", "use_predictor"]


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


def switch_model(ann: Any, name: str, device: str | None = None, quiet: bool = False) -> bool:
    """Load registry model ``name`` into annotator ``ann``; on failure notify (unless
    ``quiet``) and keep the previous model. Returns success."""
    c = ann.controls
    try:
        predictor, factory = load_predictor(name, device or c.device_combo.currentText(), c.flip_box.isChecked())
    except Exception as err:  # noqa: BLE001 - any load failure becomes a message
        if not quiet:
            show_error(f"clickseg: could not load model {name!r}: {err}")
        ann.model.show(c)
        return False
    use_predictor(ann, predictor, factory)
    return True


def use_predictor(ann: Any, predictor: Any, factory: Callable[[], Any] | None = None) -> None:
    """Make ``predictor`` annotator ``ann``'s model: a new session (slices encoded with the old
    model are not reused), and the current object's clicks replayed with the new one."""
    ann.wait_idle()
    session = ann.session
    held = session is not None and session.has_image
    clicks, box = (session.clicks, session.box) if held else ((), None)
    ann.model.use(predictor, factory)
    ann.current.use(InteractiveSession(predictor, feature_store=ann.feature_store))
    ann.model.show(ann.controls)
    if getattr(predictor, "trained", True) is False:
        show_warning(f"clickseg: model {ann.model_name!r} has random (untrained) weights")
    if clicks or box is not None:
        show_info("clickseg: model changed; the current object is re-segmented with the new model")
        ann.resegment()
