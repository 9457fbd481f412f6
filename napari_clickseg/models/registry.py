"""The one model registry: name -> builder, weights file, model card; and the network families.

This module imports neither torch nor napari: builders, networks and configs are named by
import path and loaded only when a model is built, so listing models is instant.

The table at the bottom is the only place a model is declared. A network family registers
once with ``register_family`` (its network class, its config dataclass, the config fields
that distinguish it, its default weights); ``models.networks``, the learned predictor, the
fine-tuning and the benchmark all build through it. Another shipped weights file of a family
registers with ``register_weights``; a classical baseline with ``register_model``.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..core.paths import user_dir
from ..core.predictor import ModelSpec, Predictor, parse_model_spec

__all__ = [
    "ModelInfo",
    "Family",
    "register_model",
    "register_family",
    "register_weights",
    "list_models",
    "loadable_models",
    "network_families",
    "get_family",
    "get_model_info",
    "load_model",
    "build_model",
    "build_spec",
    "resolve",
    "user_models_dir",
    "WEIGHTS_DIR",
]

#: the builder of every learned model: rebuilds ``info.family or info.name`` (see ``Family``)
LEARNED_BUILDER = "napari_clickseg.models.learned_predictor:build_learned"

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


@dataclass(frozen=True)
class Family:
    """One network family.

    Attributes:
        name: family name (also the registry name of its default model).
        network: ``"module:Class"`` of the ``nn.Module``, built as ``Class(config)``.
        config: ``"module:Class"`` of its config dataclass (with a ``family`` field).
        defaults: config fields that make this family (e.g. ``{"propagation": "sgn"}``).
    """

    name: str
    network: str
    config: str
    defaults: Mapping[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, ModelInfo] = {}
_FAMILIES: dict[str, Family] = {}


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


def register_family(
    name: str,
    network: str,
    config: str,
    description: str,
    weights: str | Path | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Family:
    """Add a network family and its default model (registry name = family name).

    Args:
        name: family name, e.g. ``"fdrn"``.
        network: ``"module:Class"`` of the network (``Class(config)``).
        config: ``"module:Class"`` of its config dataclass.
        description: one line for menus and ``clickseg models``.
        weights: the default weights file (relative to ``WEIGHTS_DIR``); it may be absent
            (the family can then be built untrained, but is not offered as loadable).
        defaults: config fields that distinguish this family from others sharing a network.
    """
    if name in _FAMILIES:
        raise ValueError(f"network family {name!r} is registered twice")
    fam = Family(name, network, config, dict(defaults or {}))
    _FAMILIES[name] = fam
    register_model(name, LEARNED_BUILDER, "learned", description, weights=weights)
    return fam


def register_weights(name: str, family: str, weights: str | Path, description: str) -> ModelInfo:
    """Add another shipped weights file of a registered ``family`` under its own model ``name``."""
    get_family(family)
    return register_model(name, LEARNED_BUILDER, "learned", description, weights=weights, family=family)


def network_families() -> tuple[str, ...]:
    """Names of the registered network families, in registration order."""
    return tuple(_FAMILIES)


def get_family(name: str) -> Family:
    """The family ``name``.

    Raises:
        KeyError: unknown family (the message lists the known ones).
    """
    if name not in _FAMILIES:
        raise KeyError(f"unknown network family {name!r}; known: {', '.join(_FAMILIES)}")
    return _FAMILIES[name]


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
    if not isinstance(family, str) or family not in _FAMILIES:
        return None, f"names family {family!r}, which is not a learned model family ({', '.join(_FAMILIES)})"
    base = _REGISTRY[family]
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


def resolve(path: str) -> Callable[..., Any]:
    """The object an import string ``"module:attribute"`` names (imports the module)."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def loadable_models() -> list[str]:
    """Names of the models ``load_model`` can load as they are: classical ones and learned
    ones whose weights file exists (what a menu should offer)."""
    infos = {**_REGISTRY, **_user_models()}
    return [n for n, i in infos.items() if i.kind == "classical" or i.has_weights]


