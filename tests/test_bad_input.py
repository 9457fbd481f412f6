"""The bad-input table: every registered model, every kind of bad or unusual input.

For each case either the result is correct (the same as for the same picture in a normal value
range, layout and dtype) or the error is of a documented type (``ValueError``/``TypeError``,
``RuntimeError`` before ``set_image``, ``FileNotFoundError``/``WeightsError`` for files) raised
from napari_clickseg's own code with a message that names the problem, never a deep numpy
traceback, a crash or a silently wrong mask. Tested through the public entry points: the
predictors of every registered model, ``InteractiveSession``, ``load_model`` with broken cards
and weights, ``load_objects`` and the ``clickseg`` command line.
"""

from __future__ import annotations

import json
import traceback
import warnings

import numpy as np
import pytest
import tifffile
from _shapes import write_mask

from napari_clickseg.cli import main
from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.data.datasets import load_objects
from napari_clickseg.models.registry import (
    build_model,
    get_model_info,
    list_models,
    load_model,
    user_models_dir,
)
from napari_clickseg.models.weights_io import WeightsError

GOOD = np.random.default_rng(0).integers(0, 255, (48, 64), dtype=np.uint8)

#: every registered model (not the per-user ones); those without shipped weights get random ones
MODELS = list_models("classical") + list_models("learned")
#: the quick run (``-m "not slow"``) checks the classical models and the default ``fdrn``; the
#: other learned models share its input handling (``core.image``) and run in the full suite
MODEL_PARAMS = [n if n in list_models("classical") or n == "fdrn" else pytest.param(n, marks=pytest.mark.slow)
                for n in MODELS]
#: the dtype/layout table through a network is slow for every learned model (the conversions
#: it checks happen before the network, in ``core.image``, and the classical models cover them)
CLASSICAL_PARAMS = [n if n in list_models("classical") else pytest.param(n, marks=pytest.mark.slow) for n in MODELS]
_BUILT: dict[str, object] = {}


