"""Training augmentation: crop/rescale around the target, flips, rot90, colour and appearance.

RITM's recipe (Sofiiuk et al., ICIP 2022): random rescale, flips, random 90-degree rotations, brightness
+-0.25 / contrast -0.15..+0.4 (p 0.75), per-channel RGB shift +-10/255 (p 0.75); plus
gray <-> RGB changes so every model sees both. Beyond it, what users' images differ in
(``appearance``): luminance-gray versions of colour images, one channel of a multi-channel
image (e.g. one MRI sequence of a T1/FLAIR/T1c composite) replicated to 3, channel shuffles,
inverted contrast, gamma, H&E stain jitter (in HED space, Ruifrok & Johnston's
colour deconvolution with ``skimage.color``'s HED matrices), Gaussian blur and noise; and an
object-relative scale (``object_scale``) so a 10-px nucleus and a 500-px organ both appear
at many sizes in the same training image size.

Images are HxWx3 float32 in [0, 1] (``core.image.normalize_slice`` output); labels HxW int;
(row, col) throughout. Every random choice comes from the ``rng`` passed in, and an
augmentation with probability 0 draws nothing from it (old configs keep their sample streams).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter
from skimage.color import hed_from_rgb, rgb_from_hed
from skimage.transform import downscale_local_mean, resize

__all__ = [
    "crop_around", "flip_rotate", "color_jitter", "FAST_DOWNSCALE", "object_scale",
    "to_gray", "single_channel", "shuffle_channels", "invert", "gamma", "stain_jitter",
    "gaussian_noise", "gaussian_blur", "appearance",
]

#: below this scale ``crop_around`` resizes only the part of the window inside the image (then
#: pads), and first shrinks by an integer factor with block means: a strongly shrunk window is
#: mostly padding, and resizing the padded window would cost its whole (large) area
FAST_DOWNSCALE = 0.5


def crop_around(
    image: np.ndarray, labels: np.ndarray, target: np.ndarray, size: int, scale: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rescale by ``scale`` and cut a ``size x size`` window that contains the target's box.

    When the scaled target box is larger than ``0.9 * size`` the scale is lowered so it fits.
    Parts of the window outside the image are zero-padded (labels 0).

    Args:
        image: (H, W, 3) float32.
        labels: (H, W) int instance map.
        target: (H, W) bool target mask.
        size: output side.
        scale: rescale factor (1 = native pixels).
        rng: random generator (window placement).

    Returns:
        (size, size, 3) float32 image, (size, size) int32 labels, (size, size) bool target.
    """
    h, w = target.shape
    rows, cols = np.nonzero(target)
    r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
    extent = max(r1 - r0 + 1, c1 - c0 + 1)
    scale = min(scale, 0.9 * size / extent)
    win = size / scale  # window side in source pixels

    def place(lo: int, hi: int, n: int) -> float:
        a, b = hi + 1 - win, float(lo)  # window start range that contains [lo, hi]
        a, b = max(a, min(0.0, n - win)), min(b, max(0.0, n - win))
        return float(rng.uniform(a, b)) if b > a else float((a + b) / 2)

    top, left = place(r0, r1, h), place(c0, c1, w)
    it, il = int(np.floor(top)), int(np.floor(left))
    side = int(np.ceil(win)) + 1
    pad = ((max(0, -it), max(0, it + side - h)), (max(0, -il), max(0, il + side - w)))
    sl = (slice(max(0, it), min(h, it + side)), slice(max(0, il), min(w, il + side)))
    out_side = max(1, int(round(side * scale)))
    if scale < FAST_DOWNSCALE:
        img, lab, tgt = _scaled_window(image[sl], labels[sl], target[sl], pad, scale, out_side)
    else:
        img = np.pad(image[sl], pad + ((0, 0),))
        lab = np.pad(labels[sl], pad)
        tgt = np.pad(target[sl], pad)
        img = resize(img, (out_side, out_side), order=1, anti_aliasing=scale < 0.7, preserve_range=True)
        lab = resize(lab, (out_side, out_side), order=0, anti_aliasing=False, preserve_range=True)
        tgt = resize(tgt.astype(np.float32), (out_side, out_side), order=1, anti_aliasing=False) > 0.5
    # sub-pixel offset of the window inside the integer crop, then cut to `size`
    oy = int(round((top - it) * scale))
    ox = int(round((left - il) * scale))
    oy, ox = min(oy, max(out_side - size, 0)), min(ox, max(out_side - size, 0))
    img, lab, tgt = img[oy : oy + size, ox : ox + size], lab[oy : oy + size, ox : ox + size], tgt[oy : oy + size, ox : ox + size]
    if img.shape[0] < size or img.shape[1] < size:  # rounding: pad the last pixel row/col
        py, px = size - img.shape[0], size - img.shape[1]
        img = np.pad(img, ((0, py), (0, px), (0, 0)), mode="edge")
        lab = np.pad(lab, ((0, py), (0, px)))
        tgt = np.pad(tgt, ((0, py), (0, px)))
    return img.astype(np.float32), lab.astype(np.int32), tgt


