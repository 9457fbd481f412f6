"""Prompts mean what users mean: a box bounds the object, a click selects the object it is on."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg import build_model
from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.prompt_constraints import bound_to_box, box_mask, keep_clicked_components


def _two_discs(shape=(120, 200), r=15) -> np.ndarray:
    """Probability 0.9 on two similar discs (centres (60, 50) and (60, 150)), 0.1 elsewhere."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    disc = ((yy - 60) ** 2 + (xx - 50) ** 2 <= r * r) | ((yy - 60) ** 2 + (xx - 150) ** 2 <= r * r)
    return np.where(disc, 0.9, 0.1).astype(np.float32)


def test_box_mask_is_inclusive_and_clipped():
    m = box_mask((10, 10), Box(2, 3, 4, 12))
    assert m.sum() == 3 * 7 and m[2, 3] and m[4, 9] and not m[5, 3]


def test_bound_to_box_clears_everything_outside_the_box():
    prob = _two_discs()
    out = bound_to_box(prob, Box(40, 30, 80, 70), [])
    inside = box_mask(prob.shape, Box(40, 30, 80, 70))
    assert out.dtype == np.float32 and np.array_equal(out[inside], prob[inside])
    assert out[~inside].max() == 0.0
    assert bound_to_box(prob, None, []) is not None and np.array_equal(bound_to_box(prob, None, []), prob)


def test_bound_to_box_keeps_the_mask_part_a_positive_click_outside_the_box_is_on():
    prob = _two_discs()
    box = Box(40, 30, 80, 70)
    out = bound_to_box(prob, box, [Click(60, 150, True)])
    assert (out[45:76, 135:166] > 0.49).sum() == (prob[45:76, 135:166] > 0.49).sum()  # second disc kept
    assert out[5, 100] == 0.0  # background outside the box still cleared
    neg = bound_to_box(prob, box, [Click(60, 150, False)])
    assert neg[60, 150] == 0.0  # a negative click keeps nothing


def test_keep_clicked_components_selects_the_clicked_disc():
    prob = _two_discs()
    out = keep_clicked_components(prob, [Click(60, 50, True)])
    assert out[60, 50] == pytest.approx(0.9) and out[60, 150] == 0.0
    assert out[5, 100] == pytest.approx(0.1)  # sub-threshold pixels keep their probability
    both = keep_clicked_components(prob, [Click(60, 50, True), Click(60, 150, True)])
    assert np.array_equal(both, prob)


def test_keep_clicked_components_touching_and_fallbacks():
    prob = _two_discs()
    near = keep_clicked_components(prob, [Click(60, 50 + 16, True)], touch=2)  # 1 px outside the disc
    assert near[60, 50] > 0.49 and near[60, 150] == 0.0
    far = keep_clicked_components(prob, [Click(5, 100, True)])  # the mask ignores the click
    assert np.array_equal(far, prob)
    assert np.array_equal(keep_clicked_components(prob, [Click(60, 50, False)]), prob)


@pytest.fixture
def predictor(monkeypatch):
    """fdrn (random weights) whose head pass always answers 'two similar discs'."""
    p = build_model("fdrn", device="cpu", pretrained=False)
    p.trained = True  # no untrained-weights warning: the head pass is replaced below
    p.refine_first = False
    monkeypatch.setattr(p, "_decode_views", lambda *a, **k: _two_discs())
    p.set_image(np.random.default_rng(0).random((120, 200)).astype(np.float32))
    return p


def test_predictor_box_bounds_the_object_by_default(predictor):
    box = Box(40, 30, 80, 70)
    assert predictor.box_bounds
    prob = predictor.predict((), box=box)
    assert prob[~box_mask(prob.shape, box)].max() == 0.0 and prob[60, 50] > 0.49
    predictor.box_bounds = False
    assert predictor.predict((), box=box)[60, 150] > 0.49


def test_predictor_click_components_option(predictor):
    click = (Click(60, 50, True),)
    predictor.click_components = False
    assert predictor.predict(click)[60, 150] > 0.49  # both discs: the mask is not tied to the click
    predictor.click_components = True
    prob = predictor.predict(click)
    assert prob[60, 50] > 0.49 and prob[60, 150] == 0.0


def test_predictor_box_alone_gets_passes_with_a_click_at_the_innermost_pixel(monkeypatch):
    p = build_model("fdrn", device="cpu", pretrained=False)
    p.trained = True
    p.refine_first = False
    calls = []

    def decode(features, rois, ct, prev, bt, base):
        calls.append((ct.clone(), prev.clone(), bt))
        return _two_discs()

    monkeypatch.setattr(p, "_decode_views", decode)
    p.set_image(np.random.default_rng(0).random((120, 200)).astype(np.float32))
    box = Box(40, 30, 80, 70)
    assert p.box_passes == 2
    prob = p.predict((), box=box)
    assert len(calls) == 3 and calls[0][0].shape[1] == 0  # the box's pass, then two with a click
    for ct, prev, bt in calls[1:]:
        assert ct[0].tolist() == [[60.0, 50.0, 1.0]]  # the centre of the boxed disc, positive
        assert bt is not None and float(prev[0, 0, 60, 50]) > 0.49  # fed the map before it
    assert float(calls[1][1][0, 0, 60, 150]) == 0.0  # the first map was bounded to the box first
    assert prob[~box_mask(prob.shape, box)].max() == 0.0
    calls.clear()
    p.predict((Click(60, 50, True),), box=box)  # a user click: the caller's prompts only
    p.predict((), prev_prob=_two_discs(), box=box)  # a box over an existing map: no passes
    p.box_passes = 0
    p.predict((), box=box)
    assert len(calls) == 3 and all(ct.shape[1] == (1 if i == 0 else 0) for i, (ct, _, _) in enumerate(calls))
    with pytest.raises(ValueError, match="box_passes must be >= 0"):
        type(p)(p.net, device="cpu", box_passes=-1)
