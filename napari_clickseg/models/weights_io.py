"""Saving and strictly loading network weights with their model card.

A model is two files side by side:

* ``NAME.pt`` - ``torch.save({"format": 1, "family": ..., "config": {...}, "state_dict": {...}})``
  (fp32 tensors on CPU; the config is ``dataclasses.asdict(net.config)``, so the file rebuilds its
  own architecture without guessing);
* ``NAME.json`` - the model card: family, architecture config, input normalisation, training
  data and steps, evaluation numbers, parameter count and the sha256 of ``NAME.pt``.

Loading is strict: ``torch.load(map_location="cpu", weights_only=True)``, the sha256 is checked
against the card, the family against the caller's, and ``load_state_dict(strict=True)``. Any
problem raises ``WeightsError`` (a ``ValueError``) or ``FileNotFoundError`` naming the file and
the mismatch.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .networks import count_parameters, network_from_config

__all__ = ["WeightsError", "save_model", "load_network", "warm_start_network", "fresh_modules", "read_card",
           "sha256_file", "INPUT_NORMALISATION"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1

#: how images reach the network (recorded in every model card)
INPUT_NORMALISATION = {
    "slice": "per-slice percentile scaling, 1st -> 0 and 99th -> 1 (all channels together), "
    "clipped to [0, 1]; gray replicated to 3 channels (core.image.normalize_slice)",
    "network": "ImageNet mean/std applied inside the network (layers.imagenet_normalize)",
    "channels": "RGB / 3 x gray, channels first, float32",
}


class WeightsError(ValueError):
    """A weights file or model card is unusable (message names the file and the problem)."""


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model(net: nn.Module, path: str | Path, card: dict[str, Any] | None = None) -> Path:
    """Write ``path`` (weights + config + family) and ``path.with_suffix('.json')`` (model card).

    Args:
        net: a network from ``build_network`` (has a dataclass ``config`` with ``family``).
        path: destination ``.pt`` file (parent folders are created).
        card: extra card fields, e.g. ``{"description": ..., "training": {"data": [...],
            "steps": 20000, "batch": 16, ...}, "evaluation": {"noc90": ...}}``. Keys written by
            this function (family, architecture, sha256, ...) override same-named ones.

    Returns:
        The weights path.
    """
    path = Path(path)
    if path.suffix != ".pt":
        raise ValueError(f"weights file must end in .pt, got {path}")
    cfg = getattr(net, "config", None)
    if cfg is None or not dataclasses.is_dataclass(cfg):
        raise TypeError("net has no dataclass `config`; build it with build_network()")
    config = dataclasses.asdict(cfg)
    family = config.get("family")
    state = {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype).contiguous()
             for k, v in net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT_VERSION, "family": family, "config": config, "state_dict": state}, path)
    full = dict(card or {})
    full.update(
        {
            "name": full.get("name", path.stem),
            "family": family,
            "format": FORMAT_VERSION,
            "weights_file": path.name,
            "sha256": sha256_file(path),
            "size_bytes": path.stat().st_size,
            "parameters": count_parameters(net),
            "architecture": config,
            "input_normalisation": INPUT_NORMALISATION,
            "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
    )
    full.setdefault("training", None)
    full.setdefault("evaluation", None)
    path.with_suffix(".json").write_text(json.dumps(full, indent=2, default=str) + "\n")
    return path


def read_card(path: str | Path) -> dict[str, Any]:
    """Read the model card beside a weights file (``NAME.json`` for ``NAME.pt``)."""
    card_path = Path(path).with_suffix(".json")
    if not card_path.is_file():
        raise FileNotFoundError(
            f"model card {card_path} is missing (every weights file travels with NAME.json; "
            f"write both with models.weights_io.save_model)"
        )
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as err:
        raise WeightsError(f"model card {card_path} is not valid JSON: {err}") from None
    if not isinstance(card, dict):
        raise WeightsError(f"model card {card_path} must hold a JSON object")
    return card


def load_network(
    path: str | Path, device: str | torch.device = "cpu", family: str | None = None, check_sha: bool = True
) -> nn.Module:
    """Rebuild a network from a weights file, strictly, and move it to ``device`` (eval mode).

    Args:
        path: ``NAME.pt`` written by ``save_model`` (its ``NAME.json`` card must sit beside it).
        device: target device.
        family: expected family (e.g. ``"fdrn"``); a file of another family is rejected.
        check_sha: verify the file's sha256 against the card.

    Raises:
        FileNotFoundError: missing weights file or card.
        WeightsError: truncated/corrupt file, sha256 mismatch, wrong family, missing or
            unexpected keys, shape mismatches.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    card = read_card(path)
    if check_sha:
        want = card.get("sha256")
        if not want:
            raise WeightsError(f"model card {path.with_suffix('.json')} has no sha256 for {path.name}")
        got = sha256_file(path)
        if got != want:
            raise WeightsError(
                f"weights file {path}: sha256 mismatch (file {got[:12]}..., card {str(want)[:12]}...); "
                f"the file is truncated, corrupted or was replaced without updating its card"
            )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle error, foreign object ...
        raise WeightsError(f"weights file {path} cannot be read ({type(err).__name__}: {err}); "
                           f"it is truncated or not a clickseg weights file") from None
    if not isinstance(blob, dict) or not {"config", "state_dict", "family"} <= set(blob):
        raise WeightsError(f"weights file {path} lacks the keys family/config/state_dict; "
                           f"save weights with models.weights_io.save_model")
    fam = blob["family"]
    if family is not None and fam != family:
        raise WeightsError(f"weights file {path} holds a {fam!r} network, expected {family!r}")
    if card.get("family") not in (None, fam):
        raise WeightsError(f"weights file {path} holds family {fam!r} but its card says {card.get('family')!r}")
    try:
        net = network_from_config(dict(blob["config"]))
    except (TypeError, ValueError) as err:
        raise WeightsError(f"weights file {path}: bad architecture config ({err})") from None
    _load_state_strict(net, blob["state_dict"], path)
    return net.to(device).eval()


