"""Training with mask prompts (clicks.mask_prompt_prob): samples that start as an edit does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import tiny_config
from test_train_engine import CPU, disks_draw, tiny_net

from napari_clickseg.core.mask_anchor import anchor_for, first_anchor
from napari_clickseg.core.metrics import iou
from napari_clickseg.core.simulate import padded_edt
from napari_clickseg.train.config import ClickSection
from napari_clickseg.train.edit_prompts import edit_prompt
from napari_clickseg.train.iterative import make_prompts, train_step
from napari_clickseg.train.step_data import StepData


def _batch(cfg: ClickSection, n: int, seed: int, labels: bool = True):
    draws = [disks_draw(np.random.default_rng(i)) for i in range(n)]
    rng = np.random.default_rng(seed)
    batch = make_prompts([d[0] for d in draws], [d[2] for d in draws],
                         [d[1] if labels else None for d in draws], cfg, rng)
    return batch, rng


def test_every_sample_starts_as_an_edit_with_probability_one():
    cfg = ClickSection(mask_prompt_prob=1.0, box_prob=1.0, box_only_prob=0.0)  # boxes never reach an edit
    batch, _ = _batch(cfg, 12, 3, labels=False)
    assert batch.prev_masks is not None and batch.prev_masks.shape == batch.targets.shape
    assert batch.prev_masks.dtype == np.float32 and set(np.unique(batch.prev_masks)) <= {0.0, 1.0}
    for tgt, d, cl, box, roi in zip(batch.targets, batch.prev_masks > 0.5, batch.clicks, batch.boxes, batch.rois,
                                    strict=True):
        assert 0.0 < iou(d, tgt) < 1.0 and box is None
        assert len(cl) == 2
        anchor, corr = cl
        # the anchor: positive, D's innermost pixel (what start_from_mask sends)
        assert anchor == first_anchor(padded_edt(d))[0] and anchor.is_positive and d[anchor.row, anchor.col]
        # the correction: on D's error, positive where D lacks the object
        assert tgt[corr.row, corr.col] != d[corr.row, corr.col] and corr.is_positive == tgt[corr.row, corr.col]
        rows, cols = np.nonzero(tgt | d)  # an object-relative ROI around target and mask (1.2-3x its box)
        side, box_side = roi[2] - roi[0] + 1, max(np.ptp(rows), np.ptp(cols)) + 1
        assert 1.2 * box_side - 1e-3 <= side <= 3.0 * box_side + 1e-3
        assert roi[0] <= anchor.row <= roi[2] and roi[1] <= anchor.col <= roi[3]


def test_a_merged_mask_sends_the_anchor_the_session_sends():
    """A merge whose innermost pixel is on the (larger) neighbour: the negative correction on
    the neighbour moves the anchor onto the object, as ``InteractiveSession`` does."""
    yy, xx = np.mgrid[:64, :64]
    labels = np.zeros((64, 64), np.int32)
    labels[(yy - 32) ** 2 + (xx - 18) ** 2 <= 7**2] = 1
    labels[(yy - 32) ** 2 + (xx - 37) ** 2 <= 9**2] = 2  # 2 px apart, larger
    target = labels == 1
    merged = moved = 0
    for seed in range(40):
        out = edit_prompt(target, labels, np.random.default_rng(seed))
        assert out is not None
        d, cl = out
        corr = cl[-1]
        assert cl[:-1] == ([a] if (a := anchor_for(padded_edt(d), (0, 0), [corr])) else [])
        if np.array_equal(d, target | (labels == 2)):
            merged += 1
            assert not corr.is_positive and labels[corr.row, corr.col] == 2
            if first_anchor(padded_edt(d))[0] != cl[0]:  # moved: onto the object
                moved += 1
                assert cl[0].is_positive and target[cl[0].row, cl[0].col]
    assert merged >= 4 and moved >= 1  # one kind in four; the first anchor lies on the neighbour


def test_probability_zero_draws_nothing_and_gives_the_old_batch():
    # recorded from main before mask prompts existed (7cfd248): same clicks, boxes, ROIs and
    # the same random stream after them
    batch, rng = _batch(ClickSection(max_positive=3, max_negative=2, box_prob=0.5), 3, 7)
    assert batch.prev_masks is None
    assert [[(c.row, c.col, c.is_positive) for c in cl] for cl in batch.clicks] == [
        [(41, 45, True), (43, 40, True), (42, 49, True)], [(20, 17, True), (22, 24, True)],
        [(20, 22, True), (21, 25, True), (22, 21, True)]]
    assert [None if b is None else b.as_tuple() for b in batch.boxes] == [None, (10, 11, 29, 29), None]
    np.testing.assert_allclose(batch.rois[1], [0.4834, 0.3925, 46.1251, 46.0343], atol=1e-3)
    assert rng.random() == pytest.approx(0.3695363106022067, abs=0)


def test_train_step_starts_from_the_mask_prompts():
    cfg = ClickSection(max_positive=2, max_negative=1, max_iterative=1, box_prob=0.0, mask_prompt_prob=0.5)
    batch, _ = _batch(cfg, 6, 1)
    assert batch.prev_masks is not None and 0 < batch.prev_masks.reshape(6, -1).any(1).sum() < 6
    net = tiny_net()
    seen = []
    decode = net.decode
    net.decode = lambda f, r, c, p, b: (seen.append(p.detach().clone()), decode(f, r, c, p, b))[1]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    info = train_step(net, opt, batch, cfg, np.random.default_rng(0), CPU, n_iterative=1)
    assert np.isfinite(info["loss"]) and info["supervised"] == 6
    torch.testing.assert_close(seen[0][:, 0], torch.from_numpy(batch.prev_masks))  # the first round's map
    bad = make_prompts(batch.images, batch.targets, [None] * 6, cfg, np.random.default_rng(0))
    bad.prev_masks = np.zeros((5, 64, 64), np.float32)
    with pytest.raises(ValueError, match="prev_masks has shape"):
        train_step(net, opt, bad, cfg, np.random.default_rng(0), CPU)


def test_step_data_makes_edit_samples_from_the_config():
    cfg = tiny_config(clicks={"mask_prompt_prob": 1.0, "mask_prompt_radius": [2, 2], "mask_prompt_cut": [0.2, 0.3]})
    data = StepData(disks_draw, 3, cfg.clicks, seed=2, steps=2, min_area=20)
    a, b = data[1].batch, data[1].batch
    assert a.prev_masks is not None and np.array_equal(a.prev_masks, b.prev_masks)  # (seed, step) fixes it


@pytest.mark.parametrize(("clicks", "match"), [
    ({"mask_prompt_prob": 1.5}, r"clicks.mask_prompt_prob must lie in \[0, 1\]"),
    ({"mask_prompt_prob": -0.1}, r"clicks.mask_prompt_prob must lie in \[0, 1\]"),
    ({"mask_prompt_radius": [5, 1]}, r"clicks.mask_prompt_radius must be \[low, high\]"),
    ({"mask_prompt_radius": [0, 2]}, r"clicks.mask_prompt_radius must be \[low, high\]"),
    ({"mask_prompt_radius": [1.5, 2]}, r"clicks.mask_prompt_radius\[0\] must be an integer"),
    ({"mask_prompt_cut": [0.4, 0.1]}, r"clicks.mask_prompt_cut must be \[low, high\]"),
    ({"mask_prompt_cut": [0.1, 1.0]}, r"clicks.mask_prompt_cut must be \[low, high\]"),
])
def test_mask_prompt_keys_are_checked(clicks, match):
    with pytest.raises(ValueError, match=match):
        tiny_config(clicks=clicks)
