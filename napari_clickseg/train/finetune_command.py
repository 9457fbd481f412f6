"""``clickseg finetune --image VOL --labels LABELS --name NAME``: fine-tune on labelled slices."""

from __future__ import annotations

import argparse
from pathlib import Path


def parse_slices(text: str) -> list[int]:
    """``"3,4,7"`` / ``"3-9"`` / ``"1,4-6"`` -> sorted slice indices."""
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b < a:
                    raise ValueError
                out.update(range(a, b + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise ValueError(f"--slices: cannot read {part!r}; use e.g. 3,4,7 or 3-9") from None
    if not out:
        raise ValueError("--slices is empty; use e.g. 3,4,7 or 3-9")
    return sorted(out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True, type=Path, help="image volume (TIFF stack, NIfTI) or 2D image")
    parser.add_argument("--labels", required=True, type=Path, help="label volume of the same shape (0 = background)")
    parser.add_argument("--slices", default=None, help="labelled slices to learn from, e.g. 3,4,7 or 3-9 (default: all labelled)")
    parser.add_argument("--base", default="fdrn", help="model to start from (registry name or .pt file)")
    parser.add_argument("--name", required=True, help="name of the new model")
    parser.add_argument("--steps", type=int, default=None, help="maximal optimisation steps (default 400)")
    parser.add_argument("--minutes", type=float, default=None, help="time budget in minutes (default 5)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-4)")
    parser.add_argument("--replay", type=float, default=None,
                        help="fraction of each batch drawn from the built-in generator to keep general skills "
                             "(default 0.1; 0 = the labelled slices only)")
    parser.add_argument("--object-roi", type=float, default=None,
                        help="probability of a training view zoomed on the object, as the predictor sees it from "
                             "the second click on (default 0.8; 0 = views of the whole slice only)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..data.readers import read_labels, read_volume
    from .finetune import FinetuneConfig, finetune

    image = read_volume(args.image)
    labels = read_labels(args.labels)
    if labels.ndim == 2:
        labels = labels[None]
    given = {"max_steps": args.steps, "max_minutes": args.minutes, "lr": args.lr, "replay": args.replay,
             "object_roi": args.object_roi}
    cfg = FinetuneConfig(device=args.device, seed=args.seed, **{k: v for k, v in given.items() if v is not None})
    slices = parse_slices(args.slices) if args.slices else None
    bar = tqdm(total=cfg.max_steps, unit="step", dynamic_ncols=True)

    def progress(step: int, total: int, info: dict) -> None:
        bar.update(step - bar.n)
        post = {"loss": f"{info['loss']:.3f}"}
        if "best_noc90" in info:
            post["best_NoC90"] = f"{info['best_noc90']:.2f}"
        bar.set_postfix(post)

    result = finetune(image, labels, slices=slices, base=args.base, name=args.name, config=cfg, progress=progress)
    bar.close()
    ev = result.card.get("evaluation", {})
    tr = result.card.get("training", {})
    if result.improved is False:
        print(f"clickseg finetune: no step beat the base model {args.base!r} on the kept-aside objects "
              f"(validation NoC@90 {ev.get('base_noc90')}); {result.name!r} holds the base weights unchanged "
              f"(try more --steps or --minutes, or label more slices)")
    print(f"clickseg finetune: saved {result.name!r} to {result.weights_path} "
          f"({tr.get('steps')} steps, {tr.get('stopped')}); validation NoC@90 base {ev.get('base_noc90')} -> "
          f"{ev.get('noc90')} on {ev.get('objects')} object(s) of slices {tr.get('val_slices') or tr.get('train_slices')}")
    return 0
