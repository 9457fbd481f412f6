"""Fixed validation parts of the real training datasets (never seen by training).

Each dataset of ``../shared/data`` is split once, here, by explicit lists, so model selection
and reported numbers always use the same held-out images. Where ``index.json`` gives patient
ids (GlaS, LGG) the split is by patient; otherwise by image (contiguous blocks for the
ISBI stack and the CTC time series, so neighbouring slices/frames do not leak).

* ``glas-train``: patients 3, 8, 9, 13 -> 18 of 85 images (21 %).
* ``lgg-mri-train``: 13 of 55 patients (every 5th patient from the 3rd in ``index.json``
  order, plus the two patients whose whole volumes are in ``volumes/``, so that fine-tuning
  on one volume and testing on the other never touches training data).
* ``monuseg-kumar-train``: 3 of 16 tiles (three different organs/centres).
* ``isbi2012-em``: the last 6 of 30 slices (``train_24`` .. ``train_29``).
* ``ctc-fluo-n2dh-gowt1``: the last 8 annotated frames of sequence 02 (t >= 55).
"""

from __future__ import annotations

from typing import Any

__all__ = ["DATASETS", "VALIDATION", "is_validation", "split_names"]

#: the real datasets used for training, in ``../shared/data``
DATASETS: tuple[str, ...] = (
    "glas-train",
    "monuseg-kumar-train",
    "lgg-mri-train",
    "isbi2012-em",
    "ctc-fluo-n2dh-gowt1",
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

#: human-readable rule per dataset (recorded in model cards)
VALIDATION: dict[str, str] = {
    "glas-train": f"patients {', '.join(GLAS_VAL_PATIENTS)}",
    "lgg-mri-train": f"{len(LGG_VAL_PATIENTS)} patients: {', '.join(LGG_VAL_PATIENTS)}",
    "monuseg-kumar-train": f"images {', '.join(MONUSEG_VAL_IMAGES)}",
    "isbi2012-em": f"slices {ISBI_VAL_IMAGES[0]}..{ISBI_VAL_IMAGES[-1]}",
    "ctc-fluo-n2dh-gowt1": f"frames {', '.join(CTC_VAL_IMAGES)}",
}


def is_validation(dataset: str, entry: dict[str, Any]) -> bool:
    """Whether one ``index.json`` entry of ``dataset`` belongs to its validation part.

    Args:
        dataset: a name from ``DATASETS``.
        entry: the image's ``index.json`` record (needs ``name``; ``patient_id`` for GlaS,
            ``patient`` for LGG).

    Raises:
        ValueError: unknown dataset, or an entry without the field the rule needs.
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
    raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")


def split_names(dataset: str, entries: list[dict[str, Any]], part: str) -> list[str]:
    """Image names (file stems) of ``part`` ("train" or "val") among ``index.json`` entries."""
    if part not in ("train", "val"):
        raise ValueError(f"part must be 'train' or 'val', got {part!r}")
    want_val = part == "val"
    return [str(e["name"]) for e in entries if is_validation(dataset, e) == want_val]
