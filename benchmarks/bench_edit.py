"""Editing existing masks vs starting from scratch: clicks to IoU 0.9 on the validation parts.

For every real dataset of ``train/splits.py`` and every model, draws ``--objects`` objects of the
dataset's validation part (never seen in training; at most one per image until every image had
one), makes the degraded masks of ``eval/editing.py`` (eroded and dilated by 3 px, 30 % cut off,
merged with the nearest neighbour of at most twice the area) and counts the simulated clicks
(``core.simulate.Clicker``, the evaluation's rule; at most 20) an ``InteractiveSession`` needs to
reach IoU 0.9

* from scratch (no mask), and
* from each degraded mask given as the mask prompt (``session.start_from_mask``: what the
  annotator's edit of an existing object does); 0 clicks when the degraded mask already
  reaches 0.9.

``--curve K`` also records the IoU after each of K clicks per case (the same click rule,
not stopping at the target) and prints their means: where the click count sits at a model's
ceiling (a tumour that never gets much beyond IoU 0.9), the curve still compares the starts.

``--soft-masks`` gives each degraded mask to the model as its soft map
(``InteractiveSession.soft_masks``, ``core.mask_prompt``) instead of the 0/1 mask.

A model with an edit head (``fdrn``: ``models.edit_head``) edits with it; ``--no-edit-head``
switches it off (``predictor.edit_net = None``): its own click head then edits too, as before it
had one.

Writes ``OUT/<dataset>/<model>.json`` (per object and case; an existing file is reused, so an
interrupted run continues) and prints one table: mean clicks from scratch, from each degradation
(and its mean IoU before any click), and from all degraded masks together.

    python benchmarks/bench_edit.py --models fdrn --objects 6 --out runs/edit
    python benchmarks/bench_edit.py --models fdrn,geodesic --objects 4 --datasets glas-train,isbi2012-em --out runs/edit
    python benchmarks/bench_edit.py --models fdrn --objects 8 --datasets lgg-mri-train --soft-masks --out runs/edit-soft
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pick_objects(images, n: int, seed: int, dataset: str) -> list[tuple[int, int]]:
    """(image index, object id) pairs: images in a seeded random order, one object per image per pass."""
    rng = np.random.default_rng([seed, zlib.crc32(dataset.encode())])
    order = rng.permutation(len(images))
    chosen: list[tuple[int, int]] = []
    left = {int(i): None for i in order}
    while len(chosen) < n and left:
        for i in list(left):
            if len(chosen) >= n:
                break
            if left[i] is None:
                _, labels = images.load(i)
                left[i] = [int(v) for v in rng.permutation(images.object_ids(labels))]
            if not left[i]:
                del left[i]
                continue
            chosen.append((i, left[i].pop()))
    return chosen


def run_dataset(model: str, dataset: str, data: Path, n: int, seed: int, target: float, max_clicks: int,
                soft_masks: bool = False, curve: int = 0, edit_head: bool = True) -> dict:
    from napari_clickseg.core.session import InteractiveSession
    from napari_clickseg.data.real_data import RealImageSet
    from napari_clickseg.eval.editing import DEGRADATIONS, clicks_to_target, degrade, iou_curve
    from napari_clickseg.models.registry import load_model

    images = RealImageSet(data, dataset, "val", min_area=100)
    predictor = load_model(model, device="cpu")
    if not edit_head and getattr(predictor, "edit_net", None) is not None:
        predictor.edit_net = None
    session = InteractiveSession(predictor)
    session.soft_masks = soft_masks
    rows = []
    for k, (i, lid) in enumerate(pick_objects(images, n, seed, dataset)):
        image, labels = images.load(i)
        gt = labels == lid
        session.set_image(image, key=images.names[i])
        rng = np.random.default_rng([seed, k])
        row = {"image": images.names[i], "id": lid, "area": int(gt.sum()), "cases": {}}
        starts = {"scratch": None}
        for kind in DEGRADATIONS:
            start = degrade(gt, labels, kind, rng)
            if start is not None:
                starts[kind] = start
        for kind, start in starts.items():
            case = dict(zip(("clicks", "iou0", "iou"), clicks_to_target(session, gt, start, target, max_clicks), strict=True))
            if curve:
                case["curve"] = iou_curve(session, gt, start, curve)
            row["cases"][kind] = case
        rows.append(row)
        print(f"  {dataset} {model} object {k + 1}/{n}: " + ", ".join(
            f"{c} {v['clicks']}" for c, v in row["cases"].items()), flush=True)
    return {"model": model, "dataset": dataset, "objects": rows, "target": target, "max_clicks": max_clicks, "seed": seed,
            "soft_masks": soft_masks, "curve": curve, "edit_head_off": not edit_head,
            "edit_head": bool(getattr(predictor, "edit_head", False))}


def summarize(res: dict) -> dict:
    from napari_clickseg.eval.editing import DEGRADATIONS

    out = {}
    for case in ("scratch",) + DEGRADATIONS:
        vals = [o["cases"][case] for o in res["objects"] if case in o["cases"]]
        out[case] = (float(np.mean([v["clicks"] for v in vals])) if vals else float("nan"),
                     float(np.mean([v["iou0"] for v in vals])) if vals else float("nan"), len(vals))
    edits = [o["cases"][c]["clicks"] for o in res["objects"] for c in DEGRADATIONS if c in o["cases"]]
    out["edit"] = (float(np.mean(edits)) if edits else float("nan"), float("nan"), len(edits))
    return out


def main(argv: list[str] | None = None) -> int:
    from napari_clickseg.data.splits import DATASETS
    from napari_clickseg.eval.editing import DEGRADATIONS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="fdrn", help="comma-separated registry names")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated dataset folder names")
    ap.add_argument("--data", type=Path, default=DATA, help="folder that holds the dataset folders")
    ap.add_argument("--objects", type=int, default=6, help="objects per validation part")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target", type=float, default=0.9, help="IoU to reach")
    ap.add_argument("--max-clicks", type=int, default=20)
    ap.add_argument("--soft-masks", action="store_true", help="degraded masks as the model's soft map, not 0/1")
    ap.add_argument("--curve", type=int, default=0, metavar="K", help="also the mean IoU after each of K clicks")
    ap.add_argument("--no-edit-head", action="store_true", help="edit with the model's own click head, not its edit head")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    models = [m for m in args.models.split(",") if m]
    datasets = [d for d in args.datasets.split(",") if d]
    missing = [d for d in datasets if not (args.data / d).is_dir()]
    if missing:
        print(f"bench_edit.py: {', '.join(missing)} not found in {args.data}", file=sys.stderr)
        return 2
    results = {}
    for d in datasets:
        for m in models:
            path = args.out / d / f"{m}.json"
            if not path.is_file():
                res = run_dataset(m, d, args.data, args.objects, args.seed, args.target, args.max_clicks, args.soft_masks,
                                  args.curve, edit_head=not args.no_edit_head)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(res, indent=1))
            saved = json.loads(path.read_text())
            if bool(saved.get("soft_masks", False)) != args.soft_masks:
                print(f"bench_edit.py: {path} was measured {'with' if saved.get('soft_masks') else 'without'} "
                      f"--soft-masks; use another --out for this run", file=sys.stderr)
                return 2
            if bool(saved.get("edit_head_off", False)) != args.no_edit_head:
                print(f"bench_edit.py: {path} was measured {'without' if saved.get('edit_head_off') else 'with'} "
                      f"the edit head; use another --out for this run", file=sys.stderr)
                return 2
            if args.curve > int(saved.get("curve", 0)):
                print(f"bench_edit.py: {path} holds no IoU curve of {args.curve} clicks; use another --out", file=sys.stderr)
                return 2
            results[(d, m)] = summarize(saved)

    pct = int(round(args.target * 100))
    prompt = "soft maps (--soft-masks)" if args.soft_masks else "0/1 masks"
    if args.no_edit_head:
        prompt += ", edit heads off (--no-edit-head)"
    print(f"\nclicks to IoU {args.target} (mean; at most {args.max_clicks}), {args.objects} objects per validation "
          f"part, seed {args.seed}, degraded masks as {prompt}; in brackets: mean IoU of the degraded mask before any click\n")
    print("| dataset | model | scratch | " + " | ".join(DEGRADATIONS) + " | all edits | edit < scratch |")
    print("|---|---|---|" + "---|" * len(DEGRADATIONS) + "---|---|")
    for d in datasets:
        for m in models:
            s = results[(d, m)]
            cells = [f"{s[c][0]:.2f} ({s[c][1]:.2f})" if s[c][2] else "-" for c in DEGRADATIONS]
            better = "yes" if s["edit"][0] < s["scratch"][0] else "no"
            print(f"| {d} | {m} | {s['scratch'][0]:.2f} | " + " | ".join(cells) + f" | {s['edit'][0]:.2f} | {better} |")
    print(f"\n(NoC@{pct}: 0 = the degraded mask already reached the target)")
    if args.curve:
        print(f"\nmean IoU after k clicks (k = 0..{args.curve})\n")
        for d in datasets:
            for m in models:
                saved = json.loads((args.out / d / f"{m}.json").read_text())
                for case in ("scratch",) + DEGRADATIONS:
                    curves = [o["cases"][case]["curve"] for o in saved["objects"]
                              if case in o["cases"] and "curve" in o["cases"][case]]
                    if curves:
                        print(f"{d} {m} {case:8s} " + " ".join(f"{v:.3f}" for v in np.mean(curves, axis=0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
