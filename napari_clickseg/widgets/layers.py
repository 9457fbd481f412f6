"""Adapters between napari layers and the core: image geometry, slices, and the prompt layers.

``ImageGeometry`` says which axes of an Image layer are spatial (``(*lead, H, W)``; lead is empty
for 2D and ``(z,)`` for stacks) and which are channels (RGB last axis, or a chosen leading
channel axis), and cuts the 2D slice the viewer shows. ``PromptLayers`` owns the Points
(positive/negative), Shapes (box) and preview Labels layers, all with the image's ndim, scale
and translate, so data coordinates of every layer agree and points stay on their slice. On a
large slice the preview holds the current object's rectangle only (``large_labels.WindowPreview``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..core.clicks import Box, Click
from ..core.lazy_image import finest_level, is_large, lazy_slice
from ..core.window import WindowedMap
from .large_labels import WindowPreview

__all__ = ["ImageGeometry", "PromptLayers", "POS_COLOR", "NEG_COLOR"]

POS_COLOR = "lime"
NEG_COLOR = "red"
ORDER = "order"  # Points feature holding the click's global order (clicks sorted by it)


@dataclass
class ImageGeometry:
    """Spatial/channel layout of one Image layer.

    Attributes:
        layer: the napari Image layer.
        channel_axis: None, or 0 when the first data axis holds channels (non-RGB layers).
        channels: channel indices to use (at most 3); None = all (at most 3) channels.
    """

    layer: Any
    channel_axis: int | None = None
    channels: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        data = self.data
        if self.channel_axis not in (None, 0):
            raise ValueError("the channel axis must be the first axis of the layer (or none)")
        if self.channel_axis == 0 and self.layer.rgb:
            raise ValueError(f"layer {self.layer.name!r} is RGB; it has no extra channel axis")
        shape = self.spatial_shape
        if len(shape) < 2:
            hint = (" once its first axis is taken for channels; set the channel axis to 'none / RGB'"
                    if self.channel_axis == 0 else "")
            raise ValueError(f"layer {self.layer.name!r} (shape {data.shape}) has fewer than 2 image axes "
                             f"(rows, columns){hint}")
        if len(shape) > 3:
            raise ValueError(
                f"layer {self.layer.name!r} has {len(shape)} spatial dimensions (shape {data.shape}); "
                f"only 2D images and 3D stacks are supported - choose a channel axis or split the "
                f"layer (e.g. one time point) first"
            )
        if self.channel_axis == 0:
            n = data.shape[0]
            chans = self.channels if self.channels is not None else tuple(range(min(n, 3)))
            if not chans or len(chans) > 3 or any(not 0 <= c < n for c in chans):
                bad = [c for c in chans if not 0 <= c < n]
                what = (f"channel {', '.join(map(str, bad))} does not exist" if bad
                        else f"{len(chans)} channels chosen" if chans else "no channel chosen")
                raise ValueError(f"{what}: layer {self.layer.name!r} has channels 0-{n - 1}; choose 1 to 3 of them")
            self.channels = tuple(int(c) for c in chans)

    @property
    def data(self) -> Any:
        """The layer's data; of a multiscale layer its full-resolution level (never read whole)."""
        return finest_level(self.layer.data) if getattr(self.layer, "multiscale", False) else self.layer.data

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """Shape of the label array matching this image: ``(*lead, H, W)``."""
        shape = tuple(self.data.shape)
        if self.layer.rgb:
            shape = shape[:-1]
        if self.channel_axis == 0:
            shape = shape[1:]
        return shape

    @property
    def n_lead(self) -> int:
        return len(self.spatial_shape) - 2

    @property
    def n_slices(self) -> int:
        return self.spatial_shape[0] if self.n_lead else 1

    def lead_axes(self) -> list[int]:
        """Data axes of the layer holding the leading spatial coordinates."""
        off = 1 if self.channel_axis == 0 else 0
        return list(range(off, off + self.n_lead))

    def data_coords(self, world: Sequence[float]) -> np.ndarray:
        """World position -> layer data coordinates (length ``layer.ndim``)."""
        return np.asarray(self.layer.world_to_data(np.asarray(world)), dtype=float)

    def spatial_of(self, coords: Sequence[float]) -> tuple[tuple[int, ...], float, float]:
        """Layer data coordinates -> (lead index, row, col)."""
        c = np.asarray(coords, dtype=float)
        lead = tuple(int(round(c[a])) for a in self.lead_axes())
        return lead, float(c[-2]), float(c[-1])

    def point_for(self, lead: tuple[int, ...], row: float, col: float, like: Sequence[float] | None = None) -> np.ndarray:
        """(lead, row, col) -> layer data coordinates (channel coordinate from ``like`` or 0)."""
        out = np.zeros(self.layer.ndim, float) if like is None else np.array(like, float)
        for a, v in zip(self.lead_axes(), lead):
            out[a] = v
        out[-2], out[-1] = row, col
        return out

    def inside(self, lead: tuple[int, ...], row: float, col: float) -> bool:
        shape = self.spatial_shape
        idx = (*lead, int(round(row)), int(round(col)))
        return all(0 <= v < n for v, n in zip(idx, shape))

    def current_index(self, viewer: Any) -> tuple[int, ...]:
        """Leading spatial index of the slice the viewer shows (clipped to the layer)."""
        coords = self.data_coords(viewer.dims.point)
        lead, _, _ = self.spatial_of(coords)
        return tuple(int(np.clip(v, 0, n - 1)) for v, n in zip(lead, self.spatial_shape))

    def get_slice(self, lead: tuple[int, ...]) -> np.ndarray:
        """The 2D slice ``HxW`` (gray) or ``HxWxC`` (RGB / chosen channels, channels last).

        A large slice of lazy data (dask, zarr, multiscale; ``core.lazy_image.is_large``) stays
        lazy (a ``core.lazy_image.SliceView``): the session reads only the windows it needs.
        """
        data = self.data
        if not isinstance(data, np.ndarray) and is_large(self.spatial_shape[-2:]):
            return lazy_slice(data, lead, self.channels if self.channel_axis == 0 else None)
        if self.channel_axis == 0:
            arr = np.stack([np.asarray(data[(c, *lead)]) for c in self.channels], axis=-1)
            return arr[..., 0] if arr.shape[-1] == 1 else arr
        return np.asarray(data[tuple(lead)])


