"""Bad input gets a clear error naming the argument or file, never a deep numpy traceback.

Tested through the public entry points: ``load_model("random-walker")`` predictors,
``InteractiveSession`` and ``load_objects``.
"""

from __future__ import annotations

import traceback

import numpy as np
import pytest
import tifffile

from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.datasets import load_objects
from napari_clickseg.core.io import write_labels
from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.models.registry import load_model

GOOD = np.random.default_rng(0).integers(0, 255, (48, 64), dtype=np.uint8)

BAD_IMAGES = {
    "none": (None, TypeError, r"image is None"),
    "empty": (np.zeros((0, 0)), ValueError, r"image is empty"),
    "empty-3d": (np.zeros((0, 32, 32)), ValueError, r"image is empty"),
    "constant": (np.full((32, 32), 7.0), ValueError, r"image is constant.*nothing to segment"),
    "constant-bool": (np.zeros((32, 32), bool), ValueError, r"image is constant"),
    "nan": (np.where(np.eye(32) > 0, np.nan, 1.0), ValueError, r"image contains 32 NaN or infinite"),
    "inf": (np.where(np.eye(32) > 0, np.inf, 1.0), ValueError, r"image contains 32 NaN or infinite.*nan_to_num"),
    "one-pixel": (np.ones((1, 1)), ValueError, r"image is 1x1 pixels; at least 8x8"),
    "one-row": (np.arange(100.0)[None], ValueError, r"image is 1x100 pixels"),
    "1d": (np.arange(100.0), ValueError, r"image has 1 dimensions"),
    "volume": (np.random.default_rng(0).random((10, 64, 64)), ValueError, r"image has shape \(10, 64, 64\).*volume\[z\]"),
    "channels-first": (np.random.default_rng(0).random((3, 64, 64)), ValueError, r"channels-first.*moveaxis"),
    "4d": (np.random.default_rng(0).random((2, 3, 64, 64)), ValueError, r"image has 4 dimensions"),
    "strings": (np.full((16, 16), "a"), TypeError, r"image has dtype <U1"),
    "complex": (np.ones((16, 16), complex), TypeError, r"image has dtype complex"),
}


def _assert_raised_in_our_code(excinfo) -> None:
    """The error comes from napari_clickseg, not from inside numpy/scipy/skimage."""
    frames = traceback.extract_tb(excinfo.tb)
    assert "napari_clickseg" in frames[-1].filename, frames[-1].filename


@pytest.mark.parametrize("case", list(BAD_IMAGES), ids=list(BAD_IMAGES))
def test_bad_images_for_a_predictor(case):
    image, exc, message = BAD_IMAGES[case]
    model = load_model("random-walker")
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
    write_labels(tmp_path / "ds" / "masks" / "a.png", _mask())
    with pytest.raises(ValueError, match=r"image .*b.png has no mask in .*masks.*add b.png to masks/"):
        load_objects(tmp_path / "ds")


def test_dataset_mask_size_differs_from_image(tmp_path):
    _png(tmp_path / "ds" / "images" / "a.png", _img(40, 50))
    write_labels(tmp_path / "ds" / "masks" / "a.png", _mask(40, 51))
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
    write_labels(tmp_path / "ds" / "masks" / "flat.png", _mask())
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