def _model(name: str):
    """One predictor per model for the whole module (building a network takes a moment)."""
    if name not in _BUILT:
        info = get_model_info(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pretrained = info.kind == "classical" or info.has_weights
            _BUILT[name] = build_model(name, device="cpu", pretrained=pretrained)
    model = _BUILT[name]
    model.reset_image()
    return model


def _trained(model) -> bool:
    return getattr(model, "trained", True) is not False

def _float16_overflow() -> np.ndarray:
    """1e6 where float16 ends at 65504: the cast gives inf (numpy warns; that is the point)."""
    with np.errstate(over="ignore"):
        return np.where(np.eye(32) > 0, 1e6, 1.0).astype(np.float16)


BAD_IMAGES = {
    "none": (None, TypeError, r"image is None"),
    "empty": (np.zeros((0, 0)), ValueError, r"image is empty"),
    "empty-3d": (np.zeros((0, 32, 32)), ValueError, r"image is empty"),
    "constant": (np.full((32, 32), 7.0), ValueError, r"image is constant.*nothing to segment"),
    "constant-huge": (np.full((32, 32), 1e300), ValueError, r"image is constant"),
    "constant-bool": (np.zeros((32, 32), bool), ValueError, r"image is constant"),
    "nan": (np.where(np.eye(32) > 0, np.nan, 1.0), ValueError, r"image contains 32 NaN or infinite"),
    "inf": (np.where(np.eye(32) > 0, np.inf, 1.0), ValueError, r"image contains 32 NaN or infinite.*nan_to_num"),
    "nan-float16": (np.where(np.eye(32) > 0, np.nan, 1.0).astype(np.float16), ValueError, r"contains 32 NaN"),
    "overflow-float16": (_float16_overflow(), ValueError, r"contains 32 NaN or inf"),
    "one-pixel": (np.ones((1, 1)), ValueError, r"image is 1x1 pixels; at least 8x8"),
    "one-row": (np.arange(100.0)[None], ValueError, r"image is 1x100 pixels"),
    "7x100": (np.random.default_rng(0).random((7, 100)), ValueError, r"image is 7x100 pixels; at least 8x8"),
    "1d": (np.arange(100.0), ValueError, r"image has 1 dimensions"),
    "0d": (np.float64(3.0), ValueError, r"image has 0 dimensions"),
    "volume": (np.random.default_rng(0).random((10, 64, 64)), ValueError, r"image has shape \(10, 64, 64\).*volume\[z\]"),
    "channels-first": (np.random.default_rng(0).random((3, 64, 64)), ValueError, r"channels-first.*moveaxis"),
    "five-channels": (np.random.default_rng(0).random((64, 64, 5)), ValueError, r"5 channels.*select up to 3"),
    "4d": (np.random.default_rng(0).random((2, 3, 64, 64)), ValueError, r"image has 4 dimensions"),
    "strings": (np.full((16, 16), "a"), TypeError, r"image has dtype <U1"),
    "complex": (np.ones((16, 16), complex), TypeError, r"image has dtype complex"),
    "objects": (np.full((16, 16), None), TypeError, r"image has dtype object"),
    "datetimes": (np.zeros((16, 16), "datetime64[s]"), TypeError, r"image has dtype datetime64"),
    "ragged-list": ([[1, 2, 3]] * 8 + [[1, 2]], ValueError, r"image is a ragged sequence.*rectangular"),
}


def _assert_raised_in_our_code(excinfo) -> None:
    """The error comes from napari_clickseg, not from inside numpy/scipy/skimage."""
    frames = traceback.extract_tb(excinfo.tb)
    assert "napari_clickseg" in frames[-1].filename, frames[-1].filename


@pytest.mark.parametrize("name", MODEL_PARAMS)
@pytest.mark.parametrize("case", list(BAD_IMAGES), ids=list(BAD_IMAGES))
def test_bad_images_for_a_predictor(case, name):
    image, exc, message = BAD_IMAGES[case]
    model = _model(name)
    with pytest.raises(exc, match=message) as excinfo:
        model.set_image(image)
    _assert_raised_in_our_code(excinfo)
    assert not model.is_image_set


@pytest.mark.parametrize("case", [c for c in BAD_IMAGES if c != "none"])
def test_bad_images_for_a_session(case):
    image, exc, message = BAD_IMAGES[case]
    with pytest.raises(exc, match=message) as excinfo:
        InteractiveSession(load_model("random-walker"), image)
    _assert_raised_in_our_code(excinfo)


def test_session_without_an_image_says_so():
    session = InteractiveSession(load_model("random-walker"))
    with pytest.raises(RuntimeError, match="image"):
        session.add_click(3, 3)


def test_predict_before_set_image():
    with pytest.raises(RuntimeError, match=r"random-walker: call set_image"):
        load_model("random-walker").predict([Click(1, 1)])


@pytest.mark.parametrize("row, col", [(48, 10), (10, 64), (-1, 0), (0, -5), (1000, 1000)])
def test_clicks_outside_the_image(row, col):
    model = load_model("random-walker")
    model.set_image(GOOD)
    with pytest.raises(ValueError, match=rf"click 1 at \(row={row}, col={col}\) lies outside the image of size 48x64"):
        model.predict([Click(5, 5), Click(row, col)])
    session = InteractiveSession(load_model("random-walker"), GOOD)
    with pytest.raises(ValueError, match="outside the image of size 48x64"):
        session.add_click(row, col)
    assert session.clicks == ()  # the bad click left no trace


def test_bad_click_values_and_types():
    with pytest.raises(ValueError, match=r"Click.row must be finite"):
        Click(float("nan"), 3)
    with pytest.raises(TypeError, match=r"Click.col must be a number"):
        Click(3, "left")
    model = load_model("random-walker")
    model.set_image(GOOD)
    with pytest.raises(TypeError, match=r"click 0 is tuple, expected Click"):
        model.predict([(3, 3, True)])


def test_box_outside_the_image():
    model = load_model("random-walker")
    model.set_image(GOOD)
    with pytest.raises(ValueError, match=r"box \(100, 100, 120, 130\).*outside the image of size 48x64"):
        model.predict([], box=Box(100, 100, 120, 130))


@pytest.mark.parametrize(
    "prev, message",
    [
        (np.zeros((48, 63), np.float32), r"prev_prob has shape \(48, 63\) but the image is \(48, 64\)"),
        (np.full((48, 64), np.nan, np.float32), r"prev_prob contains NaN"),
        (np.full((48, 64), 2.0, np.float32), r"prev_prob must lie in \[0, 1\]"),
    ],
)
def test_previous_mask_of_the_wrong_size_or_values(prev, message):
    model = load_model("random-walker")
    model.set_image(GOOD)
    with pytest.raises(ValueError, match=message):
        model.predict([Click(5, 5)], prev_prob=prev)


@pytest.mark.parametrize("name", ["random-walker", "graph-cut", "geodesic"])
@pytest.mark.parametrize(
    "image",
    [
        np.pad(np.ones((1, 1)), ((3, 4), (3, 4))),  # smallest accepted image, one bright pixel
        np.full((64, 64), 1e6) + np.eye(64) * 1e-3,  # huge offset, tiny contrast
        np.arange(64 * 64, dtype=np.int64).reshape(64, 64) * 10**9,  # huge integers
        np.pad(np.full((20, 20, 3), 255, np.uint8), ((10, 10), (10, 10), (0, 0))),  # flat regions
    ],
    ids=["8x8", "tiny-contrast", "huge-ints", "flat-rgb"],
)
def test_extreme_but_valid_images_give_finite_probabilities(name, image):
    model = load_model(name)
    model.set_image(image)
    h, w = image.shape[:2]
    prob = model.predict([Click(h // 2, w // 2), Click(0, 0, False)])
    assert prob.shape == (h, w) and prob.dtype == np.float32
    assert np.isfinite(prob).all() and prob.min() >= 0 and prob.max() <= 1


# -- datasets ---------------------------------------------------------------------------------
def _png(path, arr):
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, arr)


def _mask(h=40, w=50):
    lab = np.zeros((h, w), np.uint8)
    lab[5:20, 5:20] = 1
    return lab


def _img(h=40, w=50):
    return np.random.default_rng(1).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_dataset_folder_without_masks(tmp_path):
    _png(tmp_path / "ds" / "images" / "a.png", _img())
    with pytest.raises(FileNotFoundError, match=r"has images/ but no masks/ folder.*same file stem"):
        load_objects(tmp_path / "ds")


def test_dataset_image_without_a_mask(tmp_path):
    _png(tmp_path / "ds" / "images" / "a.png", _img())
    _png(tmp_path / "ds" / "images" / "b.png", _img())
    write_mask(tmp_path / "ds" / "masks" / "a.png", _mask())
    with pytest.raises(ValueError, match=r"image .*b.png has no mask in .*masks.*add b.png to masks/"):
        load_objects(tmp_path / "ds")


def test_dataset_mask_size_differs_from_image(tmp_path):
    _png(tmp_path / "ds" / "images" / "a.png", _img(40, 50))
    write_mask(tmp_path / "ds" / "masks" / "a.png", _mask(40, 51))
    with pytest.raises(ValueError, match=r"mask .*a.png has shape \(40, 51\) but image .*a.png has shape \(40, 50, 3\)"):
        load_objects(tmp_path / "ds")


def test_dataset_colour_mask(tmp_path):
    _png(tmp_path / "ds" / "images" / "a.png", _img())
    _png(tmp_path / "ds" / "masks" / "a.png", _img())
    with pytest.raises(ValueError, match=r"label file .*a.png is a colour image"):
        load_objects(tmp_path / "ds")


def test_empty_dataset_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty has no images/ and masks/ folders"):
        load_objects(tmp_path / "empty")
    (tmp_path / "ds" / "images").mkdir(parents=True)
    (tmp_path / "ds" / "masks").mkdir()
    with pytest.raises(ValueError, match=r"images holds no images"):
        load_objects(tmp_path / "ds")


def test_missing_dataset_and_labels(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"dataset .*nowhere does not exist.*sample-microscopy"):
        load_objects(tmp_path / "nowhere")
    tifffile.imwrite(tmp_path / "v.tif", np.zeros((3, 20, 20), np.uint8))
    with pytest.raises(ValueError, match=r"v.tif is a single image or volume; pass its label file with labels="):
        load_objects(tmp_path / "v.tif")
    with pytest.raises(FileNotFoundError, match=r"labels file .*nolabels.tif does not exist"):
        load_objects(tmp_path / "v.tif", labels=tmp_path / "nolabels.tif")


def test_volume_and_labels_shape_mismatch(tmp_path):
    tifffile.imwrite(tmp_path / "v.tif", np.random.default_rng(0).integers(0, 9, (3, 20, 20), dtype=np.uint8))
    tifffile.imwrite(tmp_path / "l.tif", np.ones((4, 20, 20), np.uint8))
    with pytest.raises(ValueError, match=r"mask .*l.tif has shape \(4, 20, 20\) but image .*v.tif has shape \(3, 20, 20\)"):
        load_objects(tmp_path / "v.tif", labels=tmp_path / "l.tif")


def test_4d_where_a_volume_is_expected(tmp_path):
    tifffile.imwrite(tmp_path / "v.tif", np.zeros((2, 3, 20, 20), np.uint8))
    tifffile.imwrite(tmp_path / "l.tif", np.ones((2, 20, 20), np.uint8))
    with pytest.raises(ValueError, match=r"v.tif has shape \(2, 3, 20, 20\).*one 3D volume per file"):
        load_objects(tmp_path / "v.tif", labels=tmp_path / "l.tif")
    tifffile.imwrite(tmp_path / "v3.tif", np.zeros((2, 20, 20), np.uint8))
    tifffile.imwrite(tmp_path / "l4.tif", np.ones((2, 2, 20, 20), np.uint8))
    with pytest.raises(ValueError, match=r"l4.tif has shape \(2, 2, 20, 20\)"):
        load_objects(tmp_path / "v3.tif", labels=tmp_path / "l4.tif")


def test_constant_image_in_a_dataset_names_the_image(tmp_path):
    _png(tmp_path / "ds" / "images" / "flat.png", np.full((40, 50), 9, np.uint8))
    write_mask(tmp_path / "ds" / "masks" / "flat.png", _mask())
    objects = load_objects(tmp_path / "ds")
    with pytest.raises(ValueError, match=r"image flat is constant"):
        next(objects)


def test_bad_loader_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"max_objects must be >= 0"):
        load_objects("sample-mri", max_objects=-1)
    with pytest.raises(ValueError, match=r"min_area must be >= 0"):
        load_objects("sample-mri", min_area=-3)
    with pytest.raises(ValueError, match=r"sample-mri brings its own labels"):
        load_objects("sample-mri", labels=tmp_path / "x.tif")


# -- the same picture in unusual ranges, dtypes and layouts: the same result ---------------------
def _picture(size=64):
    """A bright disk and a grey square on a noisy background, float64 in [0, 1]."""
    rr, cc = np.ogrid[:size, :size]
    disk = (rr - 26) ** 2 + (cc - 30) ** 2 <= 13**2
    img = 0.15 + 0.65 * disk + np.random.default_rng(7).normal(0, 0.03, disk.shape)
    img[44:58, 44:58] = 0.5
    return np.clip(img, 0, 1)


PICTURE = _picture()
CLICKS = (Click(26, 30), Click(50, 50, False), Click(5, 5, False))


def _flip_view(a):
    out = a[::-1].copy()[::-1]  # negative strides, same values
    assert out.strides[0] < 0
    return out


def _read_only(a):
    a = a.copy()
    a.setflags(write=False)
    return a


#: name -> (make the image from PICTURE, exact): exact cases are an affine map of the float64
#: picture (or the same values in another layout); the others quantise it (another dtype)
SAME_PICTURE = {
    "times-1e39": (lambda p: p * 1e39, True),  # crashed geodesic, broke graph-cut, emptied fdrn
    "times-1e307": (lambda p: p * 1e307, True),
    "offset-1e9": (lambda p: 1e9 + p, True),
    "tiny-range": (lambda p: 1 + 1e-9 * p, True),
    "negative-huge": (lambda p: -1e300 + p * 1e299, True),
    "negated-offset": (lambda p: -5.0 + p, True),
    "float32-times-1e-7": (lambda p: (p * 1e-7).astype(np.float32), False),
    "float32-offset-1e3": (lambda p: (1e3 + p).astype(np.float32), False),
    "float16": (lambda p: p.astype(np.float16), False),
    "uint8": (lambda p: np.round(p * 255).astype(np.uint8), False),
    "uint16-12bit": (lambda p: np.round(p * 4095).astype(np.uint16), False),
    "int8": (lambda p: np.round(p * 250 - 125).astype(np.int8), False),
    "int16-negative": (lambda p: np.round(p * 60000 - 30000).astype(np.int16), False),
    "int32": (lambda p: np.round(p * 1e6).astype(np.int32), False),
    "int64-huge": (lambda p: np.round(p * 1000).astype(np.int64) * 10**15, False),
    "uint64-huge": (lambda p: np.round(p * 1000).astype(np.uint64) * np.uint64(2**53), False),
    "hxwx1": (lambda p: p[..., None], True),
    "hxwx2-equal": (lambda p: np.stack([p, p], -1), True),
    "rgb-gray": (lambda p: np.stack([p, p, p], -1), True),
    "rgba-gray": (lambda p: np.stack([p, p, p, np.ones_like(p)], -1), True),
    "fortran-order": (lambda p: np.asfortranarray(p), True),
    "strided-view": (lambda p: np.repeat(np.repeat(p, 2, 0), 2, 1)[::2, ::2], True),
    "negative-strides": (_flip_view, True),
    "read-only": (_read_only, True),
    "python-list": (lambda p: p.tolist(), True),
}


def _prediction(model, image):
    model.set_image(image)
    return model.predict(CLICKS)


def _iou(a, b):
    return np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b))


