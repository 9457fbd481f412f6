"""A stand-in model for large lazy slides, shared by tests (no torch, no encoder)."""

from __future__ import annotations

import numpy as np

from napari_clickseg.core.window import WindowedMap


class WindowOracle:
    """A stand-in model that reads only windows of a lazy slide (``accepts_lazy``): the object is
    the bright pixels of the 81x81 window around each positive click, minus those around negatives."""

    name = "window-oracle"
    accepts_lazy = True
    #: it reads windows itself, so ``core.predictor.use_slice`` keeps no whole-slice features
    windowed_slice = "windows"
    half = 40

    def __init__(self):
        self.image = None
        self.images_seen = []

    @property
    def is_image_set(self):
        return self.image is not None

    def set_image(self, image):
        self.image = image
        self.images_seen.append(type(image))

    def reset_image(self):
        self.image = None

    def predict(self, clicks, prev_prob=None, box=None):
        h, w = self.image.shape[:2]
        out = WindowedMap.empty((h, w))
        for c in clicks:
            r0, c0 = max(int(c.row) - self.half, 0), max(int(c.col) - self.half, 0)
            r1, c1 = min(int(c.row) + self.half + 1, h), min(int(c.col) + self.half + 1, w)
            inside = out.read((r0, c0, r1 - 1, c1 - 1))
            bright = np.asarray(self.image[r0:r1, c0:c1]) > 127
            out = out.with_rectangle((r0, c0), np.where(bright, float(c.is_positive), inside).astype(np.float32))
        return out.trimmed()
