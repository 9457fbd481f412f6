"""One optimisation step of iterative click training (RITM recipe with FDRN's dynamic ROI).

Per batch: the encoder runs once (with gradient); ``n_it`` ~ U{0..max_iterative} rounds of
the click head run without gradient (network in eval mode), each feeding its probability map
back as ``prev_prob`` and adding one click per sample with the training simulator
(``core.simulate.sample_training_click``); then one trained head pass with the final clicks
and previous probability, NFL against the ground truth cropped to the same ROI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ..core.clicks import Box, Click
from ..core.simulate import sample_training_click
from ..models.roi import crop_to_roi, paste_from_roi
from .config import ClickSection
from .losses import normalized_focal_loss
from .sampler import dynamic_roi, jittered_box, multi_point_clicks, object_roi

__all__ = ["PromptedBatch", "make_prompts", "clicks_tensor", "boxes_tensor", "train_step"]


@dataclass
class PromptedBatch:
    """A batch ready for the network (numpy side kept for the click simulator).

    Attributes:
        images: (B, H, W, 3) float32 in [0, 1].
        targets: (B, H, W) bool.
        clicks: per sample, ``Click`` list (oldest first).
        boxes: per sample, ``Box`` or None.
        rois: (B, 4) float (row0, col0, row1, col1) inclusive.
    """

    images: np.ndarray
    targets: np.ndarray
    clicks: list[list[Click]]
    boxes: list[Box | None]
    rois: np.ndarray


def make_prompts(
    images: list[np.ndarray], targets: list[np.ndarray], labels: list[np.ndarray | None],
    cfg: ClickSection, rng: np.random.Generator,
) -> PromptedBatch:
    """Initial clicks (multi-point sampler), optional boxes and ROIs (dynamic-scale or object-relative)."""
    clicks, boxes, rois = [], [], []
    for tgt, lab in zip(targets, labels):
        box = jittered_box(tgt, rng, cfg.box_jitter) if rng.random() < cfg.box_prob else None
        if box is not None and rng.random() < cfg.box_only_prob:
            cl: list[Click] = []
        else:
            cl = multi_point_clicks(tgt, lab, rng, cfg.max_positive, cfg.max_negative, cfg.centre_prob)
            first, rest = cl[:1], cl[1:]
            order = rng.permutation(len(rest))
            # the first click (positive, often central) stays first, like an interactive session
            cl = first + [rest[i] for i in order]
        clicks.append(cl)
        boxes.append(box)
        # no draw at all when off: runs without object ROIs keep their per-step random stream
        if cfg.object_roi_prob > 0 and rng.random() < cfg.object_roi_prob:
            rois.append(object_roi(tgt, rng, *cfg.object_roi_range))
        else:
            rois.append(dynamic_roi(tgt, rng, cfg.roi_low, cfg.roi_high))
    return PromptedBatch(np.stack(images), np.stack(targets), clicks, boxes, np.asarray(rois, np.float32))


def clicks_tensor(clicks: list[list[Click]], device: torch.device | str = "cpu") -> Tensor:
    """(B, N, 3) float (row, col, is_positive), rows of -1 padding, N = longest list."""
    n = max((len(c) for c in clicks), default=0)
    out = torch.full((len(clicks), n, 3), -1.0)
    for b, cl in enumerate(clicks):
        if cl:
            out[b, : len(cl)] = torch.tensor([[c.row, c.col, float(c.is_positive)] for c in cl])
    return out.to(device)


def boxes_tensor(boxes: list[Box | None], device: torch.device | str = "cpu") -> Tensor | None:
    """(B, 4) float boxes with -1 rows for samples without one; None when no sample has one."""
    if all(b is None for b in boxes):
        return None
    out = torch.full((len(boxes), 4), -1.0)
    for i, b in enumerate(boxes):
        if b is not None:
            out[i] = torch.tensor([b.row0, b.col0, b.row1, b.col1], dtype=torch.float32)
    return out.to(device)


def train_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: PromptedBatch,
    cfg: ClickSection,
    rng: np.random.Generator,
    device: torch.device,
    grad_clip: float = 0.0,
    n_iterative: int | None = None,
    freeze_bn: bool = False,
) -> dict[str, float]:
    """Run one iterative-training step and update ``net``.

    Args:
        net: network with ``encode``/``decode`` and ``crop_size``.
        optimizer: its optimiser.
        batch: prompts from ``make_prompts``.
        cfg: click settings (``max_iterative``).
        rng: random generator of the simulated clicks (and of ``n_iterative`` if None).
        device: where to run.
        grad_clip: max gradient norm (0 = off).
        n_iterative: force the number of no-gradient click rounds.
        freeze_bn: keep BatchNorm layers in eval mode (running statistics fixed; for
            fine-tuning with small batches).

    Returns:
        {"loss", "n_iterative", "clicks" (mean count)}.
    """
    b, h, w = batch.targets.shape
    s = int(net.crop_size)
    n_it = int(rng.integers(cfg.max_iterative + 1)) if n_iterative is None else int(n_iterative)
    image = torch.from_numpy(batch.images).permute(0, 3, 1, 2).contiguous().to(device)
    gt = torch.from_numpy(batch.targets[:, None].astype(np.float32)).to(device)
    rois = torch.from_numpy(batch.rois).to(device)
    boxes = boxes_tensor(batch.boxes, device)
    clicks = [list(c) for c in batch.clicks]
    prev = torch.zeros((b, 1, h, w), device=device)
    _train_mode(net, freeze_bn)
    feats = net.encode(image)
    if n_it:
        clicked = np.zeros((b, h, w), bool)
        for i, cl in enumerate(clicks):
            for c in cl:
                clicked[i, c.row, c.col] = True
        net.eval()
        with torch.no_grad():
            fixed = {k: v.detach() for k, v in feats.items()}
            for _ in range(n_it):
                logits = net.decode(fixed, rois, clicks_tensor(clicks, device), prev, boxes)
                prev = paste_from_roi(torch.sigmoid(logits.float()), rois, (h, w), base=prev)
                pred = (prev[:, 0] > 0.49).cpu().numpy()
                for i in range(b):
                    c = sample_training_click(batch.targets[i], pred[i], rng, clicked=clicked[i])
                    if c is not None:
                        clicks[i].append(c)
                        clicked[i, c.row, c.col] = True
        _train_mode(net, freeze_bn)
    logits = net.decode(feats, rois, clicks_tensor(clicks, device), prev.detach(), boxes)
    gt_crop = crop_to_roi(gt, rois, s)
    loss = normalized_focal_loss(logits.float(), (gt_crop > 0.5).float())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    optimizer.step()
    return {"loss": float(loss.detach()), "n_iterative": float(n_it),
            "clicks": float(np.mean([len(c) for c in clicks]))}


def _train_mode(net: nn.Module, freeze_bn: bool) -> None:
    net.train()
    if freeze_bn:
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
