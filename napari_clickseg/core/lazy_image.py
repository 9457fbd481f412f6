"""Slices that are not in memory: dask and zarr arrays, multiscale pyramids, tiled TIFF/OME-Zarr.

A *lazy slice* is any array-like with ``shape``, ``dtype`` and numpy-style slicing that returns
data (numpy, ``dask.array``, ``zarr.Array``, tifffile's zarr store opened with zarr). Nothing
here calls ``np.asarray`` on a whole lazy slice: ``check_lazy_slice`` reads the shape and dtype
only, ``read_window`` reads one rectangle (in row strips when it is downscaled, so memory stays
bounded by the window), and ``finest_level`` picks the full-resolution level of a pyramid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .image import MIN_SIDE
from .window import DENSE_MAX_PIXELS, Window

__all__ = [
    "is_in_memory",
    "finest_level",
    "SliceView",
    "lazy_slice",
    "slice_shape",
    "check_lazy_slice",
    "is_large",
    "read_window",
    "lazy_key",
    "slice_key",
    "open_lazy",
    "open_pyramid",
    "opens_lazily",
]

#: rows read at once when a window is downscaled (bounds the memory of ``read_window``)
_STRIP_ROWS = 1024


def is_in_memory(image: Any) -> bool:
    """Whether ``image`` is a numpy array (everything else is treated as lazy)."""
    return isinstance(image, np.ndarray)


def finest_level(image: Any) -> Any:
    """The full-resolution level of a multiscale image (a sequence of levels such as napari's
    ``MultiScaleData`` or a list; the level with the most pixels); any array is returned as it is."""
    if isinstance(image, Sequence) and not isinstance(image, (str, bytes)) and len(image) and hasattr(image[0], "shape"):
        return max(image, key=lambda lvl: int(np.prod(lvl.shape[:2])))
    return image


class SliceView:
    """One 2D slice of a lazy array, still lazy: ``view[rows, cols]`` reads only that part.

    Args:
        data: array-like of shape ``(*lead, H, W[, C])``, or ``(C, *lead, H, W)`` with ``channels``.
        lead: leading (slice) index, e.g. ``(z,)``.
        channels: when given, the first axis of ``data`` holds channels and these (at most 3)
            are stacked last.
    """

    def __init__(self, data: Any, lead: Sequence[int] = (), channels: Sequence[int] | None = None) -> None:
        self.data = data
        self.lead = tuple(int(v) for v in lead)
        self.channels = None if channels is None else tuple(int(c) for c in channels)
        skip = len(self.lead) + (1 if self.channels is not None else 0)
        shape = tuple(int(v) for v in data.shape[skip:])
        if self.channels is not None and len(self.channels) > 1:
            shape = shape + (len(self.channels),)
        self.shape = shape
        self.dtype = np.dtype(data.dtype)
        self.ndim = len(shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The whole slice (reads it all: for slices that fit in memory)."""
        out = self[:, :]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if self.channels is None:
            return np.asarray(self.data[(*self.lead, *key)])
        parts = [np.asarray(self.data[(c, *self.lead, *key[:2])]) for c in self.channels]
        return parts[0] if len(parts) == 1 else np.stack(parts, axis=-1)


def lazy_slice(data: Any, lead: Sequence[int] = (), channels: Sequence[int] | None = None) -> Any:
    """Slice ``lead`` of ``data`` (channels last): numpy for numpy input, a lazy ``SliceView``
    (reading nothing yet) for any other array-like. Multiscale input: its finest level."""
    data = finest_level(data)
    if isinstance(data, np.ndarray):
        if channels is None:
            return data[tuple(lead)]
        arr = np.stack([data[(c, *lead)] for c in channels], axis=-1)
        return arr[..., 0] if arr.shape[-1] == 1 else arr
    return SliceView(data, lead, channels)


def slice_shape(image: Any) -> tuple[int, ...]:
    """``image.shape`` without reading data (multiscale: the finest level's)."""
    img = finest_level(image)
    if not hasattr(img, "shape") or not hasattr(img, "dtype"):
        img = np.asarray(img)
    return tuple(int(v) for v in img.shape)


def check_lazy_slice(image: Any, name: str = "image") -> Any:
    """Check a lazy slice by its shape and dtype only (no pixel is read); returns it.

    The checks of ``core.image.validate_slice`` that need every pixel (finite values, not
    constant) are left to the windows actually read.

    Raises:
        TypeError: for non-numeric data or an object without ``shape``/``dtype``.
        ValueError: for wrong dimensionality or tiny slices.
    """
    img = finest_level(image)
    if not hasattr(img, "shape") or not hasattr(img, "dtype") or not hasattr(img, "__getitem__"):
        raise TypeError(f"{name} ({type(image).__name__}) is not an array; pass numpy, dask or zarr arrays")
    dtype = np.dtype(img.dtype)
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating) or dtype == np.bool_):
        raise TypeError(f"{name} has dtype {dtype}; expected an integer or float image")
    shape = tuple(int(v) for v in img.shape)
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[-1] > 4):
        raise ValueError(
            f"{name} has shape {shape}; expected a 2D slice HxW or HxWxC with C <= 4 channels last "
            f"(one slice of a volume: volume[z])"
        )
    if shape[0] < MIN_SIDE or shape[1] < MIN_SIDE:
        raise ValueError(f"{name} is {shape[0]}x{shape[1]} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed")
    return img


def is_large(shape: Sequence[int], max_pixels: int = DENSE_MAX_PIXELS) -> bool:
    """Whether a slice of ``shape`` (H, W, ...) is too large for dense HxW maps."""
    return int(shape[0]) * int(shape[1]) > max_pixels


