"""``clickseg models``: list every model the registry knows (classical, shipped, user)."""

from __future__ import annotations

import argparse

from .registry import get_model_info, list_models, user_models_dir
from .weights_io import read_card


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=["classical", "learned", "user"], help="only this kind")


def _edit_head_note(weights) -> str:
    """``", edit head: FILE"`` when the weights' card names an edit head (``models.edit_head``), else ``""``."""
    try:
        entry = read_card(weights).get("edit_head")
    except (OSError, ValueError):
        return ""
    return f", edit head: {entry.get('file')}" if isinstance(entry, dict) and entry.get("file") else ""


def run(args: argparse.Namespace) -> int:
    names = list_models(args.kind)
    width = max((len(n) for n in names), default=4)
    for name in names:
        info = get_model_info(name)
        if info.kind == "classical":
            state = "no weights needed"
        else:
            state = (f"weights: {info.weights}{_edit_head_note(info.weights)}" if info.has_weights else
                     "no weights file: not loadable, not in the napari menu; clickseg bench builds it untrained")
        print(f"{name:<{width}}  {info.kind:<9}  {info.description}  [{state}]")
    print(f"\nuser models folder: {user_models_dir()}")
    return 0