def build_model(
    name: str, device: str = "auto", weights: str | Path | None = None, pretrained: bool = True,
    flip_tta: bool = False, crop_size: int | None = None,
) -> Predictor:
    """Build a Predictor.

    Args:
        name: a name from ``list_models()``.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"mps"``.
        weights: explicit weights file (overrides the registry's).
        pretrained: if False, learned models get random weights (for tests, training and
            speed benchmarks); such a predictor has ``trained = False`` and warns
            (``UntrainedModelWarning``) on its first prediction.
        flip_tta: flip test-time augmentation (learned models only: the slice and its mirror
            are predicted together and averaged).
        crop_size: head crop side for a learned family built at another crop than its own
            (random weights only: needs ``pretrained=False``).

    Raises:
        KeyError: unknown name. FileNotFoundError: no weights file for a pretrained learned
        model. ValueError: an option the model does not have.
    """
    info = get_model_info(name)
    if info.kind == "classical" and (flip_tta or crop_size is not None):
        raise ValueError(
            f"model {name!r} is classical and has no {'flip test-time augmentation' if flip_tta else 'crop size'}; "
            f"drop that option or choose a learned model ({', '.join(list_models('learned'))})"
        )
    if crop_size is not None and pretrained:
        raise ValueError(
            f"model {name!r} at crop {crop_size}: trained weights come with their own crop; build it with "
            f"pretrained=False (random weights, e.g. for a speed benchmark) or drop the crop"
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
    overrides = {} if crop_size is None else {"crop_size": int(crop_size)}
    predictor = resolve(info.builder)(info, device=device, weights=w, **overrides)
    predictor.name = name
    if flip_tta:
        predictor.flip_tta = True
    return predictor


def build_spec(spec: str, device: str = "auto", pretrained: bool | None = None) -> Predictor:
    """Build the model a spec ``NAME[@CROP][+flip]`` names (``core.predictor.parse_model_spec``).

    ``pretrained=None`` takes the trained weights where the model has them and no crop is
    asked for, else random weights (check ``predictor.trained``). The predictor's ``name``
    is the spec.
    """
    s = parse_model_spec(spec)
    info = get_model_info(s.name)
    if pretrained is None:
        pretrained = s.crop is None and (info.kind == "classical" or info.has_weights)
    predictor = build_model(s.name, device=device, pretrained=pretrained, flip_tta=s.flip, crop_size=s.crop)
    predictor.name = str(ModelSpec(s.name, s.crop))  # flip is the predictor's flip_tta, not its name
    return predictor


def load_model(name: str, device: str = "auto", weights: str | Path | None = None, flip_tta: bool = False) -> Predictor:
    """Return a ready-to-use Predictor with its trained weights (classical: no weights).

    ``flip_tta=True`` turns on flip test-time augmentation (learned models; see ``build_model``).
    """
    return build_model(name, device=device, weights=weights, pretrained=True, flip_tta=flip_tta)


# ---------------------------------------------------------------------------------------
# The table: every model and network family, each declared once.
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
register_family(
    "fdrn", "napari_clickseg.models.fdrn:FDRNNet", "napari_clickseg.models.fdrn:FDRNConfig",
    "FDRN: encoder once per slice, light click head per click (MFP + IOG box guidance); default",
    weights="fdrn.pt",
)
register_family(
    "fdrn-csfpn", "napari_clickseg.models.fdrn:FDRNNet", "napari_clickseg.models.fdrn:FDRNConfig",
    "FDRN with CSFPN sparse click propagation in the head instead of dense attention",
    weights="fdrn-csfpn.pt", defaults={"propagation": "sgn"},
)
register_family(
    "ritm-like", "napari_clickseg.models.ritm_like:RITMLikeNet", "napari_clickseg.models.ritm_like:RITMLikeConfig",
    "RITM-like baseline: the whole network re-runs on the zoom-in crop at every click",
    weights="ritm-like.pt",
)
register_weights(
    "fdrn-v2", "fdrn", "fdrn-v2.pt",
    "FDRN v2 preview: the v2 training campaign so far (all data folders, more image kinds); not yet the default",
)
