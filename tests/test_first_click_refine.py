"""The first click's zoomed second pass (LearnedPredictor._refine_first): when it runs and where."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_clickseg import build_model
from napari_clickseg.core.clicks import Click
from napari_clickseg.core.zoom import ZoomConfig


@pytest.fixture
def predictor(monkeypatch):
    """fdrn (random weights) whose head answers 'a small disk at the crop centre'."""
    p = build_model("fdrn", device="cpu", pretrained=False)
    p.trained = True  # no untrained-weights warning: the head is replaced below
    calls = []
    s = p.crop_size
    yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    disk = (((yy - s / 2) ** 2 + (xx - s / 2) ** 2) <= (s / 10) ** 2).float()

    def decode(features, rois, clicks, prev, boxes=None):
        calls.append((rois[0].tolist(), float(prev.max())))
        return (disk * 20 - 10)[None, None]

    monkeypatch.setattr(p.net, "decode", decode)
    p.calls = calls
    return p


def test_small_first_mask_is_predicted_again_zoomed_in(predictor):
    image = np.random.default_rng(0).random((512, 512)).astype(np.float32)
    predictor.zoom = ZoomConfig(min_crop=200, adaptive=False)  # RITM's rule: a 200 px second ROI
    predictor.set_image(image)
    prob = predictor.predict((Click(256, 256, True),))
    assert prob.shape == (512, 512) and 0 <= prob.min() and prob.max() <= 1
    (first, prev1), (second, prev2) = predictor.calls
    assert first == [0, 0, 511, 511] and prev1 == 0.0
    # the second ROI is the Zoom-In ROI of the first mask (a disk of ~100 px): min_crop 200 px
    r0, c0, r1, c1 = second
    assert r1 - r0 + 1 == 200 and c1 - c0 + 1 == 200 and r0 <= 256 <= r1 and c0 <= 256 <= c1
    # the first mask covered pi * (s/10)^2 >= refine_min_px crop pixels: it is the previous map
    assert np.pi * (predictor.crop_size / 10) ** 2 >= predictor.refine_min_px and prev2 > 0.99
    # the result is the zoomed pass's disk: radius s/10 crop pixels of a 200-px ROI
    area = int((prob > 0.5).sum())
    assert abs(area - np.pi * 20**2) < 0.15 * np.pi * 20**2


def test_tiny_first_mask_is_no_guide(predictor):
    predictor.set_image(np.random.default_rng(0).random((512, 512)).astype(np.float32))
    predictor.refine_min_px = 1e9  # every first mask counts as tiny
    predictor.predict((Click(256, 256, True),))
    assert len(predictor.calls) == 2 and predictor.calls[1][1] == 0.0  # zoomed pass from an empty map


def test_no_second_pass_when_off_for_later_clicks_and_boxes(predictor):
    predictor.set_image(np.random.default_rng(0).random((512, 512)).astype(np.float32))
    predictor.refine_first = False
    prob = predictor.predict((Click(256, 256, True),))
    assert len(predictor.calls) == 1
    predictor.refine_first = True
    predictor.calls.clear()
    predictor.predict((Click(256, 256, True), Click(300, 300, False)), prev_prob=prob)
    assert len(predictor.calls) == 1  # a correction click: one head pass
    predictor.calls.clear()
    from napari_clickseg.core.clicks import Box

    predictor.box_passes = 0  # (a box alone's own further passes: test_prompt_constraints.py)
    predictor.predict((), box=Box(200, 200, 300, 300))
    assert len(predictor.calls) == 1  # a box prompt has its own ROI


def test_large_first_mask_is_not_refined(predictor, monkeypatch):
    """A zoomed ROI that would cover most of the slice again: no second pass."""
    predictor.set_image(np.random.default_rng(0).random((40, 40)).astype(np.float32))
    predictor.predict((Click(20, 20, True),))
    assert len(predictor.calls) == 1  # 40-px slice: a min_crop (32 px) ROI is not under half its area
    predictor.calls.clear()
    predictor.zoom = ZoomConfig(min_crop=200, adaptive=False)
    predictor.set_image(np.random.default_rng(0).random((256, 256)).astype(np.float32))
    predictor.predict((Click(128, 128, True),))
    assert len(predictor.calls) == 1  # 256-px slice: a 200-px ROI is not under half its area
