"""Loaders of the real labelled datasets in ``../shared/data`` for training and validation.

Each dataset folder holds ``images/`` (PNG, TIFF or JPEG), ``masks/`` (PNG: 0 = background,
1..N = object ids, or 0/255 for LGG) and an ``index.json`` with per-image facts (a list, or a
dict with the list under ``images`` or ``slices``). Mask conventions per folder:

* instance ids: GlaS (connected components of the gland mask), MoNuSeg, ISBI (cells inside
  membranes), DSB2018, CTC (both), BUSI (one id per lesion), HC18 and PH2 (one id, the
  head / lesion);
* ``camvid`` and ``ccp-clothing``: ids are the 4-connected regions of semantic classes (stuff
  classes and skin included); every region is an object;
* ``lgg-mri-train``: 0/255, the whole tumour of a slice is one object (``SEMANTIC``);
* ``ctc-fluo-n2dh-gowt1`` is partially annotated: only some nuclei carry ids, the others are 0
  (background) in the masks; they are never offered as targets.

``RealImageSet`` gives the
(image, instance labels) pairs of the training or validation part (``train/splits.py``);
``validation_objects`` gives a fixed handful of objects of the validation part in the form
``eval.runner.evaluate`` takes (via ``core.datasets.load_objects``).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..core.io import read_image, read_labels
from .splits import DATASETS, split_names

__all__ = ["default_data_root", "index_entries", "RealImageSet", "part_selection", "validation_objects", "SEMANTIC", "PARTIAL"]

#: datasets whose masks are 0/255: the whole foreground of a slice is one object
SEMANTIC = frozenset({"lgg-mri-train"})

#: datasets where only some objects are annotated (unannotated ones are 0 in the masks)
PARTIAL = frozenset({"ctc-fluo-n2dh-gowt1"})


def default_data_root() -> Path:
    """``$CLICKSEG_DATA`` if set, else ``../shared/data`` beside the source checkout."""
    env = os.environ.get("CLICKSEG_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _check_dataset(root: Path, dataset: str) -> Path:
    if dataset not in DATASETS:
        raise ValueError(f"unknown real dataset {dataset!r}; known: {', '.join(DATASETS)}")
    folder = Path(root) / dataset
    if not (folder / "index.json").is_file():
        raise FileNotFoundError(
            f"dataset folder {folder} (with index.json, images/, masks/) is missing; set "
            f"data_root in the config or CLICKSEG_DATA to the folder that holds {dataset}/"
        )
    return folder


def index_entries(root: str | Path, dataset: str) -> list[dict[str, Any]]:
    """The per-image records of ``dataset/index.json`` (a list of dicts with ``name``)."""
    folder = _check_dataset(Path(root), dataset)
    data = json.loads((folder / "index.json").read_text())
    if isinstance(data, dict):
        data = data.get("slices", data.get("images"))
    if not isinstance(data, list):
        raise ValueError(f"{folder / 'index.json'}: expected a list of image records")
    return data


def _find(folder: Path, stem: str) -> Path:
    for suffix in (".png", ".tif", ".tiff", ".jpg", ".jpeg"):
        p = folder / (stem + suffix)
        if p.is_file():
            return p
    raise FileNotFoundError(f"no image file {folder / stem}.(png|tif|jpg) (listed in index.json)")


@lru_cache(maxsize=4096)
def _load_pair(folder: str, stem: str, semantic: bool) -> tuple[np.ndarray, np.ndarray]:
    f = Path(folder)
    image = read_image(_find(f / "images", stem))
    labels = read_labels(_find(f / "masks", stem), ndim=2)
    labels = (labels > 0).astype(np.int32) if semantic else labels.astype(np.int32)
    if image.shape[:2] != labels.shape:
        raise ValueError(f"{f}/{stem}: image {image.shape[:2]} and mask {labels.shape} differ")
    image.setflags(write=False)
    labels.setflags(write=False)
    return image, labels


class RealImageSet:
    """The training or validation part of one real dataset, as (image, instance labels) pairs.

    Images are read on first use and cached in memory (read-only arrays).

    Args:
        root: folder holding the dataset folders (``default_data_root()``).
        dataset: a name from ``splits.DATASETS``.
        part: ``"train"`` or ``"val"``.
        min_area: objects smaller than this are not offered by ``object_ids``.
    """

    def __init__(self, root: str | Path, dataset: str, part: str = "train", min_area: int = 30) -> None:
        self.root = Path(root)
        self.dataset = dataset
        self.folder = _check_dataset(self.root, dataset)
        self.part = part
        self.names = split_names(dataset, index_entries(self.root, dataset), part)
        self.semantic = dataset in SEMANTIC
        self.min_area = int(min_area)

    def __len__(self) -> int:
        return len(self.names)

    def load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Image ``i``: (HxW or HxWxC as stored, HxW int32 labels; LGG: 1 = tumour)."""
        return _load_pair(str(self.folder), self.names[i], self.semantic)

    def object_ids(self, labels: np.ndarray) -> np.ndarray:
        """Ids of the objects of ``labels`` with at least ``min_area`` pixels."""
        counts = np.bincount(labels.ravel())
        ids = np.nonzero(counts >= self.min_area)[0]
        return ids[ids > 0]


def part_selection(root: str | Path, dataset: str, part: str) -> dict[str, Any]:
    """``load_objects`` keyword arguments that keep one part ("train"/"val") of ``dataset``.

    Returns:
        ``{"names": image stems of that part, "semantic": whether a slice's foreground is one object}``.
    """
    return {"names": split_names(dataset, index_entries(root, dataset), part), "semantic": dataset in SEMANTIC}


def validation_objects(root: str | Path, dataset: str, n: int, seed: int = 0, min_area: int = 100) -> list[Any]:
    """A fixed set of ``n`` objects from the validation part of ``dataset``.

    Returns:
        ``core.datasets.ObjectSample`` list (image, gt, name, image_key), the same for the same
        (dataset, n, seed), spread over the validation images.
    """
    from ..core.datasets import load_objects

    folder = _check_dataset(Path(root), dataset)
    return list(load_objects(folder, max_objects=n, seed=seed, min_area=min_area,
                             **part_selection(root, dataset, "val")))
