"""FeatureCache: LRU bounds, disk reuse across instances, content keys; session integration."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from napari_clickseg import InteractiveSession, build_model
from napari_clickseg.core.feature_cache import FeatureCache, feature_key, model_identity, nbytes_of


def feats(n: int, fill: float = 0.0) -> dict:
    return {"shape": (4, 4), "features": {"a": torch.full((n,), fill)}, "model": "m"}


def test_lru_evicts_by_items():
    c = FeatureCache(max_items=2)
    c.put("a", feats(1, 1))
    c.put("b", feats(1, 2))
    assert c.get("a") is not None  # a is now the most recent
    c.put("c", feats(1, 3))
    assert c.get("b") is None and c.get("a") is not None and c.get("c") is not None
    assert len(c) == 2


def test_lru_evicts_by_bytes():
    c = FeatureCache(max_items=100, max_bytes=1000)
    c.put("a", feats(100))  # 400 bytes
    c.put("b", feats(100))
    c.put("c", feats(100))  # 1200 > 1000: a goes
    assert "a" not in c and c.get("b") is not None and c.nbytes == 800
    c.put("huge", feats(1000))  # larger than the bound alone: not kept in memory
    assert c.get("huge") is None and c.nbytes == 800


def test_disk_copy_is_reused_by_a_new_cache(tmp_path):
    key = feature_key(np.arange(12).reshape(3, 4), "fdrn")
    FeatureCache(disk_dir=tmp_path).put(key, feats(5, 7.0))
    again = FeatureCache(disk_dir=tmp_path)
    got = again.get(key)
    assert torch.equal(got["features"]["a"], torch.full((5,), 7.0)) and got["shape"] == (4, 4)
    assert key in again
    # a corrupt file is a miss and is removed
    (tmp_path / f"{key}.pt").write_bytes(b"garbage")
    assert FeatureCache(disk_dir=tmp_path).get(key) is None
    assert not (tmp_path / f"{key}.pt").exists()


def test_disk_folder_is_bounded_least_recently_used_out(tmp_path):
    one = tmp_path / "probe"
    FeatureCache(disk_dir=one).put("probe", feats(1000))
    size = (one / "probe.pt").stat().st_size
    cache = FeatureCache(max_items=1, disk_dir=tmp_path / "d", max_disk_bytes=int(2.5 * size))
    cache.put("a", feats(1000))
    os.utime(tmp_path / "d" / "a.pt", (1, 1))  # a: long ago
    cache.put("b", feats(1000))
    os.utime(tmp_path / "d" / "b.pt", (2, 2))
    assert cache.get("a") is not None  # read from disk (memory holds one item): a is fresh again
    cache.put("c", feats(1000))  # three files > 2.5: the least recently used (b) goes
    names = sorted(p.stem for p in (tmp_path / "d").glob("*.pt"))
    assert names == ["a", "c"]


def test_feature_key_depends_on_content_model_and_preprocessing():
    img = np.arange(64, dtype=np.uint16).reshape(8, 8)
    k = feature_key(img, "fdrn")
    assert k == feature_key(img.copy(), "fdrn")
    assert k != feature_key(img.astype(np.float32), "fdrn")
    assert k != feature_key(img, "ritm-like")
    assert k != feature_key(img, "fdrn", "percentile-0.5-99.5")
    img2 = img.copy()
    img2[0, 0] += 1
    assert k != feature_key(img2, "fdrn")


def test_nbytes_and_bad_arguments():
    assert nbytes_of({"x": np.zeros(10, np.float32), "y": [torch.zeros(2, dtype=torch.float64)], "z": "s"}) == 56
    with pytest.raises(ValueError, match="max_items"):
        FeatureCache(max_items=0)


def test_session_uses_cache_instead_of_encoder(tmp_path):
    p = build_model("fdrn", pretrained=False, device="cpu")
    cache = FeatureCache(max_items=4, disk_dir=tmp_path)
    s = InteractiveSession(p, feature_store=cache)
    rng = np.random.default_rng(0)
    a, b = rng.random((64, 64)), rng.random((64, 64))
    ka, kb = feature_key(a, p.name), feature_key(b, p.name)
    s.set_image(a, key=ka)
    s.set_image(b, key=kb)
    assert p.encode_count == 2
    s.set_image(a, key=ka)  # back to slice a: a lookup, no encoder run
    assert p.encode_count == 2
    # a fresh predictor in a "new session" reuses the disk copies
    p2 = build_model("fdrn", pretrained=False, device="cpu")
    s2 = InteractiveSession(p2, feature_store=FeatureCache(disk_dir=tmp_path))
    s2.set_image(b, key=kb)
    assert p2.encode_count == 0 and p2.is_image_set


def test_model_identity_includes_the_weights_hash():
    class P:
        name = "mine"
        card = {"sha256": "abc123"}

    class Q:
        name = "random-walker"

    assert model_identity(P()) == "mine@abc123" and model_identity(Q()) == "random-walker"
    # same image, same name, other weights: another key
    img = np.zeros((4, 4))
    assert feature_key(img, model_identity(P())) != feature_key(img, "mine@def456")


def test_numpy_features_round_trip_through_disk(tmp_path):
    """Classical models keep numpy arrays as features; they survive weights_only loading."""
    value = {"image": np.arange(12, dtype=np.float32).reshape(3, 4), "shape": (3, 4), "t": torch.ones(2)}
    FeatureCache(disk_dir=tmp_path).put("k", value)
    got = FeatureCache(disk_dir=tmp_path).get("k")
    assert isinstance(got["image"], np.ndarray) and np.array_equal(got["image"], value["image"])
    assert got["shape"] == (3, 4) and torch.equal(got["t"], torch.ones(2))
    assert (tmp_path / "k.pt").exists()  # read fine, not dropped as corrupt
