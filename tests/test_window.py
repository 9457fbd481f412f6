"""core.window / core.lazy_image / models.windowed without a network: grid windows, the windowed
probability map, lazy reads, chunk-wise label commits, and the window logic with a fake model."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.labels import LabelHistory, commit_mask, next_free_id
from napari_clickseg.core.lazy_image import check_lazy_slice, finest_level, is_large, read_window
from napari_clickseg.core.window import Window, WindowedMap, as_windowed, choose_window, grid_start
from napari_clickseg.models.windowed import WindowedSlice


# -- grid windows -----------------------------------------------------------------------------
def test_grid_start_holds_the_interval_and_prefers_the_centred_window():
    for lo, hi in [(0, 10), (500, 520), (980, 1000), (1500, 1900), (9990, 9999)]:
        s = grid_start(lo, hi, 10000, 1024)
        assert s is not None and s <= lo and hi <= s + 1023 and 0 <= s <= 10000 - 1024
    # an interval of at most side // 2 + 1 always fits; centred on 1000 the window at 512 wins
    assert grid_start(995, 1005, 10000, 1024) == 512
    assert grid_start(0, 5, 300, 1024) == 0  # the window is the whole axis
    assert grid_start(0, 1023, 10000, 1024) == 0
    assert grid_start(100, 1200, 10000, 1024) is None  # longer than the window


def test_choose_window_takes_the_smallest_scale_that_holds_the_region():
    shape = (20000, 20000)
    w = choose_window(shape, (9000, 9000, 9040, 9040), 1024)
    assert w.scale == 1 and w.contains((9000, 9000, 9040, 9040)) and w.shape == (1024, 1024)
    w2 = choose_window(shape, (9000, 9000, 9900, 9900), 1024)
    assert w2.scale == 2 and w2.contains((9000, 9000, 9900, 9900)) and w2.shape == (1024, 1024)
    assert (w2.rows, w2.cols) == (2048, 2048)
    # same inputs, same window (predictions stay pure functions of their inputs)
    assert choose_window(shape, (9000, 9000, 9900, 9900), 1024) == w2
    # at the scale where one window covers the slice it is the whole slice
    whole = choose_window((3000, 2000), (0, 0, 2999, 1999), 1024)
    assert whole.covers((3000, 2000)) and whole.scale == 4 and whole.shape == (750, 500)
    # max_scale reached: a window of that scale centred on the region
    capped = choose_window(shape, (0, 0, 19999, 19999), 1024, max_scale=2)
    assert capped.scale == 2 and (capped.rows, capped.cols) == (2048, 2048)


def test_window_maps_points_both_ways_and_knows_its_open_sides():
    w = Window(100, 200, 64, 64, scale=4)
    pts = np.array([[100.0, 200.0], [163.0, 263.0], [130.5, 222.25]])
    assert np.allclose(w.to_native(w.to_window(pts)), pts)
    assert np.allclose(w.to_window(np.array([[101.5, 201.5]])), [[0.0, 0.0]])  # block centre
    assert w.open_sides((1000, 1000)) == (True, True, True, True)
    assert Window(0, 0, 50, 1000).open_sides((1000, 1000)) == (False, False, True, False)


# -- WindowedMap ------------------------------------------------------------------------------
def test_windowed_map_round_trips_a_dense_map_and_trims_to_the_object():
    dense = np.zeros((300, 400), np.float32)
    dense[50:60, 70:90] = 0.8
    dense[55, 95] = 0.0005  # below keep_above: dropped by trimming
    wm = WindowedMap.from_dense(dense, keep_above=1e-3)
    assert wm.offset == (50, 70) and wm.data.shape == (10, 20)
    out = dense.copy()
    out[55, 95] = 0
    assert np.array_equal(wm.to_dense(), out) and np.array_equal(np.asarray(wm), out)
    assert wm.bbox() == (50, 70, 59, 89) and wm.bbox(above=0.9) is None
    mask = wm > 0.49
    assert mask.dtype == bool and mask.count_nonzero() == 200 and not mask.fill
    assert np.isclose(wm.sum(), 0.8 * 200)
    assert np.array_equal(wm.read((45, 65, 54, 74)), out[45:55, 65:75])


def test_windowed_map_rectangles_replace_values_and_grow_the_extent():
    wm = WindowedMap.empty((1000, 1000))
    assert wm.bounds is None and not wm.any() and wm.to_dense().shape == (1000, 1000)
    a = wm.with_rectangle((10, 10), np.full((5, 5), 0.5, np.float32))
    b = a.with_rectangle((12, 100), np.full((3, 4), 0.9, np.float32))
    assert b.bounds == (10, 10, 14, 103)
    assert b.read((10, 10, 10, 10))[0, 0] == np.float32(0.5) and b.read((12, 100, 12, 100))[0, 0] == np.float32(0.9)
    assert b.read((10, 50, 14, 60)).max() == 0
    assert as_windowed(None) is None and as_windowed(b) is b
    with pytest.raises(ValueError, match="does not match"):
        as_windowed(b, (10, 10))


def test_windowed_map_refuses_a_dense_copy_of_a_huge_slice():
    big = WindowedMap((50000, 50000), (100, 100), np.ones((4, 4), np.float32))
    with pytest.raises(MemoryError, match="too large for a dense map"):
        big.to_dense()
    with pytest.raises(ValueError, match="leaves the slice"):
        WindowedMap((10, 10), (8, 8), np.ones((4, 4)))


# -- lazy reads -------------------------------------------------------------------------------
def test_read_window_reads_native_and_block_averaged_rectangles():
    zarr = pytest.importorskip("zarr")
    img = np.arange(300 * 200 * 3, dtype=np.float64).reshape(300, 200, 3) % 251
    z = zarr.create_array(store={}, shape=img.shape, chunks=(64, 64, 3), dtype="f8")
    z[:] = img
    assert check_lazy_slice(z) is z and finest_level([z, z[::2, ::2]]) is z
    w1 = Window(10, 20, 50, 60, 1)
    assert np.array_equal(read_window(z, w1), img[10:60, 20:80])
    w3 = Window(30, 40, 100, 61, 3)  # 61 columns: the last block is partial
    got = read_window(z, w3)
    assert got.shape == (34, 21, 3)
    sub = img[30:130, 40:101]
    assert np.allclose(got[0, 0], sub[:3, :3].reshape(-1, 3).mean(0))
    assert np.allclose(got[-1, -1], sub[99:, 60:].reshape(-1, 3).mean(0))
    assert not is_large(z.shape) and is_large((5000, 5000))
    with pytest.raises(ValueError, match="2D slice"):
        check_lazy_slice(np.zeros((4, 50, 50, 5)))


def test_commit_of_a_windowed_mask_writes_only_its_box_into_zarr_labels():
    zarr = pytest.importorskip("zarr")
    labels = zarr.create_array(store={}, shape=(6000, 6000), chunks=(512, 512), dtype="u4")
    labels[100:110, 100:110] = 3
    m = np.zeros((40, 50), bool)
    m[5:30, 10:45] = True
    wm = WindowedMap((6000, 6000), (4000, 5000), m, False)
    assert next_free_id(labels) == 4
    patch = commit_mask(labels, wm, (), 7)
    assert patch is not None and patch.region == (slice(4005, 4030), slice(5010, 5045))
    assert int((labels[4000:4040, 5000:5050] == 7).sum()) == int(m.sum())
    history = LabelHistory()
    from napari_clickseg.core.labels import Edit

    history.push(Edit([patch], (7,), {}))
    history.undo(labels)
    assert int(np.asarray(labels[4000:4040, 5000:5050]).max()) == 0 and int(labels[105, 105]) == 3


# -- the window logic with a fake model -------------------------------------------------------
class _DiskModel:
    """A fake network: 'segments' the bright pixels connected to the click, in window pixels."""

    def __init__(self) -> None:
        self.encoded: list[tuple[int, int]] = []

    def encode(self, image: np.ndarray) -> np.ndarray:
        self.encoded.append(image.shape[:2])
        return np.asarray(image, np.float32)

    def predict_in(self, feats, shape, clicks, prev, box):
        from scipy import ndimage as ndi

        assert feats.shape[:2] == shape
        lab, _ = ndi.label(feats > 0.5 * feats.max())
        out = np.zeros(shape, np.float32)
        for c in clicks:
            if c.is_positive and lab[c.row, c.col]:
                out[lab == lab[c.row, c.col]] = 1.0
        return out


def _slide(shape, centre, radius):
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    disk = (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius**2
    return disk.astype(np.float32), disk


def test_windowed_slice_encodes_one_native_window_for_a_small_object_and_reuses_it():
    img, disk = _slide((5000, 5000), (2600, 3100), 20)
    model = _DiskModel()
    ws = WindowedSlice(img, 512, model.encode, model.predict_in)
    p1 = ws.predict((Click(2600, 3100, True),), None, None)
    assert ws.last_window.scale == 1 and ws.encodes == 1 and model.encoded == [(512, 512)]
    assert np.array_equal((p1 > 0.49).to_dense(max_pixels=None), disk)
    p2 = ws.predict((Click(2600, 3100, True), Click(2610, 3105, True)), p1, None)
    assert ws.encodes == 1  # still inside the cached window: no new encoding
    assert np.array_equal((p2 > 0.49).to_dense(max_pixels=None), disk)
    assert p2.data.shape == (41, 41)  # the object's rectangle, not the slide


def test_windowed_slice_grows_the_window_when_the_object_touches_its_border():
    img, disk = _slide((6000, 6000), (3000, 3000), 400)  # larger than a 512 window
    model = _DiskModel()
    ws = WindowedSlice(img, 512, model.encode, model.predict_in)
    p = ws.predict((Click(3000, 3000, True),), None, None)
    assert ws.last_window.scale == 2 and ws.encodes == 2
    assert ws.last_window.contains((2600, 2600, 3400, 3400))
    from napari_clickseg.core.metrics import iou

    assert iou((p > 0.49).to_dense(max_pixels=None), disk) > 0.97


def test_windowed_slice_sizes_the_window_from_a_box():
    img, disk = _slide((8000, 8000), (4000, 4000), 300)
    model = _DiskModel()
    ws = WindowedSlice(img, 512, model.encode, model.predict_in, max_windows=1)
    ws.predict((Click(4000, 4000, True),), None, Box(3690, 3690, 4310, 4310))
    assert ws.last_window.scale == 4 and ws.last_window.contains((3690, 3690, 4310, 4310))
    ws.predict((Click(500, 500, True),), None, None)
    assert len(ws.cached_windows) == 1 and ws.cached_windows[0][0] == 1  # bounded LRU
