"""An edit head: a second click head of a network, trained for edits of existing masks.

A network's click head (everything outside ``encoder``) is what a mask prompt changes: an edit
(``InteractiveSession.start_from_mask``) feeds an existing 0/1 mask as the previous probability,
which a head trained from scratch never saw. A fine-tune with a frozen encoder
(``optim.encoder_lr_mult = 0``, ``optim.freeze_bn``) and mask-prompt samples
(``clicks.mask_prompt_prob``, ``configs/fdrn-mask-prompt.toml``) learns edits in the head alone;
shipping that head beside the base network lets the predictor use it for edits while every
prediction from clicks stays the base network's, bit for bit (``LearnedPredictor.predict``'s
``from_mask``). The encoder runs once per slice for both heads: their encoders are the same.

Files: ``NAME.edit-head.pt`` beside the base ``NAME.pt`` holds ``{"format": 1, "kind":
"edit-head", "family", "config", "base_sha256", "state_dict"}`` - the head's tensors only (fp32,
CPU), the base's architecture config and the sha256 of the base weights it belongs to. The base's
model card names it under ``"edit_head"`` (file, sha256, size, training, evaluation); loading
checks both hashes and the config, and loads the head strictly (every non-encoder tensor, no
other).

Export a fine-tune's head (the fine-tune's encoder must equal the base's)::

    python -m napari_clickseg.models.edit_head runs/edit-e/last.pt --base napari_clickseg/models/weights/fdrn.pt
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .weights_io import WeightsError, load_network, read_card, sha256_file

__all__ = ["SUFFIX", "head_state", "save_edit_head", "load_edit_net", "export_edit_head"]

#: file name of an edit head: ``NAME + SUFFIX`` beside ``NAME.pt``
SUFFIX = ".edit-head.pt"
#: the tensors a head does not hold (shared with the base network)
ENCODER_PREFIX = "encoder."


def head_state(net: nn.Module) -> dict[str, torch.Tensor]:
    """The head's tensors of ``net``: every state-dict entry outside ``encoder`` (fp32, CPU)."""
    return {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype).contiguous()
            for k, v in net.state_dict().items() if not k.startswith(ENCODER_PREFIX)}


def save_edit_head(net: nn.Module, base: str | Path, card: dict[str, Any] | None = None) -> Path:
    """Write ``net``'s head as the edit head of the base weights ``base`` and name it in ``base``'s card.

    Args:
        net: a network of ``base``'s family and architecture whose encoder tensors equal
            ``base``'s (a fine-tune with a frozen encoder).
        base: the base ``NAME.pt`` (its card ``NAME.json`` beside it is updated).
        card: what the base card's ``"edit_head"`` entry says besides file, sha256, size and
            parameters (e.g. ``description``, ``training``, ``evaluation``).

    Returns:
        The head's path, ``NAME.edit-head.pt``.

    Raises:
        WeightsError: another architecture, or an encoder that differs from the base's.
    """
    base = Path(base)
    base_net = load_network(base)
    config = dataclasses.asdict(net.config)
    if config != dataclasses.asdict(base_net.config):
        raise WeightsError(f"the edit head's network and {base} have different architectures")
    mine, theirs = net.state_dict(), base_net.state_dict()
    changed = [k for k in theirs if k.startswith(ENCODER_PREFIX) and not torch.equal(mine[k].cpu(), theirs[k])]
    if changed:
        raise WeightsError(
            f"{len(changed)} encoder tensors differ from {base.name}'s (e.g. {changed[0]}): an edit head "
            f"shares the base's encoder; fine-tune with optim.encoder_lr_mult = 0 and optim.freeze_bn = true"
        )
    path = base.with_name(base.stem + SUFFIX)
    state = head_state(net)
    torch.save({"format": 1, "kind": "edit-head", "family": config.get("family"), "config": config,
                "base_sha256": sha256_file(base), "state_dict": state}, path)
    entry = dict(card or {})
    entry.update({"file": path.name, "sha256": sha256_file(path), "size_bytes": path.stat().st_size,
                  "parameters": int(sum(v.numel() for k, v in state.items() if v.is_floating_point()))})
    base_card = read_card(base)
    base_card["edit_head"] = entry
    base.with_suffix(".json").write_text(json.dumps(base_card, indent=2, default=str) + "\n")
    return path


def load_edit_net(base_net: nn.Module, base: str | Path) -> nn.Module | None:
    """The base network with its edit head instead of its own, or None when its card names none.

    Args:
        base_net: the network loaded from ``base`` (not modified; a copy gets the head).
        base: the base ``NAME.pt``.

    Raises:
        FileNotFoundError: the card names a head file that is missing.
        WeightsError: hash, config or tensor mismatch (names the file and what is wrong).
    """
    base = Path(base)
    base_card = read_card(base)
    entry = base_card.get("edit_head")
    if not entry:
        return None
    path = base.parent / str(entry.get("file", ""))
    if not path.is_file():
        raise FileNotFoundError(f"model card {base.with_suffix('.json')} names edit head {path}, which does not exist")
    if sha256_file(path) != entry.get("sha256"):
        raise WeightsError(f"edit head {path}: sha256 differs from the one in {base.with_suffix('.json').name}; "
                           f"the file is corrupted or was replaced without updating the card")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsError(f"edit head {path} cannot be read ({type(err).__name__}: {err})") from None
    if not isinstance(blob, dict) or blob.get("kind") != "edit-head" or "state_dict" not in blob:
        raise WeightsError(f"{path} is not an edit head (write it with models.edit_head.save_edit_head)")
    if blob.get("base_sha256") != base_card.get("sha256"):
        raise WeightsError(f"edit head {path} belongs to other base weights than {base.name}")
    if dict(blob.get("config", {})) != dataclasses.asdict(base_net.config):
        raise WeightsError(f"edit head {path} has another architecture than {base.name}")
    net = copy.deepcopy(base_net)
    state = blob["state_dict"]
    want = {k for k in net.state_dict() if not k.startswith(ENCODER_PREFIX)}
    if set(state) != want:
        missing, extra = sorted(want - set(state)), sorted(set(state) - want)
        raise WeightsError(f"edit head {path}: missing {missing[:3]}, unexpected {extra[:3]}")
    net.load_state_dict(state, strict=False)
    return net.eval()


def export_edit_head(trained: str | Path, base: str | Path, description: str | None = None) -> Path:
    """Export the head of the fine-tune ``trained`` (a ``save_model`` file with its card) as the
    edit head of ``base``; the base card's entry takes ``description`` (default: the
    fine-tune's) and the fine-tune's training record."""
    trained = Path(trained)
    net = load_network(trained)
    card = read_card(trained)
    return save_edit_head(net, base, {"description": description or card.get("description"),
                                      "trained_from": str(trained), "training": card.get("training")})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="export a fine-tune's click head as the edit head of base weights")
    parser.add_argument("trained", help="the fine-tune's weights (NAME.pt with NAME.json), frozen encoder")
    parser.add_argument("--base", required=True, help="the base weights NAME.pt (its card is updated)")
    parser.add_argument("--description", help="what the base card says of the head (default: the fine-tune's)")
    args = parser.parse_args(argv)
    print(export_edit_head(args.trained, args.base, args.description))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
