"""Growing a trained network: deeper encoder stages start as the identity (``warm_start_network``),
and their new BatchNorm layers train their statistics under ``freeze_bn``."""

from __future__ import annotations

import numpy as np
import torch
from test_refiner import _inputs
from test_train import TINY_NET, tiny_config
from test_train_engine import CPU, fixed_batch

from napari_clickseg.models.networks import build_network
from napari_clickseg.models.weights_io import save_model, warm_start_network
from napari_clickseg.train.config import ClickSection
from napari_clickseg.train.iterative import keep_fresh_statistics, train_step
from napari_clickseg.train.trainer import build_training_network

DEEPER = {**TINY_NET["encoder"], "blocks": [1, 2, 2]}
NEW_BLOCKS = ("encoder.stage_mid.1.", "encoder.stage_high.1.")


def _trained_base(tmp_path):
    """A tiny fdrn whose BatchNorm layers hold non-trivial statistics and affine weights."""
    torch.manual_seed(0)
    base = build_network("fdrn", crop_size=48, **TINY_NET)
    with torch.no_grad():
        for m in base.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    base.eval()
    return base, save_model(base, tmp_path / "base.pt", {"description": "test"})


def test_a_deeper_encoder_starts_where_the_file_is(tmp_path):
    base, path = _trained_base(tmp_path)
    net, fresh = warm_start_network(path, family="fdrn", encoder=DEEPER)
    assert fresh and all(k.startswith(NEW_BLOCKS) for k in fresh)
    assert float(net.encoder.stage_high[1].conv2[1].weight.detach().abs().sum()) == 0.0
    assert float(net.encoder.stage_high[0].conv2[1].weight.detach().abs().sum()) > 0.0  # from the file
    net.eval()
    image = _inputs(base)[0]
    with torch.no_grad():
        a, b = base(*_inputs(base)), net(*_inputs(net))
        fa, fb = base.encode(image), net.encode(image)
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(fa["high"], fb["high"], atol=1e-5) and torch.allclose(fa["low"], fb["low"], atol=1e-5)
    # the zero residual is what makes them equal: a live new block changes the features
    with torch.no_grad():
        net.encoder.stage_high[1].conv2[1].weight.fill_(1.0)
        net.encoder.stage_high[1].conv2[1].bias.fill_(0.5)
        assert not torch.allclose(fa["high"], net.encode(image)["high"], atol=1e-2)


def test_freeze_bn_trains_only_the_new_statistics(tmp_path):
    _, path = _trained_base(tmp_path)
    net, fresh = warm_start_network(path, family="fdrn", encoder=DEEPER)
    assert keep_fresh_statistics(net, fresh) == 4  # two BatchNorm layers in each new block
    new_bn = net.encoder.stage_high[1].conv1[1]
    old_bn = net.encoder.stage_high[0].conv1[1]
    new_mean, old_mean = new_bn.running_mean.clone(), old_bn.running_mean.clone()
    clicks = ClickSection(max_positive=2, max_negative=1, max_iterative=0, box_prob=0.0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    train_step(net, opt, fixed_batch(clicks), clicks, np.random.default_rng(0), CPU, freeze_bn=True)
    assert not torch.equal(new_mean, new_bn.running_mean), "new statistics train"
    assert torch.equal(old_mean, old_bn.running_mean), "the file's statistics stay fixed"


def test_the_trainer_grows_from_model_init(tmp_path):
    _, path = _trained_base(tmp_path)
    cfg = tiny_config(model={"init": str(path), "overrides": {"encoder": DEEPER}})
    net = build_training_network(cfg)
    assert len(net.encoder.stage_high) == 2
    assert getattr(net.encoder.stage_high[1].conv2[1], "_fresh_statistics", False)
    assert not getattr(net.encoder.stage_high[0].conv2[1], "_fresh_statistics", False)


def test_fresh_entries_get_their_own_learning_rate(tmp_path):
    from napari_clickseg.train.trainer import Trainer

    _, path = _trained_base(tmp_path)
    model = {"init": str(path), "overrides": {"encoder": DEEPER}}
    tr = Trainer(tiny_config(model=model, optim={"fresh_lr_mult": 20.0}, run={"data_workers": 0}), tmp_path / "a")
    assert set(tr.net.fresh_entries) and all(n.startswith(NEW_BLOCKS) for n in tr.net.fresh_entries)
    fresh_ids = {id(p) for n, p in tr.net.named_parameters() if n in tr.net.fresh_entries}
    (group,) = [g for g in tr.optimizer.param_groups if g["lr_mult"] == 20.0]
    assert {id(p) for p in group["params"]} == fresh_ids  # exactly the new blocks' parameters
    others = [p for g in tr.optimizer.param_groups if g is not group for p in g["params"]]
    assert len(others) + len(fresh_ids) == len(list(tr.net.parameters())) and not fresh_ids & {id(p) for p in others}
    lr = tr.loop._set_lr(0)  # what each step sets
    assert group["lr"] == 20.0 * lr and tr.optimizer.param_groups[0]["lr"] == lr
    # the default keeps one learning rate for all (no extra group)
    plain = Trainer(tiny_config(model=model, run={"data_workers": 0}), tmp_path / "b")
    assert all(g["lr_mult"] == 1.0 for g in plain.optimizer.param_groups)
