"""InteractiveSession against a tiny deterministic predictor (pure core, no torch)."""

import numpy as np
import pytest

from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.predictor import NoImageError
from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.models.base import BasePredictor


class DiskPredictor(BasePredictor):
    """prob = 1 within radius 6 of any positive click, minus radius 6 around negatives."""

    name = "disk"

    def __init__(self):
        super().__init__()
        self.predict_calls = []

    def _encode(self, image):
        return np.asarray(image, dtype=np.float32)

    def _predict(self, features, clicks, prev_prob, box):
        self.predict_calls.append((clicks, None if prev_prob is None else prev_prob.copy(), box))
        h, w = features.shape[:2]
        rr, cc = np.mgrid[:h, :w]
        prob = np.zeros((h, w), np.float32) if prev_prob is None else prev_prob.copy()
        if box is not None:
            prob[box.row0 : box.row1 + 1, box.col0 : box.col1 + 1] = 1.0
        for c in clicks:
            near = (rr - c.row) ** 2 + (cc - c.col) ** 2 <= 36
            prob[near] = 1.0 if c.is_positive else 0.0
        return prob


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.random((40, 50)).astype(np.float32)


def test_encoder_runs_once_per_slice(image):
    p = DiskPredictor()
    s = InteractiveSession(p, image)
    s.add_click(10, 10)
    s.add_click(20, 30, False)
    assert p.encode_count == 1
    s.set_image(image, key="z0")
    s.set_image(image, key="z0")  # same key: no re-encode
    assert p.encode_count == 2


def test_clicks_build_mask_and_prev_prob_is_fed_back(image):
    p = DiskPredictor()
    s = InteractiveSession(p, image)
    m1 = s.add_click(10, 10)
    assert m1[10, 10] and m1.sum() == pytest.approx(113, abs=10)
    m2 = s.add_click(30, 40)
    assert m2[10, 10] and m2[30, 40]  # first disk kept through prev_prob
    assert p.predict_calls[-1][1] is not None and p.predict_calls[-1][1][10, 10] == 1.0
    m3 = s.add_click(10, 13, is_positive=False)
    assert not m3[10, 13] and m3[30, 40]
    assert [c.is_positive for c in s.clicks] == [True, True, False]


def test_undo_redo_restore_exact_states_without_predicting(image):
    p = DiskPredictor()
    s = InteractiveSession(p, image)
    s.add_click(10, 10)
    after_one = s.prob.copy()
    s.add_click(30, 40)
    n_calls = len(p.predict_calls)
    s.undo()
    np.testing.assert_array_equal(s.prob, after_one)
    s.undo()
    assert not s.mask.any() and not s.can_undo
    s.undo()  # no-op at the start
    s.redo()
    s.redo()
    assert s.mask[30, 40] and len(s.clicks) == 2
    assert len(p.predict_calls) == n_calls  # undo/redo never re-predict
    v = s.version
    s.add_click(5, 45)
    assert s.version > v and not s.can_redo


def test_set_clicks_repredicts_only_the_changed_tail(image):
    p = DiskPredictor()
    s = InteractiveSession(p, image)
    for rc in [(10, 10), (30, 40), (20, 20)]:
        s.add_click(*rc)
    p.predict_calls.clear()
    moved = s.clicks[:2] + (Click(25, 5),)
    m = s.set_clicks(moved)
    assert len(p.predict_calls) == 1  # only the moved click
    assert m[25, 5] and not m[20, 20]
    s.undo()  # the edit is one undo step
    assert s.clicks[-1] == Click(20, 20)
    m = s.set_clicks(())
    assert not m.any()


def test_box_prompt(image):
    p = DiskPredictor()
    s = InteractiveSession(p, image)
    m = s.set_box((5, 5, 15, 25))
    assert m[5:16, 5:26].all() and m.sum() == 11 * 21
    assert p.predict_calls[-1][2] == Box(5, 5, 15, 25)
    m = s.add_click(10, 10, False)
    assert not m[10, 10] and p.predict_calls[-1][2] == Box(5, 5, 15, 25)
    s.undo()
    s.undo()
    assert s.box is None and not s.mask.any()


def test_errors_are_clear(image):
    p = DiskPredictor()
    with pytest.raises(NoImageError, match="set_image"):
        p.predict([Click(1, 1)])
    s = InteractiveSession(p)
    with pytest.raises(RuntimeError, match="set_image"):
        s.add_click(1, 1)
    s.set_image(image)
    with pytest.raises(ValueError, match="outside the image"):
        s.add_click(100, 1)
    assert len(s.clicks) == 0  # the session is still usable
    with pytest.raises(ValueError, match="threshold"):
        InteractiveSession(p, threshold=1.5)


def test_feature_store_avoids_reencoding(image):
    class Store(dict):
        def put(self, key, value):
            self[key] = value

    p = DiskPredictor()
    store = Store()
    s = InteractiveSession(p, feature_store=store)
    s.set_image(image, key=0)
    s.set_image(image * 2, key=1)
    s.set_image(image, key=0)  # back to slice 0: from the store
    assert p.encode_count == 2 and set(store) == {0, 1}


def test_start_from_mask_is_the_prompt_of_the_next_clicks(image):
    p = DiskPredictor()
    s = InteractiveSession(p, image)
    seed = np.zeros((40, 50), bool)
    seed[5:25, 5:25] = True
    assert np.array_equal(s.start_from_mask(seed), seed) and not s.clicks and not s.can_undo
    assert p.predict_calls == [], "starting from a mask predicts nothing"
    m = s.add_click(10, 10, False)
    assert np.array_equal(p.predict_calls[-1][1] > s.threshold, seed), "the mask was not the previous probability"
    assert not m[10, 10] and m[20, 20]
    assert np.array_equal(s.undo(), seed) and not s.can_undo  # undo stops at the mask, not before it
    s.redo()
    # editing the click list: the chain restarts from the mask, and no click at all gives it back
    s.set_clicks([Click(20, 20, False)])
    assert np.array_equal(p.predict_calls[-1][1] > s.threshold, seed) and s.mask[10, 10] and not s.mask[20, 20]
    assert np.array_equal(s.set_clicks([]), seed)
    # a slice's history keeps its mask prompt
    hist = s.history()
    s.set_image(image, key="k")
    s.start_from_mask(seed)
    snap = s.history()
    s.reset()
    assert s.seed is None and not s.mask.any()
    assert s.restore_history(snap) and np.array_equal(s.seed > s.threshold, seed)
    assert hist.seed is not None
    with pytest.raises(ValueError, match="shape"):
        s.start_from_mask(np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="0, 1"):
        s.start_from_mask(np.full((40, 50), 2.0, np.float32))


def test_mask_prompt_anchor_click_tells_the_model_which_object(image):
    p = DiskPredictor()
    s = InteractiveSession(p, image)
    seed = np.zeros((40, 50), bool)
    seed[5:26, 5:26] = True  # innermost pixel (15, 15), 11 px from the boundary
    s.start_from_mask(seed)
    s.add_click(5, 24, False)  # far from the anchor: the model gets it first
    sent = p.predict_calls[-1][0]
    assert sent[0] == Click(15, 15, True) and sent[1:] == (Click(5, 24, False),) and s.clicks == (Click(5, 24, False),)
    s.add_click(14, 16, False)  # within half its reach: that part is being corrected, no anchor
    assert p.predict_calls[-1][0] == (Click(5, 24, False), Click(14, 16, False))
    s.reset()
    s.anchor_masks = False
    s.start_from_mask(seed)
    s.add_click(5, 24, False)
    assert p.predict_calls[-1][0] == (Click(5, 24, False),)
