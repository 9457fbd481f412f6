"""Reading images, stacks, NIfTI and label files."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from _shapes import write_mask

from napari_clickseg.data import readers as io


def _write_png(path, arr):
    import imageio.v3 as iio

    iio.imwrite(path, arr)
    return path


@pytest.mark.parametrize("shape", [(20, 30), (20, 30, 3), (20, 30, 4)], ids=["gray", "rgb", "rgba"])
def test_read_png_gray_rgb_rgba(tmp_path, shape):
    arr = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    got = io.read_image(_write_png(tmp_path / "a.png", arr))
    np.testing.assert_array_equal(got, arr)


def test_read_tiff_keeps_dtype_and_moves_channels_last(tmp_path):
    arr = np.random.default_rng(0).integers(0, 4095, (2, 24, 32), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "c.tif", arr)
    got = io.read_image(tmp_path / "c.tif")
    assert got.shape == (24, 32, 2) and got.dtype == np.uint16
    np.testing.assert_array_equal(got[..., 1], arr[1])


def test_read_multichannel_tiff_channels_last(tmp_path):
    arr = np.random.default_rng(0).integers(0, 255, (24, 32, 6), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "m.tif", arr, photometric="minisblack", planarconfig="contig")
    np.testing.assert_array_equal(io.read_image(tmp_path / "m.tif"), arr)


def test_read_image_refuses_a_stack(tmp_path):
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((12, 20, 20), np.uint8))
    with pytest.raises(ValueError, match=r"stack.tif.*12 slices.*read_volume"):
        io.read_image(tmp_path / "stack.tif")


def test_read_volume_tiff_stack_gray_and_rgb(tmp_path):
    vol = np.random.default_rng(1).integers(0, 255, (5, 16, 18), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "v.tif", vol)
    np.testing.assert_array_equal(io.read_volume(tmp_path / "v.tif"), vol)
    rgb = np.random.default_rng(1).integers(0, 255, (5, 16, 18, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb)
    assert io.read_volume(tmp_path / "rgb.tif").shape == (5, 16, 18, 3)


def test_read_volume_of_a_2d_image_is_one_slice(tmp_path):
    arr = np.arange(400, dtype=np.uint8).reshape(20, 20)
    assert io.read_volume(_write_png(tmp_path / "a.png", arr)).shape == (1, 20, 20)


def test_4d_volume_is_refused_with_advice(tmp_path):
    tifffile.imwrite(tmp_path / "t.tif", np.zeros((3, 4, 16, 16), np.uint8))
    with pytest.raises(ValueError, match=r"t.tif.*\(3, 4, 16, 16\).*one 3D volume per file"):
        io.read_volume(tmp_path / "t.tif")


def test_nifti_round_trip_is_z_first(tmp_path):
    pytest.importorskip("nibabel")
    lab = np.zeros((4, 10, 12), np.uint16)  # (Z, H, W)
    lab[2, 3:5, 7:9] = 3
    path = write_mask(tmp_path / "lab.nii.gz", lab)
    got = io.read_labels(path)
    assert got.shape == (4, 10, 12)
    np.testing.assert_array_equal(got, lab)
    import nibabel as nib

    assert nib.load(str(path)).shape == (12, 10, 4)  # stored (x, y, z)


def test_nifti_without_nibabel_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "x.nii").write_bytes(b"\0" * 400)
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "nibabel" or name.startswith("nibabel."):
            raise ImportError("No module named 'nibabel'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"x.nii.*pip install napari-clickseg\[nifti\]"):
        io.read_volume(tmp_path / "x.nii")


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_read_labels_2d_16_bit(tmp_path, suffix):
    lab = np.zeros((30, 40), np.uint16)
    lab[5:10, 5:10] = 1
    lab[20:25, 30:35] = 300  # needs 16 bits
    path = write_mask(tmp_path / "sub" / f"lab{suffix}", lab)
    got = io.read_labels(path, ndim=2)
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, lab)


def test_read_labels_volume_tiff_and_bool(tmp_path):
    vol = np.zeros((3, 8, 9), bool)
    vol[1, 2:4, 2:4] = True
    got = io.read_labels(write_mask(tmp_path / "v.tiff", vol), ndim=3)
    assert got.dtype == np.uint8 and got.sum() == 4


def test_read_labels_rejects_colour_and_fractions(tmp_path):
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[..., 0] = 5
    with pytest.raises(ValueError, match=r"rgb.png.*colour image"):
        io.read_labels(_write_png(tmp_path / "rgb.png", rgb), ndim=2)
    gray3 = np.repeat(np.arange(100, dtype=np.uint8).reshape(10, 10)[..., None], 3, axis=-1)
    np.testing.assert_array_equal(io.read_labels(_write_png(tmp_path / "g3.png", gray3), ndim=2), gray3[..., 0])
    tifffile.imwrite(tmp_path / "frac.tif", np.full((10, 10), 0.5, np.float32))
    with pytest.raises(ValueError, match=r"frac.tif.*non-integer"):
        io.read_labels(tmp_path / "frac.tif")


def test_missing_unreadable_and_unsupported_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothere.png does not exist"):
        io.read_image(tmp_path / "nothere.png")
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match=r"cannot read .*broken.png"):
        io.read_image(tmp_path / "broken.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes.txt.*unsupported ending"):
        io.read_image(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="is a folder"):
        io.read_image(tmp_path)


def test_image_shape_reads_headers(tmp_path):
    _write_png(tmp_path / "a.png", np.zeros((20, 30, 3), np.uint8))
    tifffile.imwrite(tmp_path / "v.tif", np.zeros((4, 20, 30), np.uint16))
    assert io.image_shape(tmp_path / "a.png") == (20, 30, 3)
    assert io.image_shape(tmp_path / "v.tif") == (4, 20, 30)
