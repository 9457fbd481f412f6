"""How well can a click head that predicts at 1/4 of its crop draw each object at best?

A diagnosis of what limits the learned models' NoC@90 (issue 18: resolution, or something
else). For ``--objects`` fixed objects of each validation part (``data.real_data.validation_objects``,
seed ``--seed``) it takes the ROI the predictor uses (``core.zoom.compute_roi``):

* ``zoomed``: a later click's Zoom-In ROI around the true mask (two clicks at its innermost pixel,
  the ground truth as the previous map);
* ``whole``: the first click's whole-slice ROI;

and resamples the object's signed distance map (positive inside) through the head's path:
ROI-align to the ``--crop`` x ``--crop`` crop (``models.roi.crop_to_roi``), average pooling to
1/``--stride`` of the crop, bilinear upsampling back to the crop and pasting into the slice
(``models.roi.paste_from_roi``), then ``> 0``. The IoU of that mask with the ground truth is the
best a perfect network with this head could reach (a ceiling, not a prediction); ``crop`` is the
same without the 1/``--stride`` step (the crop's own resolution). Prints per part the mean
ceiling IoU and the share of objects whose ceiling stays below IoU 0.9 (they cannot count as
done at NoC@90 whatever the network learns).

    python benchmarks/bench_resolution_ceiling.py --objects 20 --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """HxW float32: distance to the boundary, positive inside ``mask``, negative outside."""
    from scipy import ndimage

    inside = ndimage.distance_transform_edt(mask)
    outside = ndimage.distance_transform_edt(~mask)
    return (inside - outside).astype(np.float32)


def ceiling(gt: np.ndarray, roi, crop: int, stride: int) -> tuple[float, float]:
    """(IoU through the crop alone, IoU through the crop and the 1/stride head) for one ROI."""
    import torch
    import torch.nn.functional as F

    from napari_clickseg.core.metrics import iou
    from napari_clickseg.models.roi import crop_to_roi, paste_from_roi

    sdf = torch.from_numpy(signed_distance(gt))[None, None]
    rois = torch.tensor([list(roi)], dtype=torch.float32)
    c = crop_to_roi(sdf, rois, crop)
    low = F.avg_pool2d(c, stride)
    up = F.interpolate(low, size=(crop, crop), mode="bilinear", align_corners=False)
    base = torch.full_like(sdf, -1.0)
    out = []
    for m in (c, up):
        pasted = paste_from_roi(m, rois, gt.shape, base=base)[0, 0].numpy() > 0
        out.append(float(iou(pasted, gt)))
    return out[0], out[1]


def main(argv: list[str] | None = None) -> int:
    from napari_clickseg.core.clicks import Click
    from napari_clickseg.core.simulate import padded_edt
    from napari_clickseg.core.zoom import compute_roi
    from napari_clickseg.data.real_data import check_datasets, validation_objects
    from napari_clickseg.data.splits import DATASETS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated dataset folder names")
    ap.add_argument("--data", type=Path, default=DATA, help="folder that holds the dataset folders")
    ap.add_argument("--objects", type=int, default=20, help="objects per validation part")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--crop", type=int, default=192, help="the head's crop side (fdrn: 192)")
    ap.add_argument("--stride", type=int, default=4, help="the head's output stride (fdrn: 4)")
    ap.add_argument("--out", type=Path, default=None, help="write the numbers to OUT/ceiling.json")
    args = ap.parse_args(argv)

    try:
        datasets = check_datasets(args.data, args.datasets)
    except (ValueError, FileNotFoundError) as err:
        print(f"bench_resolution_ceiling.py: {err}", file=sys.stderr)
        return 2
    results: dict[str, dict[str, float]] = {}
    for d in datasets:
        rows = []
        for o in validation_objects(args.data, d, args.objects, seed=args.seed):
            gt = np.asarray(o.gt, bool)
            r, c = np.unravel_index(int(np.argmax(padded_edt(gt))), gt.shape)
            inner = Click(int(r), int(c), True)
            zoomed = compute_roi(gt.shape, (inner, inner), gt.astype(np.float32), None)
            whole = compute_roi(gt.shape, (inner,), None, None)
            rows.append((*ceiling(gt, zoomed, args.crop, args.stride), *ceiling(gt, whole, args.crop, args.stride)))
        a = np.asarray(rows)
        results[d] = {"objects": len(a),
                      "zoomed_crop": float(a[:, 0].mean()), "zoomed_head": float(a[:, 1].mean()),
                      "zoomed_head_below_90": float((a[:, 1] < 0.9).mean()),
                      "whole_crop": float(a[:, 2].mean()), "whole_head": float(a[:, 3].mean()),
                      "whole_head_below_90": float((a[:, 3] < 0.9).mean())}
        print(d, json.dumps({k: round(v, 3) for k, v in results[d].items()}), flush=True)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ceiling.json").write_text(json.dumps(results, indent=1))
    print(f"\nceiling IoU through a {args.crop}-px crop and a 1/{args.stride} head, {args.objects} objects a part, "
          f"seed {args.seed}")
    print(f"{'dataset':22s} {'zoomed crop':>11s} {'zoomed head':>11s} {'< 0.9':>6s} {'whole crop':>10s} "
          f"{'whole head':>10s} {'< 0.9':>6s}")
    for d, r in results.items():
        print(f"{d:22s} {r['zoomed_crop']:11.3f} {r['zoomed_head']:11.3f} {r['zoomed_head_below_90']:6.0%} "
              f"{r['whole_crop']:10.3f} {r['whole_head']:10.3f} {r['whole_head_below_90']:6.0%}")
    print("zoomed: a later click's Zoom-In ROI around the true mask; whole: the first click's whole-slice ROI; "
          "< 0.9: share of objects whose head ceiling is below IoU 0.9")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