def _block_mean(a: np.ndarray, s: int) -> np.ndarray:
    """Mean over s x s blocks of an (h, w[, c]) array; edge blocks average what they hold."""
    h, w = a.shape[:2]
    hh, ww = -(-h // s), -(-w // s)
    f = a.astype(np.float32)
    rows = np.add.reduceat(f, np.arange(0, h, s), axis=0)
    sums = np.add.reduceat(rows, np.arange(0, w, s), axis=1)
    nr = np.minimum(np.arange(0, h, s) + s, h) - np.arange(0, h, s)
    nc = np.minimum(np.arange(0, w, s) + s, w) - np.arange(0, w, s)
    count = (nr[:, None] * nc[None, :]).astype(np.float32)
    assert sums.shape[:2] == (hh, ww)
    return sums / (count[..., None] if sums.ndim == 3 else count)


def read_window(image: Any, window: Window) -> np.ndarray:
    """Read ``window`` of a (lazy) slice as a numpy array of ``window.shape`` (+ channels).

    At scale 1 the rectangle is read as it is (raw dtype). At scale ``s > 1`` it is read in row
    strips and averaged over ``s x s`` blocks (area downscaling, float32), so the memory used
    is that of the result plus one strip.
    """
    img = finest_level(image)
    r0, c0, r1, c1 = window.bounds
    s = window.scale
    if s == 1:
        return np.asarray(img[r0 : r1 + 1, c0 : c1 + 1])
    step = max(_STRIP_ROWS // s, 1) * s
    parts = [
        _block_mean(np.asarray(img[a : min(a + step, r1 + 1), c0 : c1 + 1]), s) for a in range(r0, r1 + 1, step)
    ]
    return np.concatenate(parts, axis=0)


def lazy_key(image: Any, model_name: str, preprocessing: str = "percentile-1-99") -> str:
    """A feature-cache key for a lazy slice that reads no pixel: its type, shape, dtype and
    the object's identity (for zarr arrays their store path). Two different lazy slices never
    share a key within one process; the same one does."""
    img = finest_level(image)
    if isinstance(img, SliceView):
        return lazy_key(img.data, model_name, preprocessing) + f"|{img.lead}|{img.channels}"
    where = getattr(img, "store_path", None) or getattr(img, "name", None) or id(img)
    return f"lazy|{model_name}|{preprocessing}|{type(img).__name__}|{where}|{np.dtype(img.dtype).str}|{tuple(img.shape)}"


def slice_key(image: Any, model_name: str, preprocessing: str = "percentile-1-99") -> str:
    """Feature-cache key of a slice: ``core.feature_cache.feature_key`` (a content hash) for
    numpy slices, ``lazy_key`` (no pixel read) for lazy ones."""
    if isinstance(image, np.ndarray):
        from .feature_cache import feature_key

        return feature_key(image, model_name, preprocessing)
    return lazy_key(image, model_name, preprocessing)


def open_lazy(path: str | Path, level: int = 0, series: int = 0) -> Any:
    """Open a tiled TIFF (incl. OME-TIFF pyramids) or a zarr/OME-Zarr image without reading it.

    Args:
        path: ``.tif``/``.tiff`` file, or a zarr folder (an array, or a group whose arrays
            ``"0"``, ``"1"``, ... are pyramid levels as in OME-Zarr).
        level: pyramid level (0 = full resolution).
        series: TIFF series.

    Returns:
        a ``zarr.Array`` (read-only; slicing it reads only the tiles needed).

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: when the file holds no such level, or is no TIFF/zarr.
    """
    import zarr

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image {p} does not exist")
    if p.suffix.lower() in (".tif", ".tiff", ".btf"):
        import tifffile

        store = tifffile.imread(p, aszarr=True, series=series, level=level)
        node = zarr.open(store, mode="r")
    elif p.is_dir():
        node = zarr.open(str(p), mode="r")
    else:
        raise ValueError(f"{p}: open_lazy reads tiled TIFF files and zarr folders; read other images with read_array")
    if isinstance(node, zarr.Group):
        keys = sorted(k for k, _ in node.arrays())
        name = str(level) if str(level) in keys else (keys[level] if level < len(keys) else None)
        if name is None:
            raise ValueError(f"{p} has no array for level {level} (arrays: {keys})")
        node = node[name]
    return node


def open_pyramid(path: str | Path, series: int = 0) -> list[Any]:
    """Every resolution level of a tiled TIFF / OME-TIFF pyramid or an OME-Zarr group, finest
    first, each a lazy ``zarr.Array`` (a single-level image gives a list of one)."""
    p = Path(path)
    if p.suffix.lower() in (".tif", ".tiff", ".btf"):
        import tifffile

        with tifffile.TiffFile(p) as tf:
            n = len(tf.series[series].levels)
        return [open_lazy(p, level=k, series=series) for k in range(n)]
    import zarr

    node = zarr.open(str(p), mode="r") if p.is_dir() else None
    if isinstance(node, zarr.Group):
        names = sorted((k for k, _ in node.arrays()), key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
        return [node[k] for k in names]
    return [open_lazy(p)]


def opens_lazily(path: str | Path) -> bool:
    """Whether ``clickseg annotate`` opens ``path`` lazily: a zarr folder, or a tiled TIFF whose
    full-resolution slice has more than ``DENSE_MAX_PIXELS`` pixels (smaller files are read)."""
    p = Path(path)
    if p.is_dir():
        return (p / "zarr.json").is_file() or (p / ".zarray").is_file() or (p / ".zgroup").is_file()
    if p.suffix.lower() not in (".tif", ".tiff", ".btf"):
        return False
    import tifffile

    with tifffile.TiffFile(p) as tf:
        page = tf.pages[0]
        return bool(page.is_tiled) and is_large((page.imagelength, page.imagewidth))
