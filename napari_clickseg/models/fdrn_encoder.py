"""FDRN image encoder F1 (run once per slice) - also the backbone of the RITM-like baseline.

A small ResNet-style pyramid: stem to 1/4, stages at 1/4, 1/8 and 1/16. FDRN keeps the 1/4
output (``low``, texture) and the 1/16 output (``high``, semantics) plus two 1x1 projections
of ``high`` (``key`` and ``query``) for the head's non-local attention (FDRN, Zeng et al., ACM MM 2023); the 1/8
level is not exported (FDRN's Table 5 ablation).

Large slices: the encoder input is downscaled (antialiased bilinear) so that its long side is at
most ``encoder_max_side`` pixels, then padded (edge-replicated) to a multiple of 16. Features are
ROI-aligned from that field of view with ROIs given in full-resolution pixels, so slices up to
4096x4096 (and beyond) work at a bounded encoder cost and memory.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import ConvBNReLU, ResBlock, imagenet_normalize

__all__ = ["EncoderConfig", "Encoder", "prepare_encoder_input", "as_encoder_config", "check_crop_size", "dataclass_from_dict"]


@dataclass
class EncoderConfig:
    """Widths and depths of the encoder pyramid.

    Attributes:
        stem: channels after the first stride-2 conv (1/2).
        low: channels at 1/4 (exported as ``low``).
        mid: channels at 1/8 (internal).
        high: channels at 1/16 (exported as ``high``).
        key: channels of the key/query projections.
        blocks: residual blocks at 1/4, 1/8, 1/16.
        max_side: long side of the encoder input; larger slices are downscaled to it.
    """

    stem: int = 32
    low: int = 64
    mid: int = 128
    high: int = 160
    key: int = 32
    blocks: tuple[int, int, int] = (2, 3, 2)
    max_side: int = 1024


def as_encoder_config(value: EncoderConfig | dict) -> EncoderConfig:
    """An ``EncoderConfig`` from itself or from its ``dataclasses.asdict`` form (JSON lists ok)."""
    if isinstance(value, EncoderConfig):
        return value
    enc = dict(value)
    if "blocks" in enc:
        enc["blocks"] = tuple(enc["blocks"])
    return EncoderConfig(**enc)


T = TypeVar("T")


def dataclass_from_dict(cls: type[T], d: dict[str, Any]) -> T:
    """``cls(**d)`` for a network config, with unknown keys rejected by name."""
    extra = set(d) - {f.name for f in dataclasses.fields(cls)}
    if extra:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(extra)}")
    return cls(**d)


def check_crop_size(crop_size: int) -> None:
    """Raise ValueError unless the head's crop side is a multiple of 16 (the total stride)."""
    if crop_size % 16:
        raise ValueError(f"crop_size must be a multiple of 16, got {crop_size}")


def prepare_encoder_input(image: Tensor, max_side: int, multiple: int = 16) -> tuple[Tensor, Tensor]:
    """Downscale (if needed) and pad an image for the encoder.

    Args:
        image: (B, 3, H, W) float in [0, 1].
        max_side: long side after downscaling.
        multiple: pad H and W up to a multiple of this (the encoder's total stride).

    Returns:
        (encoder input (B, 3, h', w'), fov (2,) float tensor): the field of view the padded
        input covers, in full-resolution pixels (row, col extents), for ROI-align.
    """
    h, w = image.shape[-2:]
    scale = min(1.0, float(max_side) / max(h, w))
    x = image
    if scale < 1.0:
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        # antialiased resize in float32 (not every backend has it for half types)
        x = F.interpolate(image.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
        x = x.to(image.dtype)
    sh, sw = x.shape[-2] / h, x.shape[-1] / w
    ph, pw = (-x.shape[-2]) % multiple, (-x.shape[-1]) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    fov = torch.tensor([x.shape[-2] / sh, x.shape[-1] / sw], dtype=torch.float32)
    return x, fov


class Encoder(nn.Module):
    """Image pyramid F1: (B, 3, H, W) in [0, 1] -> features at 1/4 and 1/16.

    ``stem_add`` (optional, (B, stem, H/2, W/2)) is added after the first stride-2 conv: the
    RITM-like baseline injects its click maps there (Conv1S, RITM). FDRN passes None.
    """

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.stem1 = ConvBNReLU(3, cfg.stem, 3, stride=2)
        self.stem2 = ConvBNReLU(cfg.stem, cfg.low, 3, stride=2)
        self.stage_low = nn.Sequential(*[ResBlock(cfg.low) for _ in range(cfg.blocks[0])])
        self.down_mid = ConvBNReLU(cfg.low, cfg.mid, 3, stride=2)
        self.stage_mid = nn.Sequential(*[ResBlock(cfg.mid) for _ in range(cfg.blocks[1])])
        self.down_high = ConvBNReLU(cfg.mid, cfg.high, 3, stride=2)
        self.stage_high = nn.Sequential(*[ResBlock(cfg.high) for _ in range(cfg.blocks[2])])

    def forward(self, x: Tensor, stem_add: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Returns (low (B, low, H/4, W/4), high (B, high, H/16, W/16))."""
        x = self.stem1(imagenet_normalize(x))
        if stem_add is not None:
            x = x + stem_add
        low = self.stage_low(self.stem2(x))
        high = self.stage_high(self.down_high(self.stage_mid(self.down_mid(low))))
        return low, high
