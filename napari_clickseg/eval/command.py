"""``clickseg evaluate``: the standard click-simulation evaluation of one model on one dataset.

Writes ``OUT/summary.json``, ``OUT/per_object.csv`` and ``OUT/miou_curve.png`` (see
``eval.report``) and prints a short table. Only light imports at module top, so
``clickseg --help`` stays instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model name (see `clickseg models`)")
    parser.add_argument(
        "--data", required=True,
        help="folder with images/ and masks/, an image volume (with --labels), "
             "or a bundled sample: sample-microscopy, sample-mri; a large tiled (OME-)TIFF or a zarr folder "
             "(with --labels) opens lazily as in 'clickseg annotate' (only the windows the model reads are read)",
    )
    parser.add_argument(
        "--part", choices=["all", "train", "val"], default="all",
        help="for a real dataset folder with index.json (glas-train, lgg-mri-train, ...): evaluate only "
             "its training or its held-out validation part (default all)",
    )
    parser.add_argument("--labels", type=Path,
                        help="label volume for an image volume given as --data")
    parser.add_argument("--objects", type=_positive_int,
                        help="evaluate N objects drawn at random with --seed (default: all)")
    parser.add_argument("--max-clicks", type=_positive_int, default=20,
                        help="clicks per object (default 20)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of object sampling and perturbations (default 0)")
    parser.add_argument("--jitter", type=_non_negative_int, default=0, metavar="A",
                        help="shift every click by integers uniform in [-A, A]^2 (default 0)")
    parser.add_argument("--misleading", type=_non_negative_int, default=0, metavar="K",
                        help="K misleading clicks per object, repetitive or false (default 0)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                        help="where the model runs (default auto: CUDA, then MPS, then CPU)")
    parser.add_argument("--min-area", type=_non_negative_int, metavar="PX",
                        help="skip objects smaller than PX pixels (default: the loader's)")
    parser.add_argument("--threshold", type=float, default=0.49,
                        help="mask = prob > T (default 0.49)")
    parser.add_argument("--weights", type=Path, help="weights file overriding the model's own")
    parser.add_argument("--flip-tta", action="store_true",
                        help="flip test-time augmentation (learned models: the slice and its mirror are "
                             "predicted together and averaged, so every encoder and head pass runs on two views)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if absent)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..core.predictor import flip_name
    from ..data.datasets import load_objects
    from ..models.registry import load_model
    from .report import format_table, write_report
    from .runner import EvalConfig, evaluate

    # fail fast on bad settings, before loading anything
    EvalConfig(args.max_clicks, args.threshold, args.jitter, args.misleading, args.seed)
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} exists and is not a folder; choose a folder")

    load_kwargs = {"labels": args.labels, "max_objects": args.objects, "seed": args.seed}
    if args.min_area is not None:
        load_kwargs["min_area"] = args.min_area
    if args.part != "all":
        load_kwargs.update(_part_kwargs(args.data, args.part))
    objects = load_objects(args.data, **load_kwargs)
    predictor = load_model(args.model, device=args.device, weights=args.weights, flip_tta=args.flip_tta)

    bar = tqdm(total=args.objects, unit="obj", desc=f"evaluate {args.model}",
               disable=args.no_progress)

    def progress(obj) -> None:
        bar.update(1)
        bar.set_postfix(iou=f"{obj.final_iou:.3f}", noc90=obj.noc.get(0.9, "-"))

    try:
        result = evaluate(
            predictor, objects, max_clicks=args.max_clicks, threshold=args.threshold,
            jitter=args.jitter, misleading=args.misleading, seed=args.seed, progress=progress,
            model=flip_name(args.model, args.flip_tta), dataset=_dataset_name(args.data),
        )
    finally:
        bar.close()
    if not result.objects:
        raise ValueError(
            f"--data {args.data}: no objects to evaluate (check the masks and --min-area)"
        )
    summary = write_report(
        result, args.out, device=str(getattr(predictor, "device", args.device)),
        data_path=str(args.data), labels_path=None if args.labels is None else str(args.labels),
    )
    print(format_table(summary))
    print(f"wrote {args.out / 'summary.json'}, per_object.csv, miou_curve.png")
    return 0


def _part_kwargs(data: str, part: str) -> dict:
    """``load_objects`` arguments restricting a known dataset folder to one part of its split."""
    from ..data.real_data import part_selection
    from ..data.splits import DATASETS

    folder = Path(data).resolve()
    if folder.name not in DATASETS or not (folder / "index.json").is_file():
        raise ValueError(
            f"--part {part}: --data {data} is not one of the split datasets ({', '.join(DATASETS)}, "
            f"a folder with index.json); use --part all"
        )
    return part_selection(folder.parent, folder.name, part)


def _dataset_name(data: str) -> str:
    path = Path(data)
    if path.exists():
        return path.resolve().name if path.is_dir() else path.stem
    return str(data)
