"""``clickseg precompute VOLUME --out STORE.zarr``: encode every slice into a zarr feature store.

Only argparse/pathlib at module level (``clickseg --help`` stays instant); the work is in
``eval.precompute``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("volume", type=Path,
                        help="TIFF stack, NIfTI volume, 2D image, or a folder of images (its images/ subfolder if any)")
    parser.add_argument("--out", type=Path, required=True,
                        help="the zarr feature store (created; an existing one is resumed: done slices are skipped)")
    parser.add_argument("--model", default="fdrn", help="model name (see 'clickseg models'); default fdrn")
    parser.add_argument("--weights", default=None,
                        help="explicit weights file (.pt with its .json card; must exist on every worker)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="address of a running Dask scheduler (tcp://HOST:PORT); default: a local cluster")
    parser.add_argument("--workers", type=int, default=1, help="workers of the local cluster (default 1)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="device on the workers")
    parser.add_argument("--flip-tta", action="store_true", help="store flip test-time augmentation features (two views)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import logging

    if not getattr(args, "verbose", False):  # Dask logs every connection at INFO
        try:
            import distributed  # noqa: F401  (configures its loggers on import: quieten them after)
        except ImportError:
            pass  # precompute() names the extra to install
        for name in ("distributed", "dask"):
            logging.getLogger(name).setLevel(logging.WARNING)
    from ..models.registry import list_models
    from .precompute import ModelSpec, precompute

    if args.model not in list_models():
        raise ValueError(f"--model {args.model!r} is unknown; available: {', '.join(list_models())}")
    if args.weights is not None and not Path(args.weights).is_file():
        raise FileNotFoundError(f"--weights {args.weights} does not exist")
    spec = ModelSpec(args.model, weights=None if args.weights is None else str(args.weights),
                     device=args.device, flip_tta=args.flip_tta)
    try:
        report = precompute(args.volume, args.out, spec, scheduler=args.scheduler, workers=args.workers,
                            progress=not args.no_progress)
    except ImportError as err:
        print(f"clickseg precompute: error: {err}", file=sys.stderr)
        return 2
    extra = f", {len(report.unusable)} unusable (constant or non-finite)" if report.unusable else ""
    print(f"{report.store}: {report.encoded} slice(s) encoded, {report.skipped} already stored{extra}, "
          f"of {report.total}")
    return 0
