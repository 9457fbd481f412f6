"""Network builders shared by the predictors and the trainer.

``build_network(name, **overrides)`` returns a randomly initialised ``nn.Module`` with
``crop_size``, ``config`` (a dataclass), ``encode(image)``, ``decode(features, rois, clicks,
prev_prob, boxes)`` and ``forward(image, rois, clicks, prev_prob, boxes=None)``; see
``models/fdrn.py`` for the tensor contracts. ``network_from_config(dict)`` rebuilds a network
from a saved config (``dataclasses.asdict`` form, with its ``family`` key).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from .fdrn import FDRNConfig, FDRNNet, config_from_dict
from .fdrn_encoder import EncoderConfig
from .ritm_like import RITMLikeConfig, RITMLikeNet, ritm_config_from_dict

__all__ = ["NETWORK_FAMILIES", "build_network", "network_from_config", "count_parameters"]

#: families with a network (the registry names of the learned models)
NETWORK_FAMILIES = ("fdrn", "fdrn-csfpn", "ritm-like")


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
        name: ``"fdrn"``, ``"fdrn-csfpn"`` or ``"ritm-like"``.
        **overrides: config fields to change, e.g. ``crop_size=320``; ``encoder`` may be a
            dict of ``EncoderConfig`` fields (``encoder={"max_side": 512}``).

    Raises:
        KeyError: unknown family; ValueError: unknown config field.
    """
    overrides = dict(overrides)
    if name == "fdrn":
        return FDRNNet(_apply(FDRNConfig(family="fdrn"), overrides))
    if name == "fdrn-csfpn":
        return FDRNNet(_apply(FDRNConfig(family="fdrn-csfpn", propagation="sgn"), overrides))
    if name == "ritm-like":
        return RITMLikeNet(_apply(RITMLikeConfig(), overrides))
    raise KeyError(f"unknown network family {name!r}; known: {', '.join(NETWORK_FAMILIES)}")


def network_from_config(config: dict[str, Any]) -> nn.Module:
    """Rebuild a (randomly initialised) network from a saved config dict with a ``family`` key."""
    family = config.get("family")
    if family in ("fdrn", "fdrn-csfpn"):
        return FDRNNet(config_from_dict(dict(config)))
    if family == "ritm-like":
        return RITMLikeNet(ritm_config_from_dict(dict(config)))
    raise ValueError(f"config names unknown network family {family!r}; known: {', '.join(NETWORK_FAMILIES)}")


def count_parameters(net: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in net.parameters())