@pytest.mark.parametrize("case", list(SAME_PICTURE))
@pytest.mark.parametrize("name", CLASSICAL_PARAMS)
def test_same_picture_gives_the_same_result(name, case):
    make, exact = SAME_PICTURE[case]
    model = _model(name)
    ref = _prediction(model, PICTURE)
    image = make(PICTURE)
    before = np.array(image, copy=True)
    prob = _prediction(model, image)
    assert prob.shape == PICTURE.shape and prob.dtype == np.float32
    assert np.isfinite(prob).all() and prob.min() >= 0 and prob.max() <= 1
    np.testing.assert_array_equal(np.asarray(image), before)  # the caller's image is not changed
    mask, ref_mask = prob > 0.49, ref > 0.49
    if exact:
        np.testing.assert_allclose(prob, ref, atol=1e-3)
        assert np.array_equal(mask, ref_mask) or _iou(mask, ref_mask) > 0.99
    else:  # quantised by the dtype: the same object, a few boundary pixels may differ
        assert np.abs(prob - ref).mean() < 0.02
        if ref_mask.any():
            assert _iou(mask, ref_mask) > 0.9, (case, _iou(mask, ref_mask))
    if _trained(model):  # a trained or classical model finds the disk
        rr, cc = np.ogrid[:64, :64]
        assert _iou(mask, (rr - 26) ** 2 + (cc - 30) ** 2 <= 13**2) > 0.7


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_memory_mapped_image(name, tmp_path):
    mm = np.lib.format.open_memmap(tmp_path / "img.npy", mode="w+", dtype=np.float32, shape=PICTURE.shape)
    mm[:] = PICTURE
    mm.flush()
    model = _model(name)
    ref = _prediction(model, PICTURE.astype(np.float32))
    prob = _prediction(model, np.load(tmp_path / "img.npy", mmap_mode="r"))
    np.testing.assert_allclose(prob, ref, atol=1e-5)


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_boolean_image_is_its_0_1_picture(name):
    model = _model(name)
    binary = PICTURE > 0.6
    np.testing.assert_allclose(_prediction(model, binary), _prediction(model, binary.astype(np.uint8)), atol=1e-5)


