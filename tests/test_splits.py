"""Fixed validation parts of every real dataset (``data/splits.py``) and their loaders."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.data.splits import (
    DATASETS,
    V1_DATASETS,
    VALIDATION,
    ranked_fraction,
    split_names,
)


def test_every_dataset_has_a_recorded_rule():
    assert set(V1_DATASETS) <= set(DATASETS) and set(VALIDATION) == set(DATASETS)


def test_ranked_fraction_is_per_group_and_independent_of_order():
    entries = [{"name": f"im{i}", "kind": "a" if i < 40 else "b"} for i in range(50)]
    val = ranked_fraction(entries, "name", "kind", 0.2)
    assert len([n for n in val if int(n[2:]) < 40]) == 8 and len([n for n in val if int(n[2:]) >= 40]) == 2
    assert ranked_fraction(entries[::-1], "name", "kind", 0.2) == val
    with pytest.raises(ValueError, match="has no 'kind'"):
        ranked_fraction([{"name": "x"}], "name", "kind", 0.2)


@pytest.mark.data
@pytest.mark.parametrize("name", DATASETS)
def test_validation_part_is_disjoint_from_training_and_loads(shared_data, name):
    from napari_clickseg.data.real_data import RealImageSet, index_entries, validation_objects

    entries = index_entries(shared_data, name)
    train, val = split_names(name, entries, "train"), split_names(name, entries, "val")
    assert train and val and not set(train) & set(val)
    assert len(train) + len(val) == len(entries)
    assert 0.1 <= len(val) / len(entries) <= 0.35
    assert split_names(name, entries, "val") == val  # fixed
    for part in ("train", "val"):
        ds = RealImageSet(shared_data, name, part)
        image, labels = ds.load(0)
        assert image.shape[:2] == labels.shape and labels.dtype == np.int32
        assert len(ds.object_ids(labels)) >= 1
    objs = validation_objects(shared_data, name, 3)
    assert len(objs) == 3 and all(o.gt.sum() >= 100 and o.image_key.split("[")[0] in set(val) for o in objs)


@pytest.mark.data
def test_patient_and_split_field_rules(shared_data):
    from napari_clickseg.data.real_data import index_entries

    hc = index_entries(shared_data, "hc18-fetal-head-us")
    pid = {e["name"]: e["patient_id"] for e in hc}
    assert not {pid[n] for n in split_names("hc18-fetal-head-us", hc, "train")} & {
        pid[n] for n in split_names("hc18-fetal-head-us", hc, "val")}
    cam = index_entries(shared_data, "camvid")
    split = {e["name"]: e["split"] for e in cam}
    assert {split[n] for n in split_names("camvid", cam, "val")} == {"test"}
    assert {split[n] for n in split_names("camvid", cam, "train")} == {"train", "val"}
    dsb = index_entries(shared_data, "dsb2018-stage1")
    kind = {e["name"]: e["kind"] for e in dsb}
    assert {kind[n] for n in split_names("dsb2018-stage1", dsb, "val")} == set(kind.values())


@pytest.mark.data
@pytest.mark.slow
def test_v2_config_draws_samples_from_every_source(shared_data):
    from pathlib import Path

    from napari_clickseg.train.config import load_config
    from napari_clickseg.train.mixture import DataMixture

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "fdrn-v2.toml")
    cfg.data.root = str(shared_data)  # the installed package does not know the checkout's layout
    assert not set(cfg.data.left_out) & set(cfg.real_datasets())
    assert not set(cfg.data.left_out) & set(cfg.validation_datasets())
    assert set(cfg.real_datasets()) | set(cfg.data.left_out) == set(DATASETS)
    m = DataMixture(cfg)
    a = [m.sample(np.random.default_rng([1, i])) for i in range(6)]
    b = [DataMixture(cfg).sample(np.random.default_rng([1, i])) for i in range(6)]
    for x, y in zip(a, b):
        assert x.image.shape == (256, 256, 3) and x.image.dtype == np.float32
        assert 0 <= x.image.min() and x.image.max() <= 1 and x.target.sum() >= cfg.data.min_area
        assert np.array_equal(x.image, y.image) and x.source == y.source
