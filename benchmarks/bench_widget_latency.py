"""Click-to-labels-updated latency of the annotator widget in a headless napari viewer.

Measures, on a 512x512 slice, the wall time from a click (a point added to the positive/negative
Points layer, exactly what a mouse click does) until the preview Labels layer holds the new mask
and Qt has processed the resulting events (``processEvents``), the part of it spent outside the model's
``predict`` (widget overhead: layer events, session bookkeeping, preview write and refresh), and
the time of a commit into the target Labels layer. The first click on a slice (which encodes it) is reported separately;
it runs with a fresh, empty disk feature cache unless ``--keep-cache``.

Run (needs a display; Xvfb here)::

    OMP_NUM_THREADS=2 xvfb-run -a python benchmarks/bench_widget_latency.py [--clicks 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def _image(size: int = 512, seed: int = 0) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    rng = np.random.default_rng(seed)
    rr, cc = np.ogrid[:size, :size]
    img = rng.normal(0.2, 0.04, (size, size)).astype(np.float32)
    discs = []
    for _ in range(12):
        r, c, rad = int(rng.integers(60, size - 60)), int(rng.integers(60, size - 60)), int(rng.integers(15, 40))
        img[(rr - r) ** 2 + (cc - c) ** 2 <= rad**2] += 0.6
        discs.append((r, c, rad))
    return img, discs


def bench(model: str, n_clicks: int, size: int = 512) -> dict:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_clickseg.models.registry import build_model
    from napari_clickseg.widgets.annotator import AnnotatorWidget

    viewer = napari.Viewer(show=False)
    img, discs = _image(size)
    viewer.add_image(img, name="img")
    w = AnnotatorWidget(viewer, model="random-walker")
    w.controls.background_box.setChecked(False)  # synchronous: the click returns when the labels are updated
    viewer.window.add_dock_widget(w)
    trained = True
    if model != "random-walker":
        from napari_clickseg.models.registry import get_model_info

        trained = get_model_info(model).has_weights  # shipped weights when there are some
        pred = build_model(model, device="cpu", pretrained=trained)
        w.set_predictor(pred, lambda: build_model(model, device="cpu", pretrained=trained))
    app = QApplication.instance()
    rng = np.random.default_rng(1)
    predictor = w.session.predictor
    inner = predictor.predict
    spent = [0.0]

    def timed_predict(*a, **kw):
        t0 = time.perf_counter()
        try:
            return inner(*a, **kw)
        finally:
            spent[0] += time.perf_counter() - t0

    predictor.predict = timed_predict  # instance attribute: measures model time inside a click
    overhead: list[float] = []

    def click(r: int, c: int, pos: bool) -> float:
        spent[0] = 0.0
        t = time.perf_counter()
        w.add_click(r, c, pos)
        app.processEvents()
        total = (time.perf_counter() - t) * 1e3
        overhead.append(total - spent[0] * 1e3)
        return total

    r, c, _ = discs[0]
    first = click(r, c, True)  # encodes the slice
    times, commits = [], []
    k = 0
    while len(times) < n_clicks:
        r, c, rad = discs[k % len(discs)]
        if k:
            times.append(click(r, c, True))
        for _ in range(3):  # correction clicks around the object
            a = rng.uniform(0, 2 * np.pi)
            d = rad * rng.uniform(0.3, 1.6)
            rr, cc = int(np.clip(r + d * np.sin(a), 0, size - 1)), int(np.clip(c + d * np.cos(a), 0, size - 1))
            times.append(click(rr, cc, d < rad))
        t = time.perf_counter()
        w.commit()
        app.processEvents()
        commits.append((time.perf_counter() - t) * 1e3)
        k += 1
    viewer.close()
    t = np.asarray(times[:n_clicks])
    return {
        "model": model, "trained": trained, "slice": f"{size}x{size}", "clicks": int(t.size),
        "first_click_ms": round(first, 1), "click_median_ms": round(float(np.median(t)), 1),
        "click_p95_ms": round(float(np.percentile(t, 95)), 1),
        "commit_median_ms": round(float(np.median(commits)), 1),
        "widget_overhead_median_ms": round(float(np.median(overhead[1:])), 1),
        "threads": os.environ.get("OMP_NUM_THREADS", "?"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=30)
    parser.add_argument("--models", nargs="+", default=["random-walker", "fdrn"])
    parser.add_argument("--json", default=None)
    parser.add_argument("--keep-cache", action="store_true",
                        help="use the per-user disk feature cache (default: a fresh, empty one, so the "
                             "first click really encodes the slice)")
    args = parser.parse_args()
    if not args.keep_cache:  # an earlier run's cached features would make the first click a disk read
        import atexit
        import shutil
        import tempfile

        os.environ["CLICKSEG_HOME"] = home = tempfile.mkdtemp(prefix="clickseg-bench-widget-")
        atexit.register(shutil.rmtree, home, ignore_errors=True)
    rows = []
    for m in args.models:
        try:
            rows.append(bench(m, args.clicks))
        except Exception as err:  # noqa: BLE001 - report and go on with the next model
            rows.append({"model": m, "error": f"{type(err).__name__}: {err}"})
    head = f"{'model':<16}{'weights':<10}{'slice':<10}{'n':>4}{'first ms':>10}{'median ms':>11}{'p95 ms':>9}{'commit ms':>11}{'widget ms':>11}"
    print(head)
    for r in rows:
        if "error" in r:
            print(f"{r['model']:<16}error: {r['error']}")
            continue
        print(f"{r['model']:<16}{'trained' if r['trained'] else 'random':<10}{r['slice']:<10}{r['clicks']:>4}"
              f"{r['first_click_ms']:>10}{r['click_median_ms']:>11}{r['click_p95_ms']:>9}{r['commit_median_ms']:>11}{r['widget_overhead_median_ms']:>11}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