# -- bad prompts, for every model -------------------------------------------------------------------
def _set(name):
    model = _model(name)
    model.set_image(PICTURE)
    return model


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_predict_before_set_image_for_every_model(name):
    model = _model(name)
    with pytest.raises(RuntimeError, match=rf"{name}: call set_image"):
        model.predict([Click(1, 1)])


@pytest.mark.parametrize("name", MODEL_PARAMS)
@pytest.mark.parametrize(
    "clicks, exc, message",
    [
        ([Click(5, 5), Click(64, 10)], ValueError, r"click 1 at \(row=64, col=10\) lies outside the image of size 64x64"),
        ([Click(-1, 3)], ValueError, r"click 0 at \(row=-1, col=3\) lies outside"),
        ([Click(10**9, 10**9)], ValueError, r"lies outside the image"),
        ([(3, 3, True)], TypeError, r"click 0 is tuple, expected Click"),
        ([Click(3, 3), None], TypeError, r"click 1 is NoneType, expected Click"),
    ],
    ids=["row-too-big", "negative", "astronomical", "tuple", "none"],
)
def test_bad_clicks_for_every_model(name, clicks, exc, message):
    model = _set(name)
    with pytest.raises(exc, match=message) as excinfo:
        model.predict(clicks)
    _assert_raised_in_our_code(excinfo)


