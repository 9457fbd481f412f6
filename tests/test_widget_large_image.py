"""The annotator on a large multiscale (dask) image layer: windows of the finest level only."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
da = pytest.importorskip("dask.array")
pytestmark = [pytest.mark.gui, pytest.mark.slow]

from _shapes import disk_image, iou  # noqa: E402


def test_a_click_on_a_multiscale_dask_layer_segments_and_commits(viewer):
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
    viewer.add_image([full, np.ascontiguousarray(base[::4, ::4])], name="slide", multiscale=True)
    w = AnnotatorWidget(viewer, model="fdrn")
    w.controls.background_box.setChecked(False)
    assert w.geometry.spatial_shape == (5000, 5000)
    assert isinstance(w.geometry.get_slice(()), SliceView)
    reads.clear()
    w.add_click(2500, 3500)
    assert isinstance(w.session.mask, WindowedMap)
    assert sum(reads) < 25_000_000 // 4  # windows, not the slide (napari's own drawing aside)
    assert w.prompts.preview.data.size < 1024 * 1024  # the object's rectangle, not the slide
    shown = w.prompts.window_preview.shown(gt.shape).to_dense(max_pixels=None)
    assert iou(shown, gt) > 0.85
    label = w.commit()
    assert label is not None and iou(w.target.data == label, gt) > 0.85


@pytest.fixture
def chunked_above_4096(monkeypatch):
    """Targets of slides above 4096x4096 pixels are chunked (the default threshold is higher)."""
    from napari_clickseg.core import chunked_labels

    monkeypatch.setattr(chunked_labels, "CHUNKED_LABELS_MIN_PIXELS", 4096 * 4096)


def _lazy_slide(n=6000):
    """A lazy (dask) n x n uint8 slide with two bright squares, as a two-level pyramid."""
    base = np.zeros((n, n), np.uint8)
    base[3000:3050, 4000:4060] = 220
    base[1000:1040, 1200:1230] = 220
    full = da.from_array(base, chunks=1024)
    return [full, full[::4, ::4]]


def test_a_huge_slide_gets_a_chunked_target_and_a_window_preview(viewer, chunked_above_4096, tmp_path, monkeypatch):
    import tracemalloc

    from _window_oracle import WindowOracle

    from napari_clickseg.core.chunked_labels import ChunkedLabels
    from napari_clickseg.core.window import WindowedMap
    from napari_clickseg.widgets.annotator import AnnotatorWidget
    from napari_clickseg.widgets.large_labels import chunked_of

    monkeypatch.setenv("CLICKSEG_HOME", str(tmp_path / "home"))
    n = 6000
    viewer.add_image(_lazy_slide(n), name="slide", multiscale=True)
    w = AnnotatorWidget(viewer, model="random-walker")
    w.controls.background_box.setChecked(False)
    w.set_predictor(WindowOracle())
    tracemalloc.start()
    try:
        w.add_click(3020, 4030)
        assert isinstance(w.session.mask, WindowedMap) and w.prompts.preview.data.shape == (50, 60)
        assert tuple(w.prompts.preview.translate) == (3000.0, 4000.0)  # the preview sits on the object
        first = w.commit()
        lab = chunked_of(w.target)
        assert isinstance(lab, ChunkedLabels) and w.target.multiscale and lab.shape == (n, n)
        assert first == 1 and int(lab[3020, 4030]) == 1 and lab.bbox(1) == (slice(3000, 3050), slice(4000, 4060))
        assert w.prompts.preview.data.size == 1  # cleared after the commit
        w.add_click(1010, 1210)
        second = w.commit()
        w.objects.refresh()  # (it follows the layer on a timer)
        assert second == 2 and [(s.label_id, s.area) for s in w.objects.stats] == [(1, 3000), (2, 1200)]
        w.undo()  # no click left: the commit of object 2 is undone
        assert int(lab[1010, 1210]) == 0 and lab.ids() == [1]
        w.redo()
        assert int(lab[1010, 1210]) == 2
        assert w.edit(1)  # the object comes back as a windowed mask prompt
        assert isinstance(w.session.mask, WindowedMap) and w.session.mask.bbox() == (3000, 4000, 3049, 4059)
        w.add_click(3020, 4030, False)  # the oracle drops its window: the object is erased
        w.commit()
        assert lab.ids() == [2]
        w.undo()
        assert lab.ids() == [1, 2] and lab.bbox(1) == (slice(3000, 3050), slice(4000, 4060))
        assert w.objects.go_to(1) is None
        assert w.delete_object(2) and lab.ids() == [1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n * n  # no slide-sized array (a dense uint32 target alone would be 4 n^2 bytes)
    assert w.target.editable is False  # napari does not paint multiscale labels (see large_labels)
    # the autosave holds the chunked labels as zarr chunks; restoring gives a chunked target again
    store = w.autosave.store
    assert store is not None and store.labels_zarr_path.is_dir() and not store.labels_path.exists()
    state = store.read()
    assert not isinstance(state.labels, np.ndarray) and int(state.labels[3020, 4030]) == 1
    assert int(state.labels.nchunks_initialized) == 1
    w.autosave.offer = state
    restored = w.restore_autosave()
    assert chunked_of(restored).ids() == [1] and restored is w.target
    # saved as a tiled TIFF chunk by chunk, resumed as a chunked target
    assert w.save(tmp_path / "labels.tif") is not None
    import tifffile

    with tifffile.TiffFile(tmp_path / "labels.tif") as tf:
        assert tf.pages[0].is_tiled and tf.pages[0].shape == (n, n)
    resumed = w.load(tmp_path / "labels.tif")
    assert resumed is w.target and chunked_of(resumed).ids() == [1] and [r.label_id for r in w.records] == [1]


def test_propagation_and_precompute_say_why_not_on_stacks_of_huge_slices(viewer, monkeypatch):
    from napari_clickseg.widgets import volume_tools
    from napari_clickseg.widgets.annotator import AnnotatorWidget

    said: list[str] = []
    monkeypatch.setattr(volume_tools, "show_warning", said.append)
    viewer.add_image(da.zeros((2, 4200, 4200), np.uint8, chunks=(1, 1024, 1024)), name="stack")
    w = AnnotatorWidget(viewer, model="random-walker")
    assert w.geometry.n_lead == 1
    assert w.propagate(+1) is None and w.precompute() is None and not w.busy
    assert "up to 4096x4096 pixels; these slices are 4200x4200" in said[0] and "window by window" in said[1]
