"""Slice-to-slice propagation of a committed object (core/volume.py)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.volume import PropagationConfig, mask_iou, prompts_from_mask, propagate, propagate_between
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
