"""Reading images, label images, TIFF stacks and NIfTI volumes.

Array conventions (the same everywhere in the package):

* 2D image: HxW (gray) or HxWxC (channels last), dtype as stored in the file.
* volume: ZxHxW or ZxHxWxC; slices are taken along axis 0.
* labels: integer HxW or ZxHxW, 0 = background, 1..N = object ids.

Formats: PNG/JPG/BMP through imageio (via scikit-image), TIFF through tifffile, NIfTI
(``.nii``, ``.nii.gz``) through nibabel, an optional extra (``pip install napari-clickseg[nifti]``).
NIfTI arrays are stored (i, j, k) = (x, y, z); they are returned transposed to (k, j, i) =
(Z, H, W) so that axis 0 runs across slices like a TIFF stack.

Every reader raises ``FileNotFoundError`` or ``ValueError`` naming the file and saying what to
do, never a bare traceback from inside a decoder. The dataset loader built on these readers is
``data.datasets.load_objects``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "VOLUME_SUFFIXES",
    "is_nifti",
    "is_tiff",
    "read_image",
    "read_volume",
    "read_labels",
    "read_array",
    "image_shape",
]

#: file endings the readers understand (lower case)
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
VOLUME_SUFFIXES = (".tif", ".tiff", ".nii", ".nii.gz")

_NIFTI_HINT = "pip install napari-clickseg[nifti]"


def is_nifti(path: str | Path) -> bool:
    """Whether ``path`` names a NIfTI file (``.nii`` or ``.nii.gz``)."""
    name = Path(path).name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def is_tiff(path: str | Path) -> bool:
    """Whether ``path`` names a TIFF file."""
    return Path(path).suffix.lower() in (".tif", ".tiff")


def _check_file(path: str | Path, what: str = "file") -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{what} {p} does not exist; check the path")
    if p.is_dir():
        raise ValueError(f"{what} {p} is a folder; expected a single image file")
    suffixes = IMAGE_SUFFIXES + VOLUME_SUFFIXES
    if not (is_nifti(p) or p.suffix.lower() in suffixes):
        raise ValueError(
            f"{what} {p} has an unsupported ending {p.suffix!r}; use one of "
            f"{', '.join(sorted(set(suffixes)))}"
        )
    return p


def read_array(path: str | Path) -> np.ndarray:
    """Read a file's pixel data as stored (no reshaping beyond NIfTI's axis order).

    Args:
        path: PNG/JPG/BMP, TIFF or NIfTI file.

    Returns:
        The array; TIFF keeps its stored axis order, NIfTI is returned (Z, H, W[, ...]).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be decoded or has an unsupported ending.
        ImportError: a NIfTI file is read without nibabel installed.
    """
    p = _check_file(path)
    try:
        if is_nifti(p):
            arr = _read_nifti(p)
        elif is_tiff(p):
            import tifffile

            arr = tifffile.imread(p)
        else:
            from skimage import io as skio

            arr = skio.imread(p)
    except (ImportError, FileNotFoundError):
        raise
    except Exception as exc:  # decoders raise many kinds of errors for broken files
        raise ValueError(f"cannot read {p}: {type(exc).__name__}: {exc}. Is it a valid image file?") from exc
    arr = np.asarray(arr)
    if arr.size == 0:
        raise ValueError(f"{p} holds no pixels (shape {arr.shape})")
    return arr


def _read_nifti(p: Path) -> np.ndarray:
    try:
        import nibabel as nib
    except ImportError as exc:
        raise ImportError(f"reading NIfTI file {p} needs nibabel: {_NIFTI_HINT}") from exc
    img = nib.load(str(p))
    arr = np.asarray(img.dataobj)
    if arr.ndim >= 3:
        # (x, y, z, ...) -> (z, y, x, ...): slices along axis 0, rows = y, cols = x
        arr = np.swapaxes(arr, 0, 2)
    elif arr.ndim == 2:
        arr = arr.T
    return arr


def read_image(path: str | Path) -> np.ndarray:
    """Read one 2D image.

    Args:
        path: PNG/JPG/BMP/TIFF (or a single-slice NIfTI) file.

    Returns:
        HxW (gray) or HxWxC (channels last) array, the stored dtype. Channels-first TIFFs
        (CxHxW with C <= 4) are moved to channels last; HxWxC with up to 16 channels is kept
        (choose channels with ``image.select_channels``); singleton axes are dropped. A
        ZxHxW array is taken for a stack and refused.

    Raises:
        ValueError: the file holds a volume (use ``read_volume``) or cannot be read.
    """
    arr = np.squeeze(read_array(path))
    if arr.ndim == 3 and arr.shape[0] <= 4 < min(arr.shape[1:]) and arr.shape[-1] > 4:
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] <= 4):
        return arr
    if arr.ndim == 3 and arr.shape[-1] <= 16 and arr.shape[-1] < min(arr.shape[:2]):
        return arr  # multi-channel, channels last (pick up to 3 with image.select_channels)
    if arr.ndim == 3:
        raise ValueError(
            f"{path} has shape {arr.shape}, a stack of {arr.shape[0]} slices, where a 2D image is "
            f"expected; read it with read_volume() or pass one slice"
        )
    raise ValueError(
        f"{path} has {arr.ndim} dimensions (shape {arr.shape}); expected a 2D image HxW or HxWxC"
    )


def read_volume(path: str | Path) -> np.ndarray:
    """Read an image volume (TIFF stack or NIfTI).

    Args:
        path: multi-page TIFF or NIfTI file.

    Returns:
        ZxHxW or ZxHxWxC (C <= 4) array, the stored dtype. A single 2D image is returned as
        a volume of one slice.

    Raises:
        ValueError: the data has more than 3 spatial dimensions (e.g. a 4D time series) or
            cannot be read.
    """
    arr = read_array(path)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        return arr[None]
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and min(arr.shape[:2]) > 4:
        return arr[None]  # one RGB(A) image
    if arr.ndim == 3 or (arr.ndim == 4 and arr.shape[-1] <= 4):
        return arr
    raise ValueError(
        f"{path} has shape {arr.shape}; expected a volume ZxHxW or ZxHxWxC (C <= 4). For a 4D "
        f"series (e.g. time or several modalities) save one 3D volume per file"
    )


def read_labels(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read a label image or label volume (0 = background, 1..N = object ids).

    Args:
        path: PNG/TIFF/NIfTI label file.
        ndim: 2 or 3 to require a 2D image or a volume; None accepts either.

    Returns:
        Integer HxW or ZxHxW array. A mask saved as RGB with equal channels is reduced to one
        channel; a boolean mask becomes uint8 0/1; float labels with integer values are cast.

    Raises:
        ValueError: the labels are not integer-valued or have the wrong dimensionality.
    """
    arr = read_array(path)
    if arr.ndim in (3, 4) and arr.shape[-1] in (3, 4) and (ndim == 2 or arr.ndim == 4):
        rgb = arr[..., :3]
        if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
            raise ValueError(
                f"label file {path} is a colour image (shape {arr.shape}); save labels as a "
                f"single-channel integer image (0 = background, 1..N = object ids)"
            )
        arr = arr[..., 0]
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.round(arr)) or arr.min() < 0:
            raise ValueError(
                f"label file {path} holds non-integer values (dtype {arr.dtype}); labels must be "
                f"0 = background and 1..N = object ids"
            )
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"label file {path} has dtype {arr.dtype}; labels must be integers")
    if arr.size and np.issubdtype(arr.dtype, np.signedinteger) and arr.min() < 0:
        raise ValueError(
            f"label file {path} holds negative values (down to {int(arr.min())}); labels must be "
            f"0 = background and 1..N = object ids"
        )
    if ndim is not None and arr.ndim != ndim:
        want = "a 2D label image HxW" if ndim == 2 else "a label volume ZxHxW"
        raise ValueError(f"label file {path} has shape {arr.shape}; expected {want}")
    if arr.ndim not in (2, 3):
        raise ValueError(f"label file {path} has shape {arr.shape}; expected HxW or ZxHxW")
    return arr


def image_shape(path: str | Path) -> tuple[int, ...]:
    """Shape of an image file, read from its header where possible (cheap).

    Returns the shape ``read_array`` would return (for PNG/JPG: (H, W) or (H, W, C)).
    """
    p = _check_file(path)
    try:
        if is_tiff(p):
            import tifffile

            with tifffile.TiffFile(p) as tf:
                return tuple(int(s) for s in tf.series[0].shape)
        if not is_nifti(p):
            from PIL import Image

            with Image.open(p) as im:
                w, h = im.size
                bands = len(im.getbands())
                return (h, w) if bands == 1 else (h, w, bands)
    except Exception:  # fall back to decoding the file (gives the clear error if broken)
        pass
    return tuple(read_array(p).shape)
