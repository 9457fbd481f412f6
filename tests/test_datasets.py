"""load_objects: folders, file pairs, volumes, samples, selection, real data."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from _shapes import write_mask

from napari_clickseg.data import datasets
from napari_clickseg.data.datasets import ObjectSample, load_objects


def _image(h=40, w=50, seed=0, rgb=True):
    rng = np.random.default_rng(seed)
    shape = (h, w, 3) if rgb else (h, w)
    return rng.integers(0, 255, shape, dtype=np.uint8)


def _write_png(path, arr):
    import imageio.v3 as iio

    iio.imwrite(path, arr)


def _make_folder(root, n_images=3, ids_per_image=(2, 3, 1), binary_last=False):
    """images/ + masks/ with square objects of area 36, one tiny object (area 4) per image."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for k in range(n_images):
        stem = f"im_{k}"
        _write_png(root / "images" / f"{stem}.png", _image(seed=k))
        lab = np.zeros((40, 50), np.uint8)
        for i in range(ids_per_image[k]):
            lab[2 + 10 * i: 8 + 10 * i, 5:11] = i + 1
        lab[35:37, 45:47] = 9  # tiny: below min_area
        if binary_last and k == n_images - 1:
            lab = np.where(lab > 0, 255, 0).astype(np.uint8)
        write_mask(root / "masks" / f"{stem}.png", lab)
    return root


def test_folder_one_object_per_instance(tmp_path):
    root = _make_folder(tmp_path / "ds")
    objs = list(load_objects(root))
    assert [o.name for o in objs] == ["im_0#1", "im_0#2", "im_1#1", "im_1#2", "im_1#3", "im_2#1"]
    o = objs[3]
    assert isinstance(o, ObjectSample)
    assert o.image.shape == (40, 50, 3) and o.gt.shape == (40, 50) and o.gt.dtype == bool
    assert o.gt.sum() == 36 and o.ignore is None
    assert objs[2].image_key == objs[3].image_key != objs[0].image_key
    assert objs[2].image is objs[3].image  # one read per image


def test_min_area_and_semantic(tmp_path):
    root = _make_folder(tmp_path / "ds")
    names = [o.name for o in load_objects(root, min_area=0)]
    assert "im_0#9" in names and len(names) == 9
    sem = list(load_objects(root, semantic=True))
    assert [o.name for o in sem] == ["im_0#1", "im_1#1", "im_2#1"]
    assert sem[1].gt.sum() == 3 * 36 + 4


def test_binary_0_255_mask_is_one_object(tmp_path):
    root = _make_folder(tmp_path / "ds", binary_last=True)
    last = [o for o in load_objects(root) if o.name.startswith("im_2")]
    assert len(last) == 1 and last[0].gt.sum() == 36 + 4


def test_max_objects_is_deterministic_spread_and_loads_each_image_once(tmp_path, monkeypatch):
    root = _make_folder(tmp_path / "ds", n_images=4, ids_per_image=(3, 3, 3, 3))
    calls = []
    real = datasets.read_image
    monkeypatch.setattr(datasets, "read_image", lambda p: calls.append(p) or real(p))
    a = [o.name for o in load_objects(root, max_objects=4, seed=3)]
    assert len(calls) == 4  # each chosen image read once
    b = [o.name for o in load_objects(root, max_objects=4, seed=3)]
    assert a == b
    assert len({n.split("#")[0] for n in a}) == 4  # spread: one per image
    c = [o.name for o in load_objects(root, max_objects=4, seed=4)]
    assert sorted(a) != sorted(c) or a == c  # another seed may differ, never crashes
    assert len(list(load_objects(root, max_objects=100))) == 12
    assert list(load_objects(root, max_objects=0)) == []


def test_names_filter(tmp_path):
    root = _make_folder(tmp_path / "ds")
    assert {o.name.split("#")[0] for o in load_objects(root, names=["im_1", "im_2"])} == {"im_1", "im_2"}
    with pytest.raises(ValueError, match="match no image"):
        load_objects(root, names=["nope"])
    with pytest.warns(UserWarning, match="1 of names"):
        load_objects(root, names=["im_0", "nope"])


