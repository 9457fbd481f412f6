"""Classical baselines (random walker, graph cut, geodesic) on synthetic disks."""

from __future__ import annotations

import time

import numpy as np
import pytest

from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.models.registry import list_models, load_model

MODELS = ["random-walker", "graph-cut", "geodesic"]


def _iou(pred: np.ndarray, gt: np.ndarray) -> float:
    return float((pred & gt).sum() / max((pred | gt).sum(), 1))


def _disk_image(rgb: bool = False, seed: int = 0, shape=(160, 180), center=(80, 90), radius=35):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    disk = (yy - center[0]) ** 2 + (xx - center[1]) ** 2 < radius**2
    img = 0.2 + 0.6 * disk + rng.normal(0, 0.12, shape)
    if rgb:  # a reddish disk on a bluish background, noise per channel
        img = np.stack([img, 0.5 + 0.1 * rng.normal(size=shape), 1.0 - img], axis=-1)
    return np.clip(img * 255, 0, 255).astype(np.uint8), disk


def test_classical_models_are_registered():
    assert set(MODELS) <= set(list_models("classical"))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("rgb", [False, True], ids=["gray", "rgb"])
def test_one_central_click_segments_a_noisy_disk(name, rgb):
    img, disk = _disk_image(rgb=rgb)
    model = load_model(name)
    model.set_image(img)
    prob = model.predict([Click(80, 90)])
    assert prob.shape == disk.shape and prob.dtype == np.float32
    assert np.isfinite(prob).all() and prob.min() >= 0 and prob.max() <= 1
    assert _iou(prob > 0.49, disk) > 0.8


@pytest.mark.parametrize("name", MODELS)
def test_negative_click_removes_a_spurious_region(name):
    # two equally bright disks joined by a bright bridge; the user wants only the left one
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:120, :220]
    left = (yy - 60) ** 2 + (xx - 60) ** 2 < 28**2
    right = (yy - 60) ** 2 + (xx - 160) ** 2 < 28**2
    bridge = (np.abs(yy - 60) <= 4) & (xx > 60) & (xx < 160)
    img = 0.2 + 0.6 * (left | right | bridge) + rng.normal(0, 0.05, left.shape)
    model = load_model(name)
    model.set_image(img.astype(np.float32))
    # the previous prediction spilled over the bridge into the right disk
    prev = (left | right | bridge).astype(np.float32)
    second = model.predict([Click(60, 60), Click(60, 160, False)], prev_prob=prev) > 0.49
    assert second[left].mean() > 0.8  # the clicked disk stays
    assert second[right].mean() < 0.1  # the disk under the negative click is gone


@pytest.mark.parametrize("name", MODELS)
def test_box_prompt_without_clicks(name):
    img, disk = _disk_image()
    model = load_model(name)
    model.set_image(img)
    prob = model.predict([], box=Box(80 - 40, 90 - 40, 80 + 40, 90 + 40))
    assert np.isfinite(prob).all()
    assert _iou(prob > 0.49, disk) > 0.7


@pytest.mark.parametrize("name", MODELS)
def test_predict_is_pure_and_never_reencodes(name):
    img, _ = _disk_image(seed=3)
    model = load_model(name)
    model.set_image(img)
    clicks = [Click(80, 90), Click(20, 20, False)]
    a = model.predict(clicks)
    model.predict(clicks[:1], prev_prob=a)  # another call in between leaves no trace
    c = model.predict(clicks)
    np.testing.assert_array_equal(a, c)
    assert model.encode_count == 1


@pytest.mark.parametrize("name", MODELS)
def test_only_negative_clicks_give_an_empty_mask(name):
    img, _ = _disk_image()
    model = load_model(name)
    model.set_image(img)
    prob = model.predict([Click(10, 10, False)])
    assert np.isfinite(prob).all() and not (prob > 0.49).any()


@pytest.mark.parametrize("name", MODELS)
def test_clicks_outside_the_image_raise(name):
    img, _ = _disk_image()
    model = load_model(name)
    model.set_image(img)
    with pytest.raises(ValueError, match="outside the image"):
        model.predict([Click(200, 10)])
    with pytest.raises(ValueError, match="outside the image"):
        model.predict([Click(10, -1)])


@pytest.mark.parametrize("name", MODELS)
def test_objects_at_the_image_border_and_flat_regions(name):
    # a half disk cut by the image's left edge, and a perfectly flat background
    yy, xx = np.mgrid[:100, :100]
    half = (yy - 50) ** 2 + xx**2 < 30**2
    img = np.where(half, 200, 40).astype(np.uint8)
    model = load_model(name)
    model.set_image(img)
    prob = model.predict([Click(50, 5)])
    assert np.isfinite(prob).all()
    assert _iou(prob > 0.49, half) > 0.8


@pytest.mark.parametrize("name", MODELS)
def test_session_with_a_classical_model(name):
    img, disk = _disk_image(rgb=True, seed=5)
    session = InteractiveSession(load_model(name), img)
    mask = session.add_click(80, 90)
    assert _iou(mask, disk) > 0.8
    session.add_click(5, 5, is_positive=False)
    session.undo()
    assert _iou(session.mask, disk) > 0.8


@pytest.mark.parametrize("name", MODELS)
def test_one_click_on_a_large_slice_is_fast(name):
    img, _ = _disk_image(shape=(512, 775), center=(260, 380), radius=90, seed=7)
    model = load_model(name)
    model.set_image(img)
    model.predict([Click(260, 380)])  # warm-up (imports)
    start = time.perf_counter()
    model.predict([Click(260, 380), Click(250, 400)])
    # well under a second on a laptop; generous here because the test machine is shared
    assert time.perf_counter() - start < 2.0
