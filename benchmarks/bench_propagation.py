"""Does propagation stop where the object ends? 3D Dice, slices over-run and missed, per volume.

For every labelled volume (``*_image.tif`` + ``*_label.tif``) in ``--data`` (default: the whole
LGG patients of ``../shared/data/lgg-mri-train/volumes``) the ground truth of the slice where the
object is largest is taken as the committed start object, and ``core.volume.propagate`` (the
code behind the annotator's *Propagate back/fwd*) runs from it backward and forward with the
default ``PropagationConfig`` (or the rules chosen with the options). Printed per volume:

* ``dice``: 3D Dice of start slice + propagated slices against the whole ground truth;
* ``over -/+``: slices filled beyond the object's first (``-``) and last (``+``) slice;
* ``missed -/+``: object slices left unfilled at each end;
* ``stop -/+``: the slice and rule that ended each direction (``end`` = the volume's end).

    python benchmarks/bench_propagation.py                    # fdrn, default stop rules
    python benchmarks/bench_propagation.py --model random-walker
    python benchmarks/bench_propagation.py --min-contrast none --max-outside none   # the old IoU rule only
    python benchmarks/bench_propagation.py --tumour-runs      # + do the rules stop too early?

``--tumour-runs`` adds a second check on the 2D slices of ``lgg-mri-train`` (55 patients; each
patient's tumour slices form one unbroken run of 3-37 slices): the run is stacked into a volume
holding tumour on *every* slice, and propagation from its largest slice should reach both ends.
Any stop before an end is a premature stop (slices missed); over-run cannot happen there. To
tell a harmful stop from a refused wrong mask, each run is also propagated with every stop rule
off, and the masks the rules refused are compared with the tumour (``refused IoU``).

Exit status 1 when a volume misses the target (Dice >= 0.8, at most one slice over-run at each
end), 2 when no volume is found.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lgg-mri-train" / "volumes"
SLICES = DATA.parent  # lgg-mri-train: images/, masks/, index.json


def _opt_float(text: str) -> float | None:
    return None if text.lower() == "none" else float(text)


def volumes(folder: Path) -> list[tuple[str, Path, Path]]:
    """``(name, image, labels)`` of every ``NAME_image.tif`` with a ``NAME_label.tif`` beside it."""
    found = []
    for img in sorted(folder.glob("*_image.tif")):
        lab = img.with_name(img.name.replace("_image.tif", "_label.tif"))
        if lab.is_file():
            found.append((img.name[: -len("_image.tif")], img, lab))
    return found


def run_volume(image: np.ndarray, truth: np.ndarray, predictor, config) -> dict:
    """Propagate both ways from the largest ground-truth slice; returns the per-volume figures."""
    from napari_clickseg.core.volume import propagate

    areas = truth.reshape(len(truth), -1).sum(1)
    z0 = int(np.argmax(areas))
    present = np.flatnonzero(areas)
    first, last = int(present[0]), int(present[-1])
    pred = np.zeros_like(truth)
    pred[z0] = truth[z0]
    stops: dict[int, str] = {}
    for direction in (-1, +1):
        out = propagate(lambda z: image[z], len(image), predictor, z0, truth[z0], direction, config,
                        on_stop=lambda z, why, d=direction: stops.__setitem__(d, f"{why}@{z}"))
        for z, m in out.items():
            pred[z] = m
        stops.setdefault(direction, "end")
    filled = np.flatnonzero(pred.reshape(len(pred), -1).any(1))
    inter = np.count_nonzero(pred & truth)
    return {
        "slices": len(truth), "object": f"{first}-{last}", "start": z0,
        "dice": 2 * inter / max(1, np.count_nonzero(pred) + np.count_nonzero(truth)),
        "over": (int((filled < first).sum()), int((filled > last).sum())),
        "missed": (int(((present < z0) & ~np.isin(present, filled)).sum()),
                   int(((present > z0) & ~np.isin(present, filled)).sum())),
        "stop": (stops[-1], stops[+1]),
    }


def tumour_runs(folder: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(patient, image run, mask run)`` per patient: its tumour slices stacked in slice order.

    Only unbroken runs of consecutive slice numbers are stacked (a gap splits a patient's run).
    """
    import json
    from itertools import groupby

    from napari_clickseg.data.readers import read_image, read_labels

    index = json.loads((folder / "index.json").read_text())
    by: dict[str, list[tuple[int, str]]] = {}
    for rec in index["slices"]:
        by.setdefault(rec["patient"], []).append((int(rec["slice"]), rec["name"]))
    out = []
    for patient, recs in sorted(by.items()):
        recs.sort()
        for _, grp in groupby(enumerate(recs), key=lambda t: t[1][0] - t[0]):
            names = [name for _, (_, name) in grp]
            if len(names) < 3:
                continue
            img = np.stack([read_image(folder / "images" / f"{n}.png") for n in names])
            lab = np.stack([read_labels(folder / "masks" / f"{n}.png") > 0 for n in names])
            out.append((f"{patient}@{names[0].rsplit('_', 1)[-1]}", img, lab))
    return out


