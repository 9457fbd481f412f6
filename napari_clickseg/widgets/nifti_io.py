"""napari reader and writers for NIfTI (``.nii``, ``.nii.gz``), declared in ``napari.yaml``.

File > Open reads a NIfTI file as the CLI does (``data.readers``: slices along the first axis), with
the voxel spacing as the layer's ``scale`` and the stored affine in ``metadata["nifti_affine"]``
(written back by the writers, so a round trip keeps the geometry). A file opens as a Labels
layer when it holds labels: integer values, none negative, and either a name that says so
(``label``, ``seg``, ``mask``, ``annot``, ``gt``) or at most ``MAX_LABEL_VALUES`` distinct values;
anything else opens as an Image. No Qt here; nibabel is imported on first use.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core.nifti import nifti_stem, read_nifti, write_nifti

__all__ = ["get_reader", "read_layers", "looks_like_labels", "write_image", "write_labels", "MAX_LABEL_VALUES"]

#: at most this many distinct values (without a telling file name) make a file open as labels
MAX_LABEL_VALUES = 32
_LABEL_NAME = re.compile(r"(label|seg|mask|annot|(^|[^a-z])gt([^a-z]|$))", re.IGNORECASE)

LayerData = tuple[Any, dict, str]


def _is_nifti(path: Any) -> bool:
    name = str(path).lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def get_reader(path: str | list[str]) -> Callable[[Any], list[LayerData]] | None:
    """npe2 reader hook: ``read_layers`` for NIfTI paths (one or a list), else None."""
    paths = path if isinstance(path, (list, tuple)) else [path]
    return read_layers if paths and all(_is_nifti(p) for p in paths) else None


def looks_like_labels(path: str | Path, data: np.ndarray) -> bool:
    """Whether ``data`` read from ``path`` is a label volume (see the module docstring)."""
    arr = np.asarray(data)
    if arr.dtype == bool:
        return True
    if np.issubdtype(arr.dtype, np.floating):
        sample = arr.ravel()[:: max(1, arr.size // 200_000)]
        if not np.all(np.isfinite(sample)) or not np.array_equal(sample, np.round(sample)):
            return False
    elif not np.issubdtype(arr.dtype, np.integer):
        return False
    if arr.min() < 0:
        return False
    if _LABEL_NAME.search(nifti_stem(path)):
        return True
    return np.unique(arr.ravel()[:: max(1, arr.size // 1_000_000)]).size <= MAX_LABEL_VALUES


def read_layers(path: str | list[str]) -> list[LayerData]:
    """Read NIfTI file(s) as napari layer data: ``[(data, metadata, "image" | "labels"), ...]``."""
    out: list[LayerData] = []
    for p in path if isinstance(path, (list, tuple)) else [path]:
        vol = read_nifti(p)
        kind = "labels" if looks_like_labels(p, vol.data) else "image"
        data = vol.data
        if kind == "labels" and not np.issubdtype(data.dtype, np.integer):
            data = data.astype(np.int32)
        meta = {
            "name": nifti_stem(p),
            "scale": vol.spacing,
            "metadata": {"nifti_affine": vol.affine.tolist(), "source_file": str(p)},
        }
        out.append((data, meta, kind))
    return out


def _write(path: str, data: Any, meta: dict) -> list[str]:
    affine = (meta.get("metadata") or {}).get("nifti_affine")
    arr = np.asarray(data)
    scale = meta.get("scale")
    spacing = [abs(float(s)) or 1.0 for s in scale][-arr.ndim:] if scale is not None else None
    if spacing is not None and len(spacing) != arr.ndim:
        spacing = None
    return [str(write_nifti(path, arr, spacing=spacing, affine=np.asarray(affine) if affine is not None else None))]


def write_labels(path: str, data: Any, meta: dict) -> list[str]:
    """npe2 writer: one Labels layer to ``.nii`` / ``.nii.gz`` (its affine or scale kept)."""
    arr = np.asarray(data[0] if isinstance(data, list) else data)  # multiscale: the full resolution
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise ValueError(f"labels layer {meta.get('name')!r} has dtype {arr.dtype}; labels are integers")
    return _write(path, arr, meta)


def write_image(path: str, data: Any, meta: dict) -> list[str]:
    """npe2 writer: one Image layer to ``.nii`` / ``.nii.gz``; RGB images are refused."""
    if meta.get("rgb"):
        raise ValueError(f"image layer {meta.get('name')!r} is RGB; NIfTI holds gray volumes - save it as TIFF")
    return _write(path, np.asarray(data[0] if isinstance(data, list) else data), meta)
