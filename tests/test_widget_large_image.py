"""The annotator on a large multiscale (dask) image layer: windows of the finest level only."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
da = pytest.importorskip("dask.array")
pytestmark = [pytest.mark.gui, pytest.mark.slow]

from _shapes import disk_image, iou  # noqa: E402


def test_a_click_on_a_multiscale_dask_layer_segments_and_commits(make_napari_viewer):
    from napari_clickseg.core.lazy_image import SliceView
    from napari_clickseg.core.window import WindowedMap
    from napari_clickseg.widgets.annotator import AnnotatorWidget

    tile, disk = disk_image(1000, (500, 500), 60, seed=2)
    base = (0.15 + np.random.default_rng(1).normal(0, 0.04, (5000, 5000))).astype(np.float32)
    base[2000:3000, 3000:4000] = tile
    full = da.from_array(base, chunks=1024)
    reads: list[int] = []
    full = full.map_blocks(lambda b: reads.append(b.size) or b, dtype=full.dtype)
    gt = np.zeros(base.shape, bool)
    gt[2000:3000, 3000:4000] = disk
    viewer = make_napari_viewer()
    viewer.add_image([full, np.ascontiguousarray(base[::4, ::4])], name="slide", multiscale=True)
    w = AnnotatorWidget(viewer, model="fdrn")
    w.controls.background_box.setChecked(False)
    assert w.geometry.spatial_shape == (5000, 5000)
    assert isinstance(w.geometry.get_slice(()), SliceView)
    reads.clear()
    w.add_click(2500, 3500)
    assert isinstance(w.session.mask, WindowedMap)
    assert sum(reads) < 25_000_000 // 4  # windows, not the slide (napari's own drawing aside)
    shown = w.prompts.preview.data > 0
    assert iou(shown, gt) > 0.85
    label = w.commit()
    assert label is not None and iou(w.target.data == label, gt) > 0.85
