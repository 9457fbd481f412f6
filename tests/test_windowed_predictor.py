"""LearnedPredictor on slices larger than the encoder's input: windows at native resolution.

Small slices must give exactly the results they gave before windowing existed; large ones are
segmented in a window around the object (``models.windowed``) and give the mask the same object
gets on its own tile.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _shapes import disk_image

from napari_clickseg import build_model, load_model
from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.metrics import iou
from napari_clickseg.core.window import WindowedMap


def _random(name: str = "fdrn"):
    p = build_model(name, device="cpu", pretrained=False)
    p.trained = True  # no untrained-weights warning: these tests check plumbing, not quality
    return p


class CountingArray:
    """A lazy 2D/3D array: records every read and refuses to be converted whole."""

    def __init__(self, data: np.ndarray) -> None:
        self._data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.ndim = data.ndim
        self.reads: list[int] = []

    def __getitem__(self, key):
        out = self._data[key]
        self.reads.append(int(np.asarray(out).size))
        return out

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the whole lazy slice was read")


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(300, 420), (1024, 1024), (700, 1024, 3)])
def test_small_slices_give_bit_identical_results_with_windowing_on(shape):
    """Up to the encoder's input side nothing changes: same probabilities, bit for bit."""
    img = np.random.default_rng(1).integers(0, 255, shape, dtype=np.uint8)
    on, off = _random(), _random()
    off.net.load_state_dict(on.net.state_dict())
    off.windowed = False
    clicks = [Click(shape[0] // 2, shape[1] // 3), Click(shape[0] // 3, shape[1] // 2, False)]
    for p in (on, off):
        p.set_image(img)
        assert p.windowed_slice is None
    first = [p.predict(clicks[:1]) for p in (on, off)]
    assert isinstance(first[0], np.ndarray) and np.array_equal(first[0], first[1])
    second = [p.predict(clicks, prev_prob=f) for p, f in zip((on, off), first, strict=True)]
    assert np.array_equal(second[0], second[1])
    box = Box(10, 20, shape[0] // 2, shape[1] // 2)
    assert np.array_equal(on.predict(clicks, box=box), off.predict(clicks, box=box))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fdrn", "fdrn-csfpn", "ritm-like"])
def test_every_learned_family_windows_a_large_slice(name):
    p = _random(name)
    img = np.random.default_rng(0).integers(0, 255, (2048, 1536), dtype=np.uint8)
    p.set_image(img)
    ws = p.windowed_slice
    assert ws is not None and ws.encodes == 0  # nothing is encoded before a click
    prob = p.predict([Click(1500, 700)])
    assert isinstance(prob, np.ndarray) and prob.shape == (2048, 1536) and prob.dtype == np.float32
    assert 0 <= prob.min() and prob.max() <= 1 and ws.encodes >= 1
    prob = p.predict([Click(1500, 700), Click(1510, 720, False)], prev_prob=prob)
    assert prob.shape == (2048, 1536)


@pytest.mark.slow
def test_a_huge_lazy_slice_is_read_in_windows_and_gives_windowed_maps():
    data = np.random.default_rng(0).integers(0, 255, (6000, 5000, 3), dtype=np.uint8)
    lazy = CountingArray(data)
    p = _random()
    p.max_window_scale = 2  # random weights segment noise everywhere: let the window grow once
    p.set_image(lazy)
    assert lazy.reads == []  # set_image reads no pixel
    prob = p.predict([Click(4000, 2500)])
    assert isinstance(prob, WindowedMap) and prob.shape == (6000, 5000)
    assert p.windowed_slice.last_window.scale <= 2
    assert lazy.reads and max(lazy.reads) <= (2 * p.window_side) ** 2 * 3  # one window at a time
    assert prob.bounds is None or prob.data.size <= (2 * p.window_side) ** 2
    n = p.windowed_slice.encodes
    again = p.predict([Click(4000, 2500), Click(4005, 2510, False)], prev_prob=prob)
    assert isinstance(again, WindowedMap)
    assert p.predict([Click(4000, 2500)]).shape == (6000, 5000)
    assert p.windowed_slice.encodes <= n + 1
    with pytest.raises(ValueError, match="outside the image"):
        p.predict([Click(6000, 10)])


@pytest.mark.slow
def test_windowed_mask_on_a_large_slice_matches_the_same_object_on_its_tile():
    """A 3000x3000 slice holding a 1000x1000 tile: the disc clicked on the slice gets the mask
    it gets on the tile alone (trained weights), from one native-resolution window."""
    p = load_model("fdrn", device="cpu")
    tile, disk = disk_image(1000, (500, 480), 60, seed=2)
    p.set_image(tile)
    on_tile = p.predict([Click(500, 480)]) > 0.49
    big = (0.15 + np.random.default_rng(3).normal(0, 0.04, (3000, 3000))).astype(np.float32)
    big[1200:2200, 1700:2700] = tile
    gt = np.zeros(big.shape, bool)
    gt[1200:2200, 1700:2700] = disk
    p.set_image(big)
    prob = p.predict([Click(1700, 2180)])
    assert p.windowed_slice.last_window.scale == 1 and p.windowed_slice.encodes == 1
    mask = prob > 0.49
    assert iou(on_tile, disk) > 0.9
    assert iou(mask, gt) >= iou(on_tile, disk) - 0.05
    # a next click inside the window costs no encoding
    prob2 = p.predict([Click(1700, 2180), Click(1690, 2230)], prev_prob=prob)
    assert p.windowed_slice.encodes == 1 and iou(prob2 > 0.49, gt) > 0.85
    # a box around the disc selects it as well
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        boxed = p.predict([], box=Box(1630, 2110, 1770, 2250))
    assert iou(boxed > 0.49, gt) > 0.85