@pytest.mark.parametrize("name", MODEL_PARAMS)
@pytest.mark.parametrize(
    "prev, message",
    [
        (np.zeros((64, 63), np.float32), r"prev_prob has shape \(64, 63\) but the image is \(64, 64\)"),
        (np.zeros((64, 64, 1), np.float32), r"prev_prob has shape \(64, 64, 1\)"),
        (np.full((64, 64), np.nan, np.float32), r"prev_prob contains NaN"),
        (np.full((64, 64), -0.5), r"prev_prob must lie in \[0, 1\]"),
        (np.full((64, 64), 255, np.uint8), r"prev_prob must lie in \[0, 1\], got \[255"),
    ],
    ids=["width", "3d", "nan", "negative", "uint8-255"],
)
def test_bad_previous_maps_for_every_model(name, prev, message):
    model = _set(name)
    with pytest.raises(ValueError, match=message) as excinfo:
        model.predict([Click(26, 30)], prev_prob=prev)
    _assert_raised_in_our_code(excinfo)


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_boxes_for_every_model(name):
    model = _set(name)
    with pytest.raises(ValueError, match=r"box \(100, 100, 120, 130\).*outside the image of size 64x64"):
        model.predict([], box=Box(100, 100, 120, 130))
    for box in (Box(26, 30, 26, 30), Box(40, 10, 12, 50), Box(-50, -50, 500, 500)):  # 1 px, inverted, beyond
        prob = model.predict([Click(26, 30)], box=box)
        assert prob.shape == (64, 64) and np.isfinite(prob).all() and 0 <= prob.min() <= prob.max() <= 1
    with pytest.raises(TypeError, match=r"Box.row0 must be a number"):
        Box("top", 0, 3, 3)
    with pytest.raises(ValueError, match=r"Box.col1 must be finite"):
        Box(0, 0, 3, float("inf"))


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_session_with_bad_prompts_keeps_its_state(name):
    session = InteractiveSession(_model(name), PICTURE)
    session.add_click(26, 30)
    state = session.clicks, session.prob.copy()
    with pytest.raises(ValueError, match="outside the image of size 64x64"):
        session.add_click(70, 3)
    with pytest.raises(ValueError, match="outside the image"):
        session.set_box((100, 100, 120, 130))
    assert session.clicks == state[0] and np.array_equal(session.prob, state[1])


