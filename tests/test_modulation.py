"""MFP modulation (methods.md 2.3) pinned on small hand-computed maps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from napari_clickseg.core.modulation import MFPConfig, max_gamma, modulate, window_radius


def test_max_gamma_examples_from_the_paper():
    assert max_gamma(0.2, True) == pytest.approx(160.14, abs=0.01)
    assert max_gamma(0.49, True) == pytest.approx(70.98, abs=0.01)
    assert max_gamma(0.8, False) == pytest.approx(20.64, abs=0.01)
    assert max_gamma(0.51, False) == pytest.approx(6.84, abs=0.01)
    # nothing to correct
    assert max_gamma(0.995, True) == 1.0
    assert max_gamma(0.005, False) == 1.0
    # ramp special cases
    assert math.isinf(max_gamma(0.0, True))
    assert math.isinf(max_gamma(1.0, False))


def test_window_radius_cap_half_distance_and_floor():
    assert window_radius((0, 0), []) == 100.0  # no opposite click: R_max
    assert window_radius((0, 0), [(0, 60)]) == 30.0  # half the distance
    assert window_radius((0, 0), [(0, 300)]) == 100.0  # capped at R_max
    assert window_radius((0, 0), [(0, 12)]) == 10.0  # 10 px floor
    assert window_radius((0, 0), [(0, 60), (0, 40)]) == 20.0  # nearest opposite click


def test_positive_click_on_uniform_map_reaches_099_and_click_pixel_is_one():
    prob = np.full((21, 21), 0.2, np.float32)
    out = modulate(prob, [(10, 10, True)])
    # all distances equal p_u -> median 0 -> gamma = Gamma = ln 0.2 / ln 0.99 everywhere
    assert out[10, 10] == 1.0
    assert out[0, 0] == pytest.approx(0.99, abs=1e-5)
    assert np.allclose(np.delete(out.ravel(), 10 * 21 + 10), 0.99, atol=1e-5)
    assert prob[0, 0] == pytest.approx(0.2)  # input untouched


def test_probability_distance_hand_computed():
    prob = np.array([[0.2, 0.3, 0.4, 0.5, 0.6]], np.float32)
    out = modulate(prob, [(0, 0, True)])
    # d = (P - 0.2)^2 = [0, .01, .04, .09, .16], median 0.04
    gamma_max = math.log(0.2) / math.log(0.99)  # 160.14
    frac1 = (0.04 - 0.01) ** 3 / 0.04**3  # 0.421875
    g1 = (gamma_max - 1) * frac1 + 1  # 68.14
    assert out[0, 0] == 1.0
    assert out[0, 1] == pytest.approx(0.3 ** (1 / g1), abs=1e-5)  # 0.9825
    assert out[0, 1] == pytest.approx(0.9825, abs=1e-4)
    assert np.allclose(out[0, 2:], [0.4, 0.5, 0.6])  # at/after the median distance: gamma = 1


def test_euclidean_distance_from_click_8_on():
    prob = np.full((1, 120), 0.2, np.float32)
    earlier = [(0, 0, True)] * 7  # same polarity: no opposite click, R = R_max = 100
    out = modulate(prob, earlier + [(0, 0, True)])
    gamma_max = math.log(0.2) / math.log(0.99)
    g50 = gamma_max * 0.5 + 0.5  # linear from Gamma at the click to 1 at R
    assert out[0, 50] == pytest.approx(0.2 ** (1 / g50), abs=1e-5)
    assert out[0, 100] == pytest.approx(0.2)  # d = R: gamma = 1
    assert out[0, 110] == pytest.approx(0.2)  # outside the window
    assert out[0, 0] == 1.0
    # the 7th click still uses the probability distance: uniform map -> 0.99 everywhere in R
    out7 = modulate(prob, earlier)
    assert out7[0, 50] == pytest.approx(0.99, abs=1e-5)
    assert out7[0, 110] == pytest.approx(0.2)


def test_negative_click_pushes_to_001():
    prob = np.full((9, 9), 0.8, np.float32)
    out = modulate(prob, [(4, 4, False)])
    assert out[4, 4] == 0.0
    assert out[0, 0] == pytest.approx(0.01, abs=1e-5)


def test_ramp_special_cases():
    zeros = np.zeros((1, 11), np.float32)
    out = modulate(zeros, [(0, 0, True)])
    assert np.allclose(out[0], 1 - np.arange(11) / 10)
    ones = np.ones((1, 11), np.float32)
    out = modulate(ones, [(0, 0, False)])
    assert np.allclose(out[0], np.arange(11) / 10)


def test_window_radius_and_exclusion_around_a_close_opposite_click():
    prob = np.full((1, 30), 0.2, np.float32)
    # negative click at col 8, then the positive click at col 0: d = 8 -> R = max(4, 10) = 10,
    # and pixels closer to the negative click than 8 px leave the window
    out = modulate(prob, [(0, 8, False), (0, 0, True)])
    assert out[0, 0] == 1.0
    assert np.allclose(out[0, 1:], 0.2)
    # a far negative click: R = min(40 / 2, 100) = 20 -> cols 1..20 modulated, 21.. unchanged
    out = modulate(prob, [(0, 29, False), (0, 0, True)], MFPConfig())
    far = modulate(np.full((1, 60), 0.2, np.float32), [(0, 40, False), (0, 0, True)])
    assert np.allclose(far[0, 1:21], 0.99, atol=1e-5)
    assert np.allclose(far[0, 21:], 0.2)
    assert out[0, 0] == 1.0


def test_no_clicks_and_click_outside_leave_the_map_unchanged():
    prob = np.random.default_rng(0).random((16, 16)).astype(np.float32)
    assert np.array_equal(modulate(prob, []), prob)
    assert np.array_equal(modulate(prob, [(40, 3, True)]), prob)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="2D"):
        modulate(np.zeros((2, 3, 4)), [(0, 0, True)])


def test_a_nearly_flat_window_stays_finite():
    """A window whose probabilities almost all equal the click's (a flat plateau with a few
    values off by 1e-8) has a median distance whose cube underflows float32: no NaN."""
    prob = np.full((21, 21), 0.05, np.float32)
    prob[:, 9:] = np.nextafter(np.nextafter(np.float32(0.05), 1, dtype=np.float32), 1, dtype=np.float32)
    # median distance ~5e-17, its cube below float32's smallest subnormal
    prob[:, 15:] = 0.9
    with np.errstate(divide="raise", invalid="raise"):
        out = modulate(prob, [(10, 5, True)])
    assert np.isfinite(out).all()
    assert out[3, 3] == pytest.approx(0.99, abs=1e-3)  # the plateau at the click is pushed up
    assert np.allclose(out[:, 15:], 0.9)  # far in probability: untouched
