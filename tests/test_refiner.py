"""Boundary refiner (models/refiner.py), boundary loss and warm start where layers match."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import TINY_NET, tiny_config
from test_train_engine import CPU, fixed_batch

from napari_clickseg.models.networks import build_network
from napari_clickseg.models.weights_io import WeightsError, save_model, warm_start_network
from napari_clickseg.train.config import ClickSection, LossSection, config_from_dict, config_to_dict
from napari_clickseg.train.iterative import train_step
from napari_clickseg.train.losses import boundary_band, boundary_loss

SQUARE = torch.zeros(1, 1, 16, 16)
SQUARE[..., 4:12, 4:12] = 1


def _inputs(net, b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(b, 3, 64, 64, generator=g)
    rois = torch.tensor([[4.0, 6.0, 55.0, 57.0]] * b)
    clicks = torch.tensor([[[30.0, 30.0, 1.0], [-1, -1, -1]]] * b)
    prev = torch.zeros(b, 1, 64, 64)
    return image, rois, clicks, prev


def test_band_is_the_ring_around_the_boundary():
    band = boundary_band(SQUARE, 1)[0, 0]
    assert band[3:13, 3:13].sum() == 10 * 10 - 6 * 6  # dilated 10x10 minus eroded 6x6
    assert band[0].sum() == 0 and band[8, 8] == 0


def test_boundary_loss_weighs_only_the_band():
    logits = torch.where(SQUARE > 0, 8.0, -8.0).requires_grad_(True)
    small = boundary_loss(logits, SQUARE, 1).detach()
    assert float(small) < 1e-3
    wrong = logits.detach().clone()
    wrong[..., 0, 0] = 8.0  # far from the boundary: the band loss ignores it
    assert float(boundary_loss(wrong, SQUARE, 1)) == pytest.approx(float(small), abs=1e-6)
    wrong[..., 4, 4] = -8.0  # on the boundary: it counts
    assert float(boundary_loss(wrong, SQUARE, 1)) > 0.1
    boundary_loss(logits, SQUARE, 1).backward()
    grad = logits.grad[0, 0].abs() > 0
    assert bool(grad[boundary_band(SQUARE, 1)[0, 0] == 0].any()) is False
    empty = torch.zeros(1, 1, 8, 8)
    assert float(boundary_loss(torch.full_like(empty, -5.0), empty)) == 0.0


def test_refiner_starts_as_the_identity_of_the_coarse_head(tmp_path):
    torch.manual_seed(0)
    base = build_network("fdrn", crop_size=48, **TINY_NET).eval()
    path = save_model(base, tmp_path / "base.pt", {"description": "test"})
    net, fresh = warm_start_network(path, family="fdrn", refine=8)
    assert fresh and all(k.startswith("refiner.") for k in fresh)
    net.eval()
    with torch.no_grad():
        a = base(*_inputs(base))
        b = net(*_inputs(net))
    assert a.shape == b.shape == (2, 1, 48, 48)
    assert torch.allclose(a, b, atol=1e-5)
    same, none = warm_start_network(path, family="fdrn")
    assert none == [] and same.refiner is None
    with pytest.raises(WeightsError):
        warm_start_network(path, family="ritm-like", refine=8)
    with pytest.raises(ValueError):
        build_network("fdrn", crop_size=48, refine=-1)


@pytest.mark.slow
def test_refiner_and_coarse_head_learn_with_the_boundary_loss():
    torch.manual_seed(0)
    net = build_network("fdrn", crop_size=48, refine=8, **TINY_NET)
    clicks = ClickSection(max_positive=2, max_negative=1, max_iterative=0, box_prob=0.0)
    batch = fixed_batch(clicks)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    out = net.refiner.out.weight.detach().clone()
    losses = [train_step(net, opt, batch, clicks, np.random.default_rng(k), CPU,
                         loss_cfg=LossSection(boundary_weight=1.0, boundary_radius=2))["loss"] for k in range(12)]
    assert not torch.equal(out, net.refiner.out.weight.detach()), "the zero-initialised output conv moves"
    assert losses[-1] < losses[0]


def test_config_reads_the_loss_section_and_checks_it():
    base = config_to_dict(tiny_config())
    cfg = config_from_dict({**base, "loss": {"boundary_weight": 0.5, "boundary_radius": 3}})
    assert cfg.loss == LossSection(0.5, 3)
    assert config_from_dict(config_to_dict(cfg)).loss == cfg.loss
    with pytest.raises(ValueError, match="loss.boundary_radius"):
        config_from_dict({**base, "loss": {"boundary_radius": 0}})
