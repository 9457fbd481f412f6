"""Reports of an evaluation run: ``summary.json``, ``per_object.csv`` and ``miou_curve.png``.

``summary.json`` carries the keys of the contract in ``architecture.md`` ("Contracts"):
``model``, ``dataset``, ``objects``, ``noc`` {"85", "90", "95"}, ``nof`` {"85", "90", "95"},
``miou_curve`` (one value per click), ``auc``, ``latency_ms`` {"encode_median", "click_median",
"click_p95"}, ``t_total_ms`` {"1", "5", "20"} (all times in milliseconds), plus extras:
``never_reached`` (objects that never reach the target, unlike NoF which also counts a hit at
the last click), ``miou`` at 1/5/20 clicks, ``boundary_iou`` (mean after the last click), ``first_click``
{"recall", "precision"} (means over the objects of the first mask's recall and precision: how
much of the object it misses, how much it spills),
``images``, ``threshold``, ``max_clicks``, ``jitter``, ``misleading``, ``seed``, ``wall_s`` and
``protocol`` (a one-line description of the click simulator).
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from pathlib import Path
from typing import Any

from .runner import EvalResult, target_key

__all__ = ["summarize", "write_report", "write_per_object_csv", "plot_miou_curve", "format_table", "card_metrics"]

PROTOCOL = (
    "RITM click simulator (1-px padded exact EDT, clicked pixels excluded, ties negative, first "
    "raster maximum), mask = prob > threshold, previous probability fed back, all clicks run"
)


def _num(x: float) -> float | None:
    """JSON-safe float (NaN -> null)."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def mean_or_nan(values: list[float]) -> float:
    """The mean of ``values``; NaN for none (a part with no objects of a kind)."""
    return float(statistics.fmean(values)) if values else float("nan")


def card_metrics(row: dict[str, Any]) -> dict[str, Any]:
    """One part's numbers in the model card's schema, the one ``summarize`` writes.

    Args:
        row: flat training-validation numbers (``objects``, ``noc85``, ``noc90``, ``miou1``,
            ``miou5``, ``auc``; missing keys are left out).

    Returns:
        ``{"objects", "noc": {"85", "90"}, "miou": {"1", "5"}, "auc"}``.
    """
    out: dict[str, Any] = {}
    if "objects" in row:
        out["objects"] = int(row["objects"])
    out["noc"] = {k[3:]: _num(float(v)) for k, v in row.items() if k.startswith("noc")}
    out["miou"] = {k[4:]: _num(float(v)) for k, v in row.items() if k.startswith("miou")}
    if "auc" in row:
        out["auc"] = _num(float(row["auc"]))
    return out


def summarize(result: EvalResult, **extra: Any) -> dict[str, Any]:
    """The ``summary.json`` dictionary of a run (``extra`` keys are added as they are)."""
    cfg = result.config
    curve = [float(v) for v in result.miou_curve]
    lat = result.latency.as_dict()
    summary: dict[str, Any] = {
        "model": result.model,
        "dataset": result.dataset,
        "objects": len(result.objects),
        "noc": {target_key(t): _num(result.noc(t)) for t in cfg.targets},
        "nof": {target_key(t): result.nof(t) for t in cfg.targets},
        "miou_curve": [_num(v) for v in curve],
        "auc": _num(result.auc),
        "latency_ms": {k: _num(v) for k, v in lat["latency_ms"].items()},
        "t_total_ms": {k: _num(v) for k, v in lat["t_total_ms"].items()},
        # extras
        "never_reached": {target_key(t): result.never_reached(t) for t in cfg.targets},
        "miou": {str(k): _num(curve[k - 1]) for k in (1, 5, 20) if k <= len(curve)},
        "boundary_iou": _num(result.boundary_iou_mean),
        "first_click": {"recall": _num(mean_or_nan([o.first_recall for o in result.objects])),
                        "precision": _num(mean_or_nan([o.first_precision for o in result.objects]))},
        "images": result.n_images,
        "threshold": cfg.threshold,
        "max_clicks": cfg.max_clicks,
        "jitter": cfg.jitter,
        "misleading": cfg.misleading,
        "seed": cfg.seed,
        "wall_s": round(result.wall_s, 3),
        "protocol": PROTOCOL,
    }
    summary.update(extra)
    return summary


