"""Network builders shared by the predictors and the trainer.

``build_network(name, **overrides)`` returns a randomly initialised ``nn.Module`` with
``crop_size``, ``config`` (a dataclass), ``encode(image)``, ``decode(features, rois, clicks,
prev_prob, boxes)`` and ``forward(image, rois, clicks, prev_prob, boxes=None)``; see
``models/fdrn.py`` for the tensor contracts. ``network_from_config(dict)`` rebuilds a network
from a saved config (``dataclasses.asdict`` form, with its ``family`` key). Both look the family
up in the registry's family table (``registry.register_family``); nothing here names a family.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from .fdrn_encoder import EncoderConfig, dataclass_from_dict
from .registry import get_family, network_families, resolve

__all__ = ["build_network", "network_from_config", "count_parameters"]


def _apply(cfg: Any, overrides: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cfg)}
    enc = overrides.pop("encoder", None)
    bad = set(overrides) - names
    if bad:
        raise ValueError(f"unknown config field(s) {sorted(bad)} for {type(cfg).__name__}; known: {sorted(names)}")
    cfg = dataclasses.replace(cfg, **overrides)
    if enc is not None:
        enc = enc if isinstance(enc, EncoderConfig) else dataclasses.replace(cfg.encoder, **dict(enc))
        cfg = dataclasses.replace(cfg, encoder=enc)
    return cfg


def build_network(name: str, **overrides: Any) -> nn.Module:
    """Build a randomly initialised network of family ``name``.

    Args:
        name: a registered family (``registry.network_families()``).
        **overrides: config fields to change, e.g. ``crop_size=320``; ``encoder`` may be a
            dict of ``EncoderConfig`` fields (``encoder={"max_side": 512}``).

    Raises:
        KeyError: unknown family; ValueError: unknown config field.
    """
    fam = get_family(name)
    config = resolve(fam.config)(**{**fam.defaults, "family": name})
    return resolve(fam.network)(_apply(config, dict(overrides)))


def network_from_config(config: dict[str, Any]) -> nn.Module:
    """Rebuild a (randomly initialised) network from a saved config dict with a ``family`` key.

    Raises:
        ValueError: the family is unknown or the config has fields its config class lacks.
    """
    family = config.get("family")
    if family not in network_families():
        raise ValueError(f"config names unknown network family {family!r}; known: {', '.join(network_families())}")
    fam = get_family(family)
    return resolve(fam.network)(dataclass_from_dict(resolve(fam.config), dict(config)))


def count_parameters(net: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in net.parameters())