# -- broken cards and weights -----------------------------------------------------------------------
def _user_model(tmp_name: str, card: dict | str, weights: bytes | None):
    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{tmp_name}.json").write_text(card if isinstance(card, str) else json.dumps(card))
    if weights is not None:
        (folder / f"{tmp_name}.pt").write_bytes(weights)


def test_garbage_weights_file_is_named():
    _user_model("junk", {"family": "fdrn"}, b"not a torch file")
    with pytest.raises(WeightsError, match=r"junk.pt"):
        load_model("junk", device="cpu")


def test_truncated_and_mislabelled_weights_are_named():
    shipped = get_model_info("fdrn").weights.read_bytes()
    card = json.loads(get_model_info("fdrn").weights.with_suffix(".json").read_text())
    _user_model("cut", card, shipped[: len(shipped) // 2])
    with pytest.raises(WeightsError, match=r"cut.pt") as err:
        load_model("cut", device="cpu")
    assert "sha256" in str(err.value) or "cannot be read" in str(err.value)
    card.pop("sha256", None)
    _user_model("nosha", card, shipped)
    with pytest.raises(WeightsError, match=r"model card .*nosha.json has no sha256 for nosha.pt"):
        load_model("nosha", device="cpu")
    with pytest.raises(FileNotFoundError, match=r"weights file .*nowhere.pt .*does not exist; check the path"):
        load_model("fdrn", device="cpu", weights=user_models_dir() / "nowhere.pt")


@pytest.mark.parametrize(
    "card, why",
    [("[1, 2]", "not an object"), ("{", "not valid JSON"), ('{"family": "nope"}', "names family 'nope'")],
)
def test_broken_cards_do_not_hide_the_other_models(card, why):
    _user_model("broken", card, None)
    assert set(MODELS) <= set(list_models())
    with pytest.raises(ValueError, match=rf"broken.json .*{why}"):
        load_model("broken")


# -- command-line misuse: exit code 2 and a one-line message that names the problem -----------------
CLI_MISUSE = {
    "unknown-command": (["nosuchcommand"], r"invalid choice: 'nosuchcommand'"),
    "unknown-model": (["evaluate", "--model", "nope", "--data", "sample-mri", "--out", "{tmp}"], r"unknown model 'nope'; available: random-walker"),
    "missing-data": (["evaluate", "--model", "random-walker", "--data", "{tmp}/none", "--out", "{tmp}"], r"dataset .*none does not exist"),
    "zero-clicks": (["evaluate", "--model", "random-walker", "--data", "sample-mri", "--max-clicks", "0", "--out", "{tmp}"], r"--max-clicks: must be at least 1, got 0"),
    "negative-seed": (["evaluate", "--model", "random-walker", "--data", "sample-mri", "--seed", "-1", "--out", "{tmp}"], r"seed must be >= 0"),
    "negative-jitter": (["evaluate", "--model", "random-walker", "--data", "sample-mri", "--jitter", "-1", "--out", "{tmp}"], r"--jitter: must be 0 or more"),
    "out-is-a-file": (["evaluate", "--model", "random-walker", "--data", "sample-mri", "--out", "{tmp}/file"], r"--out .*file exists and is not a folder"),
    "classical-flip": (["evaluate", "--model", "geodesic", "--flip-tta", "--data", "sample-mri", "--out", "{tmp}"], r"'geodesic' is classical and has no flip"),
    "bench-crop": (["bench", "--models", "fdrn@abc", "--sizes", "256"], r"'fdrn@abc'.*crop size in pixels"),
    "bench-sizes": (["bench", "--sizes", "abc"], r"--sizes must be comma-separated integers, got 'abc'"),
    "bench-model": (["bench", "--models", "nope", "--sizes", "256"], r"unknown model 'nope'"),
    "models-kind": (["models", "--kind", "bogus"], r"invalid choice: 'bogus'"),
}


@pytest.mark.parametrize("case", list(CLI_MISUSE))
def test_command_line_misuse(case, tmp_path, capsys):
    argv, message = CLI_MISUSE[case]
    (tmp_path / "file").write_text("")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        rc = main(argv)
    except SystemExit as stop:  # argparse's own usage errors
        rc = stop.code
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    import re

    assert re.search(message, err), err