def warm_start_network(
    path: str | Path, family: str | None = None, **overrides: Any
) -> tuple[nn.Module, list[str]]:
    """A network of ``path``'s architecture changed by ``overrides``, its weights where layers match.

    The file is read and checked like ``load_network``; the network is then rebuilt from its
    config with ``overrides`` (e.g. ``refine=16``) and every parameter or buffer whose name and
    shape match the file's is copied; the others keep their fresh initialisation, except that a
    residual block that starts wholly fresh and has no projection (e.g. one more block of a
    deepened encoder stage, ``encoder={..., "blocks": (2, 4, 3)}``) starts with its residual
    branch at zero (``zero_residual``): it passes its input through, so the grown network
    computes what the file's does until it trains.

    Args:
        path: ``NAME.pt`` written by ``save_model``.
        family: expected family.
        **overrides: architecture config fields to change (as ``build_network``'s).

    Returns:
        (network on the CPU in train mode, sorted names of the entries that start fresh).

    Raises:
        As ``load_network``; ValueError for an unknown config field.
    """
    base = load_network(path, device="cpu", family=family)
    if not overrides:
        return base.train(), []
    config = {**dataclasses.asdict(base.config), **overrides}
    net = network_from_config(config)
    state, own = base.state_dict(), net.state_dict()
    fresh = sorted(k for k in own if k not in state or tuple(state[k].shape) != tuple(own[k].shape))
    net.load_state_dict({**own, **{k: v for k, v in state.items() if k in own and k not in fresh}}, strict=True)
    for module in fresh_modules(net, fresh):
        if hasattr(module, "zero_residual") and getattr(module, "skip", None) is None:
            module.zero_residual()
    return net.train(), fresh


def fresh_modules(net: nn.Module, fresh: list[str]) -> list[nn.Module]:
    """The submodules of ``net`` that hold state and all of whose entries are in ``fresh`` (the
    names ``warm_start_network`` returns): the layers a warm start added."""
    new = set(fresh)
    out = []
    for name, module in net.named_modules():
        entries = [f"{name}.{k}" for k in module.state_dict()]
        if entries and all(e in new for e in entries):
            out.append(module)
    return out


def _load_state_strict(net: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys {_short(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_short(unexpected)}")
    if shapes:
        problems.append(f"shape mismatch {_short(shapes)}")
    if problems:
        raise WeightsError(f"weights file {path} does not match its architecture: " + "; ".join(problems))
    net.load_state_dict(state, strict=True)


def _short(items: list[str], n: int = 5) -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return "[" + ", ".join(items[:n]) + "]" + more
