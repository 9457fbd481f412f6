"""core.mask_anchor: the extra positive click that tells a model which object a mask prompt is."""

from __future__ import annotations

import numpy as np

from napari_clickseg.core.clicks import Click
from napari_clickseg.core.mask_anchor import anchor_for, first_anchor
from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.core.simulate import padded_edt
from napari_clickseg.models.base import BasePredictor


def _two_disks():
    """A mask that merged two touching objects: a big disk (r 14, centre (30, 30)) and a
    smaller one (r 11, centre (30, 54))."""
    rr, cc = np.ogrid[:60, :80]
    big = (rr - 30) ** 2 + (cc - 30) ** 2 <= 14**2
    small = (rr - 30) ** 2 + (cc - 54) ** 2 <= 11**2
    return big | small


def test_the_first_anchor_is_the_innermost_pixel():
    depth = padded_edt(_two_disks())
    (a, reach) = first_anchor(depth)
    assert (a.row, a.col, a.is_positive) == (30, 30, True) and reach == depth.max()
    assert first_anchor(np.zeros((5, 5))) is None
    assert anchor_for(depth, (0, 0), [Click(30, 52, True), Click(5, 5, False)]) == a  # far or positive: kept


def test_a_negative_click_on_the_anchor_moves_it_to_the_rest_of_the_mask():
    depth = padded_edt(_two_disks())
    moved = anchor_for(depth, (0, 0), [Click(31, 29, False)])  # "not this one": the big disk is wrong
    assert moved is not None and moved.is_positive and abs(moved.row - 30) <= 1 and abs(moved.col - 54) <= 1
    # a negative click on the second object too: nothing substantial is left, no anchor
    assert anchor_for(depth, (0, 0), [Click(31, 29, False), Click(30, 54, False)]) is None


def test_a_rectangle_of_the_slice_gives_the_same_anchors_in_slice_pixels():
    m = _two_disks()
    rect = m[14:47, 14:67]  # the mask's bounding box plus a margin
    depth, part = padded_edt(m), padded_edt(rect)
    assert first_anchor(part, (14, 14)) == first_anchor(depth)
    neg = [Click(31, 29, False)]
    assert anchor_for(part, (14, 14), neg) == anchor_for(depth, (0, 0), neg)


def test_a_negative_click_in_the_middle_of_a_single_object_leaves_no_anchor():
    m = np.zeros((40, 40), bool)
    m[5:26, 5:26] = True  # the rest around a central negative click is a thin ring
    assert anchor_for(padded_edt(m), (0, 0), [Click(15, 15, False)]) is None


class _Recorder(BasePredictor):
    name = "recorder"

    def _encode(self, image):
        return image

    def _predict(self, features, clicks, prev_prob, box):
        self.clicks = clicks
        return prev_prob


def test_the_session_sends_the_moved_anchor_first():
    p = _Recorder()
    s = InteractiveSession(p, np.random.default_rng(0).random((60, 80)).astype(np.float32))
    s.start_from_mask(_two_disks())
    s.add_click(31, 29, False)
    assert p.clicks[0].is_positive and abs(p.clicks[0].col - 54) <= 1 and p.clicks[1:] == (Click(31, 29, False),)
    assert s.clicks == (Click(31, 29, False),)  # the anchor is never one of the user's clicks
