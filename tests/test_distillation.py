"""A fine-tune that keeps its start: loss.distill_weight (teacher = model.init) and a frozen encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import tiny_config
from test_train_engine import CPU, disks_draw, tiny_net

import napari_clickseg.train.iterative as iterative
from napari_clickseg.train.config import ClickSection, LossSection
from napari_clickseg.train.iterative import make_prompts, train_step
from napari_clickseg.train.losses import distillation_loss


def test_distillation_loss_is_lowest_at_the_teachers_logits_and_reads_only_kept_samples():
    teacher = torch.randn(3, 1, 8, 8)
    keep = torch.tensor([True, False, True])
    at = teacher.clone().requires_grad_(True)
    distillation_loss(at, teacher, keep).backward()
    assert float(at.grad.abs().max()) < 1e-6  # the teacher's own logits are the minimum
    away = teacher + 0.5
    assert float(distillation_loss(away, teacher, keep)) > float(distillation_loss(teacher, teacher, keep))
    moved = teacher.clone()
    moved[1] += 10.0  # a sample that is not kept changes nothing
    assert float(distillation_loss(moved, teacher, keep)) == pytest.approx(float(distillation_loss(teacher, teacher, keep)))
    none = distillation_loss(away.requires_grad_(True), teacher, torch.zeros(3, dtype=torch.bool))
    assert float(none.detach()) == 0.0 and none.requires_grad
    with pytest.raises(ValueError, match="keep has shape"):
        distillation_loss(teacher, teacher, torch.ones(2, dtype=torch.bool))


def test_train_step_distils_on_the_samples_that_start_as_before(monkeypatch):
    cfg = ClickSection(max_positive=2, max_negative=1, max_iterative=1, box_prob=0.5, box_only_prob=1.0,
                       mask_prompt_prob=0.4)
    draws = [disks_draw(np.random.default_rng(i)) for i in range(8)]
    batch = make_prompts([d[0] for d in draws], [d[2] for d in draws], [d[1] for d in draws], cfg,
                         np.random.default_rng(3))
    edited = batch.prev_masks.reshape(8, -1).any(1)
    box_only = np.array([b is not None and not c for b, c in zip(batch.boxes, batch.clicks)])
    assert edited.any() and box_only.any() and (~edited & ~box_only).any()  # all three kinds
    seen = []
    real = iterative.distillation_loss
    monkeypatch.setattr(iterative, "distillation_loss", lambda s, t, k: (seen.append((s, t, k)), real(s, t, k))[1])
    net, teacher = tiny_net(), tiny_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_cfg = LossSection(distill_weight=1.0)
    info = train_step(net, opt, batch, cfg, np.random.default_rng(0), CPU, loss_cfg=loss_cfg, teacher=teacher.eval(),
                      freeze_bn=True)
    assert np.isfinite(info["loss"]) and len(seen) == 1
    student, teacher_logits, keep = seen[0]
    assert keep.tolist() == (~edited & ~box_only).tolist()
    # the teacher is the same network here (BatchNorm in eval mode in both): it saw the same
    # inputs, so its logits are the student's
    torch.testing.assert_close(teacher_logits, student.detach(), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="needs the teacher"):
        train_step(net, opt, batch, cfg, np.random.default_rng(0), CPU, loss_cfg=loss_cfg)


def test_trainer_freezes_the_encoder_and_distils_from_model_init(tmp_path):
    from napari_clickseg.train.trainer import Trainer

    start = Trainer(tiny_config(run={"data_workers": 0}, validation={"every": 0}), tmp_path / "start")
    init = start.export("init")
    cfg = tiny_config(model={"init": str(init)}, loss={"distill_weight": 0.5},
                      optim={"encoder_lr_mult": 0.0, "freeze_bn": True},
                      run={"data_workers": 0}, validation={"every": 0})
    tr = Trainer(cfg, tmp_path / "tune")
    assert tr.teacher is not None and not tr.teacher.training
    before = {n: p.detach().clone() for n, p in tr.net.named_parameters()}
    tr.run(until_step=2)
    after = dict(tr.net.named_parameters())
    enc = [n for n in before if n.startswith("encoder.")]
    head = [n for n in before if not n.startswith("encoder.")]
    assert enc and all(torch.equal(before[n], after[n]) and after[n].grad is None for n in enc)
    assert any(not torch.equal(before[n], after[n]) for n in head)
    # the teacher stays the starting network
    for (n, p), q in zip(tr.teacher.named_parameters(), before.values()):
        assert torch.equal(p, q), n


def test_distill_weight_needs_model_init():
    with pytest.raises(ValueError, match="loss.distill_weight needs model.init"):
        tiny_config(loss={"distill_weight": 1.0})
    with pytest.raises(ValueError, match="loss.distill_weight must be >= 0"):
        tiny_config(loss={"distill_weight": -1.0})


def test_zoomed_out_first_click_lands_on_the_same_object_in_a_shrunk_tile():
    from napari_clickseg.core.clicks import Click
    from napari_clickseg.train.iterative import zoomed_out_first_click

    _, labels, _ = disks_draw(np.random.default_rng(0))
    img = torch.from_numpy(np.repeat((labels == 1)[None, None].astype(np.float32), 3, 1))  # disc 1 only
    clicks = [[Click(20, 20, True), Click(44, 44, False)], []]
    tiled, first = zoomed_out_first_click(torch.cat([img, img]), clicks, 4.0, np.random.default_rng(3))
    assert tiled.shape == (2, 3, 64, 64) and first.shape == (2, 1, 3)
    r, c, pos = first[0, 0].tolist()
    assert pos == 1.0 and float(tiled[0, 0, int(r), int(c)]) > 0.5  # still on the (now 4x smaller) disc
    assert float(tiled[0, 0].sum()) == pytest.approx(float(img[0, 0].sum()), rel=0.05)  # 16 tiles of a 16x smaller disc
    assert first[1, 0].tolist() == [-1.0, -1.0, -1.0]  # no click: a padding row


def test_zoom_out_pass_is_distilled_only_when_configured(monkeypatch):
    cfg = ClickSection(max_positive=2, max_negative=1, max_iterative=1, box_prob=0.0)
    draws = [disks_draw(np.random.default_rng(i)) for i in range(4)]
    batch = make_prompts([d[0] for d in draws], [d[2] for d in draws], [d[1] for d in draws], cfg,
                         np.random.default_rng(0))
    calls = []
    real = iterative.distillation_loss
    monkeypatch.setattr(iterative, "distillation_loss", lambda s, t, k: (calls.append(s.shape), real(s, t, k))[1])
    net, teacher = tiny_net(), tiny_net().eval()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    train_step(net, opt, batch, cfg, np.random.default_rng(0), CPU, loss_cfg=LossSection(distill_weight=1.0),
               teacher=teacher, freeze_bn=True)
    assert len(calls) == 1
    head = [p.detach().clone() for n, p in net.named_parameters() if not n.startswith("encoder.")]
    train_step(net, opt, batch, cfg, np.random.default_rng(0), CPU,
               loss_cfg=LossSection(distill_weight=1.0, distill_zoom_out=[2.0, 4.0]), teacher=teacher, freeze_bn=True)
    assert len(calls) == 3 and calls[2] == calls[1]  # one more pass, on the same crop size
    after = [p for n, p in net.named_parameters() if not n.startswith("encoder.")]
    assert any(not torch.equal(a, b) for a, b in zip(head, after))


@pytest.mark.parametrize(("loss", "match"), [
    ({"distill_weight": 1.0, "distill_zoom_out": [0.5, 2.0]}, r"loss.distill_zoom_out must be \[\] or \[low, high\]"),
    ({"distill_weight": 1.0, "distill_zoom_out": [4.0, 2.0]}, r"loss.distill_zoom_out must be \[\] or \[low, high\]"),
    ({"distill_zoom_out": [2.0, 4.0]}, r"loss.distill_zoom_out needs loss.distill_weight > 0"),
])
def test_distill_zoom_out_is_checked(loss, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        tiny_config(model={"init": str(tmp_path / "x.pt")}, loss=loss)


@pytest.mark.parametrize("frozen", [True, False])
def test_a_frozen_encoder_shares_its_features_with_the_teacher(frozen, monkeypatch):
    cfg = ClickSection(max_positive=2, max_negative=1, max_iterative=1, box_prob=0.0)
    draws = [disks_draw(np.random.default_rng(i)) for i in range(4)]
    batch = make_prompts([d[0] for d in draws], [d[2] for d in draws], [d[1] for d in draws], cfg,
                         np.random.default_rng(0))
    net, teacher = tiny_net(), tiny_net().eval()
    if frozen:
        net.encoder.requires_grad_(False)
    encodes = []
    real_encode = teacher.encode
    teacher.encode = lambda x: (encodes.append(x.shape), real_encode(x))[1]
    seen = []
    real = iterative.distillation_loss
    monkeypatch.setattr(iterative, "distillation_loss", lambda s, t, k: (seen.append((s, t)), real(s, t, k))[1])
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    train_step(net, opt, batch, cfg, np.random.default_rng(0), CPU,
               loss_cfg=LossSection(distill_weight=1.0, distill_zoom_out=[2.0, 4.0]), teacher=teacher, freeze_bn=True)
    assert len(encodes) == (0 if frozen else 2)  # the image and its zoomed-out tiling
    for student, teacher_logits in seen:  # the same network either way: the same outputs
        torch.testing.assert_close(teacher_logits, student.detach(), atol=1e-5, rtol=1e-5)
