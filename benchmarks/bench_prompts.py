"""Prompts mean what users mean: box-only IoU and the clicked-component rule, per validation part.

For every dataset of ``data/splits.py`` (``--datasets``) it takes ``--objects`` fixed objects of
the validation part (``data.real_data.validation_objects``, seed ``--seed``) and measures, for
one learned model:

* ``box``: a box prompt alone, the object's tight bounding box (grown by ``--box-margin`` px on
  every side), no click: mean IoU with the ground truth and mean fraction of the predicted mask
  that lies outside the box, with the box bound (``box_bounds``, the default) and without it;
  ``--box-passes N`` sets the predictor's further passes with its own inside click
  (``box_passes``; 0 = the box's own pass only);
* ``clicks`` (unless ``--no-clicks``): the standard protocol (20 simulated clicks, threshold 0.49)
  with and without ``click_components`` (keep only the mask's components at a positive click):
  NoC@85/90 and mIoU after 1 click.

Writes ``OUT/prompts.json`` and prints one table.

    python benchmarks/bench_prompts.py --objects 5 --out runs/prompts
    python benchmarks/bench_prompts.py --objects 20 --no-clicks --out runs/box20   # box only
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def box_of(gt: np.ndarray, margin: int = 0):
    """The inclusive bounding box of ``gt`` grown by ``margin`` px, clipped to the image."""
    from napari_clickseg.core.clicks import Box

    rows, cols = np.nonzero(gt)
    h, w = gt.shape
    return Box(max(int(rows.min()) - margin, 0), max(int(cols.min()) - margin, 0),
               min(int(rows.max()) + margin, h - 1), min(int(cols.max()) + margin, w - 1))


def box_only(predictor, objects, margin: int, bounds: bool) -> dict[str, float]:
    """Mean IoU of a box prompt alone and mean fraction of the mask outside the box."""
    from napari_clickseg.core.metrics import iou
    from napari_clickseg.core.prompt_constraints import box_mask

    predictor.box_bounds = bounds
    ious, outside = [], []
    key = object()
    for o in objects:
        if o.image_key != key:
            predictor.set_image(o.image)
            key = o.image_key
        box = box_of(o.gt, margin)
        pred = predictor.predict((), box=box) > 0.49
        ious.append(iou(pred, o.gt))
        n = int(pred.sum())
        outside.append(float((pred & ~box_mask(pred.shape, box)).sum()) / n if n else 0.0)
    return {"objects": len(ious), "miou": float(np.mean(ious)), "outside": float(np.mean(outside)),
            "objects_outside_over_2pct": int(sum(f > 0.02 for f in outside))}


def clicks(predictor, objects, dataset: str, components: bool) -> dict[str, float]:
    """Standard protocol with ``click_components`` on or off."""
    from napari_clickseg.eval.runner import evaluate

    predictor.click_components = components
    predictor.box_bounds = True
    res = evaluate(predictor, objects, max_clicks=20, warmup=False, dataset=dataset)
    return {"objects": len(res.objects), "noc85": float(res.noc(0.85)), "noc90": float(res.noc(0.90)),
            "miou1": float(res.miou_curve[0])}


def main(argv: list[str] | None = None) -> int:
    from napari_clickseg.data.real_data import validation_objects
    from napari_clickseg.data.splits import DATASETS
    from napari_clickseg.models.registry import load_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fdrn", help="a learned model of the registry")
    ap.add_argument("--weights", default=None, help="weights file instead of the registry's")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated dataset folder names")
    ap.add_argument("--data", type=Path, default=DATA, help="folder that holds the dataset folders")
    ap.add_argument("--objects", type=int, default=5, help="objects per validation part")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--box-margin", type=int, default=0, help="pixels added to the tight box on every side")
    ap.add_argument("--no-clicks", action="store_true", help="box-only numbers only")
    ap.add_argument("--box-passes", type=int, default=None,
                    help="a box alone's passes with the predictor's own inside click (default: the model's)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    datasets = [d for d in args.datasets.split(",") if d]
    missing = [d for d in datasets if not (args.data / d).is_dir()]
    if missing:
        print(f"bench_prompts.py: {', '.join(missing)} not found in {args.data}", file=sys.stderr)
        return 2
    predictor = load_model(args.model, device=args.device, weights=args.weights)
    if not hasattr(predictor, "click_components"):
        print(f"bench_prompts.py: {args.model} is not a learned model (no prompt rules)", file=sys.stderr)
        return 2
    if args.box_passes is not None:
        predictor.box_passes = args.box_passes
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for d in datasets:
        objs = validation_objects(args.data, d, args.objects, seed=args.seed)
        r = {"box_passes": predictor.box_passes,
             "box_bounded": box_only(predictor, objs, args.box_margin, True),
             "box_unbounded": box_only(predictor, objs, args.box_margin, False)}
        if not args.no_clicks:
            r["clicks_all"] = clicks(predictor, objs, d, False)
            r["clicks_components"] = clicks(predictor, objs, d, True)
        results[d] = r
        (args.out / "prompts.json").write_text(json.dumps(results, indent=1))
        print(d, json.dumps(r), flush=True)

    print(f"\n{args.model}, validation parts, {args.objects} objects each, seed {args.seed}, "
          f"box margin {args.box_margin} px, box passes {predictor.box_passes}")
    head = f"{'dataset':22s} {'box IoU':>8s} {'unbound':>8s} {'outside':>8s}"
    if not args.no_clicks:
        head += f" {'NoC90':>6s} {'NoC90 cc':>8s} {'NoC85':>6s} {'NoC85 cc':>8s} {'IoU@1':>6s} {'IoU@1 cc':>8s}"
    print(head)
    for d, r in results.items():
        b, u = r["box_bounded"], r["box_unbounded"]
        line = f"{d:22s} {b['miou']:8.3f} {u['miou']:8.3f} {u['outside']:8.1%}"
        if not args.no_clicks:
            a, c = r["clicks_all"], r["clicks_components"]
            line += (f" {a['noc90']:6.2f} {c['noc90']:8.2f} {a['noc85']:6.2f} {c['noc85']:8.2f}"
                     f" {a['miou1']:6.3f} {c['miou1']:8.3f}")
        print(line)
    print("box IoU: box alone, bounded (default); unbound: without the bound; outside: mean fraction of "
          "the unbound mask outside the box (the bounded one has none); cc: click_components on")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
