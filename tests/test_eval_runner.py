"""The evaluation runner and report on a deterministic fake predictor (numbers worked by hand)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from napari_clickseg.core.clicks import Click
from napari_clickseg.data.datasets import ObjectSample
from napari_clickseg.eval.latency import latency_stats, t_total
from napari_clickseg.eval.report import format_table, write_report
from napari_clickseg.eval.runner import evaluate
from napari_clickseg.models.base import BasePredictor

CONTRACT_KEYS = {
    "model", "dataset", "objects", "noc", "nof", "miou_curve", "auc", "latency_ms", "t_total_ms"
}


class BoxOracle(BasePredictor):
    """Predicts the object (image > 0.5) inside a (2r+1)^2 square around each positive click.

    Probability 0.7 inside (so a binarised feed-back would be noticed), 0 elsewhere; negative
    clicks are ignored. Records the prev_prob it receives.
    """

    def __init__(self, r: int = 10):
        super().__init__()
        self.r = r
        self.name = "box-oracle"
        self.prev_seen: list[np.ndarray | None] = []

    def _encode(self, image):
        return np.asarray(image) > 0.5

    def _predict(self, fg, clicks, prev_prob, box):
        self.prev_seen.append(prev_prob)
        out = np.zeros(fg.shape, np.float32)
        for c in clicks:
            if c.is_positive:
                r0, c0 = max(c.row - self.r, 0), max(c.col - self.r, 0)
                out[r0: c.row + self.r + 1, c0: c.col + self.r + 1] = 0.7
        return out * fg


Sample = ObjectSample


def rect_sample():
    # 20x80 image, object rows 5..14, cols 5..64 (10 x 60). Square half-size 10.
    # Click 1 at the DT maximum (9, 9) (DT 5: rows 9/10, cols 9..60; first raster) covers
    # cols 5..19 -> IoU 15/60 = 0.25. Click 2 at (9, 24) (FN cols 20..64) covers up to col 34
    # -> 0.5; click 3 at (9, 39) -> up to 49 -> 0.75; click 4 at (9, 54) -> up to 64 -> 1.0.
    # Then nothing is left to correct: 4 clicks, IoU carried forward.
    gt = np.zeros((20, 80), bool)
    gt[5:15, 5:65] = True
    return Sample(gt.astype(np.float32), gt, "rect", "img-rect")


def line_sample():
    # 8x600 image, object = row 3, cols 0..599 (1 px thick: DT = 1 everywhere, so every click
    # lands on the leftmost missed pixel). Each click at col c covers cols up to c + 10, i.e.
    # 11 new pixels: IoU_k = 11k/600, 0.3667 after 20 clicks -> a failure, NoC = 20.
    gt = np.zeros((8, 600), bool)
    gt[3, :] = True
    return Sample(gt.astype(np.float32), gt, "line", "img-line")


def test_runner_numbers_on_the_oracle(tmp_path):
    pred = BoxOracle(r=10)
    seen = []
    res = evaluate(pred, [rect_sample(), line_sample()], progress=seen.append, dataset="toy")
    rect, line = res.objects
    assert [o.name for o in seen] == ["rect", "line"]
    assert rect.clicks == [Click(9, 9), Click(9, 24), Click(9, 39), Click(9, 54)]
    assert rect.ious == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert rect.noc == {0.85: 4, 0.9: 4, 0.95: 4}
    assert rect.boundary_iou == 1.0
    assert len(line.ious) == 20 and line.ious == pytest.approx([11 * k / 600 for k in range(1, 21)])
    assert line.clicks[:3] == [Click(3, 0), Click(3, 11), Click(3, 22)]
    assert line.noc == {0.85: 20, 0.9: 20, 0.95: 20}
    assert len(rect.click_ms) == 4 and len(line.click_ms) == 20
    # the first click's mask: a quarter of the rect, 11 of the line's 600 pixels, nothing spilled
    assert (rect.first_recall, rect.first_precision) == pytest.approx((0.25, 1.0))
    assert (line.first_recall, line.first_precision) == pytest.approx((11 / 600, 1.0))
    # dataset numbers
    assert res.noc(0.9) == pytest.approx(12.0) and res.nof(0.9) == 1 and res.never_reached(0.9) == 1
    rect_curve = np.array([0.25, 0.5, 0.75] + [1.0] * 17)
    line_curve = 11 * np.arange(1, 21) / 600
    assert res.miou_curve == pytest.approx((rect_curve + line_curve) / 2)
    # previous probabilities are fed back as they are (0.7, not binarised), None first
    assert pred.prev_seen[1] is None  # [0] is the warm-up call
    assert pred.prev_seen[2].max() == pytest.approx(0.7)

    summary = write_report(res, tmp_path / "out")
    assert CONTRACT_KEYS <= summary.keys()
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk["objects"] == 2 and on_disk["dataset"] == "toy"
    assert on_disk["model"] == "box-oracle"
    assert set(on_disk["noc"]) == set(on_disk["nof"]) == {"85", "90", "95"}
    assert on_disk["noc"]["85"] == pytest.approx(12.0) and on_disk["nof"]["95"] == 1
    assert len(on_disk["miou_curve"]) == 20
    # AUC of the rect curve: (0.375 + 0.625 + 0.875 + 16) / 19; of the line curve: the mean of
    # its trapezoid = (sum_{k=1}^{19} 11(k + 0.5)/600) / 19 = 11 * 199.5 / 19 / 600
    # = 11 * 10.5 / 600
    assert on_disk["auc"] == pytest.approx((17.875 / 19 + 115.5 / 600) / 2)
    assert set(on_disk["latency_ms"]) == {"encode_median", "click_median", "click_p95"}
    assert set(on_disk["t_total_ms"]) == {"1", "5", "20"}
    assert on_disk["never_reached"]["90"] == 1 and on_disk["max_clicks"] == 20
    assert on_disk["threshold"] == 0.49 and on_disk["images"] == 2
    assert on_disk["first_click"] == pytest.approx({"recall": (0.25 + 11 / 600) / 2, "precision": 1.0})
    rows = list(csv.DictReader(open(tmp_path / "out" / "per_object.csv")))
    assert [r["name"] for r in rows] == ["rect", "line"]
    assert rows[0]["noc_90"] == "4" and rows[1]["noc_90"] == "20"
    assert float(rows[0]["iou_20"]) == 1.0 and rows[0]["n_clicks"] == "4"
    assert rows[0]["first_recall"] == "0.2500" and rows[0]["first_precision"] == "1.0000"
    assert (tmp_path / "out" / "miou_curve.png").stat().st_size > 1000
    assert "NoC" in format_table(on_disk)


def test_objects_sharing_an_image_are_encoded_once():
    base = rect_sample()
    other = base.gt.copy()
    other[:, 30:] = False
    samples = [
        Sample(base.image, base.gt, "a1", "A"),
        Sample(base.image, other, "a2", "A"),
        Sample(base.image, base.gt, "b1", "B"),
        Sample(base.image, base.gt, "no-key"),
    ]
    pred = BoxOracle()
    res = evaluate(pred, samples, max_clicks=5, warmup=False)
    assert pred.encode_count == 3  # A, B, and the sample without a key
    assert res.objects[0].encode_ms == res.objects[1].encode_ms
    assert res.n_images == 3 and len(res.miou_curve) == 5


def test_ignore_mask_is_respected():
    s = rect_sample()
    ignore = np.zeros_like(s.gt)
    ignore[:, 20:] = True  # only cols 5..19 are scored: the first click already gets them all
    res = evaluate(BoxOracle(), [Sample(s.image, s.gt, "r", ignore=ignore)], max_clicks=3)
    assert res.objects[0].ious == [1.0]
    assert res.noc(0.95) == 1


def test_perturbed_runs_are_reproducible():
    samples = [rect_sample(), line_sample()]
    a = evaluate(BoxOracle(), samples, jitter=3, misleading=5, seed=4)
    b = evaluate(BoxOracle(), samples, jitter=3, misleading=5, seed=4)
    assert [o.clicks for o in a.objects] == [o.clicks for o in b.objects]
    assert [o.click_kinds for o in a.objects] == [o.click_kinds for o in b.objects]
    kinds = a.objects[1].click_kinds
    assert len(kinds) == 20 and sum(k != "standard" for k in kinds) == 5
    clean = evaluate(BoxOracle(), samples)
    assert clean.objects[1].clicks != a.objects[1].clicks


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="max_clicks"):
        evaluate(BoxOracle(), [rect_sample()], max_clicks=0)
    with pytest.raises(ValueError, match="misleading"):
        evaluate(BoxOracle(), [rect_sample()], misleading=20)
    s = rect_sample()
    with pytest.raises(ValueError, match="shape"):
        evaluate(BoxOracle(), [Sample(s.image, s.gt[:10], "bad")])


def test_latency_accounting():
    # object 1: encode 100, clicks 1..20 ms; object 2: encode 50, clicks 10, 10 (stopped early)
    enc = [100.0, 50.0]
    clicks = [list(range(1, 21)), [10.0, 10.0]]
    assert t_total(100.0, clicks[0], 5) == 100 + 15
    assert t_total(50.0, clicks[1], 5) == 50 + 20 + 3 * 10  # padded with its median click
    st = latency_stats(enc, clicks)
    assert st.encode_median == 75.0
    assert st.click_median == pytest.approx(np.median(list(range(1, 21)) + [10, 10]))
    assert st.t_total[1] == pytest.approx((101 + 60) / 2)
    assert st.t_total[20] == pytest.approx((100 + 210 + 50 + 200) / 2)
    d = st.as_dict()
    assert set(d["t_total_ms"]) == {"1", "5", "20"}
