"""NIfTI through napari's File > Open / Save path (the manifest's reader and writers)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

nib = pytest.importorskip("nibabel")
pytest.importorskip("napari")


def _save(path, arr_xyz, zooms):
    img = nib.Nifti1Image(arr_xyz, np.diag([*zooms, 1.0]))
    nib.save(img, str(path))
    return path


def test_core_nifti_round_trip_keeps_axis_order_spacing_and_affine(tmp_path):
    from napari_clickseg.core.nifti import read_nifti, write_nifti
    from napari_clickseg.data.readers import read_volume

    xyz = np.random.default_rng(0).integers(0, 1000, (20, 16, 5)).astype(np.int16)  # (x, y, z)
    src = _save(tmp_path / "t1.nii.gz", xyz, (0.5, 0.75, 3.0))
    vol = read_nifti(src)
    assert vol.data.shape == (5, 16, 20) and vol.spacing == (3.0, 0.75, 0.5)
    np.testing.assert_array_equal(vol.data, read_volume(src))  # the same order as the CLI reads
    out = write_nifti(tmp_path / "copy.nii", vol.data, affine=vol.affine)
    back = read_nifti(out)
    np.testing.assert_array_equal(back.data, vol.data)
    np.testing.assert_allclose(back.affine, vol.affine)
    out2 = write_nifti(tmp_path / "scaled.nii.gz", vol.data, spacing=(3.0, 0.75, 0.5))
    assert read_nifti(out2).spacing == (3.0, 0.75, 0.5)
    with pytest.raises(ValueError, match=r"\.nii"):
        write_nifti(tmp_path / "x.tif", vol.data)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_nifti(tmp_path / "missing.nii.gz")
    (tmp_path / "broken.nii.gz").write_bytes(b"not a nifti file")
    with pytest.raises(ValueError, match="broken.nii.gz"):
        read_nifti(tmp_path / "broken.nii.gz")


@pytest.mark.slow
@pytest.mark.gui
def test_file_open_reads_image_and_labels_with_spacing_as_scale(viewer, tmp_path):
    xyz = np.random.default_rng(1).normal(100, 20, (24, 20, 6)).astype(np.float32)
    img_path = _save(tmp_path / "brain.nii.gz", xyz, (0.9, 0.9, 4.0))
    lab = np.zeros((24, 20, 6), np.uint8)
    lab[5:10, 4:9, 2:4] = 1
    lab[15:20, 10:15, 1:3] = 2
    lab_path = _save(tmp_path / "brain_seg.nii.gz", lab, (0.9, 0.9, 4.0))
    (image,) = viewer.open(str(img_path), plugin="napari-clickseg")
    (labels,) = viewer.open(str(lab_path), plugin="napari-clickseg")
    assert image._type_string == "image" and labels._type_string == "labels"
    assert image.data.shape == (6, 20, 24) and labels.data.shape == (6, 20, 24)
    np.testing.assert_allclose(image.scale, (4.0, 0.9, 0.9))
    np.testing.assert_allclose(labels.scale, (4.0, 0.9, 0.9))
    assert set(np.unique(labels.data)) == {0, 1, 2} and image.name == "brain"
    # File > Open (no plugin named) offers this reader beside napari's own; choosing it in napari's
    # reader dialog is the plugin="napari-clickseg" call above
    from napari.errors import MultipleReaderError, ReaderPluginError

    try:
        viewer._open_or_raise_error([str(lab_path)])  # what File > Open calls first
    except MultipleReaderError as err:
        assert "napari-clickseg" in err.available_plugins
    except ReaderPluginError:  # a remembered choice of napari's own reader, which has no NIfTI backend
        pass
    # Save back through the writer contribution: same voxels, same geometry
    import napari

    out = tmp_path / "edited_seg.nii.gz"
    labels.data[0, 0, 0] = 3
    written = napari.save_layers(str(out), [labels], plugin="napari-clickseg")
    assert [str(out)] == [str(p) for p in written]
    stored = nib.load(str(out))
    np.testing.assert_array_equal(np.asarray(stored.dataobj), np.swapaxes(labels.data, 0, 2))
    np.testing.assert_allclose(stored.header.get_zooms()[:3], (0.9, 0.9, 4.0))
    assert napari.save_layers(str(tmp_path / "img_copy.nii.gz"), [image], plugin="napari-clickseg")


def test_looks_like_labels_rules(tmp_path):
    from napari_clickseg.widgets.nifti_io import get_reader, looks_like_labels

    assert get_reader(str(tmp_path / "a.nii.gz")) is not None and get_reader(str(tmp_path / "a.tif")) is None
    ramp = np.arange(4000, dtype=np.int16).reshape(10, 20, 20)
    assert not looks_like_labels("t1.nii.gz", ramp)  # many values: an image
    assert looks_like_labels("t1.nii.gz", ramp % 5)  # few values
    assert looks_like_labels("case_mask.nii.gz", ramp)  # the name says so
    assert not looks_like_labels("case_mask.nii.gz", ramp - 5)  # negative values: never labels
    assert not looks_like_labels("seg.nii", ramp.astype(np.float32) + 0.5)  # non-integral floats


@pytest.mark.slow
def test_npe2_validate_passes():
    res = subprocess.run([sys.executable, "-m", "npe2", "validate", "napari-clickseg", "--imports"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "valid" in res.stdout, res.stdout + res.stderr


def test_clickseg_annotate_loads_nifti_with_its_spacing(tmp_path):
    from napari_clickseg.widgets.command import _load_image

    src = _save(tmp_path / "t2.nii.gz", np.zeros((12, 10, 4), np.int16), (0.5, 0.5, 2.5))
    arr, rgb, extra = _load_image(src)
    assert arr.shape == (4, 10, 12) and not rgb and extra["scale"] == (2.5, 0.5, 0.5)