def main(argv: list[str] | None = None) -> int:
    from napari_clickseg.core.volume import PropagationConfig
    from napari_clickseg.data.readers import read_volume
    from napari_clickseg.models.registry import load_model

    default = PropagationConfig()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder of NAME_image.tif + NAME_label.tif volumes")
    ap.add_argument("--model", default="fdrn", help="model name (clickseg models)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--min-iou", type=float, default=default.min_iou)
    ap.add_argument("--min-contrast", type=_opt_float, default=default.min_contrast, help="number or 'none'")
    ap.add_argument("--max-outside", type=_opt_float, default=default.max_outside, help="number or 'none'")
    ap.add_argument("--tumour-runs", action="store_true", help="also check for premature stops on the "
                    "tumour-slice runs of the 2D LGG slices (see above)")
    ap.add_argument("--slices", type=Path, default=SLICES, help="lgg-mri-train folder for --tumour-runs")
    args = ap.parse_args(argv)
    found = volumes(args.data) if args.data.is_dir() else []
    if not found:
        print(f"bench_propagation.py: no NAME_image.tif + NAME_label.tif volumes in {args.data} "
              f"(the LGG volumes of ../shared/data)", file=sys.stderr)
        return 2
    config = replace(default, min_iou=args.min_iou, min_contrast=args.min_contrast, max_outside=args.max_outside)
    predictor = load_model(args.model, device=args.device)
    print(f"model {args.model}; stop rules: min_iou={config.min_iou} min_contrast={config.min_contrast} "
          f"max_outside={config.max_outside} (leak margin {config.leak_margin} px)")
    print(f"{'volume':<24} {'slices':>6} {'object':>7} {'start':>5} {'dice':>6} {'over -/+':>9} "
          f"{'missed -/+':>10}  stop -/+")
    ok = True
    for name, img_path, lab_path in found:
        image, truth = read_volume(img_path), read_volume(lab_path) > 0
        r = run_volume(image, truth, predictor, config)
        ok &= r["dice"] >= 0.8 and max(r["over"]) <= 1
        print(f"{name:<24} {r['slices']:>6} {r['object']:>7} {r['start']:>5} {r['dice']:>6.3f} "
              f"{r['over'][0]:>4}/{r['over'][1]:<4} {r['missed'][0]:>5}/{r['missed'][1]:<4}  "
              f"{r['stop'][0]} / {r['stop'][1]}")
    print("target (dice >= 0.8, over-run <= 1 at each end):", "met on every volume" if ok else "MISSED")
    if args.tumour_runs:
        runs = tumour_runs(args.slices)
        print(f"\ntumour-only runs ({len(runs)}; tumour on every slice: any stop before an end is premature)")
        print(f"{'run':<30} {'slices':>6} {'start':>5} {'dice':>6} {'missed -/+':>10}  stop -/+")
        from napari_clickseg.core.volume import mask_iou, propagate

        no_stop = replace(config, min_iou=0.0, min_area=1, min_contrast=None, max_outside=None)
        missed_runs, missed_slices, total, dices, refused = 0, 0, 0, [], []
        for name, img, lab in runs:
            r = run_volume(img, lab, predictor, config)
            z0 = r["start"]
            for d, n_missed in zip((-1, +1), r["missed"], strict=True):
                if n_missed:  # the masks the rules refused, as propagation without rules makes them
                    free = propagate(lambda z: img[z], len(img), predictor, z0, lab[z0], d, no_stop)
                    ends = sorted(free, key=lambda z: abs(z - z0))[-n_missed:]
                    refused += [mask_iou(free[z], lab[z]) for z in ends]
            total += len(lab) - 1
            missed_slices += sum(r["missed"])
            missed_runs += bool(sum(r["missed"]))
            dices.append(r["dice"])
            print(f"{name:<30} {r['slices']:>6} {r['start']:>5} {r['dice']:>6.3f} {r['missed'][0]:>5}/{r['missed'][1]:<4}  "
                  f"{r['stop'][0]} / {r['stop'][1]}")
        print(f"premature stops: {missed_runs} of {len(runs)} runs, {missed_slices} of {total} slices to fill; "
              f"Dice median {np.median(dices):.3f}, mean {np.mean(dices):.3f}")
        if refused:
            ref = np.asarray(refused)
            print(f"refused masks (propagated without rules) against the tumour: IoU median {np.median(ref):.2f}, "
                  f"{np.mean(ref >= 0.7):.0%} of them >= 0.7")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
