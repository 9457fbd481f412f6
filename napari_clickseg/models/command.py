"""``clickseg models``: list every model the registry knows (classical, shipped, user);
``clickseg models --card NAME``: what one model's card says (data, lineage, measured numbers)."""

from __future__ import annotations

import argparse

from .card_summary import summary_lines
from .registry import get_model_info, list_models, user_models_dir
from .weights_io import read_card


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=["classical", "learned", "user"], help="only this kind")
    parser.add_argument("--card", metavar="NAME",
                        help="print what model NAME's card says: data, left-out folders, lineage, numbers")


def _edit_head_note(weights) -> str:
    """``", edit head: FILE"`` when the weights' card names an edit head (``models.edit_head``), else ``""``."""
    try:
        entry = read_card(weights).get("edit_head")
    except (OSError, ValueError):
        return ""
    return f", edit head: {entry.get('file')}" if isinstance(entry, dict) and entry.get("file") else ""


def _print_card(name: str) -> int:
    info = get_model_info(name)  # an unknown name raises KeyError with the known ones
    if not info.has_weights:
        what = "a classical model" if info.kind == "classical" else "a family without a weights file"
        raise ValueError(f"{name} has no model card: it is {what}; cards come with trained weights "
                         f"(clickseg models --kind learned lists them)")
    for line in summary_lines(name, read_card(info.weights)):
        print(line)
    print(f"card: {info.weights.with_suffix('.json')}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.card:
        return _print_card(args.card)
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
