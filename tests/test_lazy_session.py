"""InteractiveSession on slices that are not in memory (dask, zarr, multiscale lists)."""

from __future__ import annotations

import numpy as np
import pytest
from _shapes import disk_image

from napari_clickseg import Click, build_model, load_model
from napari_clickseg.core.labels import commit_mask
from napari_clickseg.core.lazy_image import lazy_key, open_lazy
from napari_clickseg.core.metrics import iou
from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.core.window import WindowedMap
from napari_clickseg.data.datasets import ObjectSample

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


def test_annotate_opens_large_tiled_tiffs_and_zarr_folders_lazily(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    from napari_clickseg.core.lazy_image import open_pyramid, opens_lazily
    from napari_clickseg.widgets.command import _load_image

    big = np.zeros((4200, 4200), np.uint8)
    big[100:200, 300:400] = 200
    path = tmp_path / "big.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(big, tile=(512, 512), subifds=1)
        tw.write(big[::2, ::2], tile=(512, 512), subfiletype=1)
    small = tmp_path / "small.tif"
    tifffile.imwrite(small, big[:1000, :1000], tile=(256, 256))
    assert opens_lazily(path) and not opens_lazily(small)
    data, rgb, extra = _load_image(path)
    assert extra == {"multiscale": True} and not rgb and [lvl.shape for lvl in data] == [(4200, 4200), (2100, 2100)]
    assert not isinstance(data[0], np.ndarray) and int(np.asarray(data[0][150, 350])) == 200
    arr, _, extra = _load_image(small)
    assert isinstance(arr, np.ndarray) and extra == {}
    group = zarr.open_group(str(tmp_path / "ome.zarr"), mode="w")
    group.create_array("0", shape=(5000, 5000), chunks=(1024, 1024), dtype="u1")
    group.create_array("1", shape=(2500, 2500), chunks=(1024, 1024), dtype="u1")
    assert opens_lazily(tmp_path / "ome.zarr")
    assert [lvl.shape for lvl in open_pyramid(tmp_path / "ome.zarr")] == [(5000, 5000), (2500, 2500)]


@pytest.mark.slow
def test_evaluate_runs_on_a_lazy_slide():
    from napari_clickseg.eval.runner import evaluate

    z, disk, _ = _slide(shape=(5000, 5000), at=(3000, 1000))
    gt = np.zeros(z.shape, bool)
    gt[3000:4000, 1000:2000] = disk
    p = load_model("fdrn", device="cpu")
    result = evaluate(p, [ObjectSample(image=da.from_array(z, chunks=1024), gt=gt, name="disc")],
                      max_clicks=2, warmup=False)
    ious = result.objects[0].ious
    assert len(ious) == 2 and ious[-1] > 0.85
    assert p.windowed_slice is not None and p.windowed_slice.encodes == 1
