"""Boundary refinement at the crop's full resolution (FocalClick's refiner, light).

The FDRN head predicts at 1/4 of the crop and upsamples, so a boundary can be off by a pixel
or two at the object's scale. ``Refiner`` reads the image crop, the coarse logits and the
head's decoder features and adds a correction to the upsampled coarse logits:

* full resolution: [image crop (3, ImageNet-normalised), sigmoid(coarse) upsampled] -> 3x3 conv;
* 1/2: a stride-2 conv of that, plus a 1x1 projection of [decoder features, coarse logits]
  upsampled from 1/4, then a depthwise-separable residual block;
* full resolution: [full-res features, 1/2 features upsampled] -> 1x1 conv -> separable
  residual block -> 1x1 conv -> correction.

The last conv starts at zero, so a network that gains a refiner (warm start from weights
without one) predicts exactly what it did before until training moves it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import ConvBNReLU, SepResBlock

__all__ = ["Refiner"]


class Refiner(nn.Module):
    """Full-resolution correction of coarse logits.

    Args:
        feat: channels of the decoder features given to ``forward``.
        channels: channels at 1/2 of the crop (half as many at full resolution).
    """

    def __init__(self, feat: int, channels: int = 16) -> None:
        super().__init__()
        half, full = int(channels), max(4, int(channels) // 2)
        self.full_in = ConvBNReLU(4, full, 3)
        self.half_in = ConvBNReLU(full, half, 3, stride=2)
        self.feat_in = nn.Conv2d(feat + 1, half, 1)
        self.half_block = SepResBlock(half)
        self.fuse = nn.Sequential(ConvBNReLU(full + half, full, 1), SepResBlock(full))
        self.out = nn.Conv2d(full, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, image: Tensor, coarse: Tensor, feats: Tensor) -> Tensor:
        """Refine ``coarse``.

        Args:
            image: (B, 3, S, S) normalised image crop.
            coarse: (B, 1, S/4, S/4) coarse logits.
            feats: (B, feat, S/4, S/4) decoder features.

        Returns:
            (B, 1, S, S) logits: bilinear upsampling of ``coarse`` plus the correction.
        """
        size = image.shape[-2:]
        half = (size[0] // 2, size[1] // 2)
        up = F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
        f = self.full_in(torch.cat([image, torch.sigmoid(up).to(image.dtype)], 1))
        g = F.interpolate(torch.cat([feats, coarse.to(feats.dtype)], 1), size=half, mode="bilinear", align_corners=False)
        h = self.half_block(self.half_in(f) + self.feat_in(g))
        z = self.fuse(torch.cat([f, F.interpolate(h, size=size, mode="bilinear", align_corners=False)], 1))
        return up + self.out(z).to(up.dtype)