class PromptLayers:
    """The annotator's own layers: positive/negative Points, box Shapes, preview Labels."""

    def __init__(self, viewer: Any, geometry: ImageGeometry, prefix: str = "clickseg") -> None:
        self.viewer = viewer
        self.geometry = geometry
        img = geometry.layer
        ndim = img.ndim
        common = dict(scale=img.scale, translate=img.translate, ndim=ndim)
        self.positive = viewer.add_points(
            name=f"{prefix} positive", face_color=POS_COLOR, border_color="white", size=8,
            features={ORDER: np.zeros(0, int)}, **common,
        )
        self.negative = viewer.add_points(
            name=f"{prefix} negative", face_color=NEG_COLOR, border_color="white", size=8,
            features={ORDER: np.zeros(0, int)}, **common,
        )
        self.box = viewer.add_shapes(
            name=f"{prefix} box", edge_color="yellow", face_color="transparent", edge_width=2, **common
        )
        lab_scale = img.scale[-len(geometry.spatial_shape):]
        lab_translate = img.translate[-len(geometry.spatial_shape):]
        #: on a large slice (windowed maps) the preview holds the object's rectangle only
        self.window_preview = WindowPreview(viewer, geometry, f"{prefix} preview") if is_large(geometry.spatial_shape[-2:]) else None
        self.preview = self.window_preview.layer if self.window_preview is not None else viewer.add_labels(
            np.zeros(geometry.spatial_shape, np.uint8), name=f"{prefix} preview", opacity=0.5,
            scale=lab_scale, translate=lab_translate,
        )
        self._order = 0
        self._shown: tuple[tuple[int, ...], tuple[slice, slice]] | None = None
        # order numbers of points added by any tool (napari's own, paste, scripts) are ours:
        # the new points (the tail beyond the last known count) get the next numbers
        self._syncing = False
        self._counts = {id(self.positive): 0, id(self.negative): 0}
        for layer in (self.positive, self.negative):
            layer.events.data.connect(lambda event, layer=layer: self._on_points_data(layer, event))

    @property
    def layers(self) -> list[Any]:
        return [self.positive, self.negative, self.box, self.preview]

    def remove(self) -> None:
        for layer in self.layers:
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)

    # -- clicks ---------------------------------------------------------------------------
    def next_order(self) -> int:
        """A fresh click order number, larger than every number given so far."""
        self._order += 1
        return self._order

    def _orders(self, layer: Any) -> np.ndarray:
        n = len(layer.data)
        orders = np.array(layer.features[ORDER], dtype=np.int64) if n else np.zeros(0, np.int64)
        return orders[:n] if len(orders) >= n else np.concatenate([orders, np.zeros(n - len(orders), np.int64)])

    def _on_points_data(self, layer: Any, event: Any) -> None:
        """Number points added to ``layer`` by any tool after every existing click.

        napari gives a new point the layer's ``feature_defaults``, which napari itself sets to
        the order of whatever point was selected last: stale or duplicate numbers. Connected
        before the annotator's own handler, so the annotator reads the corrected order.
        """
        if self._syncing or str(getattr(event, "action", "changed")) not in ("added", "changed", "removed"):
            return
        before, n = self._counts[id(layer)], len(layer.data)
        self._counts[id(layer)] = n
        if n <= before:
            return
        orders = self._orders(layer)
        other = self.negative if layer is self.positive else self.positive
        self._order = max([self._order, *orders[:before].tolist(), *self._orders(other).tolist()])
        for k in range(before, n):
            orders[k] = self.next_order()
        self._syncing = True
        try:
            layer.features = {ORDER: orders}
        finally:
            self._syncing = False

    def add_click(self, coords: np.ndarray, is_positive: bool) -> None:
        """Add one click point (data coordinates); fires the layer's data event.

        The point is numbered after every existing click (``_on_points_data``).
        """
        layer = self.positive if is_positive else self.negative
        layer.add(np.asarray(coords, float)[None])

    def clicks_on(self, lead: tuple[int, ...]) -> list[Click]:
        """Clicks whose point lies on slice ``lead``, in click order."""
        found: list[tuple[int, Click]] = []
        for layer, pos in ((self.positive, True), (self.negative, False)):
            orders = self._orders(layer)
            for k, p in enumerate(layer.data):
                plead, r, c = self.geometry.spatial_of(p)
                if plead == lead:
                    found.append((int(orders[k]), Click(r, c, pos)))
        found.sort(key=lambda t: t[0])
        self._order = max([self._order] + [o for o, _ in found])
        return [c for _, c in found]

    def set_clicks_on(self, lead: tuple[int, ...], clicks: Sequence[Click]) -> None:
        """Replace the points on slice ``lead`` by ``clicks`` (other slices untouched).

        ``clicks`` are oldest first; their order numbers follow that order across both
        polarities, so ``clicks_on(lead)`` gives ``clicks`` back.
        """
        numbered = [(self.next_order(), c) for c in clicks]
        self._syncing = True
        try:
            for layer, pos in ((self.positive, True), (self.negative, False)):
                keep = [k for k, p in enumerate(layer.data) if self.geometry.spatial_of(p)[0] != lead]
                orders = self._orders(layer)[keep].tolist()
                pts = [layer.data[k] for k in keep]
                for order, c in numbered:
                    if c.is_positive == pos:
                        pts.append(self.geometry.point_for(lead, c.row, c.col))
                        orders.append(order)
                layer.data = np.asarray(pts, float).reshape(-1, layer.ndim)
                layer.features = {ORDER: np.asarray(orders, np.int64)}
                layer.selected_data = set()
                self._counts[id(layer)] = len(layer.data)
        finally:
            self._syncing = False

    def slices_with_prompts(self) -> list[tuple[int, ...]]:
        """Leading indices of every slice holding a click or a box, sorted."""
        leads = {self.geometry.spatial_of(p)[0] for layer in (self.positive, self.negative) for p in layer.data}
        leads |= {self.geometry.spatial_of(v[0])[0] for v in self.box.data}
        return sorted(leads)

    # -- box ------------------------------------------------------------------------------
    def has_prompts(self, lead: tuple[int, ...]) -> bool:
        """Whether slice ``lead`` holds a click or a box."""
        return bool(self.clicks_on(lead)) or self.box_on(lead) is not None

    def box_on(self, lead: tuple[int, ...]) -> Box | None:
        """The newest rectangle drawn on slice ``lead`` as a Box (None if none)."""
        for verts in reversed(self.box.data):
            vl, _, _ = self.geometry.spatial_of(verts[0])
            if vl == lead:
                rows, cols = verts[:, -2], verts[:, -1]
                return Box(rows.min(), cols.min(), rows.max(), cols.max())
        return None

    def set_box_on(self, lead: tuple[int, ...], box: Box | None) -> None:
        """Make ``box`` (or no box) the only rectangle on slice ``lead``; fires the layer's events."""
        self.clear_box_on(lead)
        if box is not None:
            r0, c0, r1, c1 = box.as_tuple()
            # four corners: napari takes two only for 2D layers
            corners = [self.geometry.point_for(lead, r, c) for r, c in ((r0, c0), (r0, c1), (r1, c1), (r1, c0))]
            self.box.add_rectangles(np.asarray(corners, float))

    def clear_box_on(self, lead: tuple[int, ...], keep_newest: bool = False) -> None:
        idx = [k for k, v in enumerate(self.box.data) if self.geometry.spatial_of(v[0])[0] == lead]
        if keep_newest and idx:
            idx = idx[:-1]
        if idx:
            self.box.selected_data = set(idx)
            self.box.remove_selected()

    # -- preview --------------------------------------------------------------------------
    def show_mask(self, lead: tuple[int, ...], mask: np.ndarray | None) -> None:
        """Show ``mask`` (HxW bool) on slice ``lead``; writes only the changed bounding box."""
        if self.window_preview is not None:
            self.window_preview.show(lead, mask)
            return
        data = self.preview.data
        region: list[tuple[tuple[int, ...], tuple[slice, slice]]] = []
        if self._shown is not None:
            region.append(self._shown)
        windowed = isinstance(mask, WindowedMap)  # a large slice: the object's rectangle only
        box = (mask.bbox() if windowed else None) if mask is not None else None
        if windowed and box is not None:
            region.append((lead, (slice(box[0], box[2] + 1), slice(box[1], box[3] + 1))))
        elif not windowed and mask is not None and mask.any():
            rows, cols = np.nonzero(mask)
            region.append((lead, (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))))
        for rlead, (rs, cs) in region:
            if mask is not None and rlead == lead and windowed:
                new = mask.read((rs.start, cs.start, rs.stop - 1, cs.stop - 1))
            else:
                new = mask[rs, cs] if (mask is not None and rlead == lead) else False
            data[(*rlead, rs, cs)] = np.where(new, 1, 0)
        self._shown = region[-1] if (mask is not None and mask.any()) else None
        if region:
            self.preview.refresh()
