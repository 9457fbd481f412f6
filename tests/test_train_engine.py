"""The training engine: precision, step data (workers), supervised rounds, objects per image, the loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import TINY_NET, tiny_config

from napari_clickseg.train.config import ClickSection, config_from_dict
from napari_clickseg.train.iterative import make_prompts, train_step
from napari_clickseg.train.loop import TrainLoop
from napari_clickseg.train.precision import Precision, cpu_has_bf16, resolve_precision
from napari_clickseg.train.sampler import other_target
from napari_clickseg.train.step_data import StepData, step_batches

CPU = torch.device("cpu")


def disks_draw(rng: np.random.Generator):
    """Two bright discs on a noisy background (64 x 64), target = one of them."""
    yy, xx = np.mgrid[:64, :64]
    labels = np.zeros((64, 64), np.int32)
    for i, (r, c) in enumerate([(20 + rng.integers(-3, 4), 20), (44, 44 + rng.integers(-3, 4))], start=1):
        labels[(yy - r) ** 2 + (xx - c) ** 2 <= 81] = i
    image = np.clip(0.2 + 0.6 * (labels > 0)[..., None] + rng.normal(0, 0.05, (64, 64, 3)), 0, 1).astype(np.float32)
    target = labels == (1 + int(rng.integers(2)))
    return image, labels, target


def tiny_net():
    from napari_clickseg.models.networks import build_network

    torch.manual_seed(0)
    return build_network("fdrn", crop_size=48, **TINY_NET)


def fixed_batch(clicks: ClickSection, n: int = 4):
    draws = [disks_draw(np.random.default_rng(i)) for i in range(n)]
    return make_prompts([d[0] for d in draws], [d[2] for d in draws], [d[1] for d in draws], clicks,
                        np.random.default_rng(0))


def loss_curve(precision: Precision, steps: int = 25) -> list[float]:
    clicks = ClickSection(max_positive=2, max_negative=1, max_iterative=0, box_prob=0.0)
    batch = fixed_batch(clicks)
    net = precision.prepare(tiny_net())
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    return [train_step(net, opt, batch, clicks, np.random.default_rng(k), CPU, precision=precision)["loss"]
            for k in range(steps)]


@pytest.mark.slow
@pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no native bf16 kernels (bf16 training is off here)")
def test_bf16_training_decreases_the_loss_like_float32():
    f32 = loss_curve(Precision("float32", "cpu"))
    bf16 = loss_curve(Precision("bfloat16", "cpu"))
    assert f32[-1] < 0.6 * f32[0]
    assert bf16[-1] < 0.6 * bf16[0]
    assert abs(np.mean(bf16[-5:]) - np.mean(f32[-5:])) < 0.25 * f32[0]


def test_precision_resolution():
    auto = resolve_precision("auto", CPU)
    assert auto.name == ("bfloat16" if cpu_has_bf16() else "float32") and auto.why
    assert resolve_precision("float32", CPU).dtype is None
    assert resolve_precision("float32", CPU).scaler() is None
    with pytest.raises(ValueError, match="needs a CUDA device"):
        resolve_precision("float16", CPU)
    with pytest.raises(ValueError, match="run.precision must be one of"):
        resolve_precision("half", CPU)


def test_engine_config_keys_are_checked():
    with pytest.raises(ValueError, match="run.precision"):
        tiny_config(run={"precision": "fp8"})
    with pytest.raises(ValueError, match="clicks.supervised_rounds"):
        tiny_config(clicks={"supervised_rounds": 0})
    with pytest.raises(ValueError, match="clicks.objects_per_image"):
        tiny_config(clicks={"objects_per_image": 0})
    with pytest.raises(ValueError, match="data_workers"):
        tiny_config(run={"data_workers": -1})


def test_supervised_rounds_add_a_click_between_passes():
    clicks = ClickSection(max_positive=1, max_negative=0, max_iterative=0, box_prob=0.0, supervised_rounds=3)
    batch = fixed_batch(clicks)
    first = np.mean([len(c) for c in batch.clicks])
    net = tiny_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in net.parameters()]
    info = train_step(net, opt, batch, clicks, np.random.default_rng(0), CPU)
    assert info["supervised"] == 4 * 3
    assert info["clicks"] == pytest.approx(first + 2)  # one click after each pass but the last
    moved = [not torch.equal(a, b.detach()) for a, b in zip(before, net.parameters())]
    assert all(moved), "every parameter (encoder included) gets a gradient"


def test_rounds_through_detached_features_give_the_plain_gradient():
    """One supervised round through detached feature leaves == backprop through the whole graph."""
    from napari_clickseg.models.roi import crop_to_roi
    from napari_clickseg.train.iterative import boxes_tensor, clicks_tensor
    from napari_clickseg.train.losses import normalized_focal_loss

    clicks = ClickSection(max_positive=2, max_negative=1, max_iterative=0, box_prob=0.0)
    batch = fixed_batch(clicks)
    net = tiny_net()
    net.train()
    # plain: loss.backward through encode + decode
    image = torch.from_numpy(batch.images).permute(0, 3, 1, 2).contiguous()
    rois = torch.from_numpy(batch.rois)
    gt = (crop_to_roi(torch.from_numpy(batch.targets[:, None].astype(np.float32)), rois, 48) > 0.5).float()
    logits = net.decode(net.encode(image), rois, clicks_tensor(batch.clicks), torch.zeros((4, 1, 64, 64)),
                        boxes_tensor(batch.boxes))
    normalized_focal_loss(logits.float(), gt).backward()
    plain = {n: p.grad.clone() for n, p in net.named_parameters()}
    # engine: SGD with lr 1 shows the gradient as the parameter change
    net2 = tiny_net()
    opt = torch.optim.SGD(net2.parameters(), lr=1.0)
    before = {n: p.detach().clone() for n, p in net2.named_parameters()}
    train_step(net2, opt, batch, clicks, np.random.default_rng(0), CPU)
    for n, p in net2.named_parameters():
        torch.testing.assert_close(before[n] - p.detach(), plain[n], rtol=1e-3, atol=1e-5, msg=n)


def test_objects_per_image_share_one_encoding():
    clicks = ClickSection(max_positive=2, max_negative=1, max_iterative=0, box_prob=0.0, objects_per_image=2)
    data = StepData(disks_draw, 3, clicks, seed=5, steps=4, min_area=20)
    item = data[2]
    b = item.batch
    assert b.images.shape[0] == 3 and b.targets.shape[0] == 6
    assert b.owners.tolist() == [0, 0, 1, 1, 2, 2]
    for i in range(3):  # the second target of each image is its other disc
        first, second = b.targets[2 * i], b.targets[2 * i + 1]
        assert first.any() and second.any() and not (first & second).any()
    net = tiny_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    calls = []
    encode = net.encode
    net.encode = lambda x: (calls.append(x.shape[0]), encode(x))[1]
    info = train_step(net, opt, b, clicks, item.rng, CPU)
    assert calls == [3] and info["supervised"] == 6


def test_other_target_falls_back_when_the_crop_has_one_object():
    labels = np.zeros((32, 32), np.int32)
    labels[5:15, 5:15] = 1
    rng = np.random.default_rng(0)
    assert other_target(labels, labels == 1, rng, min_area=10) is None
    labels[20:30, 20:30] = 2
    assert np.array_equal(other_target(labels, labels == 1, rng, min_area=10), labels == 2)


def test_step_data_depends_only_on_seed_and_step():
    clicks = ClickSection(max_positive=2, max_negative=1, max_iterative=1, box_prob=0.3)
    data = StepData(disks_draw, 2, clicks, seed=1, steps=6)
    a, b = data[3], data[3]
    assert np.array_equal(a.batch.images, b.batch.images) and a.batch.clicks == b.batch.clicks
    assert a.rng.integers(1 << 30) == b.rng.integers(1 << 30)
    assert not np.array_equal(data[3].batch.images, data[4].batch.images)


@pytest.mark.slow
def test_worker_processes_deliver_the_same_steps_in_order():
    clicks = ClickSection(max_positive=2, max_negative=1, max_iterative=1, box_prob=0.3)
    data = StepData(disks_draw, 2, clicks, seed=1, steps=8)
    inline = list(step_batches(data, 2, 7, workers=0))
    spawned = list(step_batches(data, 2, 7, workers=1))
    assert [s.step for s in spawned] == [2, 3, 4, 5, 6]
    for x, y in zip(inline, spawned):
        assert np.array_equal(x.batch.images, y.batch.images) and x.batch.clicks == y.batch.clicks
        assert np.array_equal(x.batch.rois, y.batch.rois)
        assert x.rng.integers(1 << 30) == y.rng.integers(1 << 30)


@pytest.mark.slow
def test_loop_validates_keeps_the_best_and_stops_early():
    clicks = ClickSection(max_positive=2, max_negative=1, max_iterative=0, box_prob=0.0)
    net = tiny_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loop = TrainLoop(net, opt, StepData(disks_draw, 2, clicks, seed=0, steps=20), clicks, CPU,
                     Precision("float32", "cpu"), workers=0)
    scores = iter([(5.0, 0.5), (4.0, 0.6), (4.0, 0.6), (4.5, 0.9), (3.0, 0.1)])
    seen = []
    res = loop.run(0, 20, validate=lambda step: (next(scores), step), val_every=2, best=(6.0, 0.0), best_step=0,
                   patience=2, on_validated=lambda step, d, better: seen.append((step, better)))
    assert seen == [(2, True), (4, True), (6, False), (8, False)]
    assert res.stopped == "early_stopping" and res.step == 8
    assert res.best == (4.0, 0.6) and res.best_step == 4 and res.validations == 4


def test_trainer_records_the_engine_in_the_log(tmp_path):
    from napari_clickseg.train.trainer import Trainer

    cfg = tiny_config(clicks={"supervised_rounds": 2, "objects_per_image": 2}, run={"data_workers": 0},
                      validation={"every": 0})
    Trainer(cfg, tmp_path / "run").run(until_step=2)
    import csv

    rows = list(csv.DictReader(open(tmp_path / "run" / "train_log.csv")))
    assert float(rows[-1]["supervised"]) == cfg.optim.batch_size * 2 * 2


@pytest.mark.slow
def test_card_records_engine_samples_and_learning_curve(tmp_path):
    from napari_clickseg.models.weights_io import read_card
    from napari_clickseg.train.trainer import Trainer

    cfg = tiny_config(clicks={"objects_per_image": 2}, run={"data_workers": 0}, validation={"every": 2})
    out = tmp_path / "run"
    Trainer(cfg, out).run(until_step=4)
    tr = read_card(out / "last.pt")["training"]
    assert tr["samples"] == 4 * cfg.optim.batch_size * 2 and tr["total_samples"] == tr["samples"]
    assert tr["engine"]["objects_per_image"] == 2 and tr["left_out"] == []
    assert [p["step"] for p in tr["learning_curve"]] == [2, 4]
    assert tr["learning_curve"][-1]["samples"] == tr["samples"]
    # a second stage counts the first one's samples
    stage2 = tiny_config(model={"init": str(out / "last.pt")}, run={"data_workers": 0}, validation={"every": 0})
    Trainer(stage2, tmp_path / "stage2").run(until_step=1)
    tr2 = read_card(tmp_path / "stage2" / "last.pt")["training"]
    assert tr2["total_samples"] == tr["samples"] + cfg.optim.batch_size


def test_config_round_trips_the_engine_keys():
    cfg = tiny_config(clicks={"supervised_rounds": 2, "objects_per_image": 2}, run={"precision": "float32"})
    from napari_clickseg.train.config import config_to_dict

    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_freeze_bn_keeps_the_batchnorm_statistics_of_the_start(tmp_path):
    from napari_clickseg.train.trainer import Trainer

    def bn_means(net):
        return [m.running_mean.clone() for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]

    frozen = Trainer(tiny_config(optim={"freeze_bn": True}, run={"data_workers": 0}, validation={"every": 0}),
                     tmp_path / "frozen")
    start = bn_means(frozen.net)
    assert start, "the tiny network has BatchNorm layers"
    frozen.run(until_step=2)
    assert all(torch.equal(a, b) for a, b in zip(start, bn_means(frozen.net)))

    free = Trainer(tiny_config(run={"data_workers": 0}, validation={"every": 0}), tmp_path / "free")
    start = bn_means(free.net)
    free.run(until_step=2)
    assert not all(torch.equal(a, b) for a, b in zip(start, bn_means(free.net)))
