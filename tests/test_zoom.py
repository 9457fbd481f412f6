"""Zoom-In ROI rule and the half-pixel contract of its forward (crop) and inverse (paste) maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.zoom import Roi, ZoomConfig, compute_roi, full_roi
from napari_clickseg.models.roi import (
    crop_image_to_roi,
    crop_to_roi,
    map_points_to_roi,
    paste_from_roi,
)


def _to_crop(points: np.ndarray, roi: Roi, size: int) -> np.ndarray:
    """The half-pixel contract of the crop map: u = (y - row0 + 0.5) * size / h - 0.5."""
    hr, wr = roi.shape
    return np.stack([(points[:, 0] - roi.row0 + 0.5) * size / hr - 0.5,
                     (points[:, 1] - roi.col0 + 0.5) * size / wr - 0.5], axis=1)


def test_point_map_follows_the_half_pixel_contract_and_keeps_padding():
    roi = Roi(10, 20, 109, 69)
    rois = torch.tensor([list(roi)], dtype=torch.float32)
    pts = np.array([[30.0, 25.0], [109.0, 69.0]])
    t = torch.tensor([[[30.0, 25.0, 1.0], [109.0, 69.0, 0.0], [-1, -1, -1]]])
    out = map_points_to_roi(t, rois, 64)
    assert np.allclose(out[0, :2, :2].numpy(), _to_crop(pts, roi, 64), atol=1e-4)
    assert out[0, 2, 0] == -1 and out[0, 2, 1] == -1
    assert torch.equal(out[0, :, 2], t[0, :, 2])
    # ROI corners land half a crop cell inside the crop's edges
    corners = torch.tensor([[[10 - 0.5, 20 - 0.5, 1.0], [109 + 0.5, 69 + 0.5, 1.0]]])
    assert np.allclose(map_points_to_roi(corners, rois, 64)[0, :, :2].numpy(), [[-0.5, -0.5], [63.5, 63.5]], atol=1e-4)


def test_crop_then_paste_reproduces_a_smooth_image_inside_the_roi():
    yy, xx = np.mgrid[0:120, 0:150].astype(np.float32)
    img = 0.5 * yy + 0.25 * xx  # linear: bilinear resampling is exact away from the borders
    roi = Roi(20, 30, 99, 129)
    rois = torch.tensor([list(roi)], dtype=torch.float32)
    c = crop_to_roi(torch.from_numpy(img)[None, None], rois, 64)
    back = paste_from_roi(c, rois, (120, 150), torch.zeros(1, 1, 120, 150))[0, 0].numpy()
    inner = (slice(roi.row0 + 2, roi.row1 - 1), slice(roi.col0 + 2, roi.col1 - 1))
    assert np.allclose(back[inner], img[inner], atol=1e-3)
    # outside the ROI the base is kept
    assert np.all(back[: roi.row0] == 0) and np.all(back[:, roi.col1 + 1 :] == 0)


def test_uint8_image_crop_equals_float_crop():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (1, 3, 70, 90), dtype=np.uint8)
    t8 = torch.from_numpy(img)
    rois = torch.tensor([[3.0, 4.0, 50.0, 80.0]])
    a = crop_image_to_roi(t8, rois, 32)
    b = crop_to_roi(t8.float() / 255, rois, 32)
    assert torch.allclose(a, b, atol=1e-5)


def test_identity_crop_of_the_whole_image():
    img = torch.rand(1, 2, 16, 16)
    out = crop_to_roi(img, torch.tensor([[0.0, 0.0, 15.0, 15.0]]), 16)
    assert torch.allclose(out, img, atol=1e-5)


def test_roi_rules():
    shape = (1000, 800)
    cfg = ZoomConfig(min_crop=200, adaptive=False)  # RITM's rule
    # <= skip_clicks clicks: the whole image
    assert compute_roi(shape, [Click(500, 400)], None, None, cfg) == full_roi(shape)
    # small object: min crop 200, square, centred
    prev = np.zeros(shape, np.float32)
    prev[490:511, 390:411] = 0.9
    roi = compute_roi(shape, [Click(500, 400), Click(505, 405, False)], prev, None, cfg)
    assert roi.shape == (200, 200)
    assert roi.row0 <= 490 and roi.row1 >= 510 and roi.col0 <= 390 and roi.col1 >= 410
    # large object: 1.4 x the longer side, square
    prev[:] = 0
    prev[300:601, 200:401] = 0.9  # 301 x 201
    roi = compute_roi(shape, [Click(400, 300), Click(450, 250)], prev, None, cfg)
    assert roi.shape == (int(np.ceil(301 * 1.4)), int(np.ceil(301 * 1.4)))
    # near the border the ROI is shifted inside, not cut
    prev[:] = 0
    prev[0:20, 0:20] = 0.9
    roi = compute_roi(shape, [Click(5, 5), Click(10, 10)], prev, None, cfg)
    assert roi == Roi(0, 0, 199, 199)
    # a positive click outside the mask is included
    roi = compute_roi(shape, [Click(5, 5), Click(10, 10), Click(300, 300)], prev, None, cfg)
    assert roi.row1 >= 300 and roi.col1 >= 300
    # box prompt: used even without clicks
    roi = compute_roi(shape, [], None, Box(100, 100, 399, 199), cfg)
    assert roi.row0 <= 100 and roi.row1 >= 399 and roi.shape[0] == roi.shape[1] == 420
    # tiny image: clamped to the image
    assert compute_roi((64, 48), [Click(5, 5), Click(6, 6)], None, None, cfg) == Roi(0, 0, 63, 47)
    # empty mask, only negative clicks: whole image
    assert compute_roi(shape, [Click(5, 5, False), Click(9, 9, False)], None, None, cfg) == full_roi(shape)


def test_default_rule_zooms_small_objects_with_size_dependent_context():
    shape = (1000, 800)
    cfg = ZoomConfig()
    assert cfg.adaptive and cfg.min_crop == 32
    # a 21 px object in a 1000x800 image: CSFPN expansion max(2.5 - 4 sqrt(441/800000), 1.4)
    prev = np.zeros(shape, np.float32)
    prev[490:511, 390:411] = 0.9
    e = 2.5 - 4 * np.sqrt(21 * 21 / (1000 * 800))
    assert cfg.expansion_for((21, 21), shape) == pytest.approx(e)
    roi = compute_roi(shape, [Click(500, 400), Click(505, 405, False)], prev, None, cfg)
    assert roi.shape == (int(np.ceil(21 * e)),) * 2
    assert roi.row0 <= 490 and roi.row1 >= 510 and roi.col0 <= 390 and roi.col1 >= 410
    # a large object gets the plain 1.4 expansion (the rule's floor)
    prev[:] = 0
    prev[100:901, 100:701] = 0.9
    assert cfg.expansion_for((801, 601), shape) == 1.4
    # a 5 px object: the ROI is at least min_crop
    prev[:] = 0
    prev[500:505, 400:405] = 0.9
    roi = compute_roi(shape, [Click(502, 402), Click(503, 403)], prev, None, cfg)
    assert roi.shape == (32, 32)


@pytest.mark.parametrize("size", [64, 255])
def test_crop_shapes(size):
    img = torch.rand(1, 3, 100, 120)
    assert crop_to_roi(img, torch.tensor([[0.0, 0.0, 99.0, 119.0]]), size).shape == (1, 3, size, size)
