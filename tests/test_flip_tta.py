"""Flip test-time augmentation of the learned predictors (``flip_tta``).

The mirrored view must be the exact mirror of the slice's own prediction problem: a flip-TTA
prediction on a slice equals the mirror of the prediction on the mirrored slice with mirrored
clicks, box and previous map; averaging the two views must equal averaging two separate
predictors (one on the slice, one on its mirror). Plus the plumbing: one batch of two views per
slice, feature identity, the CLI flag and the error for classical models.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from napari_clickseg import Box, Click, build_model, load_model
from napari_clickseg.core.feature_cache import model_identity
from napari_clickseg.core.zoom import full_roi
from napari_clickseg.models.registry import list_models


def _image(shape=(80, 104)) -> np.ndarray:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    blob = ((yy - 38) ** 2 / 300 + (xx - 30) ** 2 / 120 < 1).astype(np.float32)  # left of centre
    img = 50 + 120 * blob + 30 * (xx / shape[1]) + rng.normal(0, 8, shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _mirror_click(c: Click, width: int) -> Click:
    return Click(c.row, width - 1 - c.col, c.is_positive)


def _random(name: str, flip: bool):
    """A random-weights predictor whose Zoom-In ROI is the whole slice.

    The Zoom-In rule rounds ROI bounds to whole pixels, so the ROI of a mirrored problem can sit
    one pixel off the mirror of the ROI (flip TTA itself mirrors the slice's ROI exactly); with a
    whole-slice ROI the comparisons below are exact. The first click's zoomed second pass is off
    for the same reason and tested on its own below.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = build_model(name, device="cpu", pretrained=False, flip_tta=flip)
    p.refine_first = False
    p.roi_for = lambda clicks, prev_prob, box, shape=None: full_roi(p.image_shape if shape is None else shape)
    return p


@pytest.mark.parametrize("name", list_models("learned"))
def test_flip_tta_is_mirror_symmetric(name):
    img = _image()
    w = img.shape[1]
    p = _random(name, True)
    clicks = (Click(38, 30, True), Click(20, 70, False), Click(50, 34, True))
    prev = np.zeros(img.shape, np.float32)
    prev[25:52, 20:44] = 0.8
    box = Box(18, 15, 60, 48)

    p.set_image(img)
    a = p.predict(clicks, prev_prob=prev, box=box)
    p.set_image(np.ascontiguousarray(img[:, ::-1]))
    b = p.predict(tuple(_mirror_click(c, w) for c in clicks), prev_prob=np.ascontiguousarray(prev[:, ::-1]),
                  box=Box(box.row0, w - 1 - box.col1, box.row1, w - 1 - box.col0))
    np.testing.assert_allclose(a, b[:, ::-1], atol=1e-5)


def test_flip_tta_averages_the_slice_and_its_mirror():
    img = _image()
    w = img.shape[1]
    tta = _random("fdrn", True)
    one = _random("fdrn", False)
    one.net.load_state_dict(tta.net.state_dict())
    clicks = (Click(38, 30, True), Click(44, 40, False))
    prev = np.zeros(img.shape, np.float32)
    prev[28:50, 22:40] = 0.9

    tta.set_image(img)
    both = tta.predict(clicks, prev_prob=prev)
    one.set_image(img)
    plain = one.predict(clicks, prev_prob=prev)
    one.set_image(np.ascontiguousarray(img[:, ::-1]))
    mirrored = one.predict(tuple(_mirror_click(c, w) for c in clicks), prev_prob=np.ascontiguousarray(prev[:, ::-1]))
    np.testing.assert_allclose(both, (plain + mirrored[:, ::-1]) / 2, atol=1e-5)
    assert not np.allclose(plain, mirrored[:, ::-1], atol=1e-3)  # the two views really differ


@pytest.mark.slow
def test_flip_tta_encodes_two_views_once_and_guards_features():
    img = _image()
    p = _random("fdrn", True)
    p.set_image(img)
    feats = p.get_features()
    assert feats["features"]["low"].shape[0] == 2 and feats["features"]["image"].shape[0] == 2
    p.predict([Click(38, 30, True)])
    p.predict([Click(38, 30, True), Click(45, 31, True)])
    assert p.encode_count == 1  # both views come from the one set_image
    # switching TTA off forgets the slice, and two-view features are refused by a one-view predictor
    p.flip_tta = False
    assert not p.is_image_set
    with pytest.raises(ValueError, match="flip_tta"):
        p.set_features(feats)
    assert model_identity(_random("fdrn", True)) == model_identity(_random("fdrn", False)) + "+flip"


@pytest.mark.slow
def test_first_click_refinement_runs_with_flip_tta():
    """The zoomed second pass of a small first mask also runs on both views."""
    img = np.full((256, 256), 40, np.uint8)
    img[100:116, 60:78] = 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = build_model("fdrn", device="cpu", pretrained=False, flip_tta=True)
    p.set_image(img)
    prob = p.predict([Click(108, 68, True)])
    assert prob.shape == img.shape and np.isfinite(prob).all()


def test_classical_models_refuse_flip_tta():
    with pytest.raises(ValueError, match="classical.*flip"):
        build_model("random-walker", flip_tta=True)


@pytest.mark.slow
def test_shipped_model_with_flip_tta_segments_a_blob():
    img = _image()
    p = load_model("fdrn", device="cpu", flip_tta=True)
    assert p.flip_tta
    p.set_image(img)
    mask = p.predict([Click(38, 30, True)]) > 0.49
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    blob = (yy - 38) ** 2 / 300 + (xx - 30) ** 2 / 120 < 1
    assert np.count_nonzero(mask & blob) / np.count_nonzero(mask | blob) > 0.7


@pytest.mark.slow
def test_evaluate_cli_flip_tta(tmp_path):
    from napari_clickseg.cli import main

    out = tmp_path / "ev"
    rc = main(["evaluate", "--model", "fdrn", "--data", "sample-microscopy", "--objects", "2",
               "--max-clicks", "3", "--flip-tta", "--out", str(out), "--no-progress", "--device", "cpu"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "fdrn+flip" and summary["objects"] == 2
    assert 0.0 < summary["miou_curve"][-1] <= 1.0


def test_flip_suffix_round_trip_and_bench_builds_it():
    from napari_clickseg.core.predictor import flip_name, split_flip
    from napari_clickseg.eval.benchmark import _build

    assert split_flip("fdrn+flip") == ("fdrn", True) and split_flip("ritm-like@192") == ("ritm-like@192", False)
    assert flip_name(*split_flip("fdrn+flip")) == "fdrn+flip" and flip_name("fdrn", False) == "fdrn"
    with pytest.raises(ValueError, match="only suffix"):
        split_flip("fdrn+mirror")
    assert _build("fdrn+flip", "cpu").flip_tta and not _build("fdrn", "cpu").flip_tta
