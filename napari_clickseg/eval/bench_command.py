"""``clickseg bench``: encoder and per-click latency of the models (see ``eval/benchmark.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_MODELS = "fdrn,fdrn-csfpn,ritm-like,ritm-like@256,random-walker,graph-cut,geodesic"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default=DEFAULT_MODELS,
                        help="comma-separated model names; NAME@CROP for another crop size, NAME+flip for flip test-time augmentation (default: %(default)s)")
    parser.add_argument("--sizes", default="512,1024", help="slice sides in pixels (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps, auto, or 'all' (cpu + any GPU)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    parser.add_argument("--clicks", type=int, default=20, help="clicks per interaction (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="interactions per model (default: %(default)s)")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per model after which it skips further rounds (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--no-isolate", action="store_true", help="run in this process (peak memory is then shared)")


def _devices(name: str) -> list[str]:
    import torch

    if name == "all":
        out = ["cpu"]
        if torch.cuda.is_available():
            out.append("cuda")
        return out
    if name == "auto":
        from ..models.device import resolve_device

        return [resolve_device("auto").type]
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: CUDA is not available here; use --device cpu or all")
    return [name]


def run(args: argparse.Namespace) -> int:
    import platform

    import torch

    from .benchmark import format_table, run_benchmark, to_json

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--sizes must be comma-separated integers, got {args.sizes!r}") from None
    if not models or not sizes or min(sizes) < 64:
        raise ValueError("--models and --sizes must be non-empty, sizes >= 64")
    if args.clicks < 1 or args.repeats < 1 or args.threads < 1:
        raise ValueError("--clicks, --repeats and --threads must be >= 1")
    from ..core.predictor import parse_model_spec
    from ..models.registry import get_model_info

    specs = {}
    for m in models:
        try:
            specs[m] = parse_model_spec(m)
        except ValueError as err:
            raise ValueError(f"--models: {err}") from None
    # KeyError listing the names for a typo
    infos = {m: get_model_info(s.name) for m, s in specs.items()}
    devices = _devices(args.device)
    from tqdm import tqdm

    bar = tqdm(desc="bench", unit="step")

    def progress(msg: str) -> None:
        bar.set_postfix_str(msg)
        bar.update(1)

    results = run_benchmark(models, sizes, devices, threads=args.threads, n_clicks=args.clicks,
                            repeats=args.repeats, budget_s=args.budget, isolate=not args.no_isolate,
                            progress=progress)
    bar.close()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    trained = [m for m, i in infos.items() if specs[m].crop is None and i.kind != "classical" and i.has_weights]
    note = (f"Shipped trained weights for {', '.join(trained) or 'none'}; the rows marked (random weights) are learned "
            f"models without a weights file, built untrained (timings do not depend on weight values). CPU: {platform.processor() or platform.machine()}, "
            f"{args.threads} torch threads; torch {torch.__version__}" + (f"; GPU: {gpu}" if gpu else "") +
            ". encoder = set_image (normalisation + encoder); t_total(n) = encoder + first n clicks; "
            "ratio = t_total(20) of ritm-like / of the model, same device and size.")
    print(format_table(results, note))
    if args.json is not None:
        meta = {"threads": args.threads, "clicks": args.clicks, "repeats": args.repeats, "torch": torch.__version__,
                "gpu": gpu, "trained_weights": trained, "platform": platform.platform()}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(to_json(results, meta) + "\n")
        print(f"\nwrote {args.json}")
    return 0
