"""Training with box prompts: clicks.box_only_held keeps box-only samples in the box-alone state."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import tiny_config
from test_train_engine import CPU, disks_draw, tiny_net

from napari_clickseg.train.config import ClickSection
from napari_clickseg.train.iterative import make_prompts, train_step


def _supervised_inputs(held: bool, n_iterative: int):
    """The (clicks, previous map) of the supervised pass of one step, and the batch."""
    cfg = ClickSection(max_positive=2, max_negative=1, max_iterative=3, box_prob=0.5, box_only_prob=1.0,
                       box_only_held=held)
    draws = [disks_draw(np.random.default_rng(i)) for i in range(6)]
    batch = make_prompts([d[0] for d in draws], [d[2] for d in draws], [d[1] for d in draws], cfg,
                         np.random.default_rng(4))
    net = tiny_net()
    seen = []
    decode = net.decode
    net.decode = lambda f, r, c, p, b: (seen.append((c.detach().clone(), p.detach().clone())), decode(f, r, c, p, b))[1]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    info = train_step(net, opt, batch, cfg, np.random.default_rng(0), CPU, n_iterative=n_iterative)
    assert np.isfinite(info["loss"])
    return seen[-1], batch


@pytest.mark.parametrize("held", [True, False])
def test_box_only_samples_sit_out_the_no_gradient_rounds_when_held(held):
    (clicks, prev), batch = _supervised_inputs(held, n_iterative=3)
    box_only = [b is not None and not c for b, c in zip(batch.boxes, batch.clicks)]
    assert 0 < sum(box_only) < len(box_only)  # both kinds in the batch
    for i, only in enumerate(box_only):
        n_clicks = int((clicks[i, :, 2] >= 0).sum())
        if only and held:  # the box alone: no click, nothing from earlier rounds
            assert n_clicks == 0 and float(prev[i].abs().max()) == 0.0
        else:  # three simulated clicks on top of the initial ones, and a map from the rounds
            assert n_clicks == len(batch.clicks[i]) + 3
            assert float(prev[i].max()) > 0.0


def test_box_only_held_off_by_default_and_read_from_the_config():
    assert ClickSection().box_only_held is False
    assert tiny_config(clicks={"box_only_held": True}).clicks.box_only_held is True
