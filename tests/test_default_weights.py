"""The shipped default model: a trained network whose card matches its file, and that segments.

The weights ship inside the package (``napari_clickseg/models/weights/fdrn.pt`` + ``fdrn.json``);
these tests fail (not skip) when they are missing, since the plugin's offline default needs them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_clickseg import load_model
from napari_clickseg.core.metrics import iou
from napari_clickseg.core.simulate import Clicker
from napari_clickseg.models.registry import WEIGHTS_DIR
from napari_clickseg.models.weights_io import sha256_file

WEIGHTS = WEIGHTS_DIR / "fdrn.pt"
CARD = WEIGHTS_DIR / "fdrn.json"


def test_card_matches_the_shipped_file():
    assert WEIGHTS.is_file() and CARD.is_file(), f"default weights missing in {WEIGHTS_DIR}"
    card = json.loads(CARD.read_text())
    assert card["family"] == "fdrn"
    assert card["sha256"] == sha256_file(WEIGHTS)
    assert WEIGHTS.stat().st_size <= 16 * 2**20
    training = card["training"]
    # trained, not random: the card records real steps, data and validation numbers
    assert training["steps"] >= 1000 and training["total_steps"] >= training["steps"]
    if "init" in training:  # a later stage: its start is a recorded, trained model too
        assert training["init"]["sha256"] and training["init"]["training"]["steps"] >= 1000
        assert training["total_steps"] == training["steps"] + training["init"]["training"]["steps"]
    assert "synthetic" in training["data"] and "lgg-mri-train" in training["data"]
    val = {k: v for k, v in card["evaluation"]["training_validation"].items() if k != "protocol"}
    assert val and all(np.isfinite(r["noc"]["90"]) and 0 <= r["miou"]["1"] <= 1 for r in val.values())
    predictor = load_model("fdrn", device="cpu")
    assert predictor.trained and predictor.crop_size == card["architecture"]["crop_size"]


def _clicks_to_iou(predictor, image, gt, n_clicks):
    """IoU after ``n_clicks`` simulated clicks (the evaluation simulator)."""
    predictor.set_image(image)
    clicker = Clicker(gt)
    prob = None
    for _ in range(n_clicks):
        pred = np.zeros(gt.shape, bool) if prob is None else prob > 0.49
        if clicker.make_next_click(pred) is None:
            break
        prob = predictor.predict(tuple(clicker.clicks), prev_prob=prob)
    return iou(prob > 0.49, gt)


@pytest.mark.slow
@pytest.mark.data
def test_default_model_segments_held_out_real_objects(shared_data):
    """On held-out LGG and GlaS objects, three clicks give a usable mask (mean IoU >= 0.7)."""
    from napari_clickseg.data.real_data import validation_objects

    predictor = load_model("fdrn", device="cpu")
    ious = []
    for dataset in ("lgg-mri-train", "glas-train"):
        if not (shared_data / dataset).is_dir():
            pytest.skip(f"{shared_data / dataset} is absent")
        for obj in validation_objects(shared_data, dataset, n=3, seed=1):
            ious.append(_clicks_to_iou(predictor, obj.image, obj.gt, 3))
    assert len(ious) == 6
    assert float(np.mean(ious)) >= 0.7, ious
