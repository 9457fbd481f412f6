"""Normalised focal loss: hand-computed values, per-image normalisation, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_clickseg.train.losses import normalized_focal_loss


def _by_hand(z: np.ndarray, y: np.ndarray, alpha: float = 0.5, gamma: float = 2.0) -> float:
    p = 1 / (1 + np.exp(-z))
    pt = 1 - np.abs(y - p)
    at = np.where(y == 1, alpha, 1 - alpha)
    beta = (1 - pt) ** gamma
    beta_hat = beta * y.size / beta.sum()
    return float(np.mean(at * beta_hat * -np.log(pt)))


def test_nfl_matches_hand_computation_on_2x2():
    z = np.array([[0.0, 2.0], [-1.0, 1.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    # p = [.5, .8808, .2689, .7311]; pt = [.5, .1192, .7311, .7311]
    # beta = [.25, .7758, .0723, .0723] (sum 1.1704); beta_hat = beta * 4 / 1.1704
    expected = 0.5 * np.sum(np.array([0.25, 0.77580, 0.07229, 0.07229]) * 4 / 1.17038
                            * -np.log([0.5, 0.11920, 0.73106, 0.73106])) / 4
    assert _by_hand(z, y) == pytest.approx(expected, rel=1e-3)
    got = normalized_focal_loss(torch.tensor(z)[None, None], torch.tensor(y)[None, None])
    assert float(got) == pytest.approx(expected, rel=1e-3)
    assert float(got) == pytest.approx(_by_hand(z, y), rel=1e-6)


def test_focal_weights_are_normalised_per_image():
    # all pixels equally wrong: beta_hat = 1 everywhere, the loss is alpha * -log(pt)
    z = torch.full((1, 1, 3, 3), -0.7)
    y = torch.ones_like(z)
    pt = 1 / (1 + np.exp(0.7))
    assert float(normalized_focal_loss(z, y)) == pytest.approx(0.5 * -np.log(pt), rel=1e-5)
    # scaling how wrong *every* pixel is by the focal term does not change the weights' mean
    rng = np.random.default_rng(0)
    za, ya = rng.normal(size=(4, 4)), (rng.random((4, 4)) > 0.5).astype(float)
    zb, yb = rng.normal(size=(4, 4)) * 3, (rng.random((4, 4)) > 0.5).astype(float)
    batch = normalized_focal_loss(torch.tensor(np.stack([za, zb]))[:, None], torch.tensor(np.stack([ya, yb]))[:, None])
    assert float(batch) == pytest.approx((_by_hand(za, ya) + _by_hand(zb, yb)) / 2, rel=1e-6)


def test_valid_mask_and_gradients():
    z = torch.randn(2, 1, 5, 5, requires_grad=True)
    y = (torch.rand(2, 1, 5, 5) > 0.5).float()
    valid = torch.ones_like(y)
    valid[..., 0, :] = 0
    loss = normalized_focal_loss(z, y, valid)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()
    assert float(z.grad[..., 0, :].abs().sum()) == 0.0  # ignored pixels get no gradient
    with pytest.raises(ValueError, match="shape"):
        normalized_focal_loss(z, y[:, :, :4])


def test_confident_correct_prediction_has_small_loss():
    y = torch.zeros(1, 1, 4, 4)
    y[..., :2, :] = 1
    good = normalized_focal_loss(torch.where(y > 0, 8.0, -8.0), y)
    bad = normalized_focal_loss(torch.where(y > 0, -2.0, 2.0), y)
    assert float(good) < 1e-3 < float(bad)
