"""core.mask_prompt: a hard mask as the soft map the learned models know (and MFP can modulate)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.mask_prompt import CROP_WIDTH, HIGH, LOW, soft_mask, zoom_width
from napari_clickseg.core.modulation import modulate
from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.models.base import BasePredictor


def _disk(shape=(120, 120), centre=(60, 60), radius=25):
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    return (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius**2


@pytest.mark.parametrize("threshold", [0.49, 0.2, 0.8])
def test_the_soft_map_thresholds_to_exactly_the_mask_for_session_models_and_zoom(threshold):
    m = _disk()
    m[0:3, 0:40] = True  # a thin strip on the image border, too
    p = soft_mask(m, threshold)
    assert p.dtype == np.float32 and p.shape == m.shape
    assert np.array_equal(p > threshold, m) and np.array_equal(p > 0.49, m) and np.array_equal(p > 0.5, m)
    assert 0.0 < p.min() and p.max() < 1.0, "exact 0 or 1 sends MFP into its ramp special case"


def test_the_map_rises_inwards_to_a_plateau_and_falls_outwards_without_one():
    p = soft_mask(_disk(radius=25))
    row = p[60, 60:120]  # from the centre rightwards: the boundary is at col 85 / 86
    inside, outside = row[:26], row[26:]
    assert inside[0] == pytest.approx(HIGH) and (np.diff(inside) <= 1e-7).all()
    assert 0.5 < inside[-1] < 0.6 and 0.4 < outside[0] < 0.49  # about 0.5 at the boundary
    assert (np.diff(outside) < 0).all(), "a flat background would be taken whole by MFP's probability distance"
    assert outside[-1] > LOW and soft_mask(_disk((300, 300), (60, 60)))[299, 299] == pytest.approx(LOW)


def test_empty_and_full_masks_and_bad_input():
    assert (soft_mask(np.zeros((8, 9), bool)) == np.float32(LOW)).all()
    assert (soft_mask(np.ones((8, 9), np.uint8)) == np.float32(HIGH)).all()
    with pytest.raises(ValueError, match="2D"):
        soft_mask(np.zeros((2, 3, 4), bool))
    with pytest.raises(ValueError, match="width"):
        soft_mask(np.zeros((4, 4), bool), width=0)


def test_a_correcting_click_keeps_the_mask_around_it_under_mfp():
    """A positive click just outside an eroded mask: on the hard mask (p = 0 there) MFP
    overwrites its window with a cone, so the mask's far side drops to ~0.5 and background
    40 px away rises above 0.5; on the soft map only the ring at the click's distance from the
    mask rises."""
    m = _disk(radius=25)
    click = [(60, 60, True), (60, 87, True)]  # the anchor, then 2 px right of the boundary
    hard = modulate(m.astype(np.float32), click)
    soft, before = modulate(soft_mask(m), click), soft_mask(m)
    assert hard[60, 40] < 0.6 and hard[100, 100] > 0.5, "the hard mask is no longer the object"
    assert soft[60, 40] == before[60, 40] and soft[100, 100] < 0.01
    assert soft[60, 88] > 0.9 and soft[60, 95] < 0.5


def test_the_fall_off_is_a_fixed_number_of_crop_pixels():
    small, large = _disk((400, 400), (200, 200), 8), _disk((400, 400), (200, 200), 90)
    ws, wl = zoom_width(small), zoom_width(large)
    assert 0.5 <= ws < 2.0 < 6.0 < wl, (ws, wl)  # a 16 px nucleus: sharp; a 180 px gland: soft
    roi_side = 2 * 90 + 1  # the zoom grows the box by at least 1.4
    assert wl == pytest.approx(CROP_WIDTH * max(roi_side * 1.4, 1) / 256, rel=0.5)
    assert zoom_width(small, crop_size=512) == pytest.approx(max(ws / 2, 0.5))
    assert zoom_width(np.zeros((9, 9), bool)) > 0


def test_the_learned_predictor_gives_the_soft_map_scaled_to_its_crop():
    from napari_clickseg import build_model

    net = build_model("fdrn", device="cpu", pretrained=False)  # random weights: only the prompt is used
    img = np.random.default_rng(0).random((120, 120)).astype(np.float32)
    net.set_image(img)
    m = _disk()
    p = net.mask_prompt(m, 0.49)
    assert np.allclose(p, soft_mask(m, 0.49, zoom_width(m, net.zoom, net.crop_size)))
    assert np.array_equal(p > 0.49, m) and 0 < p.min() and p.max() < 1


class _Echo(BasePredictor):
    name = "echo"

    def _encode(self, image):
        return image

    def _predict(self, features, clicks, prev_prob, box):
        self.prev = prev_prob
        return prev_prob


class _SoftEcho(_Echo):
    def mask_prompt(self, mask, threshold):
        return soft_mask(mask, threshold)


def test_with_soft_masks_the_session_asks_the_model_for_its_mask_prompt():
    img = np.random.default_rng(0).random((120, 120)).astype(np.float32)
    m = _disk()
    hard = m.astype(np.float32)
    for soft, p, expected in ((False, _SoftEcho(), hard), (True, _Echo(), hard), (True, _SoftEcho(), soft_mask(m))):
        s = InteractiveSession(p, img)
        s.soft_masks = soft
        assert np.array_equal(s.start_from_mask(m), m)
        s.add_click(60, 60)
        assert np.allclose(p.prev, expected) and np.array_equal(s.mask, m)
    given = np.where(m, 0.7, 0.2).astype(np.float32)
    s.start_from_mask(given)
    s.add_click(60, 60)
    assert np.array_equal(p.prev, given)
