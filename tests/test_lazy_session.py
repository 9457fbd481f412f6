"""InteractiveSession on slices that are not in memory (dask, zarr, multiscale lists)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg import Click, build_model, load_model
from napari_clickseg.core.labels import commit_mask
from napari_clickseg.core.lazy_image import lazy_key, open_lazy
from napari_clickseg.core.metrics import iou
from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.core.window import WindowedMap

from _shapes import disk_image

zarr = pytest.importorskip("zarr")
da = pytest.importorskip("dask.array")


def _slide(shape=(6000, 6000), at=(3500, 2000), seed=0):
    """A zarr slide of background noise holding a 1000x1000 disc tile at ``at``; its gt."""
    tile, disk = disk_image(1000, (500, 500), 60, seed=seed)
    z = zarr.create_array(store={}, shape=shape, chunks=(512, 512), dtype="f4")
    rng = np.random.default_rng(seed + 1)
    for r in range(0, shape[0], 1500):  # written in blocks: never one dense slide
        z[r : r + 1500] = (0.15 + rng.normal(0, 0.04, (min(1500, shape[0] - r), shape[1]))).astype(np.float32)
    z[at[0] : at[0] + 1000, at[1] : at[1] + 1000] = tile
    return z, disk, tile


def test_a_small_dask_slice_is_read_and_works_with_any_model():
    img, disk = disk_image(96, (40, 50), 18)
    session = InteractiveSession(build_model("random-walker"), da.from_array(img, chunks=32))
    mask = session.add_click(40, 50)
    assert isinstance(mask, np.ndarray) and iou(mask, disk) > 0.8


def test_a_large_lazy_slice_needs_a_model_that_reads_windows():
    z = zarr.create_array(store={}, shape=(6000, 6000), chunks=(1024, 1024), dtype="u1")
    with pytest.raises(ValueError, match="needs the whole 6000x6000 slice in memory"):
        InteractiveSession(build_model("random-walker"), z)


@pytest.mark.slow
def test_session_on_a_lazy_zarr_slide_keeps_windowed_maps_and_commits_the_box_only():
    z, disk, tile = _slide()
    gt = WindowedMap(z.shape, (3500, 2000), disk, False)
    p = load_model("fdrn", device="cpu")
    p.set_image(tile)
    on_tile = p.predict([Click(500, 500)]) > 0.49
    session = InteractiveSession(p)
    session.set_image(da.from_array(z, chunks=(1024, 1024)), key=lazy_key(z, "fdrn"))
    assert isinstance(session.prob, WindowedMap) and not session.mask.any()
    mask = session.add_click(4000, 2500)
    assert isinstance(mask, WindowedMap) and session.prob.data.size < 1024 * 1024 // 2  # the ROI, not the window
    m = mask.read((3500, 2000, 4499, 2999))
    assert iou(m, disk) >= iou(on_tile, disk) - 0.05
    session.add_click(4000, 2560)
    session.undo()
    assert session.mask.read((3500, 2000, 4499, 2999)).sum() == m.sum()  # undo is exact
    labels = zarr.create_array(store={}, shape=z.shape, chunks=(512, 512), dtype="u4")
    patch = commit_mask(labels, session.mask, (), 5)
    bb = mask.bbox()
    assert patch is not None and patch.before.size == (bb[2] - bb[0] + 1) * (bb[3] - bb[1] + 1)
    assert int((labels[3500:4500, 2000:3000] == 5).sum()) == int(m.sum())
    assert iou(gt.read((3500, 2000, 4499, 2999)), m) == iou(disk, m)


@pytest.mark.slow
def test_a_multiscale_list_uses_its_finest_level():
    z, disk, _ = _slide(shape=(5000, 5000), at=(1000, 1000))
    coarse = da.from_array(z, chunks=1024)[::4, ::4]
    session = InteractiveSession(load_model("fdrn", device="cpu"))
    session.set_image([coarse, z])  # any order: the largest level is the finest
    mask = session.add_click(1500, 1500)
    assert isinstance(mask, WindowedMap) and mask.shape == (5000, 5000)
    assert iou(mask.read((1000, 1000, 1999, 1999)), disk) > 0.85


def test_open_lazy_reads_tiles_of_a_tiled_tiff(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    img = np.random.default_rng(0).integers(0, 255, (700, 900, 3), dtype=np.uint8)
    path = tmp_path / "slide.tif"
    tifffile.imwrite(path, img, tile=(256, 256), photometric="rgb")
    z = open_lazy(path)
    assert tuple(z.shape) == img.shape
    assert np.array_equal(np.asarray(z[300:400, 500:650]), img[300:400, 500:650])
    zarr_dir = tmp_path / "slide.zarr"
    arr = zarr.create_array(store=str(zarr_dir), shape=img.shape, chunks=(256, 256, 3), dtype="u1")
    arr[:] = img
    assert np.array_equal(np.asarray(open_lazy(zarr_dir)[10:20, 30:40]), img[10:20, 30:40])
    with pytest.raises(FileNotFoundError):
        open_lazy(tmp_path / "missing.tif")
