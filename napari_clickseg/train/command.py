"""``clickseg train --config configs/NAME.toml [--out DIR] [--resume]``: train a model."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="TOML training config (see configs/)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: runs/<config name> in the current folder)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or mps (overrides run.device)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop (with a checkpoint) after this many minutes: one chunk of a long run")
    parser.add_argument("--until-step", type=int, default=None, help="stop (with a checkpoint) at this step")
    parser.add_argument("--validate-every", type=int, default=None,
                        help="validate every N steps (overrides validation.every; 0 = never)")
    parser.add_argument("--val-objects", type=int, default=None,
                        help="validation objects per dataset (overrides validation.objects_per_dataset)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads of the training process (overrides run.threads; 1 on a shared machine)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .config import load_config
    from .trainer import Trainer

    cfg = load_config(args.config)
    overrides = {k: getattr(args, k, None) for k in ("validate_every", "threads", "val_objects")}
    if any(v is not None for v in overrides.values()):
        from .config import config_from_dict, config_to_dict

        d = config_to_dict(cfg)
        for key, (section, field) in {"validate_every": ("validation", "every"), "threads": ("run", "threads"),
                                      "val_objects": ("validation", "objects_per_dataset")}.items():
            if overrides[key] is not None:
                d[section][field] = overrides[key]
        cfg = config_from_dict(d, where=f"{args.config} with command-line overrides")
    out = args.out or Path("runs") / Path(args.config).stem
    if (Path(out) / "checkpoint.pt").exists() and not args.resume:
        raise ValueError(f"{out} already holds a checkpoint; pass --resume to continue it or choose another --out")
    trainer = Trainer(cfg, out, device=args.device)
    bar = tqdm(total=cfg.optim.steps, initial=0, unit="step", disable=args.no_progress, dynamic_ncols=True)

    def progress(step: int, total: int, info: dict) -> None:
        if bar.n == 0 and step > 1:
            bar.n = step - 1
        bar.update(step - bar.n)
        bar.set_postfix(loss=f"{info['loss']:.3f}", s_step=f"{info['sec_per_step']:.2f}")

    summary = trainer.run(resume=args.resume, max_minutes=args.max_minutes, until_step=args.until_step,
                          progress=progress)
    bar.close()
    best = "n/a" if summary.best_noc90 is None else f"{summary.best_noc90:.2f}"
    print(f"clickseg train: steps {summary.start_step} -> {summary.step} ({summary.stopped}); "
          f"best validation NoC@90 {best}; output in {summary.out}")
    return 0


if __name__ == "__main__":  # python -m napari_clickseg.train.command (same as clickseg train)
    import sys

    _parser = argparse.ArgumentParser(prog="python -m napari_clickseg.train.command")
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))