def write_per_object_csv(result: EvalResult, path: Path) -> Path:
    """One row per object: name, size, NoC per target, final and boundary IoU, recall and
    precision of the first click's mask, IoU after each click, timings."""
    k = result.config.max_clicks
    targets = result.config.targets
    header = (
        ["index", "name", "image_key", "area", "n_clicks"]
        + [f"noc_{target_key(t)}" for t in targets]
        + ["final_iou", "boundary_iou", "first_recall", "first_precision", "encode_ms", "click_ms_median",
           "click_ms_sum"]
        + [f"iou_{i}" for i in range(1, k + 1)]
        + ["clicks"]
    )
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for o in result.objects:
            ious = list(o.ious) + [o.final_iou] * (k - len(o.ious))  # carried forward
            median = statistics.median(o.click_ms) if o.click_ms else 0.0
            clicks = " ".join(f"{'+' if c.is_positive else '-'}{c.row}:{c.col}" for c in o.clicks)
            w.writerow(
                [o.index, o.name, o.image_key, o.area, len(o.clicks)]
                + [o.noc[t] for t in targets]
                + [f"{o.final_iou:.4f}", f"{o.boundary_iou:.4f}", f"{o.first_recall:.4f}",
                   f"{o.first_precision:.4f}", f"{o.encode_ms:.3f}",
                   f"{median:.3f}", f"{sum(o.click_ms):.3f}"]
                + [f"{v:.4f}" for v in ious]
                + [clicks]
            )
    return path


def plot_miou_curve(result: EvalResult, path: Path) -> Path:
    """Plot mIoU against the number of clicks (PNG, matplotlib's Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    curve = result.miou_curve
    ks = list(range(1, len(curve) + 1))
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    try:
        ax.plot(ks, curve, marker="o", markersize=3, label=f"{result.model} (AUC {result.auc:.3f})")
        for t in result.config.targets:
            ax.axhline(t, color="0.8", linewidth=0.8, zorder=0)
        ax.set_xlabel("number of clicks")
        ax.set_ylabel("mIoU")
        ax.set_xlim(1, max(ks[-1], 2))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, 1)
        ax.set_title(f"{result.dataset}: {len(result.objects)} objects", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def write_report(result: EvalResult, out_dir: str | Path, **extra: Any) -> dict[str, Any]:
    """Write ``summary.json``, ``per_object.csv`` and ``miou_curve.png`` into ``out_dir``.

    Returns:
        The summary dictionary.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(result, **extra)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_per_object_csv(result, out / "per_object.csv")
    if result.objects:
        plot_miou_curve(result, out / "miou_curve.png")
    return summary


def format_table(summary: dict[str, Any]) -> str:
    """A short plain-text table of a summary (for the CLI)."""

    def f(x: Any, nd: int = 2) -> str:
        return "n/a" if x is None else f"{x:.{nd}f}"

    curve = summary.get("miou_curve") or []
    lat, tot = summary["latency_ms"], summary["t_total_ms"]
    lines = [
        f"model {summary['model']}  dataset {summary['dataset']}  objects {summary['objects']}",
        "        " + "  ".join(f"@{k:>5}" for k in summary["noc"]),
        "NoC     " + "  ".join(f"{f(v):>6}" for v in summary["noc"].values()),
        "NoF     " + "  ".join(f"{v:>6d}" for v in summary["nof"].values()),
        "mIoU " + "  ".join(f"@{k} {f(curve[k - 1], 3)}" for k in sorted({1, 5, len(curve)})
                            if 0 < k <= len(curve))
        + "  AUC {}  boundary IoU {}".format(f(summary["auc"], 3), f(summary.get("boundary_iou"), 3)),
        "latency ms: encode {}  click median {}  p95 {}".format(
            f(lat["encode_median"]), f(lat["click_median"]), f(lat["click_p95"])
        ),
        "t_total ms: " + "  ".join(f"n={k} {f(v, 1)}" for k, v in tot.items()),
    ]
    return "\n".join(lines)