def test_tiff_images_matched_by_stem_to_png_masks(tmp_path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    tifffile.imwrite(root / "images" / "t1.tif", _image(rgb=False).astype(np.uint16) * 16)
    lab = np.zeros((40, 50), np.uint16)
    lab[10:20, 10:20] = 700
    write_mask(root / "masks" / "t1.png", lab)
    (o,) = load_objects(root)
    assert o.name == "t1#700" and o.image.dtype == np.uint16


def test_volume_with_labels(tmp_path):
    vol = np.random.default_rng(0).integers(0, 255, (4, 30, 32), dtype=np.uint8)
    lab = np.zeros((4, 30, 32), np.uint8)
    lab[1, 5:15, 5:15] = 1
    lab[1, 20:28, 20:28] = 2
    lab[3, 5:15, 5:15] = 1
    tifffile.imwrite(tmp_path / "vol.tif", vol)
    tifffile.imwrite(tmp_path / "lab.tif", lab)
    objs = list(load_objects(tmp_path / "vol.tif", labels=tmp_path / "lab.tif"))
    assert [o.name for o in objs] == ["vol.tif[z=1]#1", "vol.tif[z=1]#2", "vol.tif[z=3]#1"]
    np.testing.assert_array_equal(objs[2].image, vol[3])
    assert objs[0].image_key == objs[1].image_key != objs[2].image_key
    assert [o.name for o in load_objects(tmp_path / "vol.tif", labels=tmp_path / "lab.tif", semantic=True)] == [
        "vol.tif[z=1]#1", "vol.tif[z=3]#1"]


def test_nifti_volume_with_labels(tmp_path):
    pytest.importorskip("nibabel")
    import nibabel as nib

    vol = np.random.default_rng(0).random((3, 20, 24)).astype(np.float32)
    nib.save(nib.Nifti1Image(np.swapaxes(vol, 0, 2), np.eye(4)), str(tmp_path / "v.nii.gz"))
    lab = np.zeros((3, 20, 24), np.uint8)
    lab[2, 4:12, 4:12] = 1
    write_mask(tmp_path / "l.nii.gz", lab)
    (o,) = load_objects(tmp_path / "v.nii.gz", labels=tmp_path / "l.nii.gz")
    assert o.name == "v.nii.gz[z=2]#1"
    np.testing.assert_allclose(o.image, vol[2])
    assert o.gt.sum() == 64


def test_single_2d_image_with_labels_and_pair_folder(tmp_path):
    img = _image()
    lab = np.zeros((40, 50), np.uint8)
    lab[5:15, 5:15] = 4
    _write_png(tmp_path / "img2d.png", img)
    write_mask(tmp_path / "mask2d.png", lab)
    (o,) = load_objects(tmp_path / "img2d.png", labels=tmp_path / "mask2d.png")
    assert o.name == "img2d#4"
    (p,) = load_objects(tmp_path)  # the folder: imgX + maskX pairs
    assert p.name == "img2d#4"


def test_pair_folder_of_volumes(tmp_path):
    tifffile.imwrite(tmp_path / "p1_image.tif", np.random.default_rng(0).integers(0, 255, (3, 20, 20, 3), dtype=np.uint8))
    lab = np.zeros((3, 20, 20), np.uint8)
    lab[0, 2:10, 2:10] = 1
    tifffile.imwrite(tmp_path / "p1_label.tif", lab)
    (o,) = load_objects(tmp_path)
    assert o.name == "p1_image.tif[z=0]#1" and o.image.shape == (20, 20, 3)


@pytest.mark.parametrize("name", ["sample-microscopy", "sample-mri"])
def test_sample_volumes(name):
    pytest.importorskip("napari_clickseg.data.samples")
    objs = list(load_objects(name, max_objects=5))
    assert 1 <= len(objs) <= 5
    assert all(o.name.startswith(f"{name}[z=") and o.gt.any() for o in objs)
    assert [o.name for o in objs] == [o.name for o in load_objects(name, max_objects=5)]


@pytest.mark.data
@pytest.mark.parametrize(
    "folder",
    ["glas-train", "monuseg-kumar-train", "lgg-mri-train", "lgg-mri-train/volumes", "isbi2012-em",
     "ctc-fluo-n2dh-gowt1", "dsb2018-sample"],
)
@pytest.mark.slow
def test_real_datasets_load(shared_data, folder):
    objs = list(load_objects(shared_data / folder, max_objects=5, seed=0))
    assert len(objs) == 5
    for o in objs:
        assert o.gt.shape == o.image.shape[:2] and o.gt.sum() >= 10
    if folder == "ctc-fluo-n2dh-gowt1":  # partially annotated: only annotated nuclei are objects
        index = {e["name"]: e["n_objects"] for e in json.loads((shared_data / folder / "index.json").read_text())}
        counted = {}
        for o in load_objects(shared_data / folder, min_area=0):
            counted[o.name.split("#")[0]] = counted.get(o.name.split("#")[0], 0) + 1
        assert counted == {k: v for k, v in index.items() if v}
    if folder == "lgg-mri-train":  # 0/255 masks: one tumour object per slice
        assert all(o.name.endswith("#1") for o in objs)


def test_check_datasets_names_what_is_wrong(tmp_path):
    from napari_clickseg.data.real_data import check_datasets

    (tmp_path / "glas-train").mkdir()
    (tmp_path / "glas-train" / "index.json").write_text("{}")
    assert check_datasets(tmp_path, "glas-train,") == ["glas-train"]
    assert check_datasets(tmp_path, ["glas-train"]) == ["glas-train"]
    with pytest.raises(ValueError, match="unknown real dataset 'nope'"):
        check_datasets(tmp_path, "glas-train,nope")
    with pytest.raises(FileNotFoundError, match=r"lgg-mri-train \(with index.json, images/, masks/\) is missing"):
        check_datasets(tmp_path, "lgg-mri-train")
