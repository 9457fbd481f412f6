"""FDRN network (Zeng et al., ACM MM 2023): image encoder F1 once per slice, light click head F2 per click.

``encode(image)`` runs F1 on the whole slice (downscaled to ``encoder.max_side``) and returns a
dict of tensors; ``decode(features, rois, clicks, prev_prob, boxes)`` runs F2 on the Zoom-In
crop ``rois`` and returns crop logits. The head's inputs, all at crop resolution:

* the image crop (3 ch) -> 4x4 stride-4 patch embedding to 1/4 of the crop;
* guidance, two *separate* stems (FDRN's current vs. history click decoupling),
  each a patch-embedding analogue of RITM's Conv1S: the history stem sees
  [historical pos/neg disks, prev prob, MFP-modulated prev prob, IOG inside/outside], the
  current stem sees [current pos/neg disk, MFP-modulated prev prob]; their concatenation is
  fused by a 1x1 conv and added (learnable scale) to the image embedding;
* ROI-aligned recycled encoder features: ``low`` (1/4) joins through concat + residual block
  (texture integration), ``high`` (1/16) through concat + 1x1 conv, and its two projections
  ``key``/``query`` drive the non-local attention at 1/16 (semantic integration; row softmax by
  default, see ``NonLocalAttention``). Concatenating ``high`` itself into the head is our
  addition: the paper's F2 is a full HRNet with semantics of its own, ours is light.

``propagation="sgn"`` (the ``fdrn-csfpn`` variant) replaces the dense 1/16 attention by CSFPN's
sparse graph propagation at 1/4: every pixel attends to the click positions only.

Logits at 1/4 are upsampled bilinearly to the crop size (``refine > 0``: corrected at full crop
resolution by ``models.refiner.Refiner``); the predictor pastes them back.
MFP modulation is applied inside ``decode`` (inputs only, no gradient), including its
first-click double pass (so the trainer and the predictor feed the head the same inputs); IOG
guidance maps are zeros when there is no box.
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
    prepare_encoder_input,
)
from .guidance import HeadInputs, mfp_inputs, prepare_head_inputs
from .layers import (
    ConvBNReLU,
    NonLocalAttention,
    ScaledAdd,
    SepResBlock,
    SparseGraphPropagation,
    imagenet_normalize,
)
from .refiner import Refiner
from .roi import crop_to_roi

__all__ = ["FDRNConfig", "FDRNNet", "config_from_dict"]


@dataclass
class FDRNConfig:
    """Architecture of an FDRN network (serialisable with ``dataclasses.asdict``).

    Attributes:
        family: registry family (``"fdrn"`` or ``"fdrn-csfpn"``).
        encoder: F1 widths/depths and the encoder input's maximal long side.
        crop_size: Zoom-In crop side fed to the head (multiple of 16).
        width: head channels at 1/4 of the crop.
        mid: head channels at 1/8.
        high: head channels at 1/16.
        guide: channels of each guidance stem.
        softmax: ``"row"`` or ``"column"`` normalisation of the non-local affinity.
        propagation: ``"nonlocal"`` (FDRN) or ``"sgn"`` (CSFPN sparse propagation).
        mfp: feed the MFP-modulated previous probability (else the plain one twice).
        mfp_n_prob, mfp_r_max: MFP hyper-parameters (N and R_max of the MFP paper's modulation).
        mfp_double_pass: MFP's first-click double pass inside ``decode``.
        refine: channels of the full-resolution boundary refiner (``models.refiner``) at 1/2
            of the crop; 0 = none (logits at 1/4 upsampled bilinearly).
    """

    family: str = "fdrn"
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    crop_size: int = 256
    width: int = 32
    mid: int = 48
    high: int = 64
    guide: int = 16
    softmax: str = "row"
    propagation: str = "nonlocal"
    mfp: bool = True
    mfp_n_prob: int = 7
    mfp_r_max: float = 100.0
    mfp_double_pass: bool = True
    refine: int = 0

    def __post_init__(self) -> None:
        self.encoder = as_encoder_config(self.encoder)
        check_crop_size(self.crop_size)
        if self.refine < 0:
            raise ValueError(f"refine must be >= 0 (0 = no refiner), got {self.refine}")
        if self.propagation not in ("nonlocal", "sgn"):
            raise ValueError(f"propagation must be 'nonlocal' or 'sgn', got {self.propagation!r}")


def config_from_dict(d: dict[str, Any]) -> FDRNConfig:
    """Rebuild an ``FDRNConfig`` from ``dataclasses.asdict`` output (unknown keys rejected)."""
    return dataclass_from_dict(FDRNConfig, d)


class FDRNNet(nn.Module):
    """FDRN (and FDRN-CSFPN) network; see the module docstring."""

    def __init__(self, config: FDRNConfig | None = None) -> None:
        super().__init__()
        cfg = config or FDRNConfig()
        self.config = cfg
        self.crop_size = cfg.crop_size
        e = cfg.encoder
        self.encoder = Encoder(e)
        if cfg.propagation == "nonlocal":
            self.key_proj = nn.Conv2d(e.high, e.key, 1)
            self.query_proj = nn.Conv2d(e.high, e.key, 1)
        w = cfg.width
        # stems at 1/4 of the crop
        self.img_embed = nn.Conv2d(3, w, 4, stride=4)
        self.hist_embed = nn.Sequential(nn.Conv2d(6, cfg.guide, 4, stride=4), nn.LeakyReLU(0.2, inplace=True))
        self.cur_embed = nn.Sequential(nn.Conv2d(3, cfg.guide, 4, stride=4), nn.LeakyReLU(0.2, inplace=True))
        self.guide_fuse = nn.Conv2d(2 * cfg.guide, w, 1)
        self.guide_scale = ScaledAdd(0.5)
        self.stem_norm = nn.Sequential(nn.BatchNorm2d(w), nn.ReLU(inplace=True))
        # texture integration at 1/4
        self.texture = SepResBlock(w + e.low, w)
        self.down_mid = ConvBNReLU(w, cfg.mid, 3, stride=2)
        self.block_mid = SepResBlock(cfg.mid)
        self.down_high = ConvBNReLU(cfg.mid, cfg.high, 3, stride=2)
        self.sem_in = ConvBNReLU(cfg.high + e.high, cfg.high, 1)
        if cfg.propagation == "nonlocal":
            self.semantic = NonLocalAttention(cfg.high, e.key, softmax=cfg.softmax)
        # decoder at 1/4
        self.dec_in = ConvBNReLU(w + cfg.high, w, 1)
        if cfg.propagation == "sgn":
            self.sgn = SparseGraphPropagation(w)
        self.dec_block = SepResBlock(w)
        self.classifier = nn.Conv2d(w, 1, 1)
        self.refiner = Refiner(w, cfg.refine) if cfg.refine else None

    @property
    def mfp_config(self) -> MFPConfig:
        return MFPConfig(n_prob=self.config.mfp_n_prob, r_max=self.config.mfp_r_max)

    # -- F1 ------------------------------------------------------------------------------
    def encode(self, image: Tensor) -> dict[str, Tensor]:
        """Run the encoder once per image.

        Args:
            image: (B, 3, H, W) float in [0, 1] (percentile-normalised slice, gray replicated).

        Returns:
            dict with ``image`` (the input, for the head's crops), ``fov`` ((2,) field of view
            of the feature maps in image pixels), ``low`` (B, low, h/4, w/4) and ``high``
            (B, high [+ 2 * key], h/16, w/16): for the non-local head the key and query
            projections are appended to ``high``'s channels (one ROI-align per click instead of
            three); h, w = the (downscaled, padded) encoder input size.
        """
        x, fov = prepare_encoder_input(image, self.config.encoder.max_side)
        low, high = self.encoder(x)
        if self.config.propagation == "nonlocal":  # one tensor: one ROI-align per click
            high = torch.cat([high, self.key_proj(high), self.query_proj(high)], 1)
        return {"image": image, "fov": fov.to(image.device), "low": low, "high": high}

    def adopt_features(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        """``features`` of another network with this encoder (an edit head's base,
        ``models.edit_head``) as this network's ``encode`` would give them: the encoder's maps
        are kept, the non-local key and query projections appended to ``high`` are this
        network's own (they are head weights). Other propagations: ``features`` as they are."""
        if self.config.propagation != "nonlocal":
            return features
        high = features["high"][:, : self.config.encoder.high]
        out = dict(features)
        out["high"] = torch.cat([high, self.key_proj(high), self.query_proj(high)], 1)
        return out

    # -- F2 ------------------------------------------------------------------------------
    def decode(
        self,
        features: dict[str, Tensor],
        rois: Tensor,
        clicks: Tensor,
        prev_prob: Tensor,
        boxes: Tensor | None = None,
        modulate: bool = True,
    ) -> Tensor:
        """Run the click head on the ROI crop.

        Args:
            features: output of ``encode``.
            rois: (B, 4) float (row0, col0, row1, col1), inclusive, image pixels.
            clicks: (B, N, 3) (row, col, is_positive 0/1) image pixels, -1 padding rows, oldest
                first; the last valid row is the current click.
            prev_prob: (B, 1, H, W) previous probability in [0, 1] (image frame).
            boxes: (B, 4) (row0, col0, row1, col1) or rows of -1 (no box); None = no boxes.
            modulate: MFP modulation (with the config's first-click double pass: samples with
                an all-zero previous-probability crop get a no-gradient pass with P = P~ = 0
                first, whose output is then modulated). False feeds the plain map twice.

        Returns:
            (B, 1, crop_size, crop_size) logits.
        """
        cfg, s = self.config, self.crop_size
        dtype = features["low"].dtype
        fov = tuple(float(v) for v in features["fov"])
        inp = prepare_head_inputs(features["image"], rois, clicks, prev_prob, boxes, s, dtype)
        low = self._fmt(crop_to_roi(features["low"], rois, s // 4, src_hw=fov))
        sem = self._fmt(crop_to_roi(features["high"], rois, s // 16, src_hw=fov))
        prev, prev_mod = mfp_inputs(
            inp,
            self.mfp_config if (modulate and cfg.mfp) else None,
            cfg.mfp_double_pass,
            lambda idx, sub: self._head(sub, sub.prev, sub.prev, low[idx], sem[idx], refine=False),
        )
        return self._head(inp, prev, prev_mod, low, sem)

    def _head(
        self, inp: HeadInputs, prev: Tensor, prev_mod: Tensor, low: Tensor, sem: Tensor, refine: bool = True
    ) -> Tensor:
        """F2 proper: crop inputs + ROI-aligned features -> (B, 1, s, s) logits.

        ``refine=False`` skips the refiner (MFP's first-click pre-pass only feeds the modulation).
        """
        cfg, s = self.config, self.crop_size
        g, dtype = inp.guide, inp.img.dtype
        hist_in = self._fmt(torch.cat([g.hist, prev, prev_mod, inp.iog], 1).to(dtype))
        cur_in = self._fmt(torch.cat([g.current, prev_mod], 1).to(dtype))
        guide = self.guide_fuse(torch.cat([self.hist_embed(hist_in), self.cur_embed(cur_in)], 1))
        img = self._fmt(imagenet_normalize(inp.img))
        x = self.stem_norm(self.img_embed(img) + self.guide_scale(guide))
        x = self.texture(torch.cat([x, low], 1))
        y = self.down_high(self.block_mid(self.down_mid(x)))
        eh = cfg.encoder.high
        y = self.sem_in(torch.cat([y, sem[:, :eh]], 1))
        if cfg.propagation == "nonlocal":
            ek = cfg.encoder.key
            y = self.semantic(y, sem[:, eh : eh + ek], sem[:, eh + ek :])
        z = self.dec_in(torch.cat([x, F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)], 1))
        if cfg.propagation == "sgn":
            nodes, valid = _click_nodes(g.crop_clicks, g.valid, s, stride=4)
            z = self.sgn(z, nodes, valid)
        z = self.dec_block(z)
        logits = self.classifier(z)
        if refine and self.refiner is not None:
            return self.refiner(img, logits, z)
        return F.interpolate(logits, size=(s, s), mode="bilinear", align_corners=False)

    def _fmt(self, t: Tensor) -> Tensor:
        """Match the weights' memory format (channels-last on CPU is 2-5x faster for convs)."""
        if self.img_embed.weight.is_contiguous(memory_format=torch.channels_last):
            return t.contiguous(memory_format=torch.channels_last)
        return t

    def forward(
        self, image: Tensor, rois: Tensor, clicks: Tensor, prev_prob: Tensor, boxes: Tensor | None = None
    ) -> Tensor:
        """``decode(encode(image), rois, clicks, prev_prob, boxes)`` (training entry point)."""
        return self.decode(self.encode(image), rois, clicks, prev_prob, boxes)


def _click_nodes(crop_clicks: Tensor, valid: Tensor, size: int, stride: int) -> tuple[Tensor, Tensor]:
    """Flat node indices of the clicks on the ``size/stride`` grid; clicks outside are dropped."""
    g = size // stride
    r = torch.floor(crop_clicks[..., 0] / stride)
    c = torch.floor(crop_clicks[..., 1] / stride)
    inside = valid & (r >= 0) & (r < g) & (c >= 0) & (c < g)
    idx = (r.clamp(0, g - 1) * g + c.clamp(0, g - 1)).long()
    return idx, inside
