"""Does one click select the object it is on, or every object that looks like it?

For ``--objects`` fixed objects of each validation part (``data.real_data.validation_objects``,
seed ``--seed``) it pastes a copy of the object's image patch (its bounding box grown by a
quarter of its size on every side) beside it, where the copy does not overlap the original's
patch, and clicks the original once at its innermost pixel. Per part and model: mean IoU of the
mask with the original, and ``leak``: the mean share of the copy's object the mask also covers
(0 = the click selected its object only, 1 = it took the copy whole as well); ``--components``
adds each model with ``click_components`` on (``NAME+cc``). Objects whose
patch has no room for a copy in the slice are skipped (counted in ``objects``).

    python benchmarks/bench_distractors.py --models fdrn,fdrn-v2 --objects 20 --seed 0 --out runs/distract-s0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def with_copy(image: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(image with a copy of the object's patch beside it, the copy's HxW bool mask), or None.

    The patch is the object's bounding box grown by a quarter of its size on every side
    (clipped to the slice); the copy goes right, left, below or above it, the first that fits
    without overlapping the patch.
    """
    rows, cols = np.nonzero(gt)
    h, w = gt.shape
    r0, r1, c0, c1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    mr, mc = max((r1 - r0) // 4, 2), max((c1 - c0) // 4, 2)
    r0, r1, c0, c1 = max(r0 - mr, 0), min(r1 + mr, h), max(c0 - mc, 0), min(c1 + mc, w)
    ph, pw = r1 - r0, c1 - c0
    for dr, dc in ((0, pw), (0, -pw), (ph, 0), (-ph, 0)):
        if 0 <= r0 + dr and r1 + dr <= h and 0 <= c0 + dc and c1 + dc <= w:
            out = np.array(image, copy=True)
            out[r0 + dr : r1 + dr, c0 + dc : c1 + dc] = image[r0:r1, c0:c1]
            copy = np.zeros_like(gt)
            copy[r0 + dr : r1 + dr, c0 + dc : c1 + dc] = gt[r0:r1, c0:c1]
            return out, copy
    return None


def main(argv: list[str] | None = None) -> int:
    from napari_clickseg import load_model
    from napari_clickseg.core.clicks import Click
    from napari_clickseg.core.metrics import iou
    from napari_clickseg.core.simulate import padded_edt
    from napari_clickseg.data.real_data import check_datasets, validation_objects
    from napari_clickseg.data.splits import DATASETS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="fdrn,fdrn-v2", help="comma-separated registry names")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated dataset folder names")
    ap.add_argument("--data", type=Path, default=DATA, help="folder that holds the dataset folders")
    ap.add_argument("--objects", type=int, default=20, help="objects per validation part")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--components", action="store_true",
                    help="also each model with click_components on (column NAME+cc)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    try:
        datasets = check_datasets(args.data, args.datasets)
    except (ValueError, FileNotFoundError) as err:
        print(f"bench_distractors.py: {err}", file=sys.stderr)
        return 2
    models = {m: load_model(m, device=args.device) for m in args.models.split(",") if m}
    if args.components:
        for m in list(models):
            models[f"{m}+cc"] = load_model(m, device=args.device)
            models[f"{m}+cc"].click_components = True
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for d in datasets:
        rows: dict[str, list[tuple[float, float]]] = {m: [] for m in models}
        n = 0
        for o in validation_objects(args.data, d, args.objects, seed=args.seed):
            n += 1
            gt = np.asarray(o.gt, bool)
            made = with_copy(np.asarray(o.image), gt)
            if made is None:
                continue
            image, copy = made
            r, c = np.unravel_index(int(np.argmax(padded_edt(gt))), gt.shape)
            click = (Click(int(r), int(c), True),)
            for m, p in models.items():
                p.set_image(image)
                mask = p.predict(click) > 0.49
                rows[m].append((float(iou(mask, gt)), float((mask & copy).sum()) / max(int(copy.sum()), 1)))
        results[d] = {m: {"objects": n, "used": len(v), "iou": float(np.mean([a for a, _ in v])) if v else float("nan"),
                          "leak": float(np.mean([b for _, b in v])) if v else float("nan")} for m, v in rows.items()}
        (args.out / "distractors.json").write_text(json.dumps(results, indent=1))
        print(d, json.dumps(results[d]), flush=True)
    print(f"\none click at the innermost pixel of an object with a copy of it beside it, {args.objects} objects a part, "
          f"seed {args.seed}: IoU with the object / leak (share of the copy also in the mask)")
    print(f"{'dataset':22s} {'used':>5s} " + " ".join(f"{m:>17s}" for m in models))
    for d, r in results.items():
        used = next(iter(r.values()))["used"]
        print(f"{d:22s} {used:5d} " + " ".join(f"{r[m]['iou']:8.3f} {r[m]['leak']:8.3f}" for m in models))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
