"""Training the one-click state: clicks.first_click_prob (sampler.first_click, held, whole-image ROI)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import tiny_config
from test_train_engine import CPU, disks_draw, tiny_net

from napari_clickseg.core.simulate import padded_edt
from napari_clickseg.train.config import ClickSection
from napari_clickseg.train.iterative import make_prompts, train_step
from napari_clickseg.train.sampler import first_click


def _batch(cfg: ClickSection, seed: int = 4):
    draws = [disks_draw(np.random.default_rng(i)) for i in range(8)]
    return make_prompts([d[0] for d in draws], [d[2] for d in draws], [d[1] for d in draws], cfg,
                        np.random.default_rng(seed))


def test_first_click_is_positive_and_deep_inside():
    target = np.zeros((60, 80), bool)
    target[10:50, 20:70] = True
    depth = padded_edt(target)
    rng = np.random.default_rng(0)
    clicks = [first_click(target, rng) for _ in range(40)]
    assert all(c.is_positive and target[c.row, c.col] for c in clicks)
    assert all(depth[c.row, c.col] > depth.max() / 1.7 for c in clicks)
    assert any(depth[c.row, c.col] == depth.max() for c in clicks)  # the innermost pixel half the time


def test_first_click_samples_have_one_click_no_box_and_the_whole_image():
    batch = _batch(ClickSection(max_positive=3, max_negative=2, box_prob=0.5, first_click_prob=0.5))
    assert batch.first is not None and 0 < batch.first.sum() < len(batch.first)
    h, w = batch.targets.shape[1:]
    for i in np.flatnonzero(batch.first):
        (c,) = batch.clicks[i]
        assert c.is_positive and batch.targets[i][c.row, c.col]
        assert batch.boxes[i] is None and tuple(batch.rois[i]) == (0.0, 0.0, h - 1.0, w - 1.0)


def test_off_draws_nothing_and_marks_no_sample():
    base = ClickSection(max_positive=3, max_negative=2, box_prob=0.5)
    a, b = _batch(base), _batch(ClickSection(max_positive=3, max_negative=2, box_prob=0.5, first_click_prob=0.0))
    assert a.first is None and b.first is None
    assert a.clicks == b.clicks and np.array_equal(a.rois, b.rois)


def test_first_click_samples_sit_out_the_no_gradient_rounds():
    cfg = ClickSection(max_positive=2, max_negative=1, max_iterative=3, first_click_prob=0.5, supervised_rounds=2)
    batch = _batch(cfg)
    net = tiny_net()
    seen = []
    decode = net.decode
    net.decode = lambda f, r, c, p, b: (seen.append((c.detach().clone(), p.detach().clone())), decode(f, r, c, p, b))[1]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    info = train_step(net, opt, batch, cfg, np.random.default_rng(0), CPU, n_iterative=3)
    assert np.isfinite(info["loss"])
    clicks, prev = seen[3]  # the first supervised pass, after three no-gradient rounds
    for i, is_first in enumerate(batch.first):
        n = int((clicks[i, :, 2] >= 0).sum())
        if is_first:  # still the one-click state: one click, an empty previous map
            assert n == 1 and float(prev[i].abs().max()) == 0.0
        else:
            assert n == len(batch.clicks[i]) + 3 and float(prev[i].max()) > 0.0
    clicks, prev = seen[4]  # the second supervised pass: one simulated click more for everyone
    assert int((clicks[int(np.flatnonzero(batch.first)[0]), :, 2] >= 0).sum()) == 2


def test_first_click_prob_is_read_and_checked():
    assert ClickSection().first_click_prob == 0.0
    assert tiny_config(clicks={"first_click_prob": 0.25}).clicks.first_click_prob == 0.25
    with pytest.raises(ValueError, match="first_click_prob"):
        tiny_config(clicks={"first_click_prob": 1.5})
