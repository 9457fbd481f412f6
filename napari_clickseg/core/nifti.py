"""NIfTI volumes with their geometry: the array in the package's axis order, spacing and affine.

NIfTI stores voxels (i, j, k[, t]) = (x, y, z[, t]); the package works in (Z, H, W[, ...]) =
(k, j, i[, t]) so that axis 0 runs across slices like a TIFF stack (see ``data.readers``). The voxel
spacing follows the array's axes; the affine is kept as stored, so writing a volume that was
read gives back the same geometry. Needs nibabel (``pip install napari-clickseg[nifti]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["NiftiVolume", "read_nifti", "write_nifti", "nifti_stem"]

_HINT = "pip install napari-clickseg[nifti]"


def _nib():
    try:
        import nibabel as nib
    except ImportError as exc:
        raise ImportError(f"NIfTI files need nibabel: {_HINT}") from exc
    return nib


def _to_package_order(arr: np.ndarray) -> np.ndarray:
    return np.swapaxes(arr, 0, 2) if arr.ndim >= 3 else arr.T


def nifti_stem(path: str | Path) -> str:
    """The file name without ``.nii`` / ``.nii.gz``."""
    name = Path(path).name
    for end in (".nii.gz", ".nii"):
        if name.lower().endswith(end):
            return name[: -len(end)]
    return Path(path).stem


@dataclass(frozen=True)
class NiftiVolume:
    """One NIfTI file's voxels and geometry.

    Attributes:
        data: (Z, H, W[, ...]) array (``(H, W)`` for a 2D file), the stored dtype.
        spacing: voxel size along each axis of ``data`` (file units, usually mm), all > 0.
        affine: 4x4 float array mapping stored voxel indices (i, j, k) to world coordinates.
    """

    data: np.ndarray
    spacing: tuple[float, ...]
    affine: np.ndarray


def read_nifti(path: str | Path) -> NiftiVolume:
    """Read a ``.nii`` / ``.nii.gz`` file.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be decoded (the message names it).
        ImportError: nibabel is not installed.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"NIfTI file {p} does not exist; check the path")
    nib = _nib()
    try:
        img = nib.load(str(p))
        arr = np.asarray(img.dataobj)
        zooms = tuple(float(z) for z in img.header.get_zooms())
    except Exception as exc:  # nibabel raises many kinds of errors for broken files
        raise ValueError(f"cannot read {p} as NIfTI: {type(exc).__name__}: {exc}") from exc
    if arr.size == 0:
        raise ValueError(f"{p} holds no voxels (shape {arr.shape})")
    zooms = (zooms + (1.0,) * arr.ndim)[: arr.ndim]
    spacing = tuple(z if z > 0 else 1.0 for z in zooms)
    if arr.ndim >= 3:
        spacing = (spacing[2], spacing[1], spacing[0], *spacing[3:])
    else:
        spacing = spacing[::-1]
    return NiftiVolume(_to_package_order(arr), spacing, np.asarray(img.affine, float))


def write_nifti(path: str | Path, data: np.ndarray, spacing: Sequence[float] | None = None,
                affine: np.ndarray | None = None) -> Path:
    """Write ``data`` ((Z, H, W[, ...]) or (H, W), package order) as NIfTI.

    Args:
        path: ``.nii`` or ``.nii.gz`` file (parent folders are created).
        data: the array; bool is written as uint8.
        spacing: voxel size per axis of ``data``; used when ``affine`` is None (default 1).
        affine: 4x4 voxel-to-world matrix of the stored (i, j, k) order (e.g. from
            ``read_nifti``); it wins over ``spacing``.

    Returns:
        The path written.

    Raises:
        ValueError: wrong ending, a 1D array, or a malformed ``affine`` / ``spacing``.
    """
    p = Path(path).expanduser()
    if not (p.name.lower().endswith(".nii") or p.name.lower().endswith(".nii.gz")):
        raise ValueError(f"{p}: a NIfTI file name ends in .nii or .nii.gz")
    arr = np.asarray(data)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.ndim < 2:
        raise ValueError(f"data to write to {p} has shape {arr.shape}; expected (H, W) or (Z, H, W[, ...])")
    if affine is None:
        sp = [1.0] * arr.ndim if spacing is None else [float(s) for s in spacing]
        if len(sp) != arr.ndim or min(sp) <= 0:
            raise ValueError(f"spacing {tuple(sp)} must give one positive size per axis of shape {arr.shape}")
        stored = ([sp[2], sp[1], sp[0]] if arr.ndim >= 3 else [sp[1], sp[0], 1.0])[:3]
        affine = np.diag([*stored, 1.0])
    affine = np.asarray(affine, float)
    if affine.shape != (4, 4):
        raise ValueError(f"the affine must be a 4x4 matrix, got shape {affine.shape}")
    nib = _nib()
    p.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.ascontiguousarray(_to_package_order(arr)), affine), str(p))
    return p
