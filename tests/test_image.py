"""``core.image.normalize_slice``: independent of offset and scale, safe for any finite values."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.image import normalize_slice

SIGNAL = 0.15 + 0.7 * (np.add.outer(np.arange(48), np.arange(64)) % 17 > 8) + np.random.default_rng(0).normal(0, 0.04, (48, 64))

#: the same picture at offsets and scales that broke the float32 arithmetic (issue 13, items 1-2)
VARIANTS = {
    "times-1e39": SIGNAL * 1e39,  # beyond float32: overflowed to inf, then NaN
    "times-1e307": SIGNAL * 1e307,  # near the float64 limit: hi - lo must not overflow
    "offset-1e9": 1e9 + SIGNAL,  # lost to float32 rounding
    "tiny-range": 1 + 1e-9 * SIGNAL,  # below the old absolute 1e-6 floor
    "float32-times-1e-7": (SIGNAL * 1e-7).astype(np.float32),
    "negative-huge": -1e300 + SIGNAL * 1e299,
    "subnormal": SIGNAL * 1e-310,
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_offset_and_scale_do_not_change_the_result(name):
    ref = normalize_slice(SIGNAL)
    out = normalize_slice(VARIANTS[name])
    assert out.dtype == np.float32 and out.shape == (48, 64, 3)
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    # float32 inputs carry only ~7 digits, subnormals even fewer
    tol = 1e-3 if name in ("float32-times-1e-7", "subnormal") else 1e-5
    np.testing.assert_allclose(out, ref, atol=tol)


def test_range_maps_percentiles_to_0_and_1_and_keeps_the_input():
    img = np.arange(100, dtype=np.uint8).reshape(10, 10)
    before = img.copy()
    out = normalize_slice(img)
    np.testing.assert_array_equal(img, before)
    assert out[..., 0].min() == 0 and out[..., 0].max() == 1
    assert np.array_equal(out[..., 0], out[..., 2])  # gray replicated


def test_sparse_image_falls_back_to_min_max():
    img = np.zeros((32, 32))
    img[3, 4] = 5e-12  # 1st and 99th percentiles are both 0
    out = normalize_slice(img)
    assert out[3, 4, 0] == 1 and out.sum() == 3


def test_two_and_four_channels():
    rgba = np.random.default_rng(1).integers(0, 255, (16, 16, 4)).astype(np.uint8)
    np.testing.assert_array_equal(normalize_slice(rgba), normalize_slice(rgba[..., :3]))
    two = np.random.default_rng(2).random((16, 16, 2)) * 1e38
    out = normalize_slice(two)
    assert out.shape == (16, 16, 3) and np.isfinite(out).all()


def test_gray_is_normalised_as_its_rgb_replica():
    from napari_clickseg.core.image import _percentiles

    gray = np.random.default_rng(3).random((37, 41))
    for q in ((1.0, 99.0), (0.0, 100.0), (50.0, 2.5)):
        np.testing.assert_allclose(_percentiles(gray, q, repeat=3), np.percentile(np.repeat(gray, 3), q), rtol=1e-12)
    np.testing.assert_array_equal(normalize_slice(gray), normalize_slice(np.stack([gray] * 3, -1)))
