"""Contract tests over every registered model (learned ones with random weights).

Every model: output shape/dtype/range, no NaN, gray and RGB slices, box-only prompt,
``predict`` never re-runs the encoder, features round-trip through get/set_features.
Learned networks additionally: gradients reach every parameter, the training interface
(``encode``/``decode``/``forward``, ``crop_size``, dataclass ``config``).
"""

from __future__ import annotations

import dataclasses
import importlib
import warnings

import numpy as np
import pytest
import torch

from napari_clickseg import Box, Click, build_model, list_models
from napari_clickseg.models.registry import get_model_info

ALL = list_models()
from napari_clickseg.models.registry import network_families  # noqa: E402

LEARNED = list_models("learned")
FAMILIES = list(network_families())  # network-level tests: each family once (fdrn-v2 is an fdrn)


def _quick(names):
    """The classical models and the default ``fdrn`` run in the quick suite; the others are slow."""
    return [n if n == "fdrn" or get_model_info(n).kind == "classical" else pytest.param(n, marks=pytest.mark.slow)
            for n in names]


def _build(name: str):
    info = get_model_info(name)
    module = info.builder.partition(":")[0]
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name == module:
            pytest.skip(f"{name}: builder module {module} is not implemented yet")
        raise
    kw = {"device": "cpu"}
    if info.kind != "classical":
        kw["pretrained"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_model(name, **kw)


def _image(kind: str, shape=(72, 88)) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    disk = ((yy - 36) ** 2 + (xx - 40) ** 2 < 15**2).astype(np.float32)
    img = 40 + 150 * disk + rng.normal(0, 10, shape)
    if kind == "rgb":
        img = np.stack([img, img * 0.8, 255 - img], -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def _check_prob(prob: np.ndarray, shape) -> None:
    assert prob.shape == tuple(shape[:2])
    assert prob.dtype == np.float32
    assert np.all(np.isfinite(prob))
    assert prob.min() >= 0.0 and prob.max() <= 1.0


@pytest.mark.parametrize("name", _quick(ALL))
@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_predict_contract(name, kind):
    p = _build(name)
    img = _image(kind)
    p.set_image(img)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob = p.predict([Click(36, 40)])
        _check_prob(prob, img.shape)
        prob2 = p.predict([Click(36, 40), Click(5, 5, False)], prev_prob=prob)
        _check_prob(prob2, img.shape)
        prob3 = p.predict([Click(36, 40), Click(5, 5, False), Click(40, 44)], prev_prob=prob2)
        _check_prob(prob3, img.shape)
        # pure function of its inputs
        assert np.array_equal(prob3, p.predict([Click(36, 40), Click(5, 5, False), Click(40, 44)], prev_prob=prob2))
        if getattr(p, "supports_box", False):
            _check_prob(p.predict([], box=Box(20, 24, 52, 56)), img.shape)
            _check_prob(p.predict([Click(36, 40)], box=Box(20, 24, 52, 56)), img.shape)


@pytest.mark.parametrize("name", _quick(ALL))
def test_predict_never_reencodes_and_features_round_trip(name):
    p = _build(name)
    img = _image("gray")
    p.set_image(img)
    assert p.encode_count == 1
    calls = []
    net = getattr(p, "net", None)
    if net is not None:  # learned: count calls of the network's encoder itself
        original = net.encode
        net.encode = lambda *a, **k: calls.append(1) or original(*a, **k)
    clicks = [Click(36, 40), Click(10, 70, False)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = p.predict(clicks[:1])
        a = p.predict(clicks, prev_prob=a)
        feats = p.get_features()
        p.reset_image()
        with pytest.raises(RuntimeError):
            p.predict(clicks)
        p.set_features(feats)
        b = p.predict(clicks[:1])
        b = p.predict(clicks, prev_prob=b)
    assert p.encode_count == 1 and not calls
    assert np.array_equal(a, b)


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_gradients_reach_every_parameter(name):
    from napari_clickseg.models.networks import build_network

    torch.manual_seed(0)
    net = build_network(name, crop_size=64)
    assert isinstance(net.crop_size, int) and dataclasses.is_dataclass(net.config)
    assert dataclasses.asdict(net.config)["family"] == name
    img = torch.rand(2, 3, 80, 96)
    rois = torch.tensor([[10.0, 12.0, 70.0, 60.0], [0.0, 0.0, 79.0, 95.0]])
    clicks = torch.tensor(
        [[[30.0, 40.0, 1.0], [20.0, 16.0, 0.0], [-1.0, -1.0, -1.0]], [[50.0, 50.0, 1.0], [52.0, 55.0, 1.0], [60.0, 60.0, 0.0]]]
    )
    prev = torch.rand(2, 1, 80, 96)
    boxes = torch.tensor([[10.0, 10.0, 60.0, 60.0], [-1.0, -1.0, -1.0, -1.0]])
    logits = net(img, rois, clicks, prev, boxes)
    assert logits.shape == (2, 1, 64, 64)
    target = (torch.rand_like(logits) > 0.5).float()
    torch.nn.functional.binary_cross_entropy_with_logits(logits, target).backward()
    for n, prm in net.named_parameters():
        assert prm.grad is not None, f"{name}: no gradient reaches {n}"
        assert torch.isfinite(prm.grad).all(), f"{name}: non-finite gradient in {n}"
    # decode(encode()) is forward(); no boxes is accepted
    with torch.no_grad():
        net.eval()
        f = net.encode(img)
        assert torch.allclose(net.decode(f, rois, clicks, prev, boxes), net(img, rois, clicks, prev, boxes))
        assert net.decode(f, rois, clicks, prev, None).shape == (2, 1, 64, 64)


@pytest.mark.parametrize("name", _quick(LEARNED))
@pytest.mark.parametrize("shape", [(64, 64), pytest.param((2048, 1536), marks=pytest.mark.slow)])
def test_small_and_large_slices(name, shape):
    """64x64 up to 2048x1536 encoded whole (``windowed=False``; windows: test_windowed_predictor):
    the encoder input is downscaled to <= 1024 px; slice kept as uint8."""
    p = _build(name)
    p.windowed = False
    img = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    p.set_image(img)
    feats = p.get_features()["features"]
    if "low" in feats:
        assert max(feats["low"].shape[-2:]) <= 1024 // 4
    assert feats["image"].dtype == torch.uint8
    r, c = shape[0] // 2, shape[1] // 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob = p.predict([Click(r, c)])
        prob = p.predict([Click(r, c), Click(r + 5, c + 7)], prev_prob=prob)
    _check_prob(prob, img.shape)


@pytest.mark.slow
@pytest.mark.parametrize("windowed", [False, True])
def test_4096_slice_works(windowed):
    p = _build("fdrn")
    p.windowed = windowed
    img = np.random.default_rng(0).integers(0, 255, (4096, 4096), dtype=np.uint8)
    p.set_image(img)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob = p.predict([Click(2000, 2000)])
        prob = p.predict([Click(2000, 2000), Click(2050, 2100, False)], prev_prob=prob)
    _check_prob(prob, img.shape)


@pytest.mark.parametrize("name", FAMILIES)
def test_first_click_double_pass_inside_decode(name):
    """MFP: an all-zero previous map with a click costs two head passes (same in training)."""
    from napari_clickseg.models.networks import build_network

    net = build_network(name, crop_size=32).eval()
    head = "_head" if hasattr(net, "_head") else "_net"
    calls = []
    original = getattr(net, head)
    setattr(net, head, lambda *a, **k: calls.append(a[0].img.shape[0]) or original(*a, **k))
    img = torch.rand(2, 3, 40, 40)
    rois = torch.tensor([[0.0, 0.0, 39.0, 39.0]] * 2)
    clicks = torch.tensor([[[20.0, 20.0, 1.0]], [[10.0, 10.0, 1.0]]])
    prev = torch.zeros(2, 1, 40, 40)
    prev[1, 0, 5:15, 5:15] = 0.9  # sample 1 already has a prediction
    with torch.no_grad():
        net.decode(net.encode(img), rois, clicks, prev, None)
    assert calls == [1, 2]  # first pass for sample 0 only, then the whole batch
    calls.clear()
    with torch.no_grad():
        net.decode(net.encode(img), rois, clicks, prev, None, modulate=False)
    assert calls == [2]
