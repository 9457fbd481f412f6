"""BasePredictor adapter for every learned network (FDRN, FDRN-CSFPN, RITM-like).

Per slice (``set_image``): percentile normalisation (``core.image.normalize_slice``), then the
network's ``encode`` once - FDRN runs its encoder here; the RITM-like baseline only keeps the
image. The slice itself is kept as uint8 (4x less memory than float; 48 MiB for 4096x4096x3).

Per click (``predict``): Zoom-In ROI from (prev_prob, clicks, box) (``core.zoom``), the head on
the crop (MFP modulation and IOG guidance inside ``decode``), sigmoid, paste back into the
previous probability map (pixels outside the ROI keep it). The first click of an object (no
previous probability in the ROI) costs MFP's double pass, also inside ``decode``: one pass
without modulation gives an initial map, which is modulated and fed to a second pass.
On a large slice the first click's whole-slice view shrinks small objects to a few crop pixels:
unless turned off (``refine_first``), a first click whose mask is small relative to the slice is
predicted once more, zoomed in on that mask (``_refine_first``).
``predict`` is a pure function of its inputs (the ROI is recomputed each call).
An existing mask (editing an object) can become the previous probability as a soft map like
the network's own (``mask_prompt``, ``core.mask_prompt``) instead of a 0/1 mask (the session's
``soft_masks``; off by default, measured in ``docs/editing.md``). A network may come with an
edit head (``models.edit_head``: a click head fine-tuned for edits on the same encoder): every
prediction of an object that started from a mask (``predict(..., from_mask=True)``, which the
session passes) then runs that head on the slice's one encoding; all others run the network's
own head, exactly as without it.

Prompts mean what users mean (``core.prompt_constraints``): with a box, the probability outside
the box is 0 unless a positive click outside it lies on the mask there (``box_bounds``, on by
default); optionally only the mask's connected components at a positive click are kept
(``click_components``: one click on one of two similar discs selects that disc).
A box alone (no click) is predicted once more, ``box_passes`` times, with one positive click the
predictor places at the innermost pixel of the box's mask (``_box_passes``): a box with a click
inside is the prompt the network turns into the fullest masks.

Flip test-time augmentation (``flip_tta``, off by default; the RITM protocol's flip TTA,
Sofiiuk et al. 2022): ``set_image`` encodes the slice and its left-right mirror as one batch
of two, and every head pass runs on both views (clicks, ROI, box and previous map mirrored for
the second) in one batch; the mirrored view's probability is mirrored back and the two are
averaged. Its measured cost and effect are in ``docs/results.md``.

Device: ``"auto"`` picks CUDA, then MPS, then CPU. On CPU the network runs in float32 with
channels-last and BatchNorm folded; on CUDA in bf16 (fp16 where bf16 is unsupported). All work
runs under ``torch.inference_mode()``; the network modules themselves never disable gradients.
``torch.set_num_threads`` is left to the caller.

Large slices (``windowed``, on by default): a slice whose long side exceeds the encoder's input
side (``encoder.max_side``) is not encoded whole. ``set_image`` keeps the (possibly lazy: dask,
zarr, multiscale) slice without reading it, and ``predict`` encodes windows around the object
at native resolution or the smallest downscale that holds it (``models.windowed``), cached by
position. ``predict`` then returns a dense HxW map when the slice has at most
``core.window.DENSE_MAX_PIXELS`` pixels, else a ``core.window.WindowedMap`` (and takes either as
``prev_prob``). Slices up to the encoder's input side behave exactly as without it.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.clicks import Box, Click
from ..core.image import normalize_slice, validate_prob, validate_slice
from ..core.lazy_image import check_lazy_slice, finest_level, is_large
from ..core.mask_prompt import soft_mask, zoom_width
from ..core.predictor import MASK_THRESHOLD, UntrainedModelWarning
from ..core.prompt_constraints import bound_to_box, keep_clicked_components
from ..core.simulate import padded_edt
from ..core.window import WindowedMap, as_windowed
from ..core.zoom import Roi, ZoomConfig, compute_roi
from .base import BasePredictor
from .device import inference_dtype, prepare_for_inference, resolve_device
from .roi import paste_from_roi
from .windowed import WindowedSlice

__all__ = ["LearnedPredictor", "build_learned"]

log = logging.getLogger(__name__)

#: default of ``LearnedPredictor(click_components=...)`` (off; why: ``docs/experiments.md``)
CLICK_COMPONENTS_DEFAULT = False
#: default of ``LearnedPredictor(box_passes=...)`` (how it was chosen: ``docs/results.md``, "Prompt rules")
BOX_PASSES_DEFAULT = 2


class LearnedPredictor(BasePredictor):
    """Predictor protocol around a network with ``encode``/``decode`` (see ``models/fdrn.py``).

    Args:
        net: the network (any device/dtype; a prepared copy is made).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"`` or a ``torch.device``.
        trained: False for random weights: the first ``predict`` then warns.
        weights: the weights file the network came from (informative).
        card: its model card (informative).
        zoom: Zoom-In parameters.
        half: bf16/fp16 on CUDA.
        refine_first: first click on an empty map: a second head pass zoomed in on the first
            pass's mask (see ``_refine_first``).
        refine_area: refine only when the zoomed ROI is at most this fraction of the first ROI.
        refine_min_px: a first mask smaller than this (in crop pixels) is not fed to the zoomed
            pass as previous map (it starts from an empty map).
        flip_tta: flip test-time augmentation (see the module docstring); can be switched later
            through the ``flip_tta`` attribute (which forgets the current slice's features).
        box_bounds: a box prompt bounds the object (``core.prompt_constraints.bound_to_box``).
        click_components: keep only the mask's connected components at (or within 2 px of) a
            positive click (``core.prompt_constraints.keep_clicked_components``).
        box_passes: a box alone (no click, empty previous map): after the box's own pass,
            this many more passes with one positive click placed by the predictor at the
            innermost pixel of the box's mask (its argmax when the mask is empty), each fed the
            map before it (``_box_passes``); the caller's clicks are not changed. 0 = the box's
            own pass only.
        windowed: slices larger than the encoder's input are segmented in windows around the
            object (see the module docstring); False encodes every slice whole (downscaled).
        max_windows: encoded windows of a large slice kept in memory (LRU).
        max_window_scale: largest downscale of a window (a window covers at most
            ``max_window_scale * encoder.max_side`` native pixels a side; objects larger than
            that are segmented at that scale, clipped to the window).
        edit_net: the same network with its edit head (``models.edit_head.load_edit_net``;
            its encoder must be ``net``'s), used for ``predict(..., from_mask=True)``; None:
            edits use ``net``'s own head.

    Attributes:
        trained: whether the weights were trained (False: random weights).
        family: network family (``net.config.family``).
        device: the torch device used.
        flip_tta: whether flip test-time augmentation is on.
        edit_head: whether edits (``from_mask``) get a head of their own.
    """

    supports_box = True
    #: ``set_image`` takes lazy slices (dask, zarr, multiscale) and reads only windows of them
    accepts_lazy = True

    def __init__(
        self,
        net: nn.Module,
        device: str | torch.device = "auto",
        trained: bool = True,
        weights: Path | None = None,
        card: dict[str, Any] | None = None,
        zoom: ZoomConfig = ZoomConfig(),
        half: bool = True,
        refine_first: bool = True,
        refine_area: float = 0.5,
        refine_min_px: float = 250.0,
        flip_tta: bool = False,
        box_bounds: bool = True,
        click_components: bool = CLICK_COMPONENTS_DEFAULT,
        box_passes: int = BOX_PASSES_DEFAULT,
        windowed: bool = True,
        max_windows: int = 6,
        max_window_scale: int = 8,
        edit_net: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.device = resolve_device(device)
        self.dtype = inference_dtype(self.device, half)
        self.config = net.config
        self.family = getattr(net.config, "family", type(net).__name__)
        self.crop_size = int(net.crop_size)
        self.net = prepare_for_inference(net, self.device, half)
        self.edit_net = None if edit_net is None else prepare_for_inference(edit_net, self.device, half)
        if self.edit_net is not None and hasattr(self.edit_net, "encoder"):
            self.edit_net.encoder = self.net.encoder  # never run: the slice is encoded by ``net``
        #: the network whose head the current ``predict`` call runs (``net`` or ``edit_net``)
        self._decoder = self.net
        self.trained = bool(trained)
        self.weights = weights
        self.card = card
        self.zoom = zoom
        self.refine_first = bool(refine_first)
        self.refine_area = float(refine_area)
        self.refine_min_px = float(refine_min_px)
        self._flip_tta = bool(flip_tta)
        self.box_bounds = bool(box_bounds)
        self.click_components = bool(click_components)
        if int(box_passes) < 0:
            raise ValueError(f"box_passes must be >= 0, got {box_passes}")
        self.box_passes = int(box_passes)
        self.windowed = bool(windowed)
        self.max_windows = int(max_windows)
        self.max_window_scale = int(max_window_scale)
        encoder = getattr(net.config, "encoder", None)
        #: window side of large slices (the encoder's input side)
        self.window_side = int(getattr(encoder, "max_side", 1024))
        self._warned = False

    @property
    def flip_tta(self) -> bool:
        """Flip test-time augmentation on/off; changing it forgets the slice (call ``set_image``)."""
        return self._flip_tta

    @flip_tta.setter
    def flip_tta(self, on: bool) -> None:
        if bool(on) != self._flip_tta:
            self._flip_tta = bool(on)
            self.reset_image()

    @property
    def edit_head(self) -> bool:
        """Whether edits (``predict(..., from_mask=True)``) run a head trained for them."""
        return self.edit_net is not None

    @property
    def views(self) -> int:
        """Images per head pass: 2 with flip TTA (the slice and its mirror), else 1."""
        return 2 if self._flip_tta else 1

    # -- per slice -----------------------------------------------------------------------
    def _encode(self, image: np.ndarray) -> dict[str, torch.Tensor]:
        arr = normalize_slice(image)  # HxWx3 float32 in [0, 1]
        t = torch.from_numpy(arr).permute(2, 0, 1)[None]
        if self._flip_tta:  # the slice and its left-right mirror, encoded as one batch
            t = torch.cat([t, t.flip(-1)])
        with torch.inference_mode():
            feats = dict(self.net.encode(t.to(self.device, self.dtype)))
        # keep the slice as uint8 for the head's crops (bounded memory for big slices); the
        # float copy is scaled in place (it is not needed any more)
        np.multiply(arr, 255.0, out=arr)
        np.rint(arr, out=arr)
        u8 = torch.from_numpy(arr.astype(np.uint8)).permute(2, 0, 1)[None]
        u8 = (torch.cat([u8, u8.flip(-1)]) if self._flip_tta else u8).contiguous()
        feats["image"] = u8.to(self.device)
        return feats

    def set_features(self, features: Any) -> None:
        """Restore features from ``get_features`` (e.g. from a disk cache: moved to our device)."""
        inner = features.get("features") if isinstance(features, dict) else None
        low = inner.get("low") if isinstance(inner, dict) else None
        if isinstance(low, torch.Tensor) and low.shape[0] != self.views:
            raise ValueError(
                f"{self.name}: these features hold {low.shape[0]} view(s) of the slice but the predictor "
                f"uses {self.views} (flip_tta={self._flip_tta}); encode the slice again (set_image)"
            )
        super().set_features(features)
        if isinstance(self._features, WindowedSlice):
            return
        self._features = {
            k: (v.to(self.device, self.dtype) if v.is_floating_point() and k != "fov" else v.to(self.device))
            for k, v in self._features.items()
        }

    # -- large slices (windowed) ----------------------------------------------------------
    def set_image(self, image: Any) -> None:
        """Take one slice. Slices up to the encoder's input side (or all, with ``windowed``
        off) are encoded now, as ``BasePredictor.set_image``. A larger one, numpy or lazy
        (dask, zarr, a multiscale list: its finest level), is only checked by shape and dtype
        and kept; its windows are read and encoded by ``predict`` as the prompts need them."""
        img = finest_level(image)
        shape = tuple(getattr(img, "shape", ()))
        if len(shape) < 2 or not self.windows_slice(shape):
            if not isinstance(img, np.ndarray) and len(shape) >= 2 and is_large(shape):
                raise ValueError(
                    f"{self.name}: a {shape[0]}x{shape[1]} slice is too large to encode whole; "
                    f"keep windowed=True to segment it in windows"
                )
            # anything else (numpy, small lazy arrays, bad input) as BasePredictor takes it
            super().set_image(img if isinstance(img, np.ndarray) or not shape else np.asarray(img))
            return
        # numpy is checked whole (every message of validate_slice); lazy data by shape and dtype
        src = validate_slice(img) if isinstance(img, np.ndarray) else check_lazy_slice(img)
        self._features = WindowedSlice(
            src, self.window_side, self._encode_window, self._predict_window, zoom=self.zoom,
            threshold=MASK_THRESHOLD, max_windows=self.max_windows, max_scale=self.max_window_scale,
        )
        self._shape = tuple(shape[:2])
        self.encode_count += 1

    def windows_slice(self, shape: Any) -> bool:
        """Whether a slice of ``shape`` (H, W, ...) is segmented in windows (not encoded whole)."""
        return self.windowed and max(int(shape[0]), int(shape[1])) > self.window_side

    @property
    def windowed_slice(self) -> WindowedSlice | None:
        """The current slice's window state when it is segmented in windows, else None."""
        return self._features if isinstance(self._features, WindowedSlice) else None

    def _encode_window(self, image: np.ndarray) -> dict[str, torch.Tensor]:
        """Encode one window (normalised on its own pixels; a constant window -> zeros)."""
        arr = np.asarray(image)
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if float(arr.max()) == float(arr.min()):
            arr = np.zeros(arr.shape[:2], np.uint8)
            arr[0, 0] = 1  # a single pixel: normalises to a black window, no error
        return self._encode(arr)

    def _predict_window(
        self, features: dict[str, torch.Tensor], shape: tuple[int, int], clicks: tuple[Click, ...],
        prev_prob: np.ndarray | None, box: Box | None,
    ) -> np.ndarray:
        """``_predict`` on one window's features, as on a slice of ``shape`` = the window's."""
        return self._run(_Call(features, (int(shape[0]), int(shape[1])), self._decoder), clicks, prev_prob, box)

    def predict(
        self, clicks: Any, prev_prob: np.ndarray | WindowedMap | None = None, box: Box | None = None,
        *, from_mask: bool = False,
    ) -> np.ndarray | WindowedMap:
        """``BasePredictor.predict``; on a windowed slice (see the class docstring) the result is
        a dense HxW float32 map for slices of at most ``DENSE_MAX_PIXELS`` pixels, else a
        ``WindowedMap``; ``prev_prob`` may be either (HxW float in [0, 1]). ``from_mask``: the
        object started from an existing mask; with an edit head (``edit_head``) the call runs it."""
        self._decoder = self.edit_net if (from_mask and self.edit_net is not None) else self.net
        try:
            return self._predict_any(clicks, prev_prob, box)
        finally:
            self._decoder = self.net

    def _predict_any(
        self, clicks: Any, prev_prob: np.ndarray | WindowedMap | None, box: Box | None,
    ) -> np.ndarray | WindowedMap:
        win = self.windowed_slice
        if win is None:
            return super().predict(clicks, prev_prob=prev_prob, box=box)
        from ..core.clicks import check_clicks_inside

        shape = self.image_shape
        clicks = tuple(clicks)
        check_clicks_inside(clicks, shape)
        if isinstance(prev_prob, WindowedMap):
            prev = as_windowed(prev_prob, shape)
            if prev is not None and prev.bounds is not None and (prev.data.min() < 0 or prev.data.max() > 1):
                raise ValueError("prev_prob must lie in [0, 1]")
        else:
            dense = validate_prob(prev_prob, shape)
            prev = None if dense is None else WindowedMap.from_dense(dense)
        if box is not None:
            if not isinstance(box, Box):
                raise TypeError(f"box must be a Box, got {type(box).__name__}")
            box = box.clip(shape)
        if not clicks and box is None:
            out = prev if prev is not None else WindowedMap.empty(shape)
        else:
            out = win.predict(clicks, prev, box)
            out = WindowedMap(out.shape, out.offset, np.clip(np.nan_to_num(out.data, nan=0.0), 0.0, 1.0), 0)
        return out if is_large(shape) else out.to_dense()

    # -- per click -----------------------------------------------------------------------
    def mask_prompt(self, mask: np.ndarray, threshold: float = MASK_THRESHOLD) -> np.ndarray:
        """An existing HxW bool mask as the previous probability this network understands: the
        soft map of ``core.mask_prompt.soft_mask``, falling off over ``CROP_WIDTH`` pixels of
        the crop the network sees for the mask (``zoom_width``); ``> threshold`` is exactly
        ``mask``. ``InteractiveSession.start_from_mask`` calls it."""
        m = np.asarray(mask, bool)
        return soft_mask(m, threshold, zoom_width(m, self.zoom, self.crop_size))

    def roi_for(
        self, clicks: tuple[Click, ...], prev_prob: np.ndarray | None, box: Box | None,
        shape: tuple[int, int] | None = None,
    ) -> Roi:
        """The Zoom-In ROI ``predict`` uses for these inputs on an image of ``shape`` (H, W; by
        default the slice's, else one window's)."""
        return compute_roi(self.image_shape if shape is None else shape, clicks, prev_prob, box, self.zoom)

    def _predict(
        self,
        features: dict[str, torch.Tensor],
        clicks: tuple[Click, ...],
        prev_prob: np.ndarray | None,
        box: Box | None,
    ) -> np.ndarray:
        return self._run(_Call(features, self.image_shape, self._decoder), clicks, prev_prob, box)

    def _run(self, call: _Call, clicks: tuple[Click, ...], prev_prob: np.ndarray | None, box: Box | None) -> np.ndarray:
        """One prediction on ``call``'s features (the slice's, or one window's, of ``call.shape``)."""
        if not self.trained and not self._warned:
            warnings.warn(
                f"{self.name}: this network has random (untrained) weights; its predictions are "
                f"meaningless. Load trained weights (load_model / weights=PATH).",
                UntrainedModelWarning,
                stacklevel=4,
            )
            self._warned = True
        h, w = call.shape
        roi = self.roi_for(clicks, prev_prob, box, shape=call.shape)
        adopt = getattr(call.decoder, "adopt_features", None) if call.decoder is not self.net else None
        if adopt is not None:  # the edit head's own view of the one encoding
            call = dataclasses.replace(call, features=adopt(call.features))
        dev = self.device
        with torch.inference_mode():
            rois = torch.tensor([list(roi)], dtype=torch.float32, device=dev)
            if clicks:
                ct = torch.tensor([[[c.row, c.col, float(c.is_positive)] for c in clicks]], dtype=torch.float32, device=dev)
            else:
                ct = torch.zeros((1, 0, 3), device=dev)
            bt = None if box is None else torch.tensor([list(box.as_tuple())], dtype=torch.float32, device=dev)
            prev_np = np.zeros((h, w), np.float32) if prev_prob is None else prev_prob
            prev = torch.from_numpy(np.ascontiguousarray(prev_np, dtype=np.float32))[None, None].to(dev)
            # MFP (incl. the first-click double pass) happens inside decode
            prob = self._decode_views(call, rois, ct, prev, bt, base=prev)
            if self.refine_first and box is None and len(clicks) <= self.zoom.skip_clicks and not prev_np.any():
                prob = self._refine_first(call, clicks, ct, prob, roi)
        if self.box_bounds and box is not None:
            prob = bound_to_box(prob, box, clicks, MASK_THRESHOLD)
        if self.click_components:
            prob = keep_clicked_components(prob, clicks, MASK_THRESHOLD)
        if self.box_passes and box is not None and not clicks and not prev_np.any():
            prob = self._box_passes(call, prob, box)
        return prob

    def _box_passes(self, call: _Call, prob: np.ndarray, box: Box) -> np.ndarray:
        """A box alone: ``box_passes`` more predictions with one positive click at the innermost
        pixel of the box's mask (its most probable pixel when the mask is empty), each from the
        map before it.

        A box-only map tends to be an under-confident core of the object; the network turns a box
        with one click inside into a much fuller mask (IOG's prompt: a box and an inside click).
        The click is the predictor's own, placed where the box's mask is deepest, so it lies
        inside the object wherever the mask does. ``prob`` is the box's HxW map, already bounded.
        """
        mask = prob > MASK_THRESHOLD
        if mask.any():
            depth = padded_edt(mask)
            r, c = np.unravel_index(int(np.argmax(depth)), depth.shape)
        else:
            r, c = np.unravel_index(int(np.argmax(prob)), prob.shape)
        inside = (Click(int(r), int(c), True),)
        for _ in range(self.box_passes):
            prob = self._run(call, inside, prob, box)
        return prob

    def _decode_views(
        self, call: _Call, rois: torch.Tensor, ct: torch.Tensor, prev: torch.Tensor,
        bt: torch.Tensor | None, base: torch.Tensor,
    ) -> np.ndarray:
        """One head pass on every view; the slice's HxW float32 probability (views averaged).

        Args are those of view 1 (the slice itself): ``rois`` (1, 4), ``ct`` (1, N, 3) clicks
        (row, col, is_positive), ``prev`` (1, 1, H, W) previous map fed to the head, ``bt``
        (1, 4) box or None, ``base`` (1, 1, H, W) map kept outside the ROI. With flip TTA the
        mirrored view's inputs are derived here (col -> W - 1 - col) and batched after them.
        """
        w = call.shape[1]
        if self._flip_tta:
            rois = torch.cat([rois, _mirror_boxes(rois, w)])
            mct = ct.clone()
            mct[..., 1] = (w - 1) - mct[..., 1]
            ct = torch.cat([ct, mct])
            bt = None if bt is None else torch.cat([bt, _mirror_boxes(bt, w)])
            prev = torch.cat([prev, prev.flip(-1)])
            base = torch.cat([base, base.flip(-1)])
        logits = call.decoder.decode(call.features, rois, ct, prev, bt)
        prob = paste_from_roi(torch.sigmoid(logits.float()), rois, call.shape, base=base)
        if self._flip_tta:
            prob = (prob[:1] + prob[1:].flip(-1)) * 0.5
        return prob[0, 0].cpu().numpy()

    def _refine_first(
        self, call: _Call, clicks: tuple[Click, ...], ct: torch.Tensor, prob: np.ndarray, roi: Roi,
    ) -> np.ndarray:
        """First click: zoom in on what the whole-slice pass found and predict again there.

        The first click sees the whole slice (RITM); on a large slice a small object is then a
        few pixels of the crop. The second pass takes the Zoom-In ROI of that first mask (its
        bounding box grown by the zoom rule, at least ``zoom.min_crop``) and predicts the same click again
        at that finer scale, from an empty previous map. It is skipped when that ROI is nearly
        the whole ROI already (large objects: nothing to gain). The first mask is fed back as
        the previous map when it covers at least ``refine_min_px`` crop pixels; a smaller one
        (a small object seen from afar) is no guide, and the zoomed pass starts empty. How the
        rule was chosen: ``docs/experiments.md``.
        """
        refined = compute_roi(call.shape, clicks, prob, None, dataclasses.replace(self.zoom, skip_clicks=-1))
        if refined.shape[0] * refined.shape[1] > self.refine_area * roi.shape[0] * roi.shape[1]:
            return prob
        dev = self.device
        rois = torch.tensor([list(refined)], dtype=torch.float32, device=dev)
        first = torch.from_numpy(prob)[None, None].to(dev)
        # a first mask of a few crop pixels is no guide (small object seen from afar): start the
        # zoomed pass from an empty map then; a substantial one is fed back as the previous map
        crop_px = float((prob > self.zoom.threshold).sum()) * self.crop_size**2 / (roi.shape[0] * roi.shape[1])
        prev = first if crop_px >= self.refine_min_px else torch.zeros_like(first)
        return self._decode_views(call, rois, ct, prev, None, base=first)


@dataclasses.dataclass(frozen=True)
class _Call:
    """What one prediction runs on: the encoder's ``features`` of an image of ``shape`` (H, W)
    (the slice, or one window of a large slice) and the network whose head decodes them."""

    features: dict[str, torch.Tensor]
    shape: tuple[int, int]
    decoder: nn.Module


def _mirror_boxes(boxes: torch.Tensor, width: int) -> torch.Tensor:
    """(B, 4) inclusive (row0, col0, row1, col1) boxes mirrored left-right in a slice ``width`` wide."""
    r0, c0, r1, c1 = boxes.unbind(-1)
    return torch.stack([r0, (width - 1) - c1, r1, (width - 1) - c0], -1)


def build_learned(info: Any, device: str = "auto", weights: Path | None = None, **overrides: Any) -> LearnedPredictor:
    """Registry builder of every learned model: the network family ``info.family or info.name``,
    trained from ``weights``, or random when ``weights`` is None (``overrides`` are config
    fields of the random network, e.g. ``crop_size``)."""
    from .edit_head import load_edit_net
    from .networks import build_network
    from .weights_io import load_network, read_card

    family = info.family or info.name
    if weights is None:
        return LearnedPredictor(build_network(family, **overrides), device=device, trained=False)
    if overrides:
        raise ValueError(f"{info.name}: config overrides {sorted(overrides)} need random weights (weights=None)")
    net = load_network(weights, device="cpu", family=family)
    try:
        edit_net = load_edit_net(net, weights)
    except FileNotFoundError as err:  # e.g. weights and card copied without the head: edits use the own head
        log.warning("%s; %s loads without it (edits use its own click head)", err, info.name)
        edit_net = None
    return LearnedPredictor(net, device=device, trained=True, weights=Path(weights), card=read_card(weights),
                            edit_net=edit_net)
