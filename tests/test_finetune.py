"""Fine-tuning on user labels: end to end into the user model folder, errors, cancel."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg import list_models, load_model
from napari_clickseg.core.clicks import Click
from napari_clickseg.core.labels import labelled_slices
from napari_clickseg.train.finetune import FinetuneConfig, finetune
from napari_clickseg.train.finetune_command import parse_slices

TINY_NET = {
    "width": 16, "mid": 16, "high": 16, "guide": 8,
    "encoder": {"stem": 8, "low": 16, "mid": 16, "high": 16, "key": 8, "blocks": (1, 1, 1)},
}


@pytest.fixture
def base_weights(tmp_path):
    """A tiny (untrained) fdrn weights file + card to fine-tune from."""
    from napari_clickseg.models.networks import build_network
    from napari_clickseg.models.weights_io import save_model

    net = build_network("fdrn", crop_size=48, **TINY_NET)
    return save_model(net, tmp_path / "tiny-base.pt", {"description": "tiny test base"})


@pytest.fixture
def volume():
    """(6, 64, 64) uint8 volume with a bright disk on slices 1..4 (labels 1), nothing on 0 and 5."""
    rng = np.random.default_rng(0)
    img = (rng.random((6, 64, 64)) * 40).astype(np.uint8)
    lab = np.zeros((6, 64, 64), np.int32)
    yy, xx = np.mgrid[:64, :64]
    for z in range(1, 5):
        disk = (yy - 30 - z) ** 2 + (xx - 28) ** 2 < (10 + z) ** 2
        lab[z][disk] = 1
        img[z][disk] += 150
    return img, lab


def fast(**kw) -> FinetuneConfig:
    base = dict(max_steps=4, batch_size=2, image_size=64, val_every=2, val_clicks=2, device="cpu", data_workers=0)
    base.update(kw)
    return FinetuneConfig(**base)


@pytest.mark.slow
def test_finetune_end_to_end(volume, base_weights):
    img, lab = volume
    seen = []
    result = finetune(img, lab, base=str(base_weights), name="my-cells", config=fast(data_workers=1),
                      progress=lambda s, t, info: seen.append((s, t, info)))
    assert result.name == "my-cells" and result.weights_path.is_file()
    assert result.weights_path.with_suffix(".json").is_file()
    assert result.card["family"] == "fdrn"
    tr = result.card["training"]
    assert tr["train_slices"] + tr["val_slices"] and sorted(tr["train_slices"] + tr["val_slices"]) == [1, 2, 3, 4]
    assert len(tr["val_slices"]) == 1 and tr["steps"] == 4
    assert [s for s, _, _ in seen] == [1, 2, 3, 4] and all(t == 4 for _, t, _ in seen)
    assert "noc90" in seen[1][2] and np.isfinite(seen[0][2]["loss"])
    assert [h["step"] for h in result.history] == [0, 2, 4]
    # the model is listed at once and loads by name
    assert "my-cells" in list_models() and "my-cells" in list_models("user")
    predictor = load_model("my-cells", device="cpu")
    predictor.set_image(img[2])
    prob = predictor.predict([Click(32, 28, True)])
    assert prob.shape == (64, 64) and np.isfinite(prob).all()


@pytest.mark.slow
def test_finetune_2d_slice_and_explicit_slices(volume, base_weights):
    img, lab = volume
    r = finetune(img[2], lab[2], base=str(base_weights), name="one-slice", config=fast(max_steps=2))
    assert r.card["training"]["train_slices"] == [0] and r.card["training"]["val_slices"] == []
    r = finetune(img, lab, slices=[1, 3], base=str(base_weights), name="two", config=fast(max_steps=2))
    assert r.card["training"]["train_slices"] == [1, 3]


def test_finetune_bad_input(volume, base_weights):
    img, lab = volume
    b = str(base_weights)
    with pytest.raises(ValueError, match="no labelled slice"):
        finetune(img, np.zeros_like(lab), base=b, name="x", config=fast())
    with pytest.raises(ValueError, match="does not match"):
        finetune(img[:, :32], lab, base=b, name="x", config=fast())
    with pytest.raises(ValueError, match="built-in"):
        finetune(img, lab, base=b, name="random-walker", config=fast())
    with pytest.raises(ValueError, match="not usable"):
        finetune(img, lab, base=b, name="../evil", config=fast())
    with pytest.raises(ValueError, match=r"slices \[0\] carry no labels"):
        finetune(img, lab, slices=[0, 1], base=b, name="x", config=fast())
    with pytest.raises(ValueError, match="out of range"):
        finetune(img, lab, slices=[9], base=b, name="x", config=fast())
    with pytest.raises(ValueError, match="not a learned network"):
        finetune(img, lab, base="random-walker", name="x", config=fast())
    with pytest.raises(KeyError):
        finetune(img, lab, base="no-such-model", name="x", config=fast())
    with pytest.raises(ValueError, match="val_fraction"):
        FinetuneConfig(val_fraction=1.5)
    with pytest.raises(ValueError, match="replay"):
        FinetuneConfig(replay=1.0)
    with pytest.raises(ValueError, match="object_roi"):
        FinetuneConfig(object_roi=1.5)
    with pytest.raises(ValueError, match="scale"):
        FinetuneConfig(scale=(1.5, 0.5))


def test_finetune_draws_mix_labelled_slices_and_replay(volume):
    """Replay draws come from the generator (many instances); the others from the labelled disk."""
    from napari_clickseg.train.finetune import _SliceData

    img, lab = volume
    rng = np.random.default_rng(0)
    only = _SliceData(img, lab, [1, 2], fast(replay=0.0))
    assert only.replay is None
    for _ in range(5):
        image, labels, target = only.sample(rng)
        assert image.shape == (64, 64, 3) and labels.max() == 1 and target.any()
    mixed = _SliceData(img, lab, [1, 2], fast(replay=0.5))
    draws = [mixed.sample(rng) for _ in range(20)]
    synthetic = [d for d in draws if d[1].max() > 1]
    assert 0 < len(synthetic) < 20
    for image, labels, target in draws:
        assert image.shape == (64, 64, 3) and image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1
        assert target.shape == labels.shape == (64, 64) and target.sum() >= 10


@pytest.mark.slow
def test_finetune_cancel_keeps_best_so_far(volume, base_weights):
    img, lab = volume
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    r = finetune(img, lab, base=str(base_weights), name="stopped", config=fast(max_steps=50),
                 should_stop=should_stop)
    assert r.card["training"]["stopped"] == "cancelled" and r.card["training"]["steps"] == 1
    assert "stopped" in list_models()


def test_helpers():
    assert parse_slices("3,4,7") == [3, 4, 7]
    assert parse_slices("3-6,1") == [1, 3, 4, 5, 6]
    with pytest.raises(ValueError, match="--slices"):
        parse_slices("a-b")
    lab = np.zeros((4, 3, 3), int)
    lab[2, 1, 1] = 5
    assert labelled_slices(lab) == [2]


@pytest.mark.slow
def test_finetune_cli_end_to_end(volume, base_weights, tmp_path, capsys):
    """``clickseg finetune`` reads the files, trains, saves a listed user model and says so."""
    import tifffile

    from napari_clickseg import cli

    img, lab = volume
    tifffile.imwrite(tmp_path / "vol.tif", img)
    tifffile.imwrite(tmp_path / "lab.tif", lab.astype(np.uint16))
    argv = ["finetune", "--image", str(tmp_path / "vol.tif"), "--labels", str(tmp_path / "lab.tif"),
            "--base", str(base_weights), "--name", "cli-tuned", "--slices", "1-4", "--steps", "2",
            "--replay", "0.5", "--object-roi", "0.3", "--device", "cpu"]
    assert cli.main(argv) == 0
    assert "cli-tuned" in capsys.readouterr().out
    assert "cli-tuned" in list_models("user")
    from napari_clickseg.models.registry import get_model_info
    from napari_clickseg.models.weights_io import read_card

    card = read_card(get_model_info("cli-tuned").weights)
    assert card["training"]["config"]["replay"] == 0.5 and card["training"]["steps"] == 2
    assert card["training"]["config"]["object_roi"] == 0.3
    # a bad value is a one-line error (exit 2), not a traceback
    assert cli.main(argv[:-6] + ["--replay", "1.5"]) == 2
    assert "replay" in capsys.readouterr().err


def test_step_selection_prefers_fewer_clicks_then_a_higher_miou_curve():
    from napari_clickseg.train.loop import improves

    assert improves((1.5, 0.80), (2.0, 0.95))  # fewer clicks wins whatever the AUC
    assert not improves((2.5, 0.99), (2.0, 0.80))
    assert improves((1.5, 0.90), (1.5, 0.88))  # saturated NoC@90: the higher mIoU curve
    assert not improves((1.5, 0.88005), (1.5, 0.88))  # within 1e-4: no change of step
    assert not improves((1.5, 0.88), (1.5, 0.88))
    assert improves((20.0, 0.0), None)  # the first validation always counts


@pytest.mark.slow
def test_a_finetune_that_beats_no_step_says_so_and_keeps_the_base(volume, base_weights, caplog):
    import torch

    from napari_clickseg.models.weights_io import load_network

    img, lab = volume
    with caplog.at_level("WARNING"):
        r = finetune(img, lab, base=str(base_weights), name="unchanged", config=fast(lr=1e-12, max_steps=2))
    assert r.improved is False
    assert r.card["training"]["improved"] is False and r.card["training"]["best_step"] == 0
    assert "no step beat the base model" in caplog.text
    base, tuned = load_network(base_weights, device="cpu"), load_network(r.weights_path, device="cpu")
    for (k, a), (_, b) in zip(base.state_dict().items(), tuned.state_dict().items()):
        assert torch.equal(a, b), k
