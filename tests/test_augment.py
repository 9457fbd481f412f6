"""Appearance and scale augmentations of training (``train/augment.py``) and their config keys."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.train import augment as A
from napari_clickseg.train.config import AppearanceSection, config_from_dict


def _rgb(seed: int = 0, size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, 3), np.float32)
    img[..., 0] = np.linspace(0.1, 0.9, size)[None, :]
    img[..., 1] = np.linspace(0.8, 0.2, size)[:, None]
    img[..., 2] = rng.random((size, size)) * 0.5 + 0.25
    return img


def _check(out: np.ndarray, shape: tuple[int, ...]) -> None:
    assert out.shape == shape and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0


RANDOM_AUGS = {
    "single_channel": lambda rng, im: A.single_channel(rng, im),
    "shuffle_channels": lambda rng, im: A.shuffle_channels(rng, im),
    "gamma": lambda rng, im: A.gamma(rng, im, (0.5, 2.0)),
    "stain_jitter": lambda rng, im: A.stain_jitter(rng, im, 0.1),
    "gaussian_noise": lambda rng, im: A.gaussian_noise(rng, im, (0.02, 0.08)),
    "gaussian_blur": lambda rng, im: A.gaussian_blur(rng, im, (0.5, 2.0)),
}


@pytest.mark.parametrize("name", sorted(RANDOM_AUGS))
def test_random_augmentations_keep_shape_range_and_depend_only_on_the_rng(name):
    img = _rgb()
    f = RANDOM_AUGS[name]
    a = f(np.random.default_rng(7), img)
    b = f(np.random.default_rng(7), img)
    _check(a, img.shape)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, img)  # it changed something
    outs = [f(np.random.default_rng(s), img) for s in range(6)]
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])  # and the rng matters


def test_to_gray_is_luminance_on_every_channel():
    img = _rgb()
    g = A.to_gray(img)
    _check(g, img.shape)
    lum = 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]
    for c in range(3):
        assert np.allclose(g[..., c], lum, atol=1e-6)


def test_single_channel_is_one_stretched_channel_replicated():
    img = _rgb()
    out = A.single_channel(np.random.default_rng(3), img)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])
    corr = [np.corrcoef(out[..., 0].ravel(), img[..., c].ravel())[0, 1] for c in range(3)]
    assert max(corr) > 0.99  # a monotone stretch of one of the channels
    assert out.max() == pytest.approx(1.0) and out.min() == pytest.approx(0.0)


def test_shuffle_channels_permutes_and_never_returns_the_same_order():
    img = _rgb()
    for s in range(10):
        out = A.shuffle_channels(np.random.default_rng(s), img)
        perm = [next(j for j in range(3) if np.array_equal(out[..., i], img[..., j])) for i in range(3)]
        assert sorted(perm) == [0, 1, 2] and perm != [0, 1, 2]


def test_invert_and_gamma_are_monotone_maps_of_the_unit_range():
    img = _rgb()
    inv = A.invert(img)
    _check(inv, img.shape)
    assert np.allclose(A.invert(inv), img, atol=1e-6)
    ramp = np.repeat(np.linspace(0, 1, 50, dtype=np.float32)[None, :, None], 3, -1)
    g = A.gamma(np.random.default_rng(0), ramp, (0.5, 2.0))
    assert g[0, 0, 0] == 0.0 and g[0, -1, 0] == pytest.approx(1.0)
    assert np.all(np.diff(g[0, :, 0]) >= 0)


def test_stain_jitter_zero_strength_round_trips_and_strength_moves_colours():
    img = _rgb()
    same = A.stain_jitter(np.random.default_rng(0), img, 0.0)
    assert np.abs(same - img).max() < 1e-4  # unmix -> remix is the identity
    moved = A.stain_jitter(np.random.default_rng(0), img, 0.2)
    assert np.abs(moved - img).mean() > 0.005


def test_noise_has_the_requested_size_and_keeps_gray_images_gray():
    gray = np.full((64, 64, 3), 0.5, np.float32)
    out = A.gaussian_noise(np.random.default_rng(0), gray, (0.05, 0.05))
    assert np.std(out[..., 0]) == pytest.approx(0.05, rel=0.1)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])


def test_blur_lowers_the_high_frequencies():
    img = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    out = A.gaussian_blur(np.random.default_rng(0), img, (1.0, 1.0))
    assert np.abs(np.diff(out, axis=1)).mean() < 0.5 * np.abs(np.diff(img, axis=1)).mean()


def test_appearance_defaults_are_todays_color_jitter():
    img = _rgb()
    a = A.appearance(np.random.default_rng(11), img, AppearanceSection(), stained=True)
    b = A.color_jitter(np.random.default_rng(11), img)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("key", ["luminance_gray_prob", "single_channel_prob", "channel_shuffle_prob",
                                 "invert_prob", "gamma_prob", "stain_prob", "blur_prob", "noise_prob"])
def test_appearance_each_option_is_used_and_deterministic(key):
    img = _rgb()
    base = AppearanceSection(gray_rgb_prob=0.0)
    on = AppearanceSection(gray_rgb_prob=0.0, **{key: 1.0})
    ref = A.appearance(np.random.default_rng(5), img, base, stained=True)
    a = A.appearance(np.random.default_rng(5), img, on, stained=True)
    b = A.appearance(np.random.default_rng(5), img, on, stained=True)
    _check(a, img.shape)
    assert np.array_equal(a, b) and not np.array_equal(a, ref)


def test_stain_jitter_only_on_stained_sources():
    img = _rgb()
    on = AppearanceSection(gray_rgb_prob=0.0, stain_prob=1.0)
    off = AppearanceSection(gray_rgb_prob=0.0)
    assert np.array_equal(A.appearance(np.random.default_rng(1), img, on, stained=False),
                          A.appearance(np.random.default_rng(1), img, off, stained=False))


def test_object_scale_sets_the_target_extent_within_limits():
    target = np.zeros((400, 400), bool)
    target[100:120, 50:70] = True  # 20 px
    for s in range(20):
        f = A.object_scale(np.random.default_rng(s), target, (10.0, 200.0), (0.2, 4.0))
        assert 0.2 <= f <= 4.0 and 10.0 - 1e-6 <= 20 * f <= 80.0 + 1e-6  # the 4x limit caps it at 80 px
    big = np.zeros((800, 800), bool)
    big[:600, :500] = True
    f = A.object_scale(np.random.default_rng(0), big, (10.0, 200.0), (0.2, 4.0))
    assert f == pytest.approx(0.2) or 600 * f <= 200.0 + 1e-6


def test_crop_around_strong_downscale_keeps_the_target_and_labels():
    labels = np.zeros((900, 700), np.int32)
    labels[300:500, 200:420] = 2
    labels[600:650, 100:160] = 5
    image = np.random.default_rng(0).random((900, 700, 3)).astype(np.float32)
    for seed, scale in [(0, 0.25), (1, 0.12), (2, 0.45)]:
        img, lab, tgt = A.crop_around(image, labels, labels == 2, 128, scale, np.random.default_rng(seed))
        assert img.shape == (128, 128, 3) and img.dtype == np.float32 and lab.shape == tgt.shape == (128, 128)
        expect = 200 * 220 * min(scale, 0.9 * 128 / 220) ** 2
        assert abs(int(tgt.sum()) - expect) < 0.15 * expect
        assert abs(int(tgt.sum()) - int((lab == 2).sum())) < 0.1 * expect
        assert set(np.unique(lab)) <= {0, 2, 5}


def _cfg(**data):
    base = {"sources": {"synthetic": 1.0}, "image_size": 64, "min_area": 20}
    base.update(data)
    return config_from_dict({"model": {"crop_size": 48}, "data": base})


def test_config_appearance_keys_are_validated():
    cfg = _cfg(appearance={"invert_prob": 0.2, "gamma_range": [0.7, 1.5]})
    assert cfg.data.appearance.invert_prob == 0.2 and cfg.data.appearance.gray_rgb_prob == 0.15
    with pytest.raises(ValueError, match="data.appearance.noise_prob"):
        _cfg(appearance={"noise_prob": 1.5})
    with pytest.raises(ValueError, match="data.appearance.gamma_range"):
        _cfg(appearance={"gamma_range": [2.0, 1.0]})
    with pytest.raises(ValueError, match="unknown key 'data.appearance.hue'"):
        _cfg(appearance={"hue": 0.1})
    with pytest.raises(ValueError, match="stain_datasets"):
        _cfg(appearance={"stain_datasets": ["no-such-set"]})
    with pytest.raises(ValueError, match="data.object_scale_prob"):
        _cfg(object_scale_prob=-0.1)
    with pytest.raises(ValueError, match="data.scale_limits"):
        _cfg(scale_limits=[0.0, 2.0])


def test_config_left_out_folders_cannot_be_trained_or_selected_on():
    cfg = _cfg(left_out=["ph2-dermoscopy"])
    assert cfg.data.left_out == ["ph2-dermoscopy"]
    with pytest.raises(ValueError, match="left_out"):
        _cfg(left_out=["ph2-dermoscopy"], sources={"synthetic": 1.0, "ph2-dermoscopy": 0.5})
    with pytest.raises(ValueError, match="validation.datasets has 'ph2-dermoscopy'"):
        config_from_dict({"model": {"crop_size": 48},
                          "data": {"sources": {"synthetic": 1.0}, "left_out": ["ph2-dermoscopy"]},
                          "validation": {"datasets": ["ph2-dermoscopy"]}})
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        _cfg(left_out=["nope"])


def test_synthetic_mixture_with_every_augmentation_depends_only_on_the_rng():
    from napari_clickseg.train.mixture import DataMixture

    cfg = _cfg(appearance={k: 1.0 for k in ("single_channel_prob", "invert_prob", "gamma_prob",
                                            "blur_prob", "noise_prob")})
    m1, m2 = DataMixture(cfg), DataMixture(cfg)
    for i in range(3):
        a, b = m1.sample(np.random.default_rng([4, i])), m2.sample(np.random.default_rng([4, i]))
        _check(a.image, (64, 64, 3))
        assert np.array_equal(a.image, b.image) and np.array_equal(a.target, b.target)
        assert a.target.sum() >= 20
