"""Training prompts: multi-point clicks, target choice, dynamic ROI, boxes, crops."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_clickseg.train.augment import crop_around, flip_rotate
from napari_clickseg.train.sampler import (
    choose_target,
    dynamic_roi,
    geometric_count,
    jittered_box,
    multi_point_clicks,
    object_roi,
)


def _scene() -> np.ndarray:
    labels = np.zeros((80, 90), np.int32)
    yy, xx = np.mgrid[:80, :90]
    labels[(yy - 30) ** 2 + (xx - 30) ** 2 < 15**2] = 1
    labels[(yy - 30) ** 2 + (xx - 58) ** 2 < 12**2] = 2  # touches object 1
    labels[60:75, 10:80] = 3
    return labels


@pytest.mark.parametrize("seed", range(8))
def test_positives_inside_eroded_object_negatives_outside(seed):
    labels = _scene()
    target = labels == 1
    eroded = ndi.binary_erosion(target, np.ones((3, 3), bool), iterations=3)
    clicks = multi_point_clicks(target, labels, np.random.default_rng(seed), erode_prob=1.0)
    pos = [c for c in clicks if c.is_positive]
    neg = [c for c in clicks if not c.is_positive]
    assert 1 <= len(pos) <= 24 and len(neg) <= 24
    assert clicks[0].is_positive
    assert all(eroded[c.row, c.col] for c in pos)
    assert all(not target[c.row, c.col] for c in neg)
    assert len({(c.row, c.col) for c in clicks}) == len(clicks)  # no duplicates


def test_click_counts_follow_the_geometric_law_and_are_seeded():
    rng = np.random.default_rng(0)
    draws = np.array([geometric_count(rng, 23) for _ in range(4000)])
    assert draws.min() == 0 and draws.max() <= 23
    assert abs((draws == 0).mean() - 0.2) < 0.03  # P(0) = (1 - 0.8) / (1 - 0.8^24) ~ 0.2
    labels = _scene()
    a = multi_point_clicks(labels == 1, labels, np.random.default_rng(5))
    b = multi_point_clicks(labels == 1, labels, np.random.default_rng(5))
    assert a == b


def test_centre_click_is_deep_inside():
    labels = _scene()
    target = labels == 1
    dt = ndi.distance_transform_edt(np.pad(target, 1))[1:-1, 1:-1]
    for seed in range(5):
        first = multi_point_clicks(target, labels, np.random.default_rng(seed), centre_prob=1.0)[0]
        assert dt[first.row, first.col] > dt.max() / 1.7


def test_empty_target_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        multi_point_clicks(np.zeros((10, 10), bool), None, np.random.default_rng(0))


def test_choose_target_and_merge():
    labels = _scene()
    t = choose_target(labels, np.random.default_rng(0), merge_prob=0.0)
    assert t is not None and len(np.unique(labels[t])) == 1
    merged = choose_target(labels, np.random.default_rng(1), np.array([1, 2]), merge_prob=1.0)
    assert set(np.unique(labels[merged])) == {1, 2}
    assert choose_target(np.zeros((5, 5), int), np.random.default_rng(0)) is None


@pytest.mark.parametrize("seed", range(10))
def test_dynamic_roi_contains_target(seed):
    labels = _scene()
    target = labels == 2
    rng = np.random.default_rng(seed)
    r0, c0, r1, c1 = dynamic_roi(target, rng, 0.3, 1.0)
    rows, cols = np.nonzero(target)
    assert r0 <= rows.min() and r1 >= rows.max() and c0 <= cols.min() and c1 >= cols.max()
    assert 0 <= r0 and 0 <= c0 and r1 <= 79 + 1e-6 and c1 <= 89 + 1e-6
    assert r1 - r0 + 1 >= 0.3 * 80 - 1e-6


@pytest.mark.parametrize("seed", range(10))
def test_object_roi_is_a_square_around_the_target_scaled_to_it(seed):
    target = _scene() == 2  # a disk of radius 12 (23 px box)
    rows, cols = np.nonzero(target)
    box = max(np.ptp(rows), np.ptp(cols)) + 1
    r0, c0, r1, c1 = object_roi(target, np.random.default_rng(seed), 1.5, 2.5, jitter=0.1)
    side = r1 - r0 + 1
    assert side == pytest.approx(c1 - c0 + 1) and 1.5 * box - 1e-6 <= side <= 2.5 * box + 1e-6
    assert r0 <= rows.min() and r1 >= rows.max() and c0 <= cols.min() and c1 >= cols.max()
    assert 0 <= r0 and 0 <= c0 and r1 <= 79 + 1e-6 and c1 <= 89 + 1e-6


def test_object_roi_clamps_to_the_image_and_a_minimum_side():
    tiny = np.zeros((80, 90), bool)
    tiny[0:2, 0:2] = True
    r0, c0, r1, c1 = object_roi(tiny, np.random.default_rng(0), 1.2, 3.0, min_side=16)
    assert (r0, c0) == (0.0, 0.0) and r1 - r0 + 1 == pytest.approx(16)
    big = _scene() == 3  # 15 x 70 box in an 80 x 90 image: side capped at 80
    r0, c0, r1, c1 = object_roi(big, np.random.default_rng(0), 2.0, 3.0)
    assert r1 - r0 + 1 == pytest.approx(80) and 0 <= c0 and c1 <= 89 + 1e-6


def test_jittered_box():
    target = _scene() == 3
    exact = jittered_box(target, np.random.default_rng(0), jitter=0.0)
    assert exact.as_tuple() == (60, 10, 74, 79)
    for s in range(10):
        b = jittered_box(target, np.random.default_rng(s), jitter=0.2)
        assert 0 <= b.row0 <= b.row1 < 80 and 0 <= b.col0 <= b.col1 < 90


def test_crop_around_keeps_the_target():
    labels = np.zeros((300, 400), np.int32)
    labels[100:160, 250:330] = 4
    image = np.random.default_rng(0).random((300, 400, 3)).astype(np.float32)
    for seed, scale in [(0, 1.0), (1, 0.5), (2, 2.0)]:
        img, lab, tgt = crop_around(image, labels, labels == 4, 96, scale, np.random.default_rng(seed))
        assert img.shape == (96, 96, 3) and lab.shape == tgt.shape == (96, 96)
        assert tgt.sum() > 0.5 * min(60 * 80 * min(scale, 0.9 * 96 / 80) ** 2, 96 * 96)
        assert np.array_equal(tgt, lab == 4) or abs(int(tgt.sum()) - int((lab == 4).sum())) < 60
    a, b = flip_rotate(np.random.default_rng(3), image[..., 0], labels)
    assert a.shape[0] in (300, 400) and (b == 4).sum() == (labels == 4).sum()
