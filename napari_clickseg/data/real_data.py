"""Loaders of the real labelled datasets (one folder each under a data root) for training and validation.

The data root is passed in (``data.root`` of a training config, ``--data`` of the CLI) or
read from ``$CLICKSEG_DATA`` (``data_root``); the package never guesses where it is. Each
dataset folder holds ``images/`` (PNG, TIFF or JPEG), ``masks/`` (PNG: 0 = background,
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
(image, instance labels) pairs of the training or validation part (``data.splits``);
``validation_objects`` gives a fixed handful of ``ObjectSample`` of the validation part
(via ``data.datasets.load_objects``).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..core.labels import object_ids
from .datasets import ObjectSample, load_objects
from .readers import read_image, read_labels
from .splits import DATASETS, split_names

__all__ = ["DATA_ENV", "data_root", "check_datasets", "index_entries", "RealImageSet", "part_selection", "validation_objects", "SEMANTIC", "PARTIAL"]

#: datasets whose masks are 0/255: the whole foreground of a slice is one object
SEMANTIC = frozenset({"lgg-mri-train"})

#: datasets where only some objects are annotated (unannotated ones are 0 in the masks)
PARTIAL = frozenset({"ctc-fluo-n2dh-gowt1"})


#: environment variable naming the folder that holds the real dataset folders
DATA_ENV = "CLICKSEG_DATA"


def data_root(root: str | Path | None = None) -> Path:
    """The folder holding the real dataset folders: ``root`` if given, else ``$CLICKSEG_DATA``.

    Raises:
        FileNotFoundError: neither is set (the message says how to set one).
    """
    if root not in (None, ""):
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    raise FileNotFoundError(
        f"no data root: set {DATA_ENV} to the folder that holds the dataset folders (glas-train/, ...) "
        f"or pass it (data.root in a training config)"
    )


def _check_dataset(root: Path, dataset: str) -> Path:
    if dataset not in DATASETS:
        raise ValueError(f"unknown real dataset {dataset!r}; known: {', '.join(DATASETS)}")
    folder = Path(root) / dataset
    if not (folder / "index.json").is_file():
        raise FileNotFoundError(
            f"dataset folder {folder} (with index.json, images/, masks/) is missing; set "
            f"data.root in the config or {DATA_ENV} to the folder that holds {dataset}/"
        )
    return folder


def check_datasets(root: str | Path, names: str | list[str]) -> list[str]:
    """The dataset folder names of ``names`` (a list, or a comma-separated string), all checked.

    Raises:
        ValueError: a name is not a known real dataset.
        FileNotFoundError: a folder (with its index.json) is missing under ``root``; the
            message says where it was looked for and how to point at the data.
    """
    listed = [d for d in (names.split(",") if isinstance(names, str) else names) if d]
    for d in listed:
        _check_dataset(Path(root), d)
    return listed


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
        root: folder holding the dataset folders (``data_root()``).
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
        return object_ids(labels, self.min_area)


def part_selection(root: str | Path, dataset: str, part: str) -> dict[str, Any]:
    """``load_objects`` keyword arguments that keep one part ("train"/"val") of ``dataset``.

    Returns:
        ``{"names": image stems of that part, "semantic": whether a slice's foreground is one object}``.
    """
    return {"names": split_names(dataset, index_entries(root, dataset), part), "semantic": dataset in SEMANTIC}


def validation_objects(root: str | Path, dataset: str, n: int, seed: int = 0, min_area: int = 100) -> list[ObjectSample]:
    """A fixed set of ``n`` objects from the validation part of ``dataset``.

    Returns:
        ``ObjectSample`` list, the same for the same (dataset, n, seed), spread over the
        validation images.
    """
    folder = _check_dataset(Path(root), dataset)
    return list(load_objects(folder, max_objects=n, seed=seed, min_area=min_area,
                             **part_selection(root, dataset, "val")))
