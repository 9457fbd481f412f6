"""Weights files: save/load round trip, model card, and clear rejection of bad files."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from napari_clickseg import build_model, load_model
from napari_clickseg.core.clicks import Click
from napari_clickseg.models.networks import build_network
from napari_clickseg.models.weights_io import (
    WeightsError,
    load_network,
    read_card,
    save_model,
    sha256_file,
)

SMALL = {"crop_size": 64, "encoder": {"stem": 8, "low": 8, "mid": 8, "high": 16, "key": 8, "blocks": (1, 1, 1)}}


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    net = build_network("fdrn", **SMALL)
    path = save_model(net, tmp_path / "tiny.pt", {"training": {"steps": 3, "data": ["synthetic"]}})
    return net, path


def test_round_trip_and_card(saved):
    net, path = saved
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["family"] == "fdrn"
    assert card["sha256"] == sha256_file(path)
    assert card["architecture"]["crop_size"] == 64
    assert card["training"] == {"steps": 3, "data": ["synthetic"]}
    assert "input_normalisation" in card and card["parameters"] > 0
    net2 = load_network(path, family="fdrn")
    assert not net2.training
    for k, v in net.state_dict().items():
        assert torch.equal(v, net2.state_dict()[k]), k


def test_default_model_fits_in_16_mib(tmp_path):
    path = save_model(build_network("fdrn"), tmp_path / "fdrn.pt")
    assert path.stat().st_size <= 16 * 2**20


def test_truncated_file_is_rejected_naming_it(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="sha256 mismatch") as err:
        load_network(path)
    assert str(path) in str(err.value)
    with pytest.raises(WeightsError, match="truncated") as err:
        load_network(path, check_sha=False)
    assert str(path) in str(err.value)


def test_sha_mismatch_is_rejected(saved):
    _, path = saved
    card_path = path.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["sha256"] = "0" * 64
    card_path.write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="sha256 mismatch") as err:
        load_network(path)
    assert str(path) in str(err.value)


def _resave(path, blob):
    torch.save(blob, path)
    card_path = path.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["sha256"] = sha256_file(path)
    card_path.write_text(json.dumps(card))


def test_wrong_keys_are_rejected(saved):
    _, path = saved
    blob = torch.load(path, weights_only=True)
    sd = blob["state_dict"]
    sd.pop("classifier.weight")
    sd["extra.weight"] = torch.zeros(1)
    _resave(path, blob)
    with pytest.raises(WeightsError) as err:
        load_network(path)
    msg = str(err.value)
    assert str(path) in msg and "missing keys [classifier.weight]" in msg and "unexpected keys [extra.weight]" in msg


def test_shape_mismatch_is_rejected(saved):
    _, path = saved
    blob = torch.load(path, weights_only=True)
    blob["state_dict"]["classifier.weight"] = torch.zeros(1, 3, 1, 1)
    _resave(path, blob)
    with pytest.raises(WeightsError, match="shape mismatch.*classifier.weight") as err:
        load_network(path)
    assert str(path) in str(err.value)


def test_wrong_family_and_missing_files(saved, tmp_path):
    _, path = saved
    with pytest.raises(WeightsError, match="'fdrn' network, expected 'ritm-like'"):
        load_network(path, family="ritm-like")
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_network(tmp_path / "nope.pt")
    path.with_suffix(".json").unlink()
    with pytest.raises(FileNotFoundError, match="model card .*tiny.json"):
        load_network(path)


def test_not_a_weights_file(tmp_path):
    path = tmp_path / "junk.pt"
    torch.save({"hello": 1}, path)
    path.with_suffix(".json").write_text(json.dumps({"sha256": sha256_file(path)}))
    with pytest.raises(WeightsError, match="lacks the keys"):
        load_network(path)


def test_registry_refuses_missing_weights_and_flags_untrained():
    with pytest.raises(FileNotFoundError, match="no weights file"):
        load_model("ritm-like", device="cpu")  # a learned family without shipped weights
    p = build_model("fdrn", pretrained=False, device="cpu")
    assert p.trained is False
    p.set_image(np.random.default_rng(0).random((64, 64)))
    with pytest.warns(UserWarning, match="untrained"):
        p.predict([Click(30, 30)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        p.predict([Click(30, 30)])


def test_predictor_from_weights_file_is_trained(saved):
    net, path = saved
    p = build_model("fdrn", weights=path, device="cpu")
    assert p.trained is True and p.card["sha256"] == read_card(path)["sha256"]
    p.set_image(np.random.default_rng(0).random((80, 64)))
    prob = p.predict([Click(40, 30)])
    assert prob.shape == (80, 64)
