"""Does fine-tuning on a few labelled slices help on the next slices? Base vs fine-tuned, one run.

Fine-tunes the base model (default: the shipped ``fdrn``) on ``--slices`` labelled slices of one
LGG MRI volume (the Python API behind ``clickseg finetune`` and the widget, as a user would), then
evaluates the base and the fine-tuned model with the standard protocol (20 simulated clicks,
threshold 0.49) on two sets, and prints the rows side by side:

* the other labelled slices of the *same* volume (the slices a user labels next), and
* every labelled slice of the *other* volume (another patient).

Both volumes belong to the held-out validation part of ``lgg-mri-train`` (``data/splits.py``),
so the shipped model never trained on them.

    python benchmarks/bench_finetune.py                      # 10 slices, 5-minute budget
    python benchmarks/bench_finetune.py --minutes 2 --slices 6
    python benchmarks/bench_finetune.py --steps 40 --no-eval --engine old   # step time of the old engine

The fine-tuned model is saved in a temporary per-user model folder (``$CLICKSEG_HOME`` is set
to it, removed at exit), never in the user's own.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lgg-mri-train" / "volumes"
TRAIN_VOLUME = "TCGA_DU_6401_19831001"
TEST_VOLUME = "TCGA_CS_4941_19960909"


def spread(indices: list[int], n: int) -> list[int]:
    """``n`` indices spread evenly over ``indices`` (all of them when there are fewer)."""
    if n >= len(indices):
        return list(indices)
    pick = np.linspace(0, len(indices) - 1, n).round().astype(int)
    return [indices[i] for i in pick]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder with the LGG *_image.tif / *_label.tif volumes")
    ap.add_argument("--train", default=TRAIN_VOLUME, help="volume to fine-tune on")
    ap.add_argument("--test", default=TEST_VOLUME, help="volume to evaluate on")
    ap.add_argument("--slices", type=int, default=10, help="labelled slices to fine-tune on (spread evenly)")
    ap.add_argument("--base", default="fdrn", help="base model: a registry name or a .pt weights file")
    ap.add_argument("--minutes", type=float, default=5.0, help="fine-tuning time budget")
    ap.add_argument("--steps", type=int, default=300, help="fine-tuning step budget")
    ap.add_argument("--replay", type=float, default=None, help="fraction of generator samples per batch "
                    "(default: FinetuneConfig's)")
    ap.add_argument("--lr", type=float, default=None, help="learning rate (default: FinetuneConfig's)")
    ap.add_argument("--object-roi", type=float, default=None, help="probability of object-relative training "
                    "ROIs (default: FinetuneConfig's)")
    ap.add_argument("--engine", choices=("new", "old"), default="new",
                    help="training engine: new (FinetuneConfig's defaults: bf16 where the CPU has it, a data "
                         "worker, 2 objects per image, 2 supervised rounds) or old (float32, no worker, "
                         "1 object, 1 supervised round after 0-3 no-gradient rounds), to compare step times")
    ap.add_argument("--no-eval", action="store_true", help="fine-tune and report step times only")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args(argv)

    paths = {k: (args.data / f"{v}_image.tif", args.data / f"{v}_label.tif")
             for k, v in (("train", args.train), ("test", args.test))}
    for img, lab in paths.values():
        if not img.is_file() or not lab.is_file():
            print(f"bench_finetune.py: {img} or {lab} is missing (the LGG volumes of ../shared/data)", file=sys.stderr)
            return 2

    os.environ["CLICKSEG_HOME"] = home = tempfile.mkdtemp(prefix="clickseg-bench-ft-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)  # the fine-tuned model goes with it
    import torch

    from napari_clickseg.core.labels import labelled_slices
    from napari_clickseg.data.datasets import load_objects
    from napari_clickseg.data.readers import read_labels, read_volume
    from napari_clickseg.eval.runner import evaluate
    from napari_clickseg.models.registry import load_model
    from napari_clickseg.models.weights_io import read_card
    from napari_clickseg.train.finetune import FinetuneConfig, finetune

    torch.set_num_threads(args.threads)
    image, labels = read_volume(paths["train"][0]), read_labels(paths["train"][1], ndim=3)
    slices = spread(labelled_slices(labels), args.slices)
    t0 = time.perf_counter()
    extra = {k: v for k, v in (("replay", args.replay), ("lr", args.lr), ("object_roi", args.object_roi))
             if v is not None}
    if args.engine == "old":
        extra.update(precision="float32", data_workers=0, supervised_rounds=1, objects_per_image=1, max_iterative=3)
    step_s: list[float] = []
    result = finetune(image, labels, slices=slices, base=args.base, name="bench-finetuned",
                      config=FinetuneConfig(max_steps=args.steps, max_minutes=args.minutes, device=args.device, **extra),
                      progress=lambda step, total, info: step_s.append(info["sec_per_step"]))
    ft_s = time.perf_counter() - t0
    history = " ".join(f"{h['step']}:{h['noc90']:.2f}" for h in result.history)
    tr = result.card["training"]
    cf = tr["config"]
    steady = step_s[5:] or step_s
    print(f"engine {args.engine}: precision {tr['precision']}, data workers {cf['data_workers']}, "
          f"{cf['objects_per_image']} object(s) per image, {cf['supervised_rounds']} supervised round(s); "
          f"median {np.median(steady):.3f} s a step over steps 6..{len(step_s)} (validation excluded), "
          f"{cf['batch_size'] * cf['objects_per_image'] * cf['supervised_rounds'] / np.median(steady):.1f} "
          f"supervised head passes a second")
    if args.no_eval:
        return 0

    def predictor(name: str):
        if name.endswith(".pt"):  # a weights file: its card names the family
            return load_model(read_card(name)["family"], device=args.device, weights=name)
        return load_model(name, device=args.device)

    train_image = paths["train"][0].name
    others = [z for z in labelled_slices(labels) if z not in slices]
    sets = {
        f"{args.train}, its other {len(others)} labelled slices": (
            paths["train"], [f"{train_image}[z={z}]" for z in others]),
        f"{args.test} (other patient), every labelled slice": (paths["test"], None),
    }
    rows = []
    for set_name, ((img_path, lab_path), names) in sets.items():
        if names == []:
            continue
        for name in (args.base, result.name):
            objects = load_objects(img_path, labels=lab_path, semantic=True, names=names)
            res = evaluate(predictor(name), objects, max_clicks=20, model=name, dataset=set_name)
            curve = res.miou_curve
            rows.append((set_name, name, len(res.objects), res.noc(0.85), res.noc(0.9), res.noc(0.95),
                         curve[0], curve[4], res.auc))

    print(f"fine-tuned {args.base} on {len(slices)} slices {slices} of {args.train} in {ft_s:.0f} s "
          f"({tr.get('steps', '?')} steps, kept step {tr.get('best_step', '?')}, replay "
          f"{tr['config']['replay']}, object ROIs {tr['config']['object_roi']}, "
          f"lr {tr['config']['lr']:g}; validation NoC@90 by step: {history})")
    print("evaluated with 20 simulated clicks, threshold 0.49\n")
    print("| evaluated on | model | objects | NoC@85 | NoC@90 | NoC@95 | mIoU@1 | mIoU@5 | AUC |")
    print("|---|---|---|---|---|---|---|---|---|")
    for set_name, name, n, n85, n90, n95, m1, m5, auc in rows:
        print(f"| {set_name} | {name} | {n} | {n85:.2f} | {n90:.2f} | {n95:.2f} | {m1:.3f} | {m5:.3f} | {auc:.3f} |")
    print()
    for i in range(0, len(rows), 2):
        b, f = rows[i], rows[i + 1]
        print(f"{b[0]}: NoC@90 base / fine-tuned {b[4]:.2f} / {f[4]:.2f}, NoC@85 {b[3]:.2f} / {f[3]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
