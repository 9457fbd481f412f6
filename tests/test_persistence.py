"""Save/resume of labels plus prompts (core/persistence.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.persistence import (
    AnnotationFile,
    ObjectRecord,
    load_annotation,
    save_annotation,
    sidecar_path,
)


@pytest.mark.parametrize("suffix", [".tif", ".npy"])
def test_round_trip(tmp_path, suffix):
    lab = np.zeros((3, 20, 30), np.uint32)
    lab[1, 2:5, 3:9] = 1
    lab[2, 10:15, 10:20] = 2
    recs = [
        ObjectRecord(1, (1,), [Click(3, 5, True), Click(9, 9, False)], None, "random-walker"),
        ObjectRecord(2, (2,), [], Box(9, 9, 16, 21), "fdrn", "propagated"),
    ]
    path = tmp_path / f"labels{suffix}"
    side = save_annotation(path, lab, AnnotationFile(recs, {"model": "random-walker", "threshold": 0.49}))
    assert side == sidecar_path(path) == tmp_path / "labels.clickseg.json"
    assert json.loads(side.read_text())["objects"][0]["clicks"] == [[3, 5, True], [9, 9, False]]
    arr, ann = load_annotation(path)
    np.testing.assert_array_equal(arr, lab)
    assert ann.objects == recs and ann.settings["threshold"] == 0.49


def test_errors_and_missing_sidecar(tmp_path):
    with pytest.raises(ValueError, match="must end in"):
        save_annotation(tmp_path / "x.png", np.zeros((4, 4), np.uint8), AnnotationFile())
    with pytest.raises(ValueError, match="integer"):
        save_annotation(tmp_path / "x.tif", np.zeros((4, 4), np.float32), AnnotationFile())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_annotation(tmp_path / "none.tif")
    np.save(tmp_path / "a.npy", np.ones((4, 4), np.uint8))
    arr, ann = load_annotation(tmp_path / "a.npy")
    assert arr.sum() == 16 and ann.objects == []
    (tmp_path / "a.clickseg.json").write_text(json.dumps({"format": "napari-clickseg annotation", "shape": [5, 5]}))
    with pytest.raises(ValueError, match="shape"):
        load_annotation(tmp_path / "a.npy")
    (tmp_path / "a.clickseg.json").write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_annotation(tmp_path / "a.npy")
