"""Datasets of objects to segment: one ``ObjectSample`` per object (instance) per 2D slice.

``load_objects(path, ...)`` understands:

* a folder with ``images/`` and ``masks/`` (files matched by stem, any supported ending):
  masks hold 0 = background and 1..N = instance ids (one object per id), or 0/255 (the
  foreground is one object);
* a folder of image/label file pairs named ``X_image.*`` + ``X_label.*`` (or ``X_labels``,
  ``X_mask``), or ``imgX.*`` + ``maskX.*``; each pair is a 2D image or a volume;
* an image file or volume (TIFF stack, NIfTI) with ``labels=`` a label file of the same
  (Z,)H,W shape; volumes yield 2D slices along axis 0;
* a large tiled TIFF / OME-TIFF or a zarr / OME-Zarr folder with ``labels=``: opened lazily
  by the reader of ``clickseg annotate`` (``core.lazy_image.opens_lazily`` / ``open_lazy``,
  full-resolution level); the samples' ``image`` is then the lazy array (only the windows a
  predictor reads are read), the label file is read as usual;
* ``sample-microscopy`` / ``sample-mri``: the synthetic volumes of ``data.samples``.

The loader first lists every object from the masks alone (cheap, and every bad-input error
is raised right away, before the first object is yielded), then optionally draws
``max_objects`` of them, then reads each image once and yields its objects together
(objects of one image share ``image_key``, so an evaluator encodes each image once).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable, Iterator, Sequence

import numpy as np

from ..core.image import validate_slice
from ..core.labels import object_ids
from ..core.lazy_image import (
    check_lazy_slice,
    is_large,
    lazy_slice,
    open_lazy,
    opens_lazily,
    slice_shape,
)
from .readers import (
    IMAGE_SUFFIXES,
    image_shape,
    is_nifti,
    read_image,
    read_labels,
    read_volume,
)

__all__ = ["ObjectSample", "load_objects", "SAMPLE_DATASETS"]

#: names accepted as PATH for the synthetic sample volumes
SAMPLE_DATASETS = ("sample-microscopy", "sample-mri")

#: (image token, label token) pairs for folders of file pairs
_PAIR_TOKENS = (("_image", "_label"), ("_image", "_labels"), ("_image", "_mask"), ("img", "mask"), ("image", "mask"))


@dataclass
class ObjectSample:
    """One object to segment on one 2D slice: what the loaders yield and the evaluator takes.

    Attributes:
        image: HxW or HxWxC slice (channels last), the stored dtype: a numpy array, or for a
            large image opened lazily an array-like read window by window (``zarr.Array`` or
            ``core.lazy_image.SliceView``; never read whole). Objects of one image share the
            same array (do not modify it in place).
        gt: HxW bool, True on the object.
        name: unique, readable id, e.g. ``"train_1#3"`` or ``"vol.tif[z=12]#1"``.
        image_key: equal for all objects of the same slice (consecutive objects with the same
            key share one encoder run); None = the object's own slice.
        ignore: HxW bool, True where pixels are not scored, or None (score everything).
    """

    image: np.ndarray
    gt: np.ndarray
    name: str
    image_key: Hashable | None = None
    ignore: np.ndarray | None = None


@dataclass
class _Source:
    """One 2D slice with objects: how to get its image and its label slice."""

    key: str  # e.g. "train_1" or "vol.tif[z=3]"
    stem: str  # what ``names=`` filters on (image stem, or volume stem)
    get_image: Callable[[], np.ndarray]  # numpy, or a lazy array (large tiled TIFF / zarr)
    get_labels: Callable[[], np.ndarray]  # HxW integer (2D files are read again when used)
    ids: list[int]  # object ids with enough area (semantic: [-1] = foreground)
    label_file: str


def _strip_suffix(path: Path) -> str:
    name = path.name
    return name[: -len(".nii.gz")] if name.lower().endswith(".nii.gz") else path.stem


def _is_image_file(p: Path) -> bool:
    return p.is_file() and not p.name.startswith(".") and (p.suffix.lower() in IMAGE_SUFFIXES or is_nifti(p))


def _object_ids(labels: np.ndarray, min_area: int, semantic: bool) -> tuple[np.ndarray, list[int]]:
    """(labels to use, ids of objects with area >= min_area); 0/255 masks become one object."""
    if semantic:
        area = int(np.count_nonzero(labels))
        return labels, ([-1] if area and area >= min_area else [])
    values = np.unique(labels)
    if labels.dtype == np.uint8 and set(values.tolist()) <= {0, 255}:
        labels = (labels > 0).astype(np.uint8)  # binary foreground mask -> one object, id 1
    return labels, [int(i) for i in object_ids(labels, min_area)]


def _check_same_shape(img_shape: tuple[int, ...], lab_shape: tuple[int, ...], img: str, lab: str) -> None:
    if tuple(img_shape[: len(lab_shape)]) != tuple(lab_shape):
        raise ValueError(
            f"mask {lab} has shape {tuple(lab_shape)} but image {img} has shape {tuple(img_shape)}; "
            f"a mask must have the image's height and width (and number of slices)"
        )


def _folder_sources(root: Path, min_area: int, semantic: bool) -> list[_Source]:
    img_dir, mask_dir = root / "images", root / "masks"
    if not img_dir.is_dir():
        return _pair_sources(root, min_area, semantic)
    if not mask_dir.is_dir():
        raise FileNotFoundError(
            f"dataset folder {root} has images/ but no masks/ folder; put one label image per "
            f"image in {mask_dir} (same file stem, 0 = background, 1..N = object ids)"
        )
    images = {_strip_suffix(p): p for p in sorted(img_dir.iterdir()) if _is_image_file(p)}
    masks = {_strip_suffix(p): p for p in sorted(mask_dir.iterdir()) if _is_image_file(p)}
    if not images:
        raise ValueError(f"dataset folder {img_dir} holds no images (PNG, TIFF, JPG)")
    missing = sorted(set(images) - set(masks))
    if missing:
        raise ValueError(
            f"image {images[missing[0]]} has no mask in {mask_dir} ({len(missing)} image(s) "
            f"without masks); add {missing[0]}.png to masks/ or remove the image"
        )
    sources = []
    for stem in sorted(images, key=_natural_key):
        sources.extend(_file_sources(images[stem], masks[stem], stem, min_area, semantic, volume=False))
    return sources


def _pair_sources(root: Path, min_area: int, semantic: bool) -> list[_Source]:
    files = [p for p in sorted(root.iterdir()) if _is_image_file(p)]
    by_stem: dict[str, list[Path]] = {}
    for p in files:
        by_stem.setdefault(_strip_suffix(p), []).append(p)
    sources: list[_Source] = []
    n_pairs = 0
    for p in files:
        stem = _strip_suffix(p)
        for img_tok, lab_tok in _PAIR_TOKENS:
            if lab_tok not in stem:
                continue
            img_stem = stem.replace(lab_tok, img_tok, 1)
            if img_stem in by_stem:
                # prefer TIFF (often the raw bit depth) when the image exists in several formats
                img = sorted(by_stem[img_stem], key=lambda q: q.suffix.lower() not in (".tif", ".tiff"))[0]
                name = img_stem
                n_pairs += 1
                sources.extend(_file_sources(img, p, name, min_area, semantic, volume=None))
                break
    if not n_pairs:
        raise FileNotFoundError(
            f"dataset folder {root} has no images/ and masks/ folders and no image/label file "
            f"pairs (X_image.tif + X_label.tif); see the clickseg documentation for the layout"
        )
    return sources


def _natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _file_sources(
    image: Path, labels: Path, name: str, min_area: int, semantic: bool, volume: bool | None
) -> list[_Source]:
    """Sources of one image file (2D) or volume file with its label file."""
    lab = read_labels(labels, ndim=2 if volume is False else None)
    if volume is None:
        volume = lab.ndim == 3
    if not volume:
        if lab.ndim != 2:
            raise ValueError(
                f"mask {labels} has shape {lab.shape}, a volume where a 2D mask is expected; "
                f"save one 2D label image per image"
            )
        shape = image_shape(image)
        _check_same_shape(shape, lab.shape, str(image), str(labels))
        _, ids = _object_ids(lab, min_area, semantic)

        def get_labels(p: Path = labels) -> np.ndarray:  # masks of a whole dataset may be large
            return _object_ids(read_labels(p, ndim=2), 0, semantic)[0]

        return [_Source(name, name, lambda p=image: read_image(p), get_labels, ids, str(labels))]
    if lab.ndim != 3:
        raise ValueError(
            f"labels {labels} have shape {lab.shape}; a label volume ZxHxW is needed for the "
            f"volume {image}"
        )
    cache: dict[str, np.ndarray] = {}

    def get_volume() -> np.ndarray:
        if "vol" not in cache:
            vol = read_volume(image)
            _check_same_shape(vol.shape, lab.shape, str(image), str(labels))
            cache["vol"] = vol
        return cache["vol"]

    shape = image_shape(image)
    if not is_nifti(image):
        _check_same_shape(shape, lab.shape, str(image), str(labels))
    return _volume_sources(lambda z: get_volume()[z], lab, _strip_suffix(image), image.name, str(labels),
                           min_area, semantic)


def _volume_sources(
    get_slice: Callable[[int], np.ndarray], lab: np.ndarray, stem: str, label: str, label_file: str,
    min_area: int, semantic: bool,
) -> list[_Source]:
    sources = []
    for z in range(lab.shape[0]):
        lz, ids = _object_ids(lab[z], min_area, semantic)
        if ids:
            sources.append(_Source(f"{label}[z={z}]", stem, lambda z=z: get_slice(z), lambda lz=lz: lz, ids,
                                   label_file))
    return sources


def _lazy_sources(path: Path, labels: Path, min_area: int, semantic: bool) -> list[_Source]:
    """Sources of a large tiled TIFF or zarr image (or stack) opened lazily, with its labels.

    The image is opened by ``core.lazy_image.open_lazy`` (the full-resolution level, as
    ``clickseg annotate`` does); nothing of it is read here.
    """
    image = open_lazy(path)
    lab = read_labels(labels)
    _check_same_shape(tuple(image.shape), lab.shape, str(path), str(labels))
    stem = _strip_suffix(path)
    if lab.ndim == 2:
        _, ids = _object_ids(lab, min_area, semantic)
        return [_Source(stem, stem, lambda: image, lambda: _object_ids(lab, 0, semantic)[0], ids, str(labels))]
    return _volume_sources(lambda z: lazy_slice(image, (z,)), lab, stem, path.name, str(labels), min_area, semantic)


def _volume_arrays_sources(path: Path, labels: Path, min_area: int, semantic: bool) -> list[_Source]:
    if opens_lazily(path):
        return _lazy_sources(path, labels, min_area, semantic)
    lab = read_labels(labels)
    if lab.ndim == 2:  # a 2D image with its mask
        return _file_sources(path, labels, _strip_suffix(path), min_area, semantic, volume=False)
    vol = read_volume(path)
    _check_same_shape(vol.shape, lab.shape, str(path), str(labels))
    return _volume_sources(lambda z: vol[z], lab, _strip_suffix(path), path.name, str(labels), min_area, semantic)


def _sample_sources(name: str, min_area: int, semantic: bool) -> list[_Source]:
    from . import samples

    make = samples.sample_microscopy_volume if name == "sample-microscopy" else samples.sample_mri_volume
    vol, lab = make(seed=0)
    return _volume_sources(lambda z: vol[z], np.asarray(lab), name, name, name, min_area, semantic)


def _choose(sources: list[_Source], max_objects: int, seed: int) -> list[list[int]]:
    """Per source, the chosen ids: ``max_objects`` drawn at random, spread over the images."""
    rng = np.random.default_rng(seed)
    pools = [list(rng.permutation(s.ids)) if s.ids else [] for s in sources]
    order = rng.permutation(len(sources))
    chosen: list[list[int]] = [[] for _ in sources]
    left = max_objects
    while left > 0 and any(pools):
        for i in order:  # round robin over the images in a random order
            if left == 0:
                break
            if pools[i]:
                chosen[i].append(int(pools[i].pop()))
                left -= 1
    return [sorted(c) for c in chosen]


def load_objects(
    path: str | Path,
    labels: str | Path | None = None,
    max_objects: int | None = None,
    seed: int = 0,
    min_area: int = 10,
    semantic: bool = False,
    names: Sequence[str] | None = None,
) -> Iterator[ObjectSample]:
    """List the objects of a dataset and return an iterator that loads them image by image.

    Args:
        path: a dataset folder (``images/`` + ``masks/``, or image/label file pairs), an image
            or volume file (with ``labels``; a large tiled TIFF or a zarr folder is opened
            lazily), or ``"sample-microscopy"`` / ``"sample-mri"``.
        labels: label image/volume for an image or volume ``path`` (same (Z,)H,W shape).
        max_objects: draw this many objects at random (``numpy.random.default_rng(seed)``),
            spread over the images; None = every object, in file order.
        seed: seed of that draw (same seed, same objects).
        min_area: objects with fewer pixels are skipped.
        semantic: the foreground (label > 0) of each slice is one object.
        names: only images (file stems, or volume stems / slice keys like ``"vol.tif[z=3]"``)
            in this list.

    Returns:
        Iterator of ``ObjectSample`` (image HxW[xC] as stored, gt HxW bool); objects of one
        image come one after another and share ``image_key``.

    Raises:
        FileNotFoundError: missing files or folders (``masks/``).
        ValueError: unmatched images, size mismatches, bad labels or arguments. All of these
            are raised by this call, before any object is yielded.
    """
    if max_objects is not None and int(max_objects) < 0:
        raise ValueError(f"max_objects must be >= 0, got {max_objects}")
    if int(min_area) < 0:
        raise ValueError(f"min_area must be >= 0, got {min_area}")
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    spath = str(path)
    if spath in SAMPLE_DATASETS:
        if labels is not None:
            raise ValueError(f"{spath} brings its own labels; do not pass labels=")
        sources = _sample_sources(spath, min_area, semantic)
    else:
        p = Path(path).expanduser()
        if not p.exists():
            raise FileNotFoundError(
                f"dataset {p} does not exist; pass a folder with images/ and masks/, an image or "
                f"volume file with labels=, or one of {', '.join(SAMPLE_DATASETS)}"
            )
        if p.is_dir() and not (labels is not None and opens_lazily(p)):  # a zarr folder is one image
            if labels is not None:
                raise ValueError(f"labels= is for an image or volume file, but {p} is a folder")
            sources = _folder_sources(p, min_area, semantic)
        else:
            if labels is None:
                raise ValueError(
                    f"{p} is a single image or volume; pass its label file with labels= "
                    f"(--labels on the command line), or pass a folder with images/ and masks/"
                )
            lab = Path(labels).expanduser()
            if not lab.is_file():
                raise FileNotFoundError(f"labels file {lab} does not exist; check the path")
            sources = _volume_arrays_sources(p, lab, min_area, semantic)
    if names is not None:
        wanted = set(names)
        found = {s.stem for s in sources} | {s.key for s in sources}
        unknown = sorted(wanted - found)
        if unknown and not (wanted & found):
            raise ValueError(f"names {unknown[:5]} match no image of {spath}; use image file stems")
        if unknown:
            warnings.warn(f"{len(unknown)} of names= match no image of {spath}, e.g. {unknown[:3]}", stacklevel=2)
        sources = [s for s in sources if s.stem in wanted or s.key in wanted]
    if max_objects is None:
        chosen = [list(s.ids) for s in sources]
    else:
        chosen = _choose(sources, int(max_objects), seed)
    return _iterate(sources, chosen)


def _iterate(sources: list[_Source], chosen: list[list[int]]) -> Iterator[ObjectSample]:
    for src, ids in zip(sources, chosen):
        if not ids:
            continue
        image = src.get_image()
        if isinstance(image, np.ndarray) or not is_large(slice_shape(image)):
            image = np.asarray(image)
            validate_slice(image, name=f"image {src.key}")
        else:  # a large lazy slice: checked by shape and dtype, read window by window later
            check_lazy_slice(image, name=f"image {src.key}")
        labels = src.get_labels()
        if image.shape[:2] != labels.shape:
            raise ValueError(
                f"mask {src.label_file} has shape {labels.shape} but image {src.key} is "
                f"{image.shape[:2]}; masks must match their image"
            )
        for i in ids:
            gt = labels > 0 if i == -1 else labels == i
            suffix = 1 if i == -1 else i
            yield ObjectSample(image=image, gt=gt, name=f"{src.key}#{suffix}", image_key=src.key)
