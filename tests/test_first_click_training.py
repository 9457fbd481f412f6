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


def test_zoomed_out_first_click_target_is_the_clicked_copy_only():
    from napari_clickseg.core.clicks import Click
    from napari_clickseg.train.iterative import first_click_zoom_out

    _, labels, _ = disks_draw(np.random.default_rng(0))
    disc = (labels == 1)[None, None].astype(np.float32)
    img = torch.from_numpy(np.repeat(disc, 3, 1))
    tgt = torch.from_numpy(disc)
    clicks = [[Click(20, 20, True)], [Click(20, 20, True)], []]
    tiled, first, target, valid = first_click_zoom_out(torch.cat([img] * 3), torch.cat([tgt] * 3), clicks, 4.0,
                                                       np.random.default_rng(3))
    assert tiled.shape == (3, 3, 64, 64) and target.shape == (3, 1, 64, 64)
    assert valid.tolist() == [True, True, False]  # no click: nothing to supervise
    r, c, pos = first[0, 0].tolist()
    assert pos == 1.0 and float(target[0, 0, int(r), int(c)]) == 1.0  # the click is on its target
    # the target is one 4x smaller disc (about 1/16 of the area), while the image holds 16 copies
    assert float(target[0].sum()) == pytest.approx(float(tgt.sum()) / 16, rel=0.25)
    copies = (tiled[0, 0] > 0.5) & (target[0, 0] < 0.5)
    assert float(copies.sum()) > 10 * float(target[0].sum())  # the other copies are background


def test_zoomed_out_first_click_moves_a_click_that_misses_its_shrunk_object():
    from napari_clickseg.core.clicks import Click
    from napari_clickseg.train.iterative import first_click_zoom_out

    tgt = torch.zeros((1, 1, 64, 64))
    tgt[0, 0, 8:40, 30:34] = 1.0  # a thin bar: a click at its edge leaves it when shrunk
    img = tgt.repeat(1, 3, 1, 1)
    _, first, target, valid = first_click_zoom_out(img, tgt, [[Click(39, 30, True)]], 3.0, np.random.default_rng(0))
    r, c, _ = first[0, 0].tolist()
    assert valid[0] and float(target[0, 0, int(r), int(c)]) == 1.0


def test_first_click_zoom_out_adds_one_supervised_pass_for_first_click_samples():
    from napari_clickseg.train import iterative
    from napari_clickseg.train.config import LossSection

    cfg = ClickSection(max_positive=2, max_negative=1, max_iterative=1, first_click_prob=0.5, box_prob=0.0)
    batch = _batch(cfg)
    net = tiny_net()
    encodes = []
    encode = net.encode
    net.encode = lambda x: (encodes.append(x.shape), encode(x))[1]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    before = [p.detach().clone() for n, p in net.named_parameters() if n.startswith("encoder.")]
    info = train_step(net, opt, batch, cfg, np.random.default_rng(0), CPU, n_iterative=0,
                      loss_cfg=LossSection(first_click_zoom_out=[2.0, 3.0]))
    assert np.isfinite(info["loss"]) and len(encodes) == 2  # the images, then their zoomed-out tiling
    after = [p for n, p in net.named_parameters() if n.startswith("encoder.")]
    assert any(not torch.equal(a, b) for a, b in zip(before, after))  # the encoder trains on it too
    encodes.clear()
    plain = ClickSection(max_positive=2, max_negative=1, max_iterative=1, box_prob=0.0)
    train_step(net, opt, _batch(plain), plain, np.random.default_rng(0), CPU, n_iterative=0,
               loss_cfg=LossSection(first_click_zoom_out=[2.0, 3.0]))
    assert len(encodes) == 1  # no first-click sample: no extra pass
    assert iterative.first_click_zoom_out is not None


def test_first_click_zoom_out_is_checked(tmp_path):
    with pytest.raises(ValueError, match=r"loss.first_click_zoom_out must be \[\] or \[low, high\]"):
        tiny_config(clicks={"first_click_prob": 0.3}, loss={"first_click_zoom_out": [0.5, 2.0]})
    with pytest.raises(ValueError, match="loss.first_click_zoom_out needs clicks.first_click_prob > 0"):
        tiny_config(loss={"first_click_zoom_out": [2.0, 3.0]})
    assert tiny_config(clicks={"first_click_prob": 0.3},
                       loss={"first_click_zoom_out": [2.0, 4.0]}).loss.first_click_zoom_out == [2.0, 4.0]
