"""Edit heads (``models.edit_head``): files, loading, the predictor's head choice, the session's flag."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from napari_clickseg import load_model
from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.models.base import BasePredictor
from napari_clickseg.models.edit_head import SUFFIX, head_state, load_edit_net, save_edit_head
from napari_clickseg.models.learned_predictor import LearnedPredictor
from napari_clickseg.models.networks import build_network
from napari_clickseg.models.registry import WEIGHTS_DIR
from napari_clickseg.models.weights_io import WeightsError, load_network, save_model

SMALL = {"crop_size": 64, "encoder": {"stem": 8, "low": 8, "mid": 8, "high": 16, "key": 8, "blocks": (1, 1, 1)}}


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = (rng.random((120, 160)) * 40).astype(np.float32)
    img[40:90, 50:110] += 150
    return img


@pytest.fixture
def base_and_tuned(tmp_path):
    """A tiny base network saved with its card, and a copy whose head (only) was changed."""
    torch.manual_seed(0)
    base = build_network("fdrn", **SMALL)
    path = save_model(base, tmp_path / "tiny.pt")
    tuned = build_network("fdrn", **SMALL)
    tuned.load_state_dict(base.state_dict())
    with torch.no_grad():
        for name, p in tuned.named_parameters():
            if not name.startswith("encoder."):
                p.add_(0.05 * torch.randn_like(p))
    return path, tuned


def test_round_trip_gives_the_tuned_head_on_the_base_encoder(base_and_tuned):
    path, tuned = base_and_tuned
    head = save_edit_head(tuned, path, {"description": "test head"})
    assert head.name == "tiny" + SUFFIX and head.is_file()
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["edit_head"]["file"] == head.name and card["edit_head"]["description"] == "test head"
    base_net = load_network(path)  # the base still loads (its own sha256 is unchanged)
    edit = load_edit_net(base_net, path)
    mine, want = edit.state_dict(), tuned.state_dict()
    assert set(mine) == set(want) and all(torch.equal(mine[k], want[k]) for k in want)
    assert all(not k.startswith("encoder.") for k in head_state(tuned))
    # the base network itself is not modified
    assert not torch.equal(base_net.state_dict()["classifier.weight"], want["classifier.weight"])


def test_a_base_without_a_head_loads_none(base_and_tuned):
    path, _ = base_and_tuned
    assert load_edit_net(load_network(path), path) is None


def test_a_head_with_another_encoder_is_refused(base_and_tuned):
    path, tuned = base_and_tuned
    with torch.no_grad():
        next(p for n, p in tuned.named_parameters() if n.startswith("encoder.")).add_(1.0)
    with pytest.raises(WeightsError, match="encoder tensors differ.*encoder_lr_mult = 0"):
        save_edit_head(tuned, path)


def test_a_replaced_or_missing_head_file_is_named(base_and_tuned):
    path, tuned = base_and_tuned
    head = save_edit_head(tuned, path)
    base_net = load_network(path)
    blob = torch.load(head, weights_only=True)
    blob["state_dict"]["classifier.bias"] += 1.0
    torch.save(blob, head)
    with pytest.raises(WeightsError, match="sha256"):
        load_edit_net(base_net, path)
    head.unlink()
    with pytest.raises(FileNotFoundError, match=head.name):
        load_edit_net(base_net, path)


def test_predictor_uses_the_edit_head_only_for_edits(base_and_tuned):
    path, tuned = base_and_tuned
    save_edit_head(tuned, path)
    base_net = load_network(path)
    p = LearnedPredictor(base_net, device="cpu", edit_net=load_edit_net(base_net, path))
    plain, alone = LearnedPredictor(base_net, device="cpu"), LearnedPredictor(tuned, device="cpu")
    assert p.edit_head and not plain.edit_head
    img = _image()
    for q in (p, plain, alone):
        q.set_image(img)
    mask = np.zeros(img.shape, np.float32)
    mask[45:85, 55:100] = 1.0
    clicks = [Click(65, 80, True), Click(88, 108, True)]
    assert np.array_equal(p.predict(clicks, mask), plain.predict(clicks, mask))
    assert np.array_equal(p.predict(clicks, mask, from_mask=True), alone.predict(clicks, mask))
    assert not np.array_equal(p.predict(clicks, mask, from_mask=True), p.predict(clicks, mask))
    assert p._decoder is p.net  # the choice lasts one call


class _Recorder(BasePredictor):
    """A model that records the ``from_mask`` flag of every call; ``edit_head`` as given."""

    def __init__(self, edit_head: bool) -> None:
        super().__init__()
        self.edit_head = edit_head
        self.flags: list[bool | None] = []

    def _encode(self, image):
        return {}

    def _predict(self, features, clicks, prev_prob, box):
        return np.zeros(self.image_shape, np.float32)

    def predict(self, clicks, prev_prob=None, box=None, **kwargs):
        self.flags.append(kwargs.get("from_mask"))
        return super().predict(clicks, prev_prob, box)


def test_session_flags_edits_to_models_with_an_edit_head():
    img = _image()
    mask = np.zeros(img.shape, bool)
    mask[45:85, 55:100] = True
    rec = _Recorder(edit_head=True)
    s = InteractiveSession(rec)
    s.set_image(img)
    s.add_click(60, 70)  # from scratch: no flag
    s.start_from_mask(mask)
    s.add_click(88, 108)
    s.set_clicks([Click(88, 108, True), Click(50, 60, False)])
    s.set_box(Box(30, 40, 100, 120))  # a box replaces the mask: the plain head
    s.set_box(None)
    assert rec.flags == [None, True, True, None, True]
    # a model without an edit head is never given the keyword
    other = _Recorder(edit_head=False)
    s = InteractiveSession(other)
    s.set_image(img)
    s.start_from_mask(mask)
    s.add_click(88, 108)
    assert other.flags == [None]


@pytest.mark.slow
def test_shipped_fdrn_edits_with_its_edit_head_and_predicts_from_clicks_as_v1():
    if not (WEIGHTS_DIR / ("fdrn" + SUFFIX)).is_file():
        pytest.skip("the shipped fdrn edit head is not installed")
    p = load_model("fdrn", device="cpu")
    assert p.edit_head
    base = load_network(WEIGHTS_DIR / "fdrn.pt")
    v1 = LearnedPredictor(base, device="cpu")
    img = _image()
    p.set_image(img)
    v1.set_image(img)
    mask = np.zeros(img.shape, np.float32)
    mask[45:85, 55:100] = 1.0
    clicks = [Click(65, 80, True), Click(88, 108, True)]
    assert np.array_equal(p.predict(clicks, mask), v1.predict(clicks, mask))
    assert np.array_equal(p.predict(clicks[:1]), v1.predict(clicks[:1]))
    edit = p.predict(clicks, mask, from_mask=True)
    assert edit.shape == img.shape and 0.0 <= edit.min() and edit.max() <= 1.0
    assert not np.array_equal(edit, v1.predict(clicks, mask))


@pytest.mark.slow
def test_edit_head_on_a_slice_segmented_in_windows():
    if not (WEIGHTS_DIR / ("fdrn" + SUFFIX)).is_file():
        pytest.skip("the shipped fdrn edit head is not installed")
    p = load_model("fdrn", device="cpu")
    base = load_network(WEIGHTS_DIR / "fdrn.pt")
    alone = LearnedPredictor(load_edit_net(base, WEIGHTS_DIR / "fdrn.pt"), device="cpu")  # the fine-tune itself
    rng = np.random.default_rng(1)
    img = (rng.random((1100, 1200)) * 40).astype(np.float32)
    img[500:560, 600:680] += 150
    for q in (p, alone):
        q.set_image(img)
    assert p.windowed_slice is not None
    mask = np.zeros(img.shape, np.float32)
    mask[505:550, 605:660] = 1.0
    clicks = [Click(530, 630, True), Click(555, 675, True)]
    edit = p.predict(clicks, mask, from_mask=True)
    assert np.array_equal(edit, alone.predict(clicks, mask))
    assert not np.array_equal(edit, p.predict(clicks, mask))


def test_models_command_names_the_edit_head(capsys):
    import argparse

    from napari_clickseg.models import command

    if not (WEIGHTS_DIR / ("fdrn" + SUFFIX)).is_file():
        pytest.skip("the shipped fdrn edit head is not installed")
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)  # the arguments `clickseg models` parses
    assert command.run(parser.parse_args(["--kind", "learned"])) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("fdrn "))
    assert "edit head: fdrn" + SUFFIX in line


def test_weights_whose_head_file_is_missing_load_without_it(base_and_tuned, caplog):
    from napari_clickseg import build_model

    path, tuned = base_and_tuned
    save_edit_head(tuned, path).unlink()
    with caplog.at_level("WARNING"):
        p = build_model("fdrn", weights=path, device="cpu")
    assert not p.edit_head and "loads without it" in caplog.text
