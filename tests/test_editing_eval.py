"""data/degrade.py and eval/editing.py: degraded masks and clicks to a target IoU from them (bench_edit.py's protocol)."""

from __future__ import annotations

import numpy as np
import pytest
from _shapes import disk_image, iou

from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.data.degrade import degrade
from napari_clickseg.eval.editing import clicks_to_target, iou_curve
from napari_clickseg.models.registry import load_model


def _labels():
    lab = np.zeros((80, 80), np.int32)
    rr, cc = np.ogrid[:80, :80]
    lab[(rr - 30) ** 2 + (cc - 30) ** 2 <= 12**2] = 1
    lab[(rr - 30) ** 2 + (cc - 58) ** 2 <= 10**2] = 2  # a neighbour of similar size
    lab[60:80, 0:80] = 3  # a much larger one: never merged with object 2
    return lab


def test_degradations_do_what_they_say():
    lab = _labels()
    gt = lab == 1
    rng = np.random.default_rng(0)
    ero, dil = degrade(gt, lab, "eroded", rng), degrade(gt, lab, "dilated", rng)
    assert (ero <= gt).all() and ero.sum() < gt.sum() and (gt <= dil).all() and dil.sum() > gt.sum()
    assert not (dil & ~gt)[30, 30 + 12 + 4] and (dil & ~gt)[30, 30 + 12 + 3]  # exactly 3 px out
    cut = degrade(gt, lab, "cut", rng)
    assert (cut <= gt).all() and cut.sum() == pytest.approx(0.7 * gt.sum(), rel=0.05)
    assert np.array_equal(degrade(gt, lab, "merged", rng), gt | (lab == 2))
    assert degrade(lab == 2, lab, "merged", rng) is not None and not degrade(lab == 2, lab, "merged", rng)[70, 40]
    tiny = np.zeros_like(gt)
    tiny[5:8, 5:8] = True
    assert degrade(tiny, lab, "eroded", rng) is None  # erosion leaves nothing: no such case
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(gt, lab, "blurred", rng)



def test_degrade_takes_a_radius_and_a_cut_fraction():
    lab = _labels()
    gt = lab == 1
    rng = np.random.default_rng(0)
    for r in (1, 5):
        ring = degrade(gt, lab, "dilated", rng, radius=r) & ~gt
        assert ring[30, 30 + 12 + r] and not ring[30, 30 + 12 + r + 1]  # exactly r px out
        assert not degrade(gt, lab, "eroded", rng, radius=r)[30, 30 + 12 - r + 1]
    for f in (0.1, 0.4):
        assert degrade(gt, lab, "cut", rng, cut=f).sum() == pytest.approx((1 - f) * gt.sum(), rel=0.05)
    assert degrade(gt, None, "merged", rng) is None  # no instance labels: no neighbour to merge
    assert degrade(np.zeros_like(gt), lab, "dilated", rng) is None
    with pytest.raises(ValueError, match="radius"):
        degrade(gt, lab, "eroded", rng, radius=0)
    with pytest.raises(ValueError, match="cut must be a fraction"):
        degrade(gt, lab, "cut", rng, cut=1.0)

def test_clicks_to_target_from_scratch_and_from_a_mask():
    image, disk = disk_image()
    s = InteractiveSession(load_model("random-walker"), image)
    assert clicks_to_target(s, disk, disk, 0.9) == (0, 1.0, 1.0)  # already there: no click
    n, first, last = clicks_to_target(s, disk, None, 0.9)
    assert 1 <= n <= 20 and first == 0.0 and (last >= 0.9 or n == 20)
    s.set_image(np.random.default_rng(1).random(disk.shape).astype(np.float32))  # no disk to see
    n, first, last = clicks_to_target(s, disk, np.zeros_like(disk), 0.9, max_clicks=2)
    assert n == 2 and last < 0.9  # never reached: max_clicks


def test_iou_curve_counts_every_click_and_starts_from_the_mask():
    image, disk = disk_image()
    s = InteractiveSession(load_model("random-walker"), image)
    curve = iou_curve(s, disk, None, 3)
    assert len(curve) == 4 and curve[0] == 0.0 and curve[1] > 0.5
    grown = np.zeros_like(disk)
    grown[10:80, 10:80] = True  # a box around the disk: a poor but overlapping start
    from_box = iou_curve(s, disk, grown, 2)
    assert from_box[0] == pytest.approx(iou(grown, disk)) and len(from_box) == 3
    assert iou_curve(s, disk, disk, 2) == [1.0, 1.0, 1.0]  # nothing left to click: the IoU is kept
