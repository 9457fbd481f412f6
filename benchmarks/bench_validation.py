"""Accuracy on the held-out validation parts: models side by side, one table.

For every real dataset of ``data/splits.py`` (by default all of ``DATASETS``: the five v1
folders glas-train, monuseg-kumar-train, lgg-mri-train, isbi2012-em, ctc-fluo-n2dh-gowt1, and
the newer ones, including folders a config leaves out of training, e.g. ctc-fluo-n2dh-sim and
ph2-dermoscopy for ``configs/fdrn-v2.toml``) and every model, runs the standard protocol (``clickseg
evaluate --part val``: 20 simulated clicks, threshold 0.49) on the same ``--objects`` objects of
the dataset's validation part (never seen in training), writes ``OUT/<dataset>/<model>/``
(``summary.json``, ``per_object.csv``, ``miou_curve.png``) and prints NoC@85/90/95, mIoU after 1
and 5 clicks, and the ratio of each model's NoC@90 to the reference model's.

A result already in ``OUT`` is reused (delete its folder to re-run it), so an interrupted run
continues where it stopped.

    python benchmarks/bench_validation.py --out runs/validation                     # fdrn vs random-walker
    python benchmarks/bench_validation.py --models fdrn,graph-cut --objects 10 --out runs/val10
    python benchmarks/bench_validation.py --out runs/validation --card napari_clickseg/models/weights/fdrn.json
    python benchmarks/bench_validation.py --out runs/validation --objects-for isbi2012-em=5   # slow RW on ISBI
    python benchmarks/bench_validation.py --datasets ctc-fluo-n2dh-sim,ph2-dermoscopy --out runs/val-left-out
    python benchmarks/bench_validation.py --models fdrn+flip,fdrn,random-walker --out runs/validation

A model written ``NAME+flip`` is evaluated with flip test-time augmentation (``--flip-tta``);
``NAME=FILE.pt`` is model NAME with the weights FILE.pt (``--weights``: e.g. a training run's
``best.pt`` against the shipped file).

A second table gives the boundary IoU after the last click (Cheng et al. 2021) and NoC@90 and
boundary IoU on the *small* objects of each part: those whose area is below the median of the
part's evaluated objects (the same objects for every model). A third says how the first click's
mask errs: its mean recall (how much of the object it covers) and precision (how much of it lies
on the object), and how many objects it cuts short or spills past.

    python benchmarks/bench_validation.py --models fdrn-v2=runs/fdrn-v2-refine/best.pt,fdrn-v2 --out runs/val-refine

``--card`` records the first model's numbers in its model card (``evaluation.validation_parts``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import statistics
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def run_one(model: str, data: Path, out: Path, objects: int, seed: int) -> dict:
    """``clickseg evaluate --model MODEL --data DATA --part val --objects N --out OUT``
    (``--flip-tta`` for a model written ``NAME+flip``, ``--weights FILE`` for ``NAME=FILE``);
    the summary gets ``per_object`` (area, NoC@90, boundary IoU, first-click recall and precision
    of each object; the last two NaN in a run written before they were recorded)."""
    summary = out / "summary.json"
    if not summary.is_file():
        from napari_clickseg.cli import main as clickseg
        from napari_clickseg.core.predictor import split_flip

        model, _, weights = model.partition("=")
        name, flip = split_flip(model)
        print(f"evaluating {model} on {data.name} ...", flush=True)
        with contextlib.redirect_stdout(io.StringIO()):  # the per-run table is in summary.json
            rc = clickseg(["evaluate", "--model", name, "--data", str(data), "--part", "val",
                           "--objects", str(objects), "--seed", str(seed), "--out", str(out), "--no-progress"]
                          + (["--flip-tta"] if flip else []) + (["--weights", weights] if weights else []))
        if rc != 0:
            raise RuntimeError(f"clickseg evaluate failed for {model} on {data} (exit {rc})")
    result = json.loads(summary.read_text())
    with open(out / "per_object.csv", newline="") as fh:
        result["per_object"] = [{"area": float(r["area"]), "noc90": float(r["noc_90"]),
                                 "boundary_iou": float(r["boundary_iou"]),
                                 "first_recall": float(r.get("first_recall", "nan")),
                                 "first_precision": float(r.get("first_precision", "nan"))}
                                for r in csv.DictReader(fh)]
    return result


def small_objects(rows: list[dict]) -> list[dict]:
    """The objects whose area is below the median area of ``rows``."""
    if not rows:
        return []
    median = statistics.median(r["area"] for r in rows)
    return [r for r in rows if r["area"] < median]


def _folder(model: str) -> str:
    """Output folder name of a model spec (``NAME=runs/x/best.pt`` -> ``NAME=runs_x_best``)."""
    name, _, weights = model.partition("=")
    return name if not weights else name + "=" + "_".join(Path(weights).with_suffix("").parts[-3:])


def main(argv: list[str] | None = None) -> int:
    from napari_clickseg.data.real_data import check_datasets
    from napari_clickseg.data.splits import DATASETS
    from napari_clickseg.eval.report import mean_or_nan

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="fdrn,random-walker", help="comma-separated; the last is the reference")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated dataset folder names")
    ap.add_argument("--data", type=Path, default=DATA, help="folder that holds the dataset folders")
    ap.add_argument("--objects", type=int, default=20, help="objects per validation part")
    ap.add_argument("--objects-for", action="append", default=[], metavar="DATASET=N",
                    help="a different object count for one dataset (repeatable), e.g. isbi2012-em=5")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--card", type=Path, default=None, help="model card to record the first model's numbers in")
    args = ap.parse_args(argv)

    models = [m for m in args.models.split(",") if m]
    try:
        datasets = check_datasets(args.data, args.datasets)
    except (ValueError, FileNotFoundError) as err:
        print(f"bench_validation.py: {err}", file=sys.stderr)
        return 2
    counts = {d: args.objects for d in datasets}
    for item in args.objects_for:
        name, _, n = item.partition("=")
        if name not in counts or not n.isdigit():
            print(f"bench_validation.py: --objects-for {item!r}: expected DATASET=N with DATASET one of "
                  f"{', '.join(datasets)}", file=sys.stderr)
            return 2
        counts[name] = int(n)
    ref = models[-1]
    results: dict[str, dict[str, dict]] = {}
    for d in datasets:
        sub = "" if counts[d] == args.objects else f"-{counts[d]}"
        for m in models:
            results.setdefault(d, {})[m] = run_one(m, args.data / d, args.out / f"{d}{sub}" / _folder(m), counts[d],
                                              args.seed)

    print(f"validation parts (data/splits.py), {args.objects} objects each (unless the row says), seed {args.seed}, "
          f"20 clicks, threshold 0.49; ratio = NoC@90 of {ref} / of the model\n")
    print("| dataset | model | objects | NoC@85 | NoC@90 | NoC@95 | mIoU@1 | mIoU@5 | AUC | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for d in datasets:
        for m in models:
            s = results[d][m]
            ratio = results[d][ref]["noc"]["90"] / max(s["noc"]["90"], 1e-9)
            print(f"| {d} | {m} | {s['objects']} | {s['noc']['85']:.2f} | {s['noc']['90']:.2f} | "
                  f"{s['noc']['95']:.2f} | {s['miou']['1']:.3f} | {s['miou']['5']:.3f} | {s['auc']:.3f} | {ratio:.2f} |")
    print("\n| dataset | model | boundary IoU | small objects | small NoC@90 | small boundary IoU |")
    print("|---|---|---|---|---|---|")
    for d in datasets:
        for m in models:
            rows = results[d][m]["per_object"]
            small = small_objects(rows)
            print(f"| {d} | {m} | {mean_or_nan([r['boundary_iou'] for r in rows]):.3f} | {len(small)} | "
                  f"{mean_or_nan([r['noc90'] for r in small]):.2f} | {mean_or_nan([r['boundary_iou'] for r in small]):.3f} |")
    print("\n| dataset | model | first click: mean recall | mean precision | objects it cuts short (recall < 0.8, "
          "precision >= 0.9) | objects it spills past (precision < 0.8) |")
    print("|---|---|---|---|---|---|")
    for d in datasets:
        for m in models:
            rows = results[d][m]["per_object"]
            rec, prec = [r["first_recall"] for r in rows], [r["first_precision"] for r in rows]
            if any(v != v for v in rec + prec):  # NaN: a run from before these were recorded
                print(f"| {d} | {m} | - | - | - | - |")
                continue
            short = sum(1 for r, p in zip(rec, prec) if r < 0.8 and p >= 0.9)
            spill = sum(1 for p in prec if p < 0.8)
            print(f"| {d} | {m} | {mean_or_nan(rec):.3f} | {mean_or_nan(prec):.3f} | {short} | {spill} |")
    if args.card is not None:
        card = json.loads(args.card.read_text())
        card.setdefault("evaluation", {})["validation_parts"] = {
            "protocol": f"benchmarks/bench_validation.py: clickseg evaluate --part val --objects {args.objects} "
                        f"--seed {args.seed} (20 clicks, threshold 0.49); objects per dataset below",
            **{d: {k: results[d][models[0]][k] for k in ("objects", "noc", "miou", "auc", "boundary_iou")}
               for d in datasets},
            "reference": {d: {"model": ref, "noc": results[d][ref]["noc"], "miou": results[d][ref]["miou"]}
                          for d in datasets},
        }
        args.card.write_text(json.dumps(card, indent=2) + "\n")
        print(f"\nrecorded in {args.card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