def _scaled_window(
    img: np.ndarray, lab: np.ndarray, tgt: np.ndarray, pad: tuple[tuple[int, int], tuple[int, int]],
    scale: float, out_side: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The in-image part of a window shrunk by ``scale`` and placed on an ``out_side`` canvas."""
    f = int(1.0 / scale) // 2
    tgt = tgt.astype(np.float32)
    if f >= 2:  # integer block means first (cheap), the remaining factor is <= 2
        img = downscale_local_mean(img, (f, f, 1))
        tgt = downscale_local_mean(tgt, (f, f))
        lab = lab[f // 2 :: f, f // 2 :: f]
        rest = scale * f
    else:
        rest = scale
    sh = max(1, int(round(img.shape[0] * rest)))
    sw = max(1, int(round(img.shape[1] * rest)))
    img = resize(img, (sh, sw), order=1, anti_aliasing=rest < 0.7, preserve_range=True)
    lab = resize(lab, (sh, sw), order=0, anti_aliasing=False, preserve_range=True)
    tgt = resize(tgt, (sh, sw), order=1, anti_aliasing=False) > 0.5
    oy, ox = int(round(pad[0][0] * scale)), int(round(pad[1][0] * scale))
    sh, sw = min(sh, max(out_side - oy, 0)), min(sw, max(out_side - ox, 0))
    out_img = np.zeros((out_side, out_side, img.shape[2]), np.float32)
    out_lab = np.zeros((out_side, out_side), np.int32)
    out_tgt = np.zeros((out_side, out_side), bool)
    out_img[oy : oy + sh, ox : ox + sw] = img[:sh, :sw]
    out_lab[oy : oy + sh, ox : ox + sw] = lab[:sh, :sw]
    out_tgt[oy : oy + sh, ox : ox + sw] = tgt[:sh, :sw]
    return out_img, out_lab, out_tgt


def flip_rotate(rng: np.random.Generator, *arrays: np.ndarray) -> list[np.ndarray]:
    """The same random flips and 90-degree rotation applied to every (H, W[, C]) array."""
    k = int(rng.integers(4))
    fh, fv = rng.random() < 0.5, rng.random() < 0.5
    out = []
    for a in arrays:
        if fh:
            a = a[:, ::-1]
        if fv:
            a = a[::-1]
        a = np.rot90(a, k, axes=(0, 1))
        out.append(np.ascontiguousarray(a))
    return out


def color_jitter(rng: np.random.Generator, image: np.ndarray, gray_rgb_prob: float = 0.15) -> np.ndarray:
    """Brightness/contrast (p 0.75), RGB channel shift (p 0.75), gray <-> RGB, clipped to [0, 1].

    Args:
        rng: random generator.
        image: (H, W, 3) float32 in [0, 1].
        gray_rgb_prob: probability of turning a colour image gray, or tinting a gray one.
    """
    img = image.astype(np.float32, copy=True)
    is_gray = bool(np.allclose(img[..., 0], img[..., 1]) and np.allclose(img[..., 0], img[..., 2]))
    if rng.random() < gray_rgb_prob:
        if is_gray:
            img = img * rng.uniform(0.5, 1.0, 3).astype(np.float32)
            img = img / max(float(img.max()), 1e-6)
        else:
            img = np.repeat(img.mean(-1, keepdims=True), 3, -1)
            is_gray = True
    if rng.random() < 0.75:
        mean = float(img.mean())
        img = (img - mean) * rng.uniform(0.85, 1.4) + mean + rng.uniform(-0.25, 0.25)
    if not is_gray and rng.random() < 0.75:
        img = img + rng.uniform(-10, 10, 3).astype(np.float32) / 255.0
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def object_scale(rng: np.random.Generator, target: np.ndarray, extent: tuple[float, float],
                 limits: tuple[float, float]) -> float:
    """A rescale factor that gives the target a log-uniform extent in ``extent`` pixels.

    Args:
        rng: random generator (one draw).
        target: (H, W) bool target mask (not empty).
        extent: [low, high] wanted side of the target's bounding box after rescaling.
        limits: [low, high] bounds of the returned factor (keeps blur and padding sane).

    Returns:
        The factor, in ``limits``.
    """
    rows, cols = np.nonzero(target)
    size = max(int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1)
    want = float(np.exp(rng.uniform(np.log(extent[0]), np.log(extent[1]))))
    return float(np.clip(want / size, limits[0], limits[1]))


def _chance(rng: np.random.Generator, p: float) -> bool:
    """True with probability ``p``; draws nothing when ``p <= 0``."""
    return p > 0 and rng.random() < p


def _is_gray(image: np.ndarray) -> bool:
    return bool(np.allclose(image[..., 0], image[..., 1]) and np.allclose(image[..., 0], image[..., 2]))


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luminance (ITU-R 601: 0.299 R + 0.587 G + 0.114 B) replicated to 3 channels.

    Args:
        image: (H, W, 3) float32 in [0, 1].

    Returns:
        (H, W, 3) float32 in [0, 1] with equal channels.
    """
    lum = image @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat(lum[..., None], 3, -1).astype(np.float32)


def single_channel(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """One channel, chosen at random, replicated to 3 (one MRI sequence of a composite).

    Args:
        rng: random generator (one draw).
        image: (H, W, 3) float32.

    Returns:
        (H, W, 3) float32 with equal channels, re-stretched to [0, 1] (as ``normalize_slice``
        stretches a gray image a user opens).
    """
    c = image[..., int(rng.integers(3))]
    lo, hi = float(np.percentile(c, 1)), float(np.percentile(c, 99))
    if hi - lo < 1e-6:
        lo, hi = float(c.min()), float(c.max())
    c = np.clip((c - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return np.repeat(c[..., None], 3, -1).astype(np.float32)


def shuffle_channels(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """The channels in a random order (never the identity for a colour image)."""
    perm = rng.permutation(3)
    if np.array_equal(perm, np.arange(3)):
        perm = np.roll(perm, 1)
    return np.ascontiguousarray(image[..., perm])


def invert(image: np.ndarray) -> np.ndarray:
    """Inverted contrast ``1 - image`` (bright-field <-> fluorescence / EM look)."""
    return (1.0 - image).astype(np.float32)


def gamma(rng: np.random.Generator, image: np.ndarray, gamma_range: tuple[float, float]) -> np.ndarray:
    """``image ** g`` with ``g`` log-uniform in ``gamma_range`` (one draw); stays in [0, 1]."""
    g = float(np.exp(rng.uniform(np.log(gamma_range[0]), np.log(gamma_range[1]))))
    return np.power(np.clip(image, 0.0, 1.0), g).astype(np.float32)


def stain_jitter(rng: np.random.Generator, image: np.ndarray, strength: float) -> np.ndarray:
    """H&E stain jitter: each HED stain amount ``x -> a x + b`` with ``a`` in 1 +- strength and
    ``b`` in +- strength times the stain's spread (Tellez et al. 2018), back to RGB.

    The stain amounts are the optical density ``-log(rgb)`` unmixed with
    ``skimage.color.hed_from_rgb`` (Ruifrok & Johnston), without clipping, so ``a = 1, b = 0``
    returns the image unchanged.

    Args:
        rng: random generator (six draws).
        image: (H, W, 3) float32 in [0, 1], an RGB stained image.
        strength: jitter size (0.05 is a typical H&E value).

    Returns:
        (H, W, 3) float32 in [0, 1].
    """
    od = -np.log(np.clip(image, 1e-3, 1.0).astype(np.float64))
    stains = od.reshape(-1, 3) @ hed_from_rgb
    a = rng.uniform(1.0 - strength, 1.0 + strength, 3)
    b = rng.uniform(-strength, strength, 3) * (stains.std(0) + 1e-3)
    rgb = np.exp(-((stains * a + b) @ rgb_from_hed))
    return np.clip(rgb.reshape(image.shape), 0.0, 1.0).astype(np.float32)


def gaussian_noise(rng: np.random.Generator, image: np.ndarray, std_range: tuple[float, float]) -> np.ndarray:
    """Additive Gaussian noise of a standard deviation uniform in ``std_range``, clipped to [0, 1]
    (the same noise on every channel of a gray image, so it stays gray)."""
    std = float(rng.uniform(std_range[0], std_range[1]))
    shape = image.shape[:2] + ((1,) if _is_gray(image) else (image.shape[2],))
    noise = rng.normal(0.0, std, shape).astype(np.float32)
    return np.clip(image + noise, 0.0, 1.0).astype(np.float32)


def gaussian_blur(rng: np.random.Generator, image: np.ndarray, sigma_range: tuple[float, float]) -> np.ndarray:
    """Gaussian blur (same sigma, uniform in ``sigma_range`` pixels, on both axes, per channel)."""
    sigma = float(rng.uniform(sigma_range[0], sigma_range[1]))
    return gaussian_filter(image, sigma=(sigma, sigma, 0), mode="nearest").astype(np.float32)


def appearance(rng: np.random.Generator, image: np.ndarray, settings: Any, stained: bool = False) -> np.ndarray:
    """All appearance augmentations in a fixed order, each with its probability.

    Order: stain jitter (only when ``stained``) -> one of single channel / channel shuffle
    (colour images) -> invert -> gamma -> ``color_jitter`` (brightness/contrast, RGB shift,
    gray <-> RGB) -> blur -> noise.

    Args:
        rng: random generator; the sample depends on it alone.
        image: (H, W, 3) float32 in [0, 1].
        settings: ``config.AppearanceSection`` (probabilities and ranges).
        stained: whether the image is an H&E-stained RGB image (stain jitter applies).

    Returns:
        (H, W, 3) float32 in [0, 1].
    """
    a = settings
    img = np.clip(image.astype(np.float32), 0.0, 1.0)
    if stained and _chance(rng, a.stain_prob):
        img = stain_jitter(rng, img, a.stain_strength)
    if not _is_gray(img):
        if _chance(rng, a.single_channel_prob):
            img = single_channel(rng, img)
        elif _chance(rng, a.channel_shuffle_prob):
            img = shuffle_channels(rng, img)
        elif _chance(rng, a.luminance_gray_prob):
            img = to_gray(img)
    if _chance(rng, a.invert_prob):
        img = invert(img)
    if _chance(rng, a.gamma_prob):
        img = gamma(rng, img, tuple(a.gamma_range))
    img = color_jitter(rng, img, a.gray_rgb_prob)
    if _chance(rng, a.blur_prob):
        img = gaussian_blur(rng, img, tuple(a.blur_sigma))
    if _chance(rng, a.noise_prob):
        img = gaussian_noise(rng, img, tuple(a.noise_std))
    return np.clip(img, 0.0, 1.0).astype(np.float32)
