"""Slice-to-slice propagation of a committed object (core/volume.py)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.volume import (
    PropagationConfig,
    mask_iou,
    prompts_from_mask,
    propagate,
    propagate_between,
)
from napari_clickseg.models.registry import load_model


def _ball_volume(n=9, size=48, seed=0):
    """A bright ball of radius 14 centred on slice 4 of a noisy (n, size, size) stack."""
    zz, rr, cc = np.ogrid[:n, :size, :size]
    inside = (zz - 4) ** 2 * 4 + (rr - 24) ** 2 + (cc - 22) ** 2 <= 14**2
    rng = np.random.default_rng(seed)
    vol = 0.2 + 0.6 * inside + rng.normal(0, 0.05, inside.shape)
    return vol.astype(np.float32), inside


def test_prompts_from_mask_deepest_point_and_box():
    m = np.zeros((30, 40), bool)
    m[5:25, 10:20] = True
    clicks, box = prompts_from_mask(m)
    assert clicks[0].is_positive and m[clicks[0].row, clicks[0].col]
    assert 14 <= clicks[0].col <= 15, "the deepest point lies on the medial axis"
    assert all(m[c.row, c.col] for c in clicks)
    assert box.row0 < 5 and box.row1 > 24 and box.col0 < 10 and box.col1 > 19
    with pytest.raises(ValueError, match="empty"):
        prompts_from_mask(np.zeros((5, 5), bool))


def test_propagation_fills_neighbours_and_stops_when_object_vanishes():
    vol, truth = _ball_volume()
    pred = load_model("random-walker", device="cpu")
    out = propagate(lambda z: vol[z], len(vol), pred, 4, truth[4], +1)
    assert list(out)[:2] == [5, 6]
    for z, m in out.items():
        assert mask_iou(m, truth[z]) > 0.7, z
    assert 8 not in out or truth[8].sum() > 0  # the ball ends at z = 8 or before
    back = propagate(lambda z: vol[z], len(vol), pred, 4, truth[4], -1, PropagationConfig(max_slices=2))
    assert list(back) == [3, 2]


def test_propagation_stops_on_low_overlap():
    vol, truth = _ball_volume()
    vol[6] = np.random.default_rng(1).normal(0.5, 0.05, vol[6].shape)  # object gone on slice 6
    pred = load_model("random-walker", device="cpu")
    out = propagate(lambda z: vol[z], len(vol), pred, 4, truth[4], +1, PropagationConfig(min_iou=0.5))
    assert 5 in out and 6 not in out and 7 not in out


def test_propagate_between_two_annotated_slices():
    vol, truth = _ball_volume()
    pred = load_model("random-walker", device="cpu")
    out = propagate_between(lambda z: vol[z], len(vol), pred, 6, truth[6], 2, truth[2])
    assert sorted(out) == [3, 4, 5]
    assert all(mask_iou(out[z], truth[z]) > 0.7 for z in out)
    with pytest.raises(ValueError, match="direction"):
        propagate(lambda z: vol[z], len(vol), pred, 4, truth[4], 0)


def test_stop_rules_faded_leaked_and_reported():
    from napari_clickseg.core.volume import ObjectAppearance, stop_reason

    img = np.full((40, 40), 0.2, np.float32)
    obj = np.zeros((40, 40), bool)
    obj[10:20, 10:20] = True
    img[obj] = 0.8
    app = ObjectAppearance.measure(img, obj)
    assert app.usable and abs(app.kept(img, obj) - 1.0) < 1e-6
    cfg = PropagationConfig()
    assert stop_reason(obj, obj, img, cfg, app) is None
    dim = np.where(obj, 0.25, 0.2).astype(np.float32)  # same place, but it looks like background
    assert stop_reason(obj, obj, dim, cfg, app) == "faded"
    assert stop_reason(obj, obj, dim, PropagationConfig(min_contrast=None), app) is None
    grown = np.zeros_like(obj)
    grown[10:30, 10:30] = True  # IoU 0.25 with the previous: "jumped" first
    assert stop_reason(grown, obj, np.where(grown, 0.8, 0.2), cfg, app) == "jumped"
    spill = obj.copy()
    spill[10:20, 20:40] = True  # 170 of its 300 px lie outside the previous mask dilated by 3 px
    assert stop_reason(spill, obj, np.where(spill, 0.8, 0.2), PropagationConfig(min_iou=0.0), app) == "leaked"
    flat = ObjectAppearance.measure(np.full((40, 40), 0.5), obj)
    assert not flat.usable and flat.kept(img, obj) is None  # no contrast to measure: rule off


def test_propagation_stops_where_the_object_fades_and_says_why():
    vol, truth = _ball_volume()
    vol[7:] = np.random.default_rng(2).normal(0.2, 0.05, vol[7:].shape)  # the ball ends at slice 6
    pred = load_model("random-walker", device="cpu")
    why = {}
    out = propagate(lambda z: vol[z], len(vol), pred, 4, truth[4], +1, on_stop=lambda z, r: why.update({z: r}))
    assert 5 in out and 6 in out and 7 not in out and 8 not in out
    assert list(why) == [7] and why[7] in ("faded", "vanished", "leaked", "jumped")
