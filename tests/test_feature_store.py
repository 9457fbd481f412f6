"""Zarr feature store: round trip equal to a direct encode, identity attributes, refusal of other
weights by name, lazy reads through FeatureCache/InteractiveSession (no encoder run)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

pytest.importorskip("zarr", reason="the feature store needs zarr (pip install 'napari-clickseg[distributed]')")

from napari_clickseg import Click, InteractiveSession, load_model  # noqa: E402
from napari_clickseg.core.feature_cache import FeatureCache, feature_key, model_identity  # noqa: E402
from napari_clickseg.core.feature_store import (  # noqa: E402
    STORE_FORMAT,
    StoreIdentity,
    StoreMismatchError,
    ZarrFeatureStore,
    import_zarr,
)


def disc_slices(n: int = 3, size: int = 64) -> np.ndarray:
    """n uint8 slices with a bright disc drifting right, over noise."""
    rng = np.random.default_rng(0)
    vol = (rng.random((n, size, size)) * 120).astype(np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for z in range(n):
        vol[z][(yy - 32) ** 2 + (xx - 28 - 2 * z) ** 2 < 100] = 240
    return vol


@pytest.fixture(scope="module")
def fdrn():
    return load_model("fdrn", device="cpu")


@pytest.mark.slow
def test_round_trip_equals_a_direct_encode(tmp_path, fdrn):
    vol = disc_slices()
    ident = StoreIdentity.of(fdrn)
    store = ZarrFeatureStore.create(tmp_path / "s.zarr", ident, source="test")
    keys = []
    for z, img in enumerate(vol):
        fdrn.set_image(img)
        key = feature_key(img, ident.identity, ident.preprocessing)
        store.write(key, fdrn.get_features(), slice_index=z)
        keys.append(key)
    reopened = ZarrFeatureStore.open(tmp_path / "s.zarr", expect=fdrn)
    assert len(reopened) == 3 and reopened.slice_keys() == dict(enumerate(keys))
    fdrn.set_image(vol[1])
    direct = fdrn.get_features()
    stored = reopened.get(keys[1])
    assert stored["shape"] == direct["shape"] and stored["model"] == "fdrn"
    assert set(stored["features"]) == set(direct["features"])
    for name, t in direct["features"].items():
        assert torch.equal(stored["features"][name], t.cpu()), name
    # the same click gives the same probability from stored as from fresh features
    p_direct = fdrn.predict([Click(32, 30, True)])
    fdrn.set_features(stored)
    np.testing.assert_array_equal(fdrn.predict([Click(32, 30, True)]), p_direct)
    assert reopened.get("0" * 40) is None


def test_attributes_record_the_feature_identity(tmp_path, fdrn):
    ZarrFeatureStore.create(tmp_path / "s.zarr", StoreIdentity.of(fdrn))
    attrs = dict(import_zarr().open_group(str(tmp_path / "s.zarr"), mode="r").attrs)
    assert attrs["format"] == STORE_FORMAT and attrs["model"] == "fdrn"
    assert attrs["weights_sha256"] == fdrn.card["sha256"]
    assert attrs["model_identity"] == model_identity(fdrn) == f"fdrn@{fdrn.card['sha256']}"
    assert attrs["preprocessing"] == "percentile-1-99"
    assert attrs["encoder"]["config"]["encoder"]["max_side"] == fdrn.config.encoder.max_side
    assert attrs["encoder"]["views"] == 1


def test_a_store_of_other_weights_is_refused_by_name(tmp_path, fdrn):
    from napari_clickseg.models.networks import build_network
    from napari_clickseg.models.weights_io import save_model

    other_pt = save_model(build_network("fdrn"), tmp_path / "other" / "fdrn-random.pt")
    other = load_model("fdrn", device="cpu", weights=other_pt)
    ZarrFeatureStore.create(tmp_path / "s.zarr", StoreIdentity.of(fdrn))
    with pytest.raises(StoreMismatchError, match=r"made by model 'fdrn' \(weights sha256 " + fdrn.card["sha256"][:12]) as err:
        ZarrFeatureStore.open(tmp_path / "s.zarr", expect=other)
    assert other.card["sha256"][:12] in str(err.value) and "clickseg precompute" in str(err.value)
    with pytest.raises(StoreMismatchError):
        ZarrFeatureStore.create(tmp_path / "s.zarr", StoreIdentity.of(other))
    flip = load_model("fdrn", device="cpu", flip_tta=True)
    with pytest.raises(StoreMismatchError, match="not by model 'fdrn' .*flip test-time augmentation"):
        ZarrFeatureStore.open(tmp_path / "s.zarr", expect=flip)


def test_not_a_store_and_missing_store(tmp_path):
    import_zarr().open_group(str(tmp_path / "plain.zarr"), mode="w")
    with pytest.raises(ValueError, match="not a clickseg feature store"):
        ZarrFeatureStore.open(tmp_path / "plain.zarr")
    with pytest.raises(FileNotFoundError, match="clickseg precompute"):
        ZarrFeatureStore.open(tmp_path / "absent.zarr")


def test_an_interrupted_slice_is_not_served(tmp_path, fdrn):
    img = disc_slices(1)[0]
    ident = StoreIdentity.of(fdrn)
    store = ZarrFeatureStore.create(tmp_path / "s.zarr", ident)
    fdrn.set_image(img)
    key = feature_key(img, ident.identity)
    store.write(key, fdrn.get_features())
    group = import_zarr().open_group(str(tmp_path / "s.zarr"), mode="a")["features"][key]
    group.attrs["complete"] = False  # as if the write had stopped before its last step
    assert key not in store and store.get(key) is None and len(store) == 0


@pytest.mark.slow
def test_session_reads_the_store_lazily_and_never_encodes(tmp_path, fdrn):
    vol = disc_slices()
    ident = StoreIdentity.of(fdrn)
    writer = ZarrFeatureStore.create(tmp_path / "s.zarr", ident)
    for img in vol:
        fdrn.set_image(img)
        writer.write(feature_key(img, ident.identity), fdrn.get_features())
    fdrn.set_image(vol[2])
    expected = fdrn.predict([Click(32, 32, True)])

    predictor = load_model("fdrn", device="cpu")
    store = ZarrFeatureStore.open(tmp_path / "s.zarr", expect=predictor)
    cache = FeatureCache(max_items=2, backing=store)
    session = InteractiveSession(predictor, feature_store=cache)
    for img in vol:
        session.set_image(img, key=feature_key(img, model_identity(predictor)))
    assert predictor.encode_count == 0 and store.reads == 3
    np.testing.assert_array_equal(session.prob, np.zeros((64, 64), np.float32))
    session.add_click(32, 32)
    np.testing.assert_array_equal(session.prob, expected)
    # a slice the store lacks is encoded as before
    new = np.flipud(vol[0]).copy()
    session.set_image(new, key=feature_key(new, model_identity(predictor)))
    assert predictor.encode_count == 1


def test_missing_zarr_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ImportError, match=r"napari-clickseg\[distributed\]"):
        import_zarr()
