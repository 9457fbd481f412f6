"""The click simulator pinned on small hand-made masks (answers worked out by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.clicks import Click
from napari_clickseg.core.simulate import (
    Clicker,
    jitter_click,
    misleading_plan,
    padded_edt,
    sample_training_click,
    standard_click,
)


def rect(shape, rows, cols):
    m = np.zeros(shape, bool)
    m[rows[0]: rows[1] + 1, cols[0]: cols[1] + 1] = True
    return m


# -- first click ---------------------------------------------------------------------------
def test_first_click_5x7_rectangle_inside_image():
    # GT rows 2..6, cols 2..8 of a 9x11 image. The nearest background of pixel (r, c) lies
    # straight along an axis, so DT = min(r-1, 7-r, c-1, 9-c). Row 4 gives 3 (rows), columns
    # 4..6 give >= 3, so DT = 3 at (4,4), (4,5), (4,6): the first in raster order is (4, 4)
    # (not the geometric centre (4, 5)).
    gt = rect((9, 11), (2, 6), (2, 8))
    assert padded_edt(gt).max() == 3.0
    assert standard_click(gt, np.zeros_like(gt)) == Click(4, 4, True)


def test_first_click_rectangle_filling_the_image_uses_padding():
    # GT = the whole 5x7 image. Without padding there is no background at all; with the 1-px
    # zero border DT(r, c) = min(r+1, 5-r, c+1, 7-c): row 2 gives 3, columns 2..4 give >= 3, so
    # the first maximum is (2, 2) with DT 3.
    gt = np.ones((5, 7), bool)
    dt = padded_edt(gt)
    assert dt[2, 2] == 3.0 and dt.max() == 3.0 and dt[0, 0] == 1.0
    assert standard_click(gt, np.zeros_like(gt)) == Click(2, 2, True)


def test_first_click_l_shape():
    # 11x13 image. Vertical arm rows 1..9, cols 1..3 (3 wide: DT <= 2 there); horizontal arm
    # rows 5..9, cols 1..11 (5 tall). In the horizontal arm row 7 is 3 from background rows 4
    # (above, for cols >= 4) and 10 (below). (7, 3): left background col 0 -> 3, below row 10
    # -> 3, above is the vertical arm up to row 0 -> 7, nearest diagonal background (4, 4) ->
    # sqrt(10) > 3; so DT(7, 3) = 3. (7, 1) and (7, 2) are 1 and 2 from col 0. Rows 6 and 8 are
    # at most 2 from row 4 / row 10 (or sqrt(5) from (4, 4) for (6, 3)). So the maximum 3 is
    # first reached at (7, 3), inside the corner block, not in the thin arm.
    gt = np.zeros((11, 13), bool)
    gt[1:10, 1:4] = True
    gt[5:10, 1:12] = True
    dt = padded_edt(gt)
    assert dt[7, 3] == 3.0 and dt.max() == 3.0
    assert dt[6, 3] == pytest.approx(np.sqrt(5))
    assert standard_click(gt, np.zeros_like(gt)) == Click(7, 3, True)


# -- positive / negative -------------------------------------------------------------------
def test_over_segmentation_gives_negative_click():
    # GT rows 1..4, cols 1..4 predicted exactly, plus a false blob rows 7..11, cols 6..11 of a
    # 12x12 image (touching the bottom/right border, which counts as boundary). FN is empty.
    # In the blob DT(9, c) = min(9-6, 12-9, c-5, 12-c) = 3 for c = 8, 9 -> first (9, 8).
    gt = rect((12, 12), (1, 4), (1, 4))
    pred = gt | rect((12, 12), (7, 11), (6, 11))
    assert standard_click(gt, pred) == Click(9, 8, False)


def test_under_segmentation_gives_positive_click():
    # GT rows 2..6, cols 2..8; prediction only cols 6..8. FN = rows 2..6, cols 2..5 (5x4):
    # DT = min(r-1, 7-r, c-1, 6-c) -> max 2 at rows 3..5, cols 3..4; first (3, 3).
    gt = rect((9, 11), (2, 6), (2, 8))
    pred = rect((9, 11), (2, 6), (6, 8))
    assert standard_click(gt, pred) == Click(3, 3, True)


def test_larger_error_wins():
    # GT rows 1..7, cols 1..7 in 9x11; prediction rows 1..7, cols 5..9 (shifted right).
    # FN = cols 1..4 (4 wide): max DT 2 (cols 2, 3; rows 2..6) -> first (2, 2).
    # FP = cols 8..9 (2 wide): max DT 1. 2 > 1 -> positive at (2, 2).
    gt = rect((9, 11), (1, 7), (1, 7))
    pred = rect((9, 11), (1, 7), (5, 9))
    assert standard_click(gt, pred) == Click(2, 2, True)


def test_tie_gives_negative_click():
    # GT rows 2..6, cols 2..8; prediction shifted right by 2: rows 2..6, cols 4..10 (9x13).
    # FN = cols 2..3 and FP = cols 9..10, both 2 wide, both max DT 1: tie -> negative, at the
    # first FP pixel in raster order, (2, 9).
    gt = rect((9, 13), (2, 6), (2, 8))
    pred = rect((9, 13), (2, 6), (4, 10))
    assert standard_click(gt, pred) == Click(2, 9, False)


def test_ignore_region_is_not_an_error():
    # Same as the over-segmentation case, but the false blob lies in the ignore mask: no error
    # remains, so there is no click to make.
    gt = rect((12, 12), (1, 4), (1, 4))
    blob = rect((12, 12), (7, 11), (6, 11))
    assert standard_click(gt, gt | blob, valid=~blob) is None


# -- bookkeeping ---------------------------------------------------------------------------
def test_clicked_pixels_are_excluded():
    # Whole 5x7 image as GT, prediction kept empty: DT = 3 at (2, 2), (2, 3), (2, 4); each
    # click zeroes its pixel, so the next clicks walk along them in raster order; then the
    # maximum is 2, first reached at (1, 1) (DT(1, c) = min(2, 4, c+1, 7-c) = 2 for c = 1..5).
    clicker = Clicker(np.ones((5, 7), bool))
    empty = np.zeros((5, 7), bool)
    clicks = [clicker.make_next_click(empty) for _ in range(4)]
    assert clicks == [Click(2, 2), Click(2, 3), Click(2, 4), Click(1, 1)]
    assert clicker.clicked.sum() == 4 and clicker.clicked[2, 3]


def test_perfect_prediction_has_no_next_click():
    gt = rect((9, 11), (2, 6), (2, 8))
    clicker = Clicker(gt)
    assert clicker.make_next_click(np.zeros_like(gt)) == Click(4, 4, True)
    assert clicker.make_next_click(gt) is None
    assert len(clicker.clicks) == 1


def test_get_set_state_roundtrip():
    clicker = Clicker(np.ones((5, 7), bool))
    empty = np.zeros((5, 7), bool)
    clicker.make_next_click(empty)
    state = clicker.get_state()
    second = clicker.make_next_click(empty)
    clicker.set_state(state)
    assert len(clicker.clicks) == 1 and not clicker.clicked[2, 3]
    assert clicker.make_next_click(empty) == second


def test_clicker_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        Clicker(np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="ignore"):
        Clicker(np.ones((5, 5), bool), ignore=np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match="pred_mask"):
        Clicker(np.ones((5, 5), bool)).make_next_click(np.zeros((5, 6), bool))


# -- training-time variant -----------------------------------------------------------------
def test_training_click_is_seeded_and_deep_inside():
    # 9x11 rectangle case: max DT 3; candidates have DT > 1.5, i.e. DT >= 2: rows 3..5,
    # cols 3..7 (15 pixels).
    gt = rect((9, 11), (2, 6), (2, 8))
    empty = np.zeros_like(gt)
    a = [sample_training_click(gt, empty, np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = np.random.default_rng(0)
    seen = {sample_training_click(gt, empty, rng) for _ in range(300)}
    assert all(c.is_positive and 3 <= c.row <= 5 and 3 <= c.col <= 7 for c in seen)
    assert len(seen) == 15
    # a pure over-segmentation gives negative training clicks
    pred = gt | rect((9, 11), (0, 8), (9, 10))
    assert not sample_training_click(gt, pred, rng).is_positive
    assert sample_training_click(gt, gt, rng) is None


# -- jitter --------------------------------------------------------------------------------
def test_jitter_stays_in_image_and_within_amplitude():
    rng = np.random.default_rng(1)
    for _ in range(200):
        c = jitter_click(Click(0, 9, False), 6, (10, 10), rng)
        assert 0 <= c.row <= 6 and 3 <= c.col <= 9 and not c.is_positive
    assert jitter_click(Click(4, 4), 0, (10, 10), rng) == Click(4, 4)


def test_jittered_clicker_is_reproducible_and_differs_by_object():
    gt = rect((30, 40), (5, 24), (5, 34))
    empty = np.zeros_like(gt)

    def run(index):
        clicker = Clicker(gt, jitter=3, seed=11, index=index)
        return [clicker.make_next_click(empty) for _ in range(6)]

    a, b = run(0), run(0)
    assert a == b
    assert run(1) != a
    clicker = Clicker(gt, jitter=3, seed=11, index=0)
    shifted = 0
    for _ in range(6):
        ideal = standard_click(gt, empty, clicked=clicker.clicked.copy())
        c = clicker.make_next_click(empty)
        assert abs(c.row - ideal.row) <= 3 and abs(c.col - ideal.col) <= 3
        assert c.is_positive == ideal.is_positive and 0 <= c.row < 30 and 0 <= c.col < 40
        shifted += c != ideal
    assert shifted >= 3  # (a 1/49 chance per click of a zero offset)


# -- misleading clicks ---------------------------------------------------------------------
def test_misleading_plan_depends_only_on_seed_and_index():
    p = misleading_plan(5, 20, seed=3, index=7)
    assert p == misleading_plan(5, 20, seed=3, index=7)
    assert len(p) == 5 and 1 not in p and all(2 <= s <= 20 for s in p)
    assert set(p.values()) <= {"repetitive", "false"}
    assert misleading_plan(0, 20, 3, 7) == {}
    with pytest.raises(ValueError, match="misleading"):
        misleading_plan(20, 20, 0, 0)


def test_misleading_clicks_identical_across_runs_and_of_the_right_kind():
    gt = rect((30, 40), (5, 24), (5, 34))
    half = gt.copy()
    half[:, 20:] = False  # the prediction covers the left part of the object

    def run():
        clicker = Clicker(gt, misleading=19, max_clicks=20, seed=5, index=2)
        pred = np.zeros_like(gt)
        out = [clicker.make_next_click(pred)]  # slot 1 is always standard
        for _ in range(5):
            out.append(clicker.make_next_click(half))
        return clicker, out

    (c1, a), (_, b) = run(), run()
    assert a == b
    assert c1.kinds[0] == "standard" and set(c1.kinds[1:]) <= {"repetitive", "false"}
    for k, click, prev in zip(c1.kinds[1:], a[1:], a[:-1]):
        if k == "false":
            # the ideal click for `half` is positive inside the missed right part: flipped
            assert not click.is_positive
            assert gt[click.row, click.col] and not half[click.row, click.col]
        else:
            # repetitive: same label as the previous click, inside the correctly predicted part
            assert click.is_positive == prev.is_positive
            correct = (gt & half) if prev.is_positive else (~gt & ~half)
            assert correct[click.row, click.col]


def test_padded_edt_matches_full_transform_on_random_masks():
    # padded_edt only transforms the mask's bounding box (+1 px ring): it must equal the EDT of
    # the whole 1-px padded image.
    from scipy.ndimage import distance_transform_edt

    rng = np.random.default_rng(0)
    for _ in range(100):
        h, w = (int(v) for v in rng.integers(1, 30, 2))
        m = rng.random((h, w)) < rng.random()
        if rng.random() < 0.5:
            m = np.zeros((h, w), bool)
            r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
            m[r: r + int(rng.integers(1, 9)), c: c + int(rng.integers(1, 9))] = True
        full = distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]
        np.testing.assert_array_equal(padded_edt(m), full)
