"""``clickseg average``: write the weight average of networks trained from one start (``train.average``)."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("weights", nargs="+", help="two or more NAME.pt files trained from one start")
    parser.add_argument("--out", required=True, help="the averaged NAME.pt to write (its card beside it)")
    parser.add_argument("--mix", default=None,
                        help="comma-separated weight per file, e.g. 0.5,0.5 (default: equal)")


def run(args: argparse.Namespace) -> int:
    from ..models.weights_io import read_card, save_model
    from .average import average_networks

    mix = None
    if args.mix:
        try:
            mix = [float(x) for x in args.mix.split(",")]
        except ValueError:
            raise ValueError(f"--mix must be comma-separated numbers, got {args.mix!r}") from None
    net = average_networks(args.weights, mix)
    mix = mix or [1.0] * len(args.weights)
    total = sum(mix)
    sources = []
    for p, w in zip(args.weights, mix):
        card = read_card(p)  # its sha256 was checked against the file by average_networks' load
        sources.append({"file": str(p), "sha256": card["sha256"], "weight": w / total,
                        "training": card.get("training")})
    card = {
        "description": f"weight average of {len(sources)} networks trained from one start",
        "training": {"averaged_from": sources},
    }
    out = save_model(net, args.out, card)
    log.info("wrote %s (average of %d networks)", out, len(sources))
    return 0
