"""The family table (each network family registers once), model specs, and what menus offer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from napari_clickseg.core.predictor import ModelSpec, parse_model_spec, use_slice
from napari_clickseg.models import registry


def test_model_specs_parse_and_print_back():
    assert parse_model_spec("ritm-like@256+flip") == ModelSpec("ritm-like", 256, True)
    assert parse_model_spec("fdrn") == ModelSpec("fdrn", None, False)
    assert parse_model_spec("fdrn+flip") == ModelSpec("fdrn", None, True)
    for spec in ("ritm-like@256+flip", "fdrn", "fdrn+flip", "geodesic@64"):
        assert str(parse_model_spec(spec)) == spec
    for bad, why in (("fdrn@", "crop size in pixels"), ("fdrn@0", "crop size in pixels"), ("fdrn@12px", "crop size in pixels"),
                     ("@256", "no model name"), ("fdrn+mirror", "only suffix")):
        with pytest.raises(ValueError, match=why):
            parse_model_spec(bad)


def test_every_learned_model_is_a_registered_family_or_its_weights():
    families = registry.network_families()
    assert families == ("fdrn", "fdrn-csfpn", "ritm-like")
    for name in registry.list_models("learned"):
        info = registry.get_model_info(name)
        assert (info.family or info.name) in families
        assert info.builder == registry.LEARNED_BUILDER
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_family("fdrn", "x:Y", "x:Z", "again")
    with pytest.raises(KeyError, match="known: fdrn, fdrn-csfpn, ritm-like"):
        registry.get_family("unet")


def test_a_new_family_is_one_table_entry(monkeypatch):
    """Registering a family is all it takes for the networks, the predictor and the specs."""
    pytest.importorskip("torch")
    from napari_clickseg.models.networks import build_network, network_from_config

    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register_family(
        "fdrn-wide", "napari_clickseg.models.fdrn:FDRNNet", "napari_clickseg.models.fdrn:FDRNConfig",
        "test family: a wider FDRN head", weights="fdrn-wide.pt", defaults={"width": 48},
    )
    net = build_network("fdrn-wide", crop_size=64)
    assert net.config.family == "fdrn-wide" and net.config.width == 48 and net.crop_size == 64
    again = network_from_config(dataclasses.asdict(net.config))
    assert again.config == net.config
    assert "fdrn-wide" in registry.list_models("learned")
    assert "fdrn-wide" not in registry.loadable_models()  # no weights file
    p = registry.build_spec("fdrn-wide@96", device="cpu")
    assert p.trained is False and p.crop_size == 96 and p.config.width == 48 and p.name == "fdrn-wide@96"


def test_menus_offer_only_loadable_models():
    loadable = registry.loadable_models()
    assert {"fdrn", "random-walker"} <= set(loadable)
    for name in registry.list_models():
        info = registry.get_model_info(name)
        assert (name in loadable) == (info.kind == "classical" or info.has_weights)
    assert "ritm-like" not in loadable and "fdrn-csfpn" not in loadable  # no shipped weights


def test_untrained_models_build_only_when_asked_and_say_so():
    pytest.importorskip("torch")
    with pytest.raises(FileNotFoundError, match="pretrained=False"):
        registry.load_model("ritm-like", device="cpu")
    p = registry.build_spec("ritm-like", device="cpu")  # the benchmark's way: random weights where none ship
    assert p.trained is False
    with pytest.raises(ValueError, match="pretrained=False"):
        registry.build_model("fdrn", device="cpu", crop_size=128)
    with pytest.raises(ValueError, match="classical"):
        registry.build_spec("geodesic@64")


class _CountingPredictor:
    name = "count"

    def __init__(self) -> None:
        self.encoded = 0
        self.restored = 0
        self.is_image_set = False

    def set_image(self, image):
        self.encoded += 1

    def get_features(self):
        return {"f": self.encoded}

    def set_features(self, features):
        self.restored += 1


def test_use_slice_encodes_once_per_key():
    store: dict = {}

    class Store:
        get = store.get

        def put(self, key, value):
            store[key] = value

    p = _CountingPredictor()
    img = np.zeros((4, 4), np.float32)
    assert use_slice(p, img, "a", Store()) is True
    assert use_slice(p, img, "a", Store()) is False
    assert use_slice(p, img, None, Store()) is True  # no key: nothing to look up or keep
    assert use_slice(p, img, "b") is True  # no store
    assert (p.encoded, p.restored, sorted(store)) == (3, 1, ["a"])
