"""RITM-like baseline: one full network re-run on the Zoom-In crop at every click.

It exists to measure what the FDRN split buys: same encoder architecture and comparable
capacity as ``fdrn``, but nothing is cached per slice (``encode`` only keeps the image) and the
click maps enter at the encoder stem (RITM's Conv1S, Sofiiuk et al. 2022), so every click pays for the
whole backbone. Inputs per click, at crop resolution: image crop, disks (r = 5) of all positive
and negative clicks, previous probability, its MFP-modulated version (so the comparison with
``fdrn`` isolates the architecture, not the inputs), IOG box guidance (zeros without a box).

The default crop is 400x400: RITM's CNN protocol zooms to a long side of 400 (Sofiiuk et al.
2022); ``crop_size=256`` gives the equal-crop comparison (the benchmark reports both).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.modulation import MFPConfig
from .fdrn_encoder import (
    Encoder,
    EncoderConfig,
    as_encoder_config,
    check_crop_size,
    dataclass_from_dict,
)
from .guidance import HeadInputs, mfp_inputs, prepare_head_inputs
from .layers import Conv1S, ConvBNReLU, ScaledAdd, SepResBlock

__all__ = ["RITMLikeConfig", "RITMLikeNet", "ritm_config_from_dict"]


@dataclass
class RITMLikeConfig:
    """Architecture of the RITM-like baseline (serialisable with ``dataclasses.asdict``).

    Attributes:
        family: registry family name.
        encoder: backbone widths/depths (same defaults as FDRN's encoder).
        crop_size: Zoom-In crop side (multiple of 16).
        width: decoder channels at 1/4.
        guide: hidden width of the Conv1S guidance stem.
        mfp: feed the MFP-modulated previous probability.
        mfp_n_prob, mfp_r_max: MFP hyper-parameters.
        mfp_double_pass: MFP's first-click double pass inside ``decode``.
    """

    family: str = "ritm-like"
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    crop_size: int = 400
    width: int = 32
    guide: int = 16
    mfp: bool = True
    mfp_n_prob: int = 7
    mfp_r_max: float = 100.0
    mfp_double_pass: bool = True

    def __post_init__(self) -> None:
        self.encoder = as_encoder_config(self.encoder)
        check_crop_size(self.crop_size)


def ritm_config_from_dict(d: dict[str, Any]) -> RITMLikeConfig:
    """Rebuild a ``RITMLikeConfig`` from ``dataclasses.asdict`` output."""
    return dataclass_from_dict(RITMLikeConfig, d)


class RITMLikeNet(nn.Module):
    """Full per-click network; see the module docstring."""

    def __init__(self, config: RITMLikeConfig | None = None) -> None:
        super().__init__()
        cfg = config or RITMLikeConfig()
        self.config = cfg
        self.crop_size = cfg.crop_size
        e = cfg.encoder
        self.encoder = Encoder(e)
        # [pos disks, neg disks, prev, prev_mod, iog inside, iog outside]
        self.conv1s = Conv1S(6, e.stem, mid=cfg.guide)
        self.guide_scale = ScaledAdd(0.5)
        self.dec_in = ConvBNReLU(e.low + e.high, cfg.width, 1)
        self.dec_block = SepResBlock(cfg.width)
        self.classifier = nn.Conv2d(cfg.width, 1, 1)

    @property
    def mfp_config(self) -> MFPConfig:
        return MFPConfig(n_prob=self.config.mfp_n_prob, r_max=self.config.mfp_r_max)

    def encode(self, image: Tensor) -> dict[str, Tensor]:
        """Nothing is computed per slice: returns ``{"image": image}``."""
        return {"image": image}

    def decode(
        self,
        features: dict[str, Tensor],
        rois: Tensor,
        clicks: Tensor,
        prev_prob: Tensor,
        boxes: Tensor | None = None,
        modulate: bool = True,
    ) -> Tensor:
        """Run the whole network on the crop; same arguments and result as ``FDRNNet.decode``."""
        cfg, s = self.config, self.crop_size
        dtype = next(self.parameters()).dtype
        inp = prepare_head_inputs(features["image"], rois, clicks, prev_prob, boxes, s, dtype)
        prev, prev_mod = mfp_inputs(
            inp,
            self.mfp_config if (modulate and cfg.mfp) else None,
            cfg.mfp_double_pass,
            lambda idx, sub: self._net(sub, sub.prev, sub.prev),
        )
        return self._net(inp, prev, prev_mod)

    def _net(self, inp: HeadInputs, prev: Tensor, prev_mod: Tensor) -> Tensor:
        """The whole network on the crop inputs -> (B, 1, s, s) logits."""
        s, g = self.crop_size, inp.guide
        disks = torch.maximum(g.hist, g.current)
        guide = self.conv1s(self._fmt(torch.cat([disks, prev, prev_mod, inp.iog], 1).to(inp.img.dtype)))
        low, high = self.encoder(self._fmt(inp.img), stem_add=self.guide_scale(guide))
        up = F.interpolate(high, size=low.shape[-2:], mode="bilinear", align_corners=False)
        logits = self.classifier(self.dec_block(self.dec_in(torch.cat([low, up], 1))))
        return F.interpolate(logits, size=(s, s), mode="bilinear", align_corners=False)

    def _fmt(self, t: Tensor) -> Tensor:
        """Match the weights' memory format (channels-last on CPU is 2-5x faster for convs)."""
        if self.classifier.weight.is_contiguous(memory_format=torch.channels_last):
            return t.contiguous(memory_format=torch.channels_last)
        return t

    def forward(
        self, image: Tensor, rois: Tensor, clicks: Tensor, prev_prob: Tensor, boxes: Tensor | None = None
    ) -> Tensor:
        """``decode(encode(image), ...)`` (training entry point)."""
        return self.decode(self.encode(image), rois, clicks, prev_prob, boxes)
