"""Training throughput: the v1 recipe on the old engine against the new engine, in one run.

Runs ``clickseg train``'s ``Trainer`` (validation off) for ``--warmup`` + ``--steps`` steps of
each recipe, each in a fresh subprocess, alternating old/new ``--repeats`` times so both see
the same machine, and prints for each: seconds per step, images per second, samples per second
(training samples = (image, target object) pairs: ``DataMixture.sample`` draws one, and
``clicks.objects_per_image`` draws further objects of the same image), supervised head passes
per second (the (sample, click state) pairs that received a loss), CPU utilisation
(user + system time of the training process and its data workers over wall time) and peak
memory (RSS of the training process plus its largest data worker); then the new/old ratios.

    python benchmarks/bench_train.py                         # ~3-4 minutes on 2 cores
    python benchmarks/bench_train.py --json bench_train.json --steps 40

* old: ``configs/fdrn-cpu.toml`` - how the v1 default model was trained (float32, batches made
  between steps in the training process, one supervised head pass per encoder pass);
* new: ``configs/fdrn-cpu-fast.toml`` - the same data on the new engine (bf16 autocast where
  the CPU has it, a data worker process, two objects per encoded image, two supervised click
  rounds per object).

Nothing is written outside a temporary folder (removed at exit).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def _measure(config: str, steps: int, warmup: int, out: str) -> dict:
    """Train ``warmup + steps`` steps of ``config`` in this process; figures of the last ``steps``."""
    import psutil
    import torch

    from napari_clickseg.train.config import config_from_dict, config_to_dict, load_config
    from napari_clickseg.train.trainer import Trainer

    d = config_to_dict(load_config(config))
    d["validation"]["every"] = 0
    d["run"]["checkpoint_every"] = 10**6
    cfg = config_from_dict(d, where=config)
    trainer = Trainer(cfg, out)
    me = psutil.Process()
    marks: dict[str, tuple[float, float, int]] = {}
    supervised = samples = images = 0

    def cpu_now() -> float:
        t = me.cpu_times()
        total = t.user + t.system
        for child in me.children(recursive=True):
            try:
                ct = child.cpu_times()
                total += ct.user + ct.system
            except psutil.Error:
                pass
        return total

    def progress(step: int, total: int, info: dict) -> None:
        nonlocal supervised, samples, images
        if step == warmup:
            marks["start"] = (time.perf_counter(), cpu_now(), step)
        elif step > warmup:
            supervised += int(info["supervised"])
            images += cfg.optim.batch_size
            samples += cfg.optim.batch_size * cfg.clicks.objects_per_image
            if step == warmup + steps:
                marks["end"] = (time.perf_counter(), cpu_now(), step)

    trainer.run(until_step=warmup + steps, progress=progress)
    (t0, c0, _), (t1, c1, _) = marks["start"], marks["end"]
    wall = t1 - t0
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    rss_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {
        "config": config, "precision": trainer.precision.name, "data_workers": cfg.run.data_workers,
        "supervised_rounds": cfg.clicks.supervised_rounds, "max_iterative": cfg.clicks.max_iterative,
        "objects_per_image": cfg.clicks.objects_per_image,
        "batch_size": cfg.optim.batch_size, "threads": torch.get_num_threads(), "steps": steps,
        "sec_per_step": wall / steps, "images_per_s": images / wall, "samples_per_s": samples / wall, "supervised_per_s": supervised / wall,
        "cpu_utilisation": (c1 - c0) / wall, "peak_rss_mib": rss_self + (rss_child if cfg.run.data_workers else 0.0),
    }


def _run_child(config: str, steps: int, warmup: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        res_file = Path(tmp) / "result.json"
        cmd = [sys.executable, __file__, "--child", config, "--steps", str(steps), "--warmup", str(warmup),
               "--child-out", str(res_file)]
        env = dict(os.environ, CLICKSEG_HOME=str(Path(tmp) / "home"))
        subprocess.run(cmd, check=True, env=env, cwd=tmp)
        return json.loads(res_file.read_text())


def _median_row(rows: list[dict]) -> dict:
    out = dict(rows[0])
    for k in ("sec_per_step", "images_per_s", "samples_per_s", "supervised_per_s", "cpu_utilisation", "peak_rss_mib"):
        out[k] = statistics.median(r[k] for r in rows)
    out["repeats"] = len(rows)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--old", default=str(CONFIGS / "fdrn-cpu.toml"), help="config of the old recipe")
    p.add_argument("--new", default=str(CONFIGS / "fdrn-cpu-fast.toml"), help="config of the new recipe")
    p.add_argument("--steps", type=int, default=30, help="timed steps per run")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first (image caches fill)")
    p.add_argument("--repeats", type=int, default=2, help="old/new pairs (the median is reported)")
    p.add_argument("--json", type=Path, default=None, help="write the figures and ratios here")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        with tempfile.TemporaryDirectory(prefix="bench-train-run-") as out:
            res = _measure(args.child, args.steps, args.warmup, out)
        Path(args.child_out).write_text(json.dumps(res))
        return 0
    if args.steps < 1 or args.warmup < 1 or args.repeats < 1:
        p.error("--steps, --warmup and --repeats must be >= 1")
    rows: dict[str, list[dict]] = {"old": [], "new": []}
    for r in range(args.repeats):
        for name, cfg in (("old", args.old), ("new", args.new)):
            print(f"[{r + 1}/{args.repeats}] {name}: {Path(cfg).name} ...", flush=True)
            rows[name].append(_run_child(cfg, args.steps, args.warmup))
    old, new = _median_row(rows["old"]), _median_row(rows["new"])
    print(f"\n{'recipe':<6} {'config':<20} {'precision':<9} {'workers':>7} {'obj/img':>7} {'rounds':>6} "
          f"{'s/step':>7} {'images/s':>8} {'samples/s':>9} {'superv./s':>9} {'CPU':>5} {'peak MiB':>8}")
    for name, r in (("old", old), ("new", new)):
        print(f"{name:<6} {Path(r['config']).name:<20} {r['precision']:<9} {r['data_workers']:>7} "
              f"{r['objects_per_image']:>7} {r['supervised_rounds']:>6} {r['sec_per_step']:>7.3f} "
              f"{r['images_per_s']:>8.2f} {r['samples_per_s']:>9.2f} {r['supervised_per_s']:>9.2f} "
              f"{r['cpu_utilisation']:>5.2f} {r['peak_rss_mib']:>8.0f}")
    ratios = {
        "ratio_supervised_per_s": new["supervised_per_s"] / old["supervised_per_s"],
        "ratio_samples_per_s": new["samples_per_s"] / old["samples_per_s"],
        "ratio_images_per_s": new["images_per_s"] / old["images_per_s"],
        "ratio_sec_per_step": new["sec_per_step"] / old["sec_per_step"],
    }
    print(f"\nnew/old: supervised head passes per second {ratios['ratio_supervised_per_s']:.2f}x, "
          f"samples per second {ratios['ratio_samples_per_s']:.2f}x, images per second "
          f"{ratios['ratio_images_per_s']:.2f}x, seconds per step "
          f"{ratios['ratio_sec_per_step']:.2f}x ({args.repeats} alternating run(s) each, medians)")
    if args.json:
        args.json.write_text(json.dumps({"old": old, "new": new, **ratios, "runs": rows}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
