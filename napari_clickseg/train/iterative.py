"""One optimisation step of iterative click training (RITM recipe with FDRN's dynamic ROI).

Per batch: the encoder runs once (with gradient); ``n_it`` ~ U{0..max_iterative} rounds of
the click head run without gradient (network in eval mode), each feeding its probability map
back as ``prev_prob`` and adding one click per sample with the training simulator
(``core.simulate.sample_training_click``); then ``supervised_rounds`` trained head passes,
each with the clicks and previous probability so far and an NFL loss against the ground truth
cropped to the same ROI, one more simulated click between them (SAM trains its decoder over
several prompt rounds per image encoding in the same way).

Mask prompts (``clicks.mask_prompt_prob``): a share of the samples start as an edit of an
existing object does at inference (``train.edit_prompts``): a degraded target as the previous
probability of the first round (instead of zeros), its anchor click and one correction click,
in an object-relative ROI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ..core.clicks import Box, Click
from ..core.simulate import padded_edt, sample_training_click
from ..models.roi import crop_to_roi, paste_from_roi
from ..models.weights_io import fresh_modules
from .config import ClickSection, LossSection
from .edit_prompts import edit_prompt, edit_roi
from .losses import boundary_loss, distillation_loss, normalized_focal_loss
from .precision import Precision
from .sampler import dynamic_roi, first_click, jittered_box, multi_point_clicks, object_roi

__all__ = ["PromptedBatch", "make_prompts", "clicks_tensor", "boxes_tensor", "train_step", "first_click_zoom_out"]


@dataclass
class PromptedBatch:
    """A batch ready for the network (numpy side kept for the click simulator).

    Attributes:
        images: (M, H, W, 3) float32 in [0, 1], the distinct images.
        targets: (B, H, W) bool, one per sample (B >= M: an image may carry several).
        clicks: per sample, ``Click`` list (oldest first).
        boxes: per sample, ``Box`` or None.
        rois: (B, 4) float (row0, col0, row1, col1) inclusive.
        owners: (B,) int, the index into ``images`` of each sample's image (None: sample i
            is image i).
        prev_masks: (B, H, W) float32 0/1, the previous probability each sample starts from
            (a degraded target for edit samples, zeros for the others), or None when no sample
            is an edit (all start from zeros).
        first: (B,) bool, the samples that are a first click (``ClickSection.first_click_prob``),
            or None when none is.
    """

    images: np.ndarray
    targets: np.ndarray
    clicks: list[list[Click]]
    boxes: list[Box | None]
    rois: np.ndarray
    owners: np.ndarray | None = None
    prev_masks: np.ndarray | None = None
    first: np.ndarray | None = None


def make_prompts(
    images: list[np.ndarray], targets: list[np.ndarray], labels: list[np.ndarray | None],
    cfg: ClickSection, rng: np.random.Generator, owners: list[int] | None = None,
) -> PromptedBatch:
    """Initial clicks (multi-point sampler), optional boxes and ROIs (dynamic-scale or object-relative).

    ``targets`` and ``labels`` are per sample; ``images`` per distinct image, with ``owners``
    giving each sample's image (None: one image per sample).

    With probability ``cfg.mask_prompt_prob`` a sample starts as an edit instead
    (``edit_prompts.edit_prompt``: a degraded target as its previous mask, the anchor click and
    one correction click, ``edit_prompts.edit_roi``), and has no box: at inference a box
    replaces the mask prompt (``InteractiveSession.set_box`` predicts from no previous map).
    A target with no degradation to offer gets the normal prompts. With the probability 0
    nothing is drawn for it, so the random stream is that of a run without mask prompts.
    Else, with probability ``cfg.first_click_prob``, a sample is a first click
    (``sampler.first_click``, no box, the whole image as its ROI; ``PromptedBatch.first``); 0
    draws nothing for it either.
    """
    clicks, boxes, rois, prevs, firsts = [], [], [], [], []
    for tgt, lab in zip(targets, labels):
        firsts.append(False)
        edit = None
        if cfg.mask_prompt_prob > 0 and rng.random() < cfg.mask_prompt_prob:
            edit = edit_prompt(tgt, lab, rng, cfg.mask_prompt_radius, cfg.mask_prompt_cut)
        prevs.append(None if edit is None else edit[0])
        if edit is not None:
            clicks.append(edit[1])
            boxes.append(None)
            rois.append(edit_roi(tgt, edit[0], rng, *cfg.object_roi_range))
            continue
        if cfg.first_click_prob > 0 and rng.random() < cfg.first_click_prob:
            firsts[-1] = True
            clicks.append([first_click(tgt, rng)])
            boxes.append(None)
            h, w = np.shape(tgt)[:2]
            rois.append((0.0, 0.0, h - 1.0, w - 1.0))
            continue
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
    own = None if owners is None else np.asarray(owners, np.int64)
    if own is not None and (len(own) != len(targets) or own.min() < 0 or own.max() >= len(images)):
        raise ValueError(f"owners must give an image index in 0..{len(images) - 1} for each of the {len(targets)} targets")
    prev_masks = None
    if any(p is not None for p in prevs):
        prev_masks = np.zeros((len(targets), *np.shape(targets[0])), np.float32)
        for i, p in enumerate(prevs):
            if p is not None:
                prev_masks[i] = p
    return PromptedBatch(np.stack(images), np.stack(targets), clicks, boxes, np.asarray(rois, np.float32), own, prev_masks,
                         np.asarray(firsts, bool) if any(firsts) else None)


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
    precision: Precision | None = None,
    scaler: torch.amp.GradScaler | None = None,
    loss_cfg: LossSection | None = None,
    teacher: nn.Module | None = None,
) -> dict[str, float]:
    """Run one iterative-training step and update ``net``.

    The encoder runs once (with gradient) per distinct image (``batch.owners`` maps samples
    to images, so several objects of one image share its encoding). The previous probability
    starts as ``batch.prev_masks`` (edit samples' mask prompts) or zeros. ``n_it`` ~ U{0..max_iterative} click rounds run
    without gradient (eval mode), each adding one simulated click (box-only samples sit them out
    with ``cfg.box_only_held``, first-click samples, ``batch.first``, always); then ``supervised_rounds``
    head passes each get a loss, one more simulated click between them (SAM-style rounds: the
    next click follows the current prediction). Every supervised pass is back-propagated at
    once into the (detached) encoder features, so only one head graph is alive at a time; the
    encoder then receives the summed feature gradients in one backward pass. The loss is the
    mean over the supervised passes of NFL (+ ``loss_cfg.boundary_weight`` x the boundary-band
    BCE, + ``loss_cfg.distill_weight`` x the BCE against ``teacher``'s probabilities for the same
    inputs, on the samples that start without a mask prompt and are neither box-only nor a
    first click). With
    ``loss_cfg.distill_zoom_out`` one more distilled head pass sees those samples' first click
    on their image shrunk and tiled (``zoomed_out_first_click``, the whole image as the ROI).
    With ``loss_cfg.first_click_zoom_out`` the first-click samples get one more supervised pass
    (NFL, counted as a supervised pass in "loss"): their click on their image shrunk and tiled,
    against their target in the clicked tile only (``first_click_zoom_out``).

    Args:
        net: network with ``encode``/``decode`` and ``crop_size``.
        optimizer: its optimiser.
        batch: prompts from ``make_prompts``.
        cfg: click settings (``max_iterative``, ``supervised_rounds``).
        rng: random generator of the simulated clicks (and of ``n_iterative`` if None).
        device: where to run.
        grad_clip: max gradient norm (0 = off).
        n_iterative: force the number of no-gradient click rounds.
        freeze_bn: keep BatchNorm layers in eval mode (running statistics fixed; for
            fine-tuning with small batches).
        precision: autocast precision of the forward passes (None = float32).
        scaler: gradient scaler (fp16 only).
        loss_cfg: loss settings (None = NFL only).
        teacher: fixed reference network of the distillation term (needed when
            ``loss_cfg.distill_weight`` > 0).

    Returns:
        {"loss", "n_iterative", "clicks" (mean count at the last supervised pass),
        "supervised" (number of (image, click state) pairs that received a loss)}.
    """
    b, h, w = batch.targets.shape
    s = int(net.crop_size)
    owners = None if batch.owners is None else torch.as_tensor(batch.owners, dtype=torch.long, device=device)
    prec = precision or Precision("float32", device.type)
    n_it = int(rng.integers(cfg.max_iterative + 1)) if n_iterative is None else int(n_iterative)
    k = int(cfg.supervised_rounds)
    bw = float(loss_cfg.boundary_weight) if loss_cfg is not None else 0.0
    dw = float(loss_cfg.distill_weight) if loss_cfg is not None else 0.0
    if dw and teacher is None:
        raise ValueError("loss.distill_weight > 0 needs the teacher network (the model.init weights)")
    image = torch.from_numpy(batch.images).permute(0, 3, 1, 2).contiguous().to(device)
    if prec.channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    gt = torch.from_numpy(batch.targets[:, None].astype(np.float32)).to(device)
    rois = torch.from_numpy(batch.rois).to(device)
    gt_crop = (crop_to_roi(gt, rois, s) > 0.5).float()
    boxes = boxes_tensor(batch.boxes, device)
    clicks = [list(c) for c in batch.clicks]
    clicked = np.zeros((b, h, w), bool)
    for i, cl in enumerate(clicks):
        for c in cl:
            clicked[i, c.row, c.col] = True
    if batch.prev_masks is None:
        prev = torch.zeros((b, 1, h, w), device=device)
    else:  # edit samples start from their mask prompt (image frame), the others from zeros
        if batch.prev_masks.shape != (b, h, w):
            raise ValueError(f"prev_masks has shape {batch.prev_masks.shape}, expected {(b, h, w)} (one per target)")
        prev = torch.from_numpy(np.ascontiguousarray(batch.prev_masks, np.float32))[:, None].to(device)

    box_only = np.array([bx is not None and not cl for bx, cl in zip(batch.boxes, batch.clicks)])
    one_click = np.zeros(b, bool) if batch.first is None else np.asarray(batch.first, bool)
    # sit out the no-gradient rounds: first-click samples always, box-only ones with box_only_held
    held = one_click | (box_only & bool(cfg.box_only_held))
    start = prev

    def add_clicks(prob: Tensor, hold: np.ndarray | None = None) -> Tensor:
        """Paste a crop probability into the image frame and add one simulated click per sample
        (samples where ``hold`` is True keep their starting map and get no click)."""
        full = paste_from_roi(prob.float(), rois, (h, w), base=prev)
        if hold is not None and hold.any():
            idx = torch.from_numpy(np.flatnonzero(hold)).to(device)
            full[idx] = start[idx]
        pred = (full[:, 0] > 0.49).cpu().numpy()
        for i in range(b):
            if hold is not None and hold[i]:
                continue
            c = sample_training_click(batch.targets[i], pred[i], rng, clicked=clicked[i])
            if c is not None:
                clicks[i].append(c)
                clicked[i, c.row, c.col] = True
        return full

    _train_mode(net, freeze_bn)
    with prec.autocast():
        feats = net.encode(image)
    if n_it:
        net.eval()
        with torch.no_grad(), prec.autocast():
            fixed = _per_sample({key: v.detach() for key, v in feats.items()}, owners)
            for _ in range(n_it):
                prev = add_clicks(torch.sigmoid(net.decode(fixed, rois, clicks_tensor(clicks, device), prev, boxes).float()),
                                  hold=held)
        _train_mode(net, freeze_bn)
    # the head's passes run on detached leaves of the features; their gradients are summed
    # there and sent through the encoder once at the end
    leaves = {key: (v.detach().requires_grad_(True) if v.requires_grad else v) for key, v in feats.items()}
    if dw:  # the teacher's view of the same images, and the samples its outputs are kept on
        # a frozen encoder with frozen statistics is the teacher's (both start from model.init)
        encoder = getattr(net, "encoder", None)
        shared = freeze_bn and encoder is not None and not any(p.requires_grad for p in encoder.parameters())

        def teacher_encode(x: Tensor, own: dict[str, Tensor] | None = None) -> dict[str, Tensor]:
            if shared and own is not None:
                return own
            with torch.no_grad(), prec.autocast():
                return teacher.encode(x)

        teacher_feats = _per_sample(teacher_encode(image, feats), owners)
        edited = np.zeros(b, bool) if batch.prev_masks is None else batch.prev_masks.reshape(b, -1).any(1)
        keep = torch.from_numpy(~edited & ~box_only & ~one_click).to(device)
    optimizer.zero_grad(set_to_none=True)
    losses = []
    for r in range(k):
        with prec.autocast():
            logits = net.decode(_per_sample(leaves, owners), rois, clicks_tensor(clicks, device), prev.detach(), boxes)
        loss = normalized_focal_loss(logits.float(), gt_crop)
        if bw:
            loss = loss + bw * boundary_loss(logits.float(), gt_crop, loss_cfg.boundary_radius)
        if dw:
            with torch.no_grad(), prec.autocast():
                t_logits = teacher.decode(teacher_feats, rois, clicks_tensor(clicks, device), prev.detach(), boxes)
            loss = loss + dw * distillation_loss(logits.float(), t_logits.float(), keep)
        _backward(loss / k, scaler)
        losses.append(float(loss.detach()))
        if r + 1 < k:
            with torch.no_grad():
                prev = add_clicks(torch.sigmoid(logits.detach().float()))
    zoom = list(loss_cfg.distill_zoom_out) if dw else []
    if zoom and bool(keep.any()):
        with prec.autocast():
            small, first = zoomed_out_first_click(image, batch.clicks, rng.uniform(zoom[0], zoom[1]), rng)
            whole = torch.tensor([[0.0, 0.0, h - 1.0, w - 1.0]], device=device).expand(b, 4).contiguous()
            zero = torch.zeros((b, 1, h, w), device=device)
            with torch.no_grad():
                s_feats = {key: v.detach() for key, v in net.encode(small).items()}
                t_logits = teacher.decode(_per_sample(teacher_encode(small, s_feats), owners), whole, first, zero, None)
            z_logits = net.decode(_per_sample(s_feats, owners), whole, first, zero, None)
        _backward(dw * distillation_loss(z_logits.float(), t_logits.float(), keep), scaler)
    fz = list(loss_cfg.first_click_zoom_out) if loss_cfg is not None else []
    if fz and one_click.any():
        zl = _first_click_zoom_out_pass(net, image, gt, batch, one_click, rng.uniform(fz[0], fz[1]), rng, prec, owners)
        if zl is not None:
            _backward(zl / k, scaler)
            losses.append(float(zl.detach()))
    sent = [(feats[key], leaves[key].grad) for key in feats if leaves[key] is not feats[key] and leaves[key].grad is not None]
    if sent:
        torch.autograd.backward([t for t, _ in sent], [g for _, g in sent])
    if scaler is not None:
        scaler.unscale_(optimizer)
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return {"loss": float(np.mean(losses)), "n_iterative": float(n_it),
            "clicks": float(np.mean([len(c) for c in clicks])), "supervised": float(b * k)}


def _tile_shape(h: int, w: int, factor: float) -> tuple[int, int]:
    """Side lengths of one tile of an H x W image shrunk ``factor`` times."""
    return max(int(round(h / factor)), 1), max(int(round(w / factor)), 1)


def _shrink_and_tile(x: Tensor, factor: float, tile: tuple[int, int] | None) -> Tensor:
    """(N, C, H, W) ``x`` shrunk ``factor`` times (area) and tiled back to H x W, or, with
    ``tile`` = (row, col), placed in that tile only (zeros elsewhere)."""
    n, c, h, w = x.shape
    sh, sw = _tile_shape(h, w, factor)
    small = torch.nn.functional.interpolate(x.float(), size=(sh, sw), mode="area").to(x.dtype)
    if tile is None:
        reps_h, reps_w = -(-h // sh), -(-w // sw)
        return small.repeat(1, 1, reps_h, reps_w)[..., :h, :w].contiguous(memory_format=torch.contiguous_format)
    out = torch.zeros_like(x)
    r0, c0 = tile[0] * sh, tile[1] * sw
    hh, ww = min(sh, h - r0), min(sw, w - c0)
    out[..., r0 : r0 + hh, c0 : c0 + ww] = small[..., :hh, :ww]
    return out


def first_click_zoom_out(
    images: Tensor, targets: Tensor, clicks: list[list[Click]], factor: float, rng: np.random.Generator,
) -> tuple[Tensor, Tensor, Tensor, np.ndarray]:
    """The whole-slice first pass on a slice ``factor`` times the training image, supervised.

    The images are shrunk and tiled (``zoomed_out_first_click``: every object a few crop pixels
    wide, among identical copies of itself); each sample's target is shrunk into the one tile
    its first click moves to, so the copies in the other tiles are background: a click selects
    the object it is on, not every similar one. A click that misses its shrunk object moves to
    that object's innermost pixel; samples whose object vanishes when shrunk are not valid.

    Args:
        images: (N, C, H, W) images (one per distinct image).
        targets: (B, 1, H, W) float 0/1 targets, one per sample.
        clicks: per sample, its clicks (the first one is used).
        factor: shrink factor (> 1).
        rng: random generator of the tile.

    Returns:
        ((N, C, H, W) tiled images, (B, 1, 3) first clicks as ``clicks_tensor`` rows, (B, 1, H, W)
        float 0/1 targets, (B,) bool valid samples).
    """
    tiled, first = zoomed_out_first_click(images, clicks, factor, rng)
    h, w = images.shape[-2:]
    sh, sw = _tile_shape(h, w, factor)
    row, col = first[:, 0, 0].cpu().numpy(), first[:, 0, 1].cpu().numpy()
    valid = np.zeros(len(clicks), bool)
    out = torch.zeros_like(targets, dtype=torch.float32)
    for i, cl in enumerate(clicks):
        if not cl or row[i] < 0:
            continue
        tile = (int(row[i]) // sh, int(col[i]) // sw)
        t = (_shrink_and_tile(targets[i : i + 1].float(), factor, tile) >= 0.5).float()
        out[i] = t[0]
        mask = t[0, 0].cpu().numpy() > 0
        if not mask.any():
            continue
        valid[i] = True
        if not mask[int(row[i]), int(col[i])]:
            depth = padded_edt(mask)
            r, c = np.unravel_index(int(np.argmax(depth)), depth.shape)
            first[i, 0, 0], first[i, 0, 1] = float(r), float(c)
    return tiled, first, out, valid


def _first_click_zoom_out_pass(
    net: nn.Module, image: Tensor, gt: Tensor, batch: PromptedBatch, one_click: np.ndarray, factor: float,
    rng: np.random.Generator, prec: Precision, owners: Tensor | None,
) -> Tensor | None:
    """NFL of the head's whole-image pass on the first-click samples' zoomed-out view
    (``first_click_zoom_out``), with gradient into the encoder when it trains; None when no
    first-click object survives the shrink."""
    with torch.no_grad():
        small, first, target, valid = first_click_zoom_out(image, gt, batch.clicks, factor, rng)
    use = one_click & valid
    if not use.any():
        return None
    b, _, h, w = gt.shape
    s = int(net.crop_size)
    whole = torch.tensor([[0.0, 0.0, h - 1.0, w - 1.0]], device=gt.device).expand(b, 4).contiguous()
    if image.is_contiguous(memory_format=torch.channels_last):
        small = small.contiguous(memory_format=torch.channels_last)
    idx = torch.from_numpy(np.flatnonzero(use)).to(gt.device)
    with prec.autocast():
        logits = net.decode(_per_sample(net.encode(small), owners), whole, first.to(gt.device),
                            torch.zeros((b, 1, h, w), device=gt.device), None)
    gt_crop = (crop_to_roi(target, whole, s) > 0.5).float()
    return normalized_focal_loss(logits.float().index_select(0, idx), gt_crop.index_select(0, idx))


def zoomed_out_first_click(
    images: Tensor, clicks: list[list[Click]], factor: float, rng: np.random.Generator,
) -> tuple[Tensor, Tensor]:
    """The images shrunk ``factor`` times and tiled back to their size, and each sample's first
    click moved onto one randomly chosen tile.

    What the whole-slice pass of a first click sees on a slice several times the training
    image's size: every object a few crop pixels wide among others like it (the state a
    distillation pass at ``loss.distill_zoom_out`` keeps close to the starting network).

    Args:
        images: (N, C, H, W) images (one per distinct image).
        clicks: per sample, its clicks (the first one is used; samples without clicks get a
            padding row).
        factor: shrink factor (> 1).

    Returns:
        ((N, C, H, W) tiled images, (B, 1, 3) first clicks as ``clicks_tensor`` rows). The tile
        offset is one for the whole batch, so samples sharing an image agree.
    """
    n, c, h, w = images.shape
    sh, sw = _tile_shape(h, w, factor)
    tiled = _shrink_and_tile(images, factor, None)
    if images.is_contiguous(memory_format=torch.channels_last):
        tiled = tiled.contiguous(memory_format=torch.channels_last)
    tr, tc = int(rng.integers(max(h // sh, 1))), int(rng.integers(max(w // sw, 1)))
    first = torch.full((len(clicks), 1, 3), -1.0)
    for i, cl in enumerate(clicks):
        if cl:
            k = cl[0]
            first[i, 0] = torch.tensor([min(tr * sh + int(k.row * sh / h), h - 1),
                                        min(tc * sw + int(k.col * sw / w), w - 1), float(k.is_positive)])
    return tiled, first.to(images.device)


def _per_sample(feats: dict[str, Tensor], owners: Tensor | None) -> dict[str, Tensor]:
    """Encoder features of each sample's image (batched tensors indexed by ``owners``)."""
    if owners is None:
        return feats
    return {key: (v.index_select(0, owners) if v.ndim >= 2 else v) for key, v in feats.items()}


def _backward(loss: Tensor, scaler: torch.amp.GradScaler | None) -> None:
    (scaler.scale(loss) if scaler is not None else loss).backward()


def keep_fresh_statistics(net: nn.Module, fresh: list[str]) -> int:
    """Mark the BatchNorm layers whose entries are all in ``fresh`` (the names
    ``warm_start_network`` returns): ``freeze_bn`` leaves their running statistics training,
    since new layers have no statistics to keep. Returns the number of layers marked."""
    marked = [m for m in fresh_modules(net, fresh) if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in marked:
        m._fresh_statistics = True
    return len(marked)


def _train_mode(net: nn.Module, freeze_bn: bool) -> None:
    net.train()
    if freeze_bn:
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and not getattr(m, "_fresh_statistics", False):
                m.eval()
