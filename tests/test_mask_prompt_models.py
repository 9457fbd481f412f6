"""Every registered model takes a mask prompt (editing an existing object): valid output, and the
classical ones and the shipped fdrn keep the object while a negative click trims it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _shapes import disk_image, iou

from napari_clickseg import InteractiveSession, build_model, list_models, load_model
from napari_clickseg.models.registry import get_model_info


def _session(name: str) -> InteractiveSession:
    kw = {"device": "cpu"} if get_model_info(name).kind == "classical" else {"device": "cpu", "pretrained": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return InteractiveSession(build_model(name, **kw), disk_image()[0])


@pytest.mark.parametrize("name", list_models())
def test_every_model_takes_a_mask_prompt(name):
    s = _session(name)
    _, disk = disk_image()
    assert np.array_equal(s.start_from_mask(disk), disk)
    mask = s.add_click(40, 66, False)  # a negative click inside the edited object, near its edge
    assert mask.shape == disk.shape and mask.dtype == bool
    prob = s.prob
    assert np.isfinite(prob).all() and prob.min() >= 0.0 and prob.max() <= 1.0
    if get_model_info(name).kind == "classical":
        assert not mask[40, 66] and iou(mask, disk) > 0.5, "the object was lost, not corrected"
    assert np.array_equal(s.undo(), disk)


@pytest.mark.slow
def test_shipped_fdrn_corrects_a_dilated_mask():
    from scipy import ndimage

    image, disk = disk_image()
    s = InteractiveSession(load_model("fdrn", device="cpu"), image)
    grown = ndimage.binary_dilation(disk, iterations=3)  # the object dilated by 3 px
    s.start_from_mask(grown)
    before = iou(s.mask, disk)
    s.add_click(40, 50 + 18 + 2, False)  # in the spill, right of the disk
    assert iou(s.mask, disk) > max(before + 0.1, 0.85)
