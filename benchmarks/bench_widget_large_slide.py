"""The annotator widget on a 20000x20000 lazy slide: memory (RSS) of annotating it in napari.

Builds the lazy dask mosaic of ``bench_large_slide.py`` (1000x1000 MoNuSeg tiles read from their
PNG files where needed) as a two-level multiscale image layer (the slide and a 16x coarser level
computed once), docks the annotator with ``fdrn`` and, for each of ``--objects`` nuclei of the
centre tile, clicks it once and commits it; then refreshes the Objects panel, writes the
autosave and saves the labels (a tiled TIFF). Reported: RSS before annotating (viewer, image,
model loaded), the sampled peak RSS while annotating (all of it, the clicks and commits, the
rest), the target layer's type and what its chunked labels store holds.

    xvfb-run -a python benchmarks/bench_widget_large_slide.py            # chunked target (the default above 8192^2)
    xvfb-run -a python benchmarks/bench_widget_large_slide.py --dense    # a numpy target, for comparison
    xvfb-run -a python benchmarks/bench_widget_large_slide.py --side 5000 --objects 1 --min-pixels 16777216  # a test

Memory only (RSS is meaningful under load; no timings are reported). Needs a display (xvfb-run).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_large_slide import DATA, PeakSampler, mosaic, nuclei, peak_rss_process, rss


def store_bytes(labels) -> int:
    """Bytes held by a ChunkedLabels' in-memory zarr store (all levels)."""
    store = labels.levels[0].store
    values = getattr(store, "_store_dict", {}).values()
    return int(sum(len(v.to_bytes()) if hasattr(v, "to_bytes") else len(v) for v in values))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="monuseg-kumar-train folder (images/, masks/)")
    ap.add_argument("--side", type=int, default=20000)
    ap.add_argument("--objects", type=int, default=10)
    ap.add_argument("--dense", action="store_true", help="a numpy target layer (threshold raised above the slide)")
    ap.add_argument("--min-pixels", type=int, default=None,
                    help="chunked targets above this many pixels a slice (default CHUNKED_LABELS_MIN_PIXELS)")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    if not (args.data / "images").is_dir():
        print(f"no data at {args.data} (monuseg-kumar-train with images/ and masks/)", file=sys.stderr)
        return 2
    import os

    home = tempfile.mkdtemp(prefix="clickseg-bench-")
    os.environ["CLICKSEG_HOME"] = home  # autosave and caches away from the user's own
    import napari
    from qtpy.QtWidgets import QApplication
    from scipy import ndimage as ndi

    from napari_clickseg.core import chunked_labels
    from napari_clickseg.widgets.annotator import AnnotatorWidget
    from napari_clickseg.widgets.large_labels import chunked_of

    if args.dense:
        chunked_labels.CHUNKED_LABELS_MIN_PIXELS = args.side * args.side
    elif args.min_pixels is not None:
        chunked_labels.CHUNKED_LABELS_MIN_PIXELS = args.min_pixels
    arr, offset = mosaic(args.data, args.side)
    coarse = np.asarray(arr[::16, ::16].compute())  # the slide's overview level, read once
    viewer = napari.Viewer(title="bench")
    viewer.add_image([arr, coarse], name="slide", multiscale=True, rgb=True)
    w = AnnotatorWidget(viewer, model="fdrn")
    w.controls.background_box.setChecked(False)
    viewer.window.add_dock_widget(w, area="right")
    QApplication.processEvents()
    objects = nuclei(args.data, args.objects)
    before = rss()
    committed = []
    with PeakSampler() as peak:
        with PeakSampler() as peak_clicks:
            for gt in objects:
                dt = ndi.distance_transform_edt(gt)
                r, c = np.unravel_index(int(np.argmax(dt)), dt.shape)
                w.add_click(r + offset[0], c + offset[1])
                QApplication.processEvents()
                committed.append(w.commit())
                QApplication.processEvents()
        with PeakSampler() as peak_after:
            w.objects.refresh()
            w.autosave.save_now()
            saved = w.save(Path(home) / "labels.tif")
            QApplication.processEvents()
    lab = chunked_of(w.target)
    result = {
        "side": args.side, "target": "ChunkedLabels (multiscale)" if lab is not None else "numpy",
        "objects_committed": sum(v is not None for v in committed), "objects_listed": len(w.objects.stats),
        "rss_before_gb": before / 1e9, "peak_rss_sampled_gb": peak.peak / 1e9,
        "peak_added_gb": (peak.peak - before) / 1e9, "peak_rss_process_gb": peak_rss_process() / 1e9,
        "peak_added_clicks_commits_gb": (peak_clicks.peak - before) / 1e9,
        "peak_added_objects_autosave_save_gb": (peak_after.peak - before) / 1e9,
        "saved": saved is not None,
    }
    if lab is not None:
        result.update(stored_chunks=len(lab.stored_chunks()), chunk=list(lab.chunks),
                      levels=[list(lv.shape) for lv in lab.levels], store_mb=store_bytes(lab) / 1e6)
    print(json.dumps(result, indent=1))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1))
    w.close()
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
