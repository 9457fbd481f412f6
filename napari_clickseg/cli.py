"""The ``clickseg`` console script: one sub-command per job, each in its own module.

Every sub-command module offers ``add_arguments(parser)`` and ``run(args) -> int``; this file
only wires them together, imports them lazily (so ``clickseg --help`` is instant), and turns
expected errors (bad input, missing files) into a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "evaluate": ("napari_clickseg.eval.command", "run the standard click-simulation evaluation"),
    "bench": ("napari_clickseg.eval.bench_command", "measure encoder and per-click latency"),
    "train": ("napari_clickseg.train.command", "train a model from a TOML config"),
    "finetune": ("napari_clickseg.train.finetune_command", "fine-tune a model on labelled slices"),
    "average": ("napari_clickseg.train.average_command", "average the weights of networks trained from one start"),
    "models": ("napari_clickseg.models.command", "list the available models"),
    "precompute": ("napari_clickseg.eval.precompute_command", "encode a volume's slices into a zarr feature store (Dask)"),
    "annotate": ("napari_clickseg.widgets.command", "open napari with the annotator docked"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clickseg",
        description="Click-based interactive segmentation of 2D slices (napari-clickseg).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as err:  # a front end whose optional part is absent
            if err.name is not None and not err.name.startswith("napari_clickseg"):
                p.set_defaults(_missing=str(err))
            else:
                raise
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s: %(message)s"
    )
    if not args.command:
        parser.print_help()
        return 0
    if getattr(args, "_missing", None):
        print(f"clickseg {args.command}: cannot run ({args._missing})", file=sys.stderr)
        return 2
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except (ValueError, OSError, KeyError, TypeError) as err:  # OSError: missing files, no display, ...
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"clickseg {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"clickseg {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
