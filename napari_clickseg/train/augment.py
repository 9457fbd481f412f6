"""Training augmentation: crop/rescale around the target, flips, rot90, colour jitter.

RITM's recipe (methods 6.1): random rescale, flips, random 90-degree rotations, brightness
+-0.25 / contrast -0.15..+0.4 (p 0.75), per-channel RGB shift +-10/255 (p 0.75); plus
gray <-> RGB changes so every model sees both. Images are HxWx3 float32 in [0, 1]
(``core.image.normalize_slice`` output); labels HxW int; (row, col) throughout.
"""

from __future__ import annotations

import numpy as np
from skimage.transform import resize

__all__ = ["crop_around", "flip_rotate", "color_jitter"]


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
    img = np.pad(image[sl], pad + ((0, 0),))
    lab = np.pad(labels[sl], pad)
    tgt = np.pad(target[sl], pad)
    out_side = max(1, int(round(side * scale)))
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
