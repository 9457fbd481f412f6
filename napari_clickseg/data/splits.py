"""Fixed validation parts of the real datasets (never seen by training).

Each real dataset (``data.real_data``) is split once, here, so model selection and reported
numbers always use the same held-out images. Where ``index.json`` gives patient ids (GlaS,
LGG, HC18 examinations) the split is by patient; where it gives a split field (CamVid) that
field is used; otherwise by image (contiguous blocks for the ISBI stack and the CTC time
series, so neighbouring slices/frames do not leak).

* ``glas-train``: patients 3, 8, 9, 13 -> 18 of 85 images (21 %).
* ``lgg-mri-train``: 13 of 55 patients (every 5th patient from the 3rd in ``index.json``
  order, plus the two patients whose whole volumes are in ``volumes/``, so that fine-tuning
  on one volume and testing on the other never touches training data).
* ``monuseg-kumar-train``: 3 of 16 tiles (three different organs/centres).
* ``isbi2012-em``: the last 6 of 30 slices (``train_24`` .. ``train_29``).
* ``ctc-fluo-n2dh-gowt1``: the last 8 annotated frames of sequence 02 (t >= 55).
* ``ctc-fluo-n2dh-sim``: frames t >= 90 of sequence 02 (4 of 15 frames, a contiguous block).
* ``camvid``: the CamVid ``test`` split (sequence Seq05VD, never in train/val, and the frames of
  0001TP after the training ones); ``train`` and ``val`` are both training (``val`` frames
  interleave with training frames of the same drive, so they would not be held out).
* ``dsb2018-stage1`` (by ``kind``), ``busi-breast-us`` (by ``class``), ``ph2-dermoscopy`` (by
  ``diagnosis``), ``ccp-clothing`` (one group), ``hc18-fetal-head-us`` (by examination,
  ``patient_id``): a ranked 20 % of each group (see ``ranked_fraction``): the keys of a
  group sorted by CRC-32 of the key, the first ``max(1, round(0.2 n))`` are validation. No
  patient ids exist for DSB2018, BUSI, PH2 and CCP, so those split by image (BUSI has known
  near-duplicate images, which may straddle the split).

``dsb2018-sample`` (one image, the project's sample) is not a split dataset.
"""

from __future__ import annotations

import zlib
from typing import Any

__all__ = ["DATASETS", "V1_DATASETS", "VALIDATION", "is_validation", "split_names", "ranked_fraction"]

#: the five real datasets the v1 default model was trained on
V1_DATASETS: tuple[str, ...] = (
    "glas-train",
    "monuseg-kumar-train",
    "lgg-mri-train",
    "isbi2012-em",
    "ctc-fluo-n2dh-gowt1",
)

#: every real dataset with a fixed split (folder names under the data root)
DATASETS: tuple[str, ...] = V1_DATASETS + (
    "dsb2018-stage1",
    "busi-breast-us",
    "hc18-fetal-head-us",
    "ph2-dermoscopy",
    "camvid",
    "ctc-fluo-n2dh-sim",
    "ccp-clothing",
)

GLAS_VAL_PATIENTS = ("3", "8", "9", "13")

LGG_VAL_PATIENTS = (
    "TCGA_CS_4941_19960909", "TCGA_CS_4944_20010208", "TCGA_CS_6667_20011105",
    "TCGA_DU_5872_19950223", "TCGA_DU_6401_19831001", "TCGA_DU_7008_19830723",
    "TCGA_DU_7301_19911112", "TCGA_DU_8167_19970402", "TCGA_FG_5964_20010511",
    "TCGA_FG_A4MT_20020212", "TCGA_HT_7686_19950629", "TCGA_HT_7879_19981009",
    "TCGA_HT_8114_19981030",
)

MONUSEG_VAL_IMAGES = ("TCGA-21-5784-01Z-00-DX1", "TCGA-AR-A1AK-01Z-00-DX1", "TCGA-HE-7129-01Z-00-DX1")

ISBI_VAL_IMAGES = tuple(f"train_{i:02d}" for i in range(24, 30))

CTC_VAL_IMAGES = ("02_t055", "02_t060", "02_t065", "02_t072", "02_t076", "02_t080", "02_t082", "02_t091")

CTC_SIM_VAL_IMAGES = ("02_t090", "02_t105", "02_t120", "02_t135")

CAMVID_VAL_SPLITS = ("test",)

#: validation fraction of the ranked splits
RANKED_FRACTION = 0.2

#: ranked splits: dataset -> (key field, group field or None)
RANKED: dict[str, tuple[str, str | None]] = {
    "dsb2018-stage1": ("name", "kind"),
    "busi-breast-us": ("name", "class"),
    "hc18-fetal-head-us": ("patient_id", None),
    "ph2-dermoscopy": ("name", "diagnosis"),
    "ccp-clothing": ("name", None),
}

