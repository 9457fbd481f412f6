"""The one model registry: name -> builder, weights file, model card.

This module imports neither torch nor napari: builders are named by import path and loaded
only when a model is built, so listing models is instant.

Three kinds of models appear in ``list_models()``:

* ``classical`` — non-learned baselines (random walker, graph cut, geodesic).
* ``learned`` — network families shipped with the package; their default weights live in
  ``napari_clickseg/models/weights/<name>.pt`` beside a model card ``<name>.json``.
* ``user`` — fine-tuned models in the per-user model folder (``user_models_dir()``), each a
  ``<name>.pt`` weights file plus ``<name>.json`` model card whose ``"family"`` names the
  registered family that rebuilds it.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..core.paths import user_dir

__all__ = [
    "ModelInfo",
    "register_model",
    "list_models",
    "get_model_info",
    "load_model",
    "build_model",
    "user_models_dir",
    "split_flip",
    "flip_name",
    "WEIGHTS_DIR",
]

#: suffix naming a model run with flip test-time augmentation in reports and benchmarks
FLIP_SUFFIX = "+flip"


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

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class ModelInfo:
    """One registry entry.

    Attributes:
        name: registry name, e.g. ``"fdrn"``.
        builder: ``"module:function"``; the function is called as
            ``fn(info, device=..., weights=Path | None)`` and returns a Predictor.
        kind: ``"classical"``, ``"learned"`` or ``"user"``.
        description: one line for menus and ``clickseg models``.
        weights: weights file used by ``load_model`` (None for classical models).
        family: the network family when it is not ``name`` itself: for user models the family
            they were fine-tuned from, for another shipped weights file of a family (e.g.
            ``fdrn-v2``) that family; None for a family's own entry and classical models.
    """

    name: str
    builder: str
    kind: str
    description: str
    weights: Path | None = None
    family: str | None = None

    @property
    def has_weights(self) -> bool:
        return self.weights is not None and self.weights.is_file()


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    name: str,
    builder: str,
    kind: str,
    description: str,
    weights: str | Path | None = None,
    family: str | None = None,
) -> ModelInfo:
    """Add a model to the registry (called at import time below).

    ``family`` names the network family of a learned model whose name is not the family's own
    (another shipped weights file of that family, e.g. ``fdrn-v2``); None = the name itself.
    """
    if kind not in ("classical", "learned"):
        raise ValueError(f"kind must be 'classical' or 'learned', got {kind!r}")
    w = None if weights is None else (WEIGHTS_DIR / weights if not Path(weights).is_absolute() else Path(weights))
    info = ModelInfo(name=name, builder=builder, kind=kind, description=description, weights=w, family=family)
    _REGISTRY[name] = info
    return info


def user_models_dir() -> Path:
    """Per-user folder of fine-tuned models (``$CLICKSEG_HOME/models`` if that is set)."""
    return user_dir("models")


#: broken user cards already reported (path, mtime), so a menu refresh does not repeat the warning
_WARNED: set[tuple[str, float]] = set()


def _read_card(card_path: Path) -> tuple[ModelInfo | None, str | None]:
    """One user model card -> (entry, None), or (None, why it cannot be used)."""
    try:
        card = json.loads(card_path.read_text())
    except OSError as err:
        return None, f"cannot be read ({err.strerror or err})"
    except ValueError as err:
        return None, f"is not valid JSON ({err})"
    if not isinstance(card, dict):
        return None, f"holds a JSON {type(card).__name__}, not an object (a model card is a JSON object)"
    family = card.get("family")
    if family is None:
        return None, "has no \"family\" field naming the model family it was fine-tuned from"
    learned = [n for n, i in _REGISTRY.items() if i.kind == "learned"]
    base = _REGISTRY.get(family) if isinstance(family, str) else None
    if base is None or base.kind != "learned":
        return None, f"names family {family!r}, which is not a learned model family ({', '.join(learned)})"
    description = card.get("description")
    return ModelInfo(
        name=card_path.stem,
        builder=base.builder,
        kind="user",
        description=description if isinstance(description, str) and description else f"fine-tuned from {family}",
        weights=card_path.with_suffix(".pt"),
        family=family,
    ), None


def _scan_user_models() -> tuple[dict[str, ModelInfo], dict[str, tuple[Path, str]]]:
    """The usable user models, and the broken cards as ``{name: (card path, why)}``.

    A broken card never hides the other models: it is skipped with a logged warning (once per
    version of the file) and ``get_model_info`` of its name says what is wrong.
    """
    out: dict[str, ModelInfo] = {}
    broken: dict[str, tuple[Path, str]] = {}
    folder = user_models_dir()
    if not folder.is_dir():
        return out, broken
    for card_path in sorted(folder.glob("*.json")):
        name = card_path.stem
        if name in _REGISTRY:
            continue
        info, why = _read_card(card_path)
        if info is not None:
            out[name] = info
            continue
        broken[name] = (card_path, why or "is not usable")
        try:
            stamp = (str(card_path), card_path.stat().st_mtime)
        except OSError:
            stamp = (str(card_path), -1.0)
        if stamp not in _WARNED:
            _WARNED.add(stamp)
            log.warning("user model card %s %s; model %r skipped (fix or delete the file)", card_path, why, name)
    return out, broken


def _user_models() -> dict[str, ModelInfo]:
    return _scan_user_models()[0]


def list_models(kind: str | None = None) -> list[str]:
    """Names of every model: classical, shipped learned families, user fine-tuned models.

    User models whose card is broken are left out (with a logged warning naming the file).
    """
    infos = {**_REGISTRY, **_user_models()}
    return [n for n, i in infos.items() if kind is None or i.kind == kind]


def get_model_info(name: str) -> ModelInfo:
    """Registry entry of ``name``.

    Raises:
        KeyError: unknown name (the message lists the available names).
        ValueError: ``name`` is a user model whose card is broken (the message names the card
            file and what is wrong with it).
    """
    if name in _REGISTRY:
        return _REGISTRY[name]
    user, broken = _scan_user_models()
    if name in user:
        return user[name]
    if name in broken:
        path, why = broken[name]
        raise ValueError(f"user model {name!r} cannot be loaded: its model card {path} {why}; fix or delete it")
    raise KeyError(f"unknown model {name!r}; available: {', '.join(list_models())}")


def _resolve(builder: str) -> Callable[..., Any]:
    module, _, func = builder.partition(":")
    return getattr(importlib.import_module(module), func)


def build_model(
    name: str, device: str = "auto", weights: str | Path | None = None, pretrained: bool = True,
    flip_tta: bool = False,
) -> Any:
    """Build a Predictor.

    Args:
        name: a name from ``list_models()``.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"mps"``.
        weights: explicit weights file (overrides the registry's).
        pretrained: if False, learned models get random weights (for tests and training);
            such a predictor has ``trained = False``.
        flip_tta: flip test-time augmentation (learned models only: the slice and its mirror
            are predicted together and averaged; on a CPU about 1.5x the time per click, 1.9x per slice).
    """
    info = get_model_info(name)
    if flip_tta and info.kind == "classical":
        raise ValueError(
            f"model {name!r} is classical and has no flip test-time augmentation; drop flip_tta "
            f"(--flip-tta) or choose a learned model ({', '.join(list_models('learned'))})"
        )
    w: Path | None = None
    if info.kind != "classical" and pretrained:
        w = Path(weights) if weights is not None else info.weights
        if weights is not None and not w.is_file():
            raise FileNotFoundError(f"weights file {w} (weights= for model {name!r}) does not exist; check the path")
        if w is None or not w.is_file():
            raise FileNotFoundError(
                f"model {name!r} has no weights file at {w}; train it (clickseg train), pass "
                f"weights=PATH to load_model, or use build_model({name!r}, pretrained=False) for an "
                f"untrained network"
            )
    predictor = _resolve(info.builder)(info, device=device, weights=w)
    predictor.name = name
    if flip_tta:
        predictor.flip_tta = True
    return predictor


def load_model(name: str, device: str = "auto", weights: str | Path | None = None, flip_tta: bool = False) -> Any:
    """Return a ready-to-use Predictor with its trained weights (classical: no weights).

    ``flip_tta=True`` turns on flip test-time augmentation (learned models; see ``build_model``).
    """
    return build_model(name, device=device, weights=weights, pretrained=True, flip_tta=flip_tta)


# ---------------------------------------------------------------------------------------
# The registry itself: one line per model.
# ---------------------------------------------------------------------------------------
register_model(
    "random-walker", "napari_clickseg.models.classical:build_random_walker", "classical",
    "Random walker from the clicks (scikit-image); no training, any image",
)
register_model(
    "graph-cut", "napari_clickseg.models.classical:build_graph_cut", "classical",
    "Boykov-Jolly graph cut with click seeds (PyMaxflow); no training",
)
register_model(
    "geodesic", "napari_clickseg.models.classical:build_geodesic", "classical",
    "Geodesic distance to positive vs negative clicks (scikit-image MCP); no training",
)
register_model(
    "fdrn", "napari_clickseg.models.learned_predictor:build_fdrn", "learned",
    "FDRN: encoder once per slice, light click head per click (MFP + IOG box guidance); default",
    weights="fdrn.pt",
)
register_model(
    "fdrn-v2", "napari_clickseg.models.learned_predictor:build_fdrn", "learned",
    "FDRN v2 preview: the v2 training campaign so far (all data folders, more image kinds); not yet the default",
    weights="fdrn-v2.pt", family="fdrn",
)
register_model(
    "fdrn-csfpn", "napari_clickseg.models.learned_predictor:build_fdrn_csfpn", "learned",
    "FDRN with CSFPN sparse click propagation in the head instead of dense attention",
    weights="fdrn-csfpn.pt",
)
register_model(
    "ritm-like", "napari_clickseg.models.learned_predictor:build_ritm_like", "learned",
    "RITM-like baseline: the whole network re-runs on the zoom-in crop at every click",
    weights="ritm-like.pt",
)
