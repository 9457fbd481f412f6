"""Training: config validation, a 10-step run with checkpoint + resume + CSV logs."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from napari_clickseg.train.config import TrainConfig, config_from_dict, config_to_dict, load_config
from napari_clickseg.train.iterative import boxes_tensor, clicks_tensor
from napari_clickseg.train.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

TINY_NET = {
    "width": 16, "mid": 16, "high": 16, "guide": 8,
    "encoder": {"stem": 8, "low": 16, "mid": 16, "high": 16, "key": 8, "blocks": [1, 1, 1]},
}


def tiny_config(**sections) -> TrainConfig:
    data = {
        "model": {"family": "fdrn", "crop_size": 48, "overrides": TINY_NET},
        "data": {"sources": {"synthetic": 1.0}, "image_size": 64, "min_area": 20},
        "clicks": {"max_positive": 4, "max_negative": 4, "max_iterative": 1, "box_prob": 0.3},
        "optim": {"batch_size": 2, "steps": 10, "lr": 1e-3},
        "validation": {"every": 5, "objects_per_dataset": 0, "synthetic_objects": 1, "max_clicks": 2},
        "run": {"checkpoint_every": 3, "log_every": 2, "device": "cpu"},
    }
    for k, v in sections.items():
        data[k] = {**data.get(k, {}), **v}
    return config_from_dict(data, where="tiny")


def test_shipped_configs_are_valid():
    files = sorted(CONFIGS.glob("*.toml"))
    assert files, "configs/*.toml missing"
    for f in files:
        cfg = load_config(f)
        assert config_from_dict(config_to_dict(cfg)) == cfg


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"optim": {"learning_rate": 1.0}}, "unknown key 'optim.learning_rate'"),
        ({"trainer": {}}, "unknown key 'trainer'"),
        ({"optim": {"lr": "fast"}}, "optim.lr must be a number"),
        ({"optim": {"batch_size": 2.5}}, "optim.batch_size must be an integer"),
        ({"data": {"sources": {"imagenet": 1.0}}}, "unknown source 'imagenet'"),
        ({"model": {"crop_size": 100}}, "model.crop_size"),
        ({"clicks": {"box_prob": 2.0}}, "clicks.box_prob"),
        ({"clicks": {"object_roi_prob": -0.1}}, "clicks.object_roi_prob"),
        ({"clicks": {"object_roi_range": [0.5, 2.0]}}, "clicks.object_roi_range"),
        ({"data": {"scale": [2.0, 1.0]}}, "data.scale"),
        ({"validation": {"datasets": ["nope"]}}, "validation.datasets"),
    ],
)
def test_config_errors_name_the_key(data, match):
    with pytest.raises(ValueError, match=match):
        config_from_dict(data)


def test_load_config_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim\nlr = 1")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_config(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[optim]\nlrr = 0.1\n")
    with pytest.raises(ValueError, match=r"unknown\.toml: unknown key 'optim\.lrr'"):
        load_config(unknown)


def test_load_config_based_on_applies_keys_over_the_base(tmp_path):
    (tmp_path / "base.toml").write_text(
        "[optim]\nlr = 0.001\nsteps = 100\n\n[data.sources]\nsynthetic = 0.5\n\n[run]\nseed = 3\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "child.toml").write_text('based_on = "../base.toml"\n\n[optim]\nsteps = 7\n')
    cfg = load_config(sub / "child.toml")
    base = load_config(tmp_path / "base.toml")
    assert cfg.optim.steps == 7 and base.optim.steps == 100
    assert cfg.optim.lr == base.optim.lr == 0.001  # the rest of the table is the base's
    assert cfg.run.seed == 3 and cfg.data.sources == base.data.sources
    # the campaign chunks state only what they change
    root = Path(__file__).resolve().parents[1] / "configs"
    c8, c10 = config_to_dict(load_config(root / "fdrn-v2-chunk8.toml")), config_to_dict(load_config(root / "fdrn-v2-chunk10.toml"))
    assert c10["run"]["seed"] == 10 and c10["optim"]["steps"] == 2400
    assert {k: v for k, v in c10.items() if k not in ("run", "optim", "validation")} == \
        {k: v for k, v in c8.items() if k not in ("run", "optim", "validation")}


def test_load_config_based_on_errors(tmp_path):
    (tmp_path / "a.toml").write_text('based_on = "b.toml"\n')
    (tmp_path / "b.toml").write_text('based_on = "a.toml"\n')
    with pytest.raises(ValueError, match="cycle"):
        load_config(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('based_on = "missing.toml"\n')
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        load_config(tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text("based_on = 3\n")
    with pytest.raises(ValueError, match="based_on must be a path"):
        load_config(tmp_path / "d.toml")


def test_prompt_tensors():
    from napari_clickseg.core.clicks import Box, Click

    t = clicks_tensor([[Click(1, 2, True)], [Click(3, 4, False), Click(5, 6, True)]])
    assert t.shape == (2, 2, 3)
    assert t[0, 1].tolist() == [-1, -1, -1] and t[1, 0].tolist() == [3, 4, 0]
    assert boxes_tensor([None, None]) is None
    b = boxes_tensor([None, Box(1, 2, 3, 4)])
    assert b[0].tolist() == [-1, -1, -1, -1] and b[1].tolist() == [1, 2, 3, 4]


def test_make_prompts_draws_object_relative_rois_with_their_probability():
    from napari_clickseg.train.config import ClickSection
    from napari_clickseg.train.iterative import make_prompts

    target = np.zeros((128, 128), bool)
    target[60:70, 40:52] = True  # 10 x 12 box
    images = [np.zeros((128, 128, 3), np.float32)] * 40

    def sides(prob: float) -> np.ndarray:
        cfg = ClickSection(object_roi_prob=prob, object_roi_range=[1.2, 2.0], roi_low=0.5, box_prob=0.0)
        batch = make_prompts(images, [target] * 40, [None] * 40, cfg, np.random.default_rng(0))
        return batch.rois[:, 2] - batch.rois[:, 0] + 1

    assert np.all(sides(0.0) >= 0.5 * 128 - 1e-3)  # image-relative only: at least roi_low
    mixed = sides(0.5)
    small = mixed <= 2.0 * 12 + 1e-3  # object-relative: 1.2-2x the 12-px box side
    assert 8 <= small.sum() <= 32 and np.all(mixed[small] >= 1.2 * 12 - 1e-3)
    assert np.all(sides(1.0) <= 24 + 1e-3)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_ten_step_run_checkpoints_resumes_and_logs(tmp_path):
    from napari_clickseg.models.weights_io import load_network, read_card

    cfg = tiny_config()
    out = tmp_path / "run"
    first = Trainer(cfg, out).run(until_step=6)
    assert first.step == 6 and (out / "checkpoint.pt").is_file()
    state = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 6
    saved = {k: v.clone() for k, v in state["state_dict"].items()}

    second = Trainer(cfg, out)
    summary = second.run(resume=True)
    assert summary.start_step == 6 and summary.step == 10 and summary.stopped == "done"
    # resuming really continued from the saved weights (they changed after more steps)
    after = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert after["step"] == 10
    assert any(not torch.equal(saved[k], after["state_dict"][k]) for k in saved if saved[k].is_floating_point())

    rows = _rows(out / "train_log.csv")
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8, 10]
    assert all(np.isfinite(float(r["loss"])) and float(r["loss"]) > 0 for r in rows)
    val = _rows(out / "val_log.csv")
    assert {int(r["step"]) for r in val} == {5, 10}
    assert {r["group"] for r in val} == {"synthetic", "mean"}
    assert all(1 <= float(r["noc90"]) <= 2 for r in val)

    for name in ("best", "last"):
        net = load_network(out / f"{name}.pt", family="fdrn")
        assert net.crop_size == 48
        card = read_card(out / f"{name}.pt")
        assert card["training"]["steps"] in (5, 10) and card["training"]["data"] == {"synthetic": 1.0}
    assert read_card(out / "last.pt")["training"]["steps"] == 10
    assert read_card(out / "last.pt")["training"]["total_steps"] == 10 and "init" not in card["training"]


@pytest.mark.slow
def test_run_from_init_weights_records_its_lineage(tmp_path):
    """A second stage started from ``model.init`` starts from those weights and its card says so."""
    from napari_clickseg.models.weights_io import load_network, read_card

    Trainer(tiny_config(), tmp_path / "stage1").run(until_step=4)
    init = tmp_path / "stage1" / "last.pt"
    first = read_card(init)
    cfg = tiny_config(model={"family": "fdrn", "crop_size": 48, "overrides": TINY_NET, "init": str(init)})
    trainer = Trainer(cfg, tmp_path / "stage2")
    start = load_network(init, family="fdrn").state_dict()
    assert all(torch.equal(v, trainer.net.state_dict()[k].cpu()) for k, v in start.items())
    trainer.run(until_step=3)
    tr = read_card(tmp_path / "stage2" / "last.pt")["training"]
    assert tr["steps"] == 3 and tr["total_steps"] == 3 + 4
    assert tr["init"]["sha256"] == first["sha256"] and tr["init"]["training"]["steps"] == 4
    # the init's own score is validated first: best.pt only changes when a step beats it
    steps = [r["step"] for r in csv.DictReader(open(tmp_path / "stage2" / "val_log.csv")) if r["group"] == "mean"]
    assert steps[0] == "0"
    assert (tmp_path / "stage2" / "best.pt").is_file()


@pytest.mark.slow
def test_resume_guards(tmp_path):
    cfg = tiny_config()
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        Trainer(cfg, tmp_path / "empty").run(resume=True)
    out = tmp_path / "run"
    Trainer(cfg, out).run(until_step=1)
    other = tiny_config(model={"crop_size": 64})
    with pytest.raises(ValueError, match="model"):
        Trainer(other, out).run(resume=True)
    from napari_clickseg.train import command

    cfg_file = tmp_path / "tiny.toml"
    cfg_file.write_text('[model]\ncrop_size = 48\n[data.sources]\nsynthetic = 1.0\n')
    args = argparse.Namespace(config=cfg_file, out=out, resume=False, device="cpu", max_minutes=None,
                              until_step=None, no_progress=True)
    with pytest.raises(ValueError, match="--resume"):
        command.run(args)


@pytest.mark.slow
def test_cancel_stops_cleanly(tmp_path):
    cfg = tiny_config(validation={"every": 0})
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    summary = Trainer(cfg, tmp_path / "run").run(should_stop=stop)
    assert summary.stopped == "cancelled" and summary.step == 2
    assert (tmp_path / "run" / "checkpoint.pt").is_file()


@pytest.mark.data
def test_real_data_splits_are_fixed_and_disjoint(shared_data):
    from napari_clickseg.data.real_data import RealImageSet, index_entries
    from napari_clickseg.data.splits import DATASETS, split_names

    for name in DATASETS:
        entries = index_entries(shared_data, name)
        train, val = split_names(name, entries, "train"), split_names(name, entries, "val")
        assert train and val and not set(train) & set(val)
        assert len(train) + len(val) == len(entries)
        assert 0.1 <= len(val) / len(entries) <= 0.35, name
    lgg = index_entries(shared_data, "lgg-mri-train")
    by_name = {e["name"]: e["patient"] for e in lgg}
    train_p = {by_name[n] for n in split_names("lgg-mri-train", lgg, "train")}
    val_p = {by_name[n] for n in split_names("lgg-mri-train", lgg, "val")}
    assert not train_p & val_p
    # both whole volumes (fine-tuning experiments) belong to held-out patients
    assert {"TCGA_CS_4941_19960909", "TCGA_DU_6401_19831001"} <= val_p
    glas = index_entries(shared_data, "glas-train")
    pid = {e["name"]: e["patient_id"] for e in glas}
    assert not {pid[n] for n in split_names("glas-train", glas, "train")} & {
        pid[n] for n in split_names("glas-train", glas, "val")}
    ds = RealImageSet(shared_data, "lgg-mri-train", "val")
    image, labels = ds.load(0)
    assert image.shape[:2] == labels.shape and set(np.unique(labels)) <= {0, 1}
