"""Metrics of the standard protocol pinned on hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.metrics import (
    boundary_iou,
    iou,
    mask_boundary,
    miou_curve,
    never_reached,
    noc,
    noc_nof,
    normalized_auc,
    recall_precision,
)


def square(shape, r0, c0, size):
    m = np.zeros(shape, bool)
    m[r0: r0 + size, c0: c0 + size] = True
    return m


def test_iou_with_and_without_ignore():
    gt = np.array([[1, 1, 0, 0]], bool)
    pred = np.array([[1, 0, 1, 0]], bool)
    # intersection 1 pixel, union 3 pixels
    assert iou(pred, gt) == pytest.approx(1 / 3)
    # ignoring the false positive at column 2 leaves union 2
    assert iou(pred, gt, ignore=np.array([[0, 0, 1, 0]], bool)) == pytest.approx(1 / 2)
    assert iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    with pytest.raises(ValueError, match="shape"):
        iou(np.zeros((2, 3)), np.zeros((2, 2)))


def test_recall_and_precision_of_a_mask():
    gt = np.array([[1, 1, 1, 1, 0, 0]], bool)
    pred = np.array([[0, 1, 1, 0, 1, 0]], bool)
    # 2 of the 4 object pixels covered; 2 of the 3 mask pixels on the object
    assert recall_precision(pred, gt) == pytest.approx((0.5, 2 / 3))
    # ignoring the spilled pixel (col 4) and an object pixel (col 0)
    assert recall_precision(pred, gt, ignore=np.array([[1, 0, 0, 0, 1, 0]], bool)) == pytest.approx((2 / 3, 1.0))
    # an empty mask misses everything and spills nothing; an empty object is fully "covered"
    assert recall_precision(np.zeros_like(gt), gt) == (0.0, 1.0)
    assert recall_precision(pred, np.zeros_like(gt)) == (1.0, 0.0)
    with pytest.raises(ValueError, match="ignore mask"):
        recall_precision(pred, gt, ignore=np.zeros((2, 6), bool))


def test_boundary_band_width_follows_the_diagonal():
    # 100x100 image: d = round(0.02 * 141.42) = round(2.83) = 3. A 20x20 square eroded 3 times
    # by a 3x3 kernel is 14x14, so the band has 400 - 196 = 204 pixels.
    band = mask_boundary(square((100, 100), 40, 40, 20))
    assert band.sum() == 204
    # 50x50 image: d = max(1, round(1.41)) = 1 -> a 1-px ring of 20*4 - 4 = 76 pixels
    assert mask_boundary(square((50, 50), 10, 10, 20)).sum() == 76
    # the image border counts as boundary (1-px zero padding): the full 50x50 mask keeps a ring
    assert mask_boundary(np.ones((50, 50), bool)).sum() == 50 * 4 - 4


def test_boundary_iou_of_a_shifted_square():
    # 50x50 image (d = 1). GT: rows 10..29, cols 10..29; prediction shifted right by one
    # column (cols 11..30). Each ring has 76 pixels; they share the top and bottom rows over
    # cols 11..29 = 2 * 19 = 38 pixels; union 76 + 76 - 38 = 114 -> B-IoU = 38/114 = 1/3,
    # while the plain IoU is 380/420 = 0.905.
    gt = square((50, 50), 10, 10, 20)
    pred = square((50, 50), 10, 11, 20)
    assert boundary_iou(pred, gt) == pytest.approx(1 / 3)
    assert iou(pred, gt) == pytest.approx(380 / 420)
    assert boundary_iou(gt, gt) == 1.0


def test_noc_per_object_and_failure_counts_as_max_clicks():
    ious = [0.5, 0.8, 0.86, 0.91, 0.96]
    assert noc(ious, 0.85) == 3
    assert noc(ious, 0.90) == 4
    assert noc(ious, 0.95) == 5
    assert noc([0.5] * 20, 0.85) == 20  # never reached -> 20
    assert noc([0.5] * 20, 0.85, max_clicks=10) == 10
    assert noc([0.5] * 25 + [0.99], 0.85) == 20  # clicks after max_clicks do not count


def test_dataset_noc_and_nof():
    reached_at_3 = [0.5, 0.8, 0.9] + [0.9] * 17
    failure = [0.3] * 20
    reached_at_20 = [0.3] * 19 + [0.9]
    objs = [reached_at_3, failure, reached_at_20]
    # NoC@85 = (3 + 20 + 20) / 3; NoF counts both objects with NoC = 20 (RITM code) ...
    mean, nof = noc_nof(objs, 0.85)
    assert mean == pytest.approx(43 / 3) and nof == 2
    # ... but only one of them never reached the target
    assert sum(never_reached(x, 0.85) for x in objs) == 1
    nan, zero = noc_nof([], 0.85)
    assert np.isnan(nan) and zero == 0


def test_miou_curve_carries_last_iou_forward():
    curve = miou_curve([[0.5, 0.9], [0.2, 0.4, 0.6, 0.8]], max_clicks=4)
    # object 1 becomes [0.5, 0.9, 0.9, 0.9]
    assert curve == pytest.approx([0.35, 0.65, 0.75, 0.85])


def test_normalized_auc_of_known_curves():
    assert normalized_auc([0.0, 1.0]) == pytest.approx(0.5)
    assert normalized_auc([0.7] * 20) == pytest.approx(0.7)
    # IoU_k = k/20 for k = 1..20: area = sum_{k=1}^{19} (k + 0.5)/20 = 199.5/20 = 9.975,
    # divided by 19 -> 0.525
    assert normalized_auc(np.arange(1, 21) / 20) == pytest.approx(0.525)
    assert normalized_auc([0.4]) == pytest.approx(0.4)