#: human-readable rule per dataset (recorded in model cards)
VALIDATION: dict[str, str] = {
    "glas-train": f"patients {', '.join(GLAS_VAL_PATIENTS)}",
    "lgg-mri-train": f"{len(LGG_VAL_PATIENTS)} patients: {', '.join(LGG_VAL_PATIENTS)}",
    "monuseg-kumar-train": f"images {', '.join(MONUSEG_VAL_IMAGES)}",
    "isbi2012-em": f"slices {ISBI_VAL_IMAGES[0]}..{ISBI_VAL_IMAGES[-1]}",
    "ctc-fluo-n2dh-gowt1": f"frames {', '.join(CTC_VAL_IMAGES)}",
    "ctc-fluo-n2dh-sim": f"frames {', '.join(CTC_SIM_VAL_IMAGES)}",
    "camvid": f"index.json split {' + '.join(CAMVID_VAL_SPLITS)}",
    **{
        name: (f"{RANKED_FRACTION:.0%} of the {'examinations' if key == 'patient_id' else 'images'}"
               f"{f' per {group}' if group else ''} with the smallest CRC-32 of {key}")
        for name, (key, group) in RANKED.items()
    },
}


def _crc(key: str) -> int:
    return zlib.crc32(key.encode("utf-8"))


def ranked_fraction(entries: list[dict[str, Any]], key: str, group: str | None, fraction: float) -> set[str]:
    """Validation keys of a ranked split: per group, the ``max(1, round(fraction n))`` keys of
    smallest CRC-32 (ties by key); stable for a key as long as its group's members stay.

    Args:
        entries: ``index.json`` records.
        key: field that identifies the unit of the split (``name`` or ``patient_id``).
        group: field to stratify by, or None (one group).
        fraction: validation fraction in (0, 1).

    Raises:
        ValueError: an entry without ``key`` (or ``group``).
    """
    groups: dict[str, set[str]] = {}
    for e in entries:
        if e.get(key) in (None, ""):
            raise ValueError(f"index entry {e.get('name')!r} has no {key!r} (needed by its split)")
        g = "" if group is None else e.get(group)
        if g is None:
            raise ValueError(f"index entry {e.get('name')!r} has no {group!r} (needed by its split)")
        groups.setdefault(str(g), set()).add(str(e[key]))
    out: set[str] = set()
    for members in groups.values():
        ranked = sorted(members, key=lambda k: (_crc(k), k))
        out.update(ranked[: max(1, round(fraction * len(ranked)))])
    return out


def _validation_keys(dataset: str, entries: list[dict[str, Any]]) -> set[str]:
    key, group = RANKED[dataset]
    return ranked_fraction(entries, key, group, RANKED_FRACTION)


def is_validation(dataset: str, entry: dict[str, Any], entries: list[dict[str, Any]] | None = None) -> bool:
    """Whether one ``index.json`` entry of ``dataset`` belongs to its validation part.

    Args:
        dataset: a name from ``DATASETS``.
        entry: the image's ``index.json`` record (needs ``name``; ``patient_id`` for GlaS and
            HC18, ``patient`` for LGG, ``split`` for CamVid, the group field of ranked splits).
        entries: all records of the dataset; needed by the ranked splits (``RANKED``), whose
            membership depends on the other members of a group.

    Raises:
        ValueError: unknown dataset, an entry without the field the rule needs, or a ranked
            dataset without ``entries``.
    """
    name = str(entry.get("name", ""))
    if dataset == "glas-train":
        if "patient_id" not in entry:
            raise ValueError(f"glas-train index entry {name!r} has no patient_id")
        return str(entry["patient_id"]) in GLAS_VAL_PATIENTS
    if dataset == "lgg-mri-train":
        patient = entry.get("patient") or name.rsplit("_", 1)[0]
        return str(patient) in LGG_VAL_PATIENTS
    if dataset == "monuseg-kumar-train":
        return name in MONUSEG_VAL_IMAGES
    if dataset == "isbi2012-em":
        return name in ISBI_VAL_IMAGES
    if dataset == "ctc-fluo-n2dh-gowt1":
        return name in CTC_VAL_IMAGES
    if dataset == "ctc-fluo-n2dh-sim":
        return name in CTC_SIM_VAL_IMAGES
    if dataset == "camvid":
        if "split" not in entry:
            raise ValueError(f"camvid index entry {name!r} has no split field")
        return str(entry["split"]) in CAMVID_VAL_SPLITS
    if dataset in RANKED:
        if entries is None:
            raise ValueError(f"{dataset}: its split is ranked within groups; pass all index entries")
        return str(entry.get(RANKED[dataset][0])) in _validation_keys(dataset, entries)
    raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")


def split_names(dataset: str, entries: list[dict[str, Any]], part: str) -> list[str]:
    """Image names (file stems) of ``part`` ("train" or "val") among ``index.json`` entries."""
    if part not in ("train", "val"):
        raise ValueError(f"part must be 'train' or 'val', got {part!r}")
    want_val = part == "val"
    if dataset in RANKED:
        keys = _validation_keys(dataset, entries)
        field = RANKED[dataset][0]
        return [str(e["name"]) for e in entries if (str(e.get(field)) in keys) == want_val]
    return [str(e["name"]) for e in entries if is_validation(dataset, e) == want_val]
