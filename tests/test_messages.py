"""Unclear messages found in issue 13 (item 8): each now says what was wrong and what to do."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_clickseg.cli import main
from napari_clickseg.core.image import validate_slice
from napari_clickseg.data.datasets import load_objects
from napari_clickseg.data.readers import read_labels


def test_negative_label_ids_name_the_file(tmp_path):
    lab = np.zeros((3, 20, 20), np.int16)
    lab[1, 5:10, 5:10] = -2
    tifffile.imwrite(tmp_path / "l.tif", lab)
    tifffile.imwrite(tmp_path / "v.tif", np.random.default_rng(0).integers(0, 9, (3, 20, 20), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"label file .*l.tif holds negative values \(down to -2\).*1..N = object ids"):
        read_labels(tmp_path / "l.tif")
    with pytest.raises(ValueError, match=r"l.tif holds negative values"):
        load_objects(tmp_path / "v.tif", labels=tmp_path / "l.tif")


def test_negative_seed(capsys):
    with pytest.raises(ValueError, match=r"seed must be >= 0, got -1"):
        load_objects("sample-mri", seed=-1)
    assert main(["evaluate", "--model", "random-walker", "--data", "sample-mri", "--seed", "-1", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "seed must be >= 0" in err and "default_rng" in err


def test_bench_crop_suffix_must_be_an_integer(capsys):
    assert main(["bench", "--models", "fdrn@abc", "--sizes", "256"]) == 2
    err = capsys.readouterr().err
    assert "'fdrn@abc'" in err and "crop size in pixels" in err and "invalid literal" not in err


def test_ragged_list_image():
    with pytest.raises(ValueError, match=r"image is a ragged sequence.*rectangular array") as err:
        validate_slice([[1, 2, 3], [4, 5]])
    assert "inhomogeneous" not in str(err.value)
