"""Words for messages: slices and slice ranges as users say them, stop reasons in plain terms.

Internally a slice is a tuple of leading indices (``()`` for a 2D image, ``(6,)`` for slice 6
of a stack); users read "slice 6" and "the image", never Python tuples.
"""

from __future__ import annotations

from typing import Iterable, Sequence

__all__ = ["slice_words", "slices_words", "objects_words", "STOP_WORDS"]

#: ``core.volume.stop_reason`` codes -> what happened, for the propagation message
STOP_WORDS = {
    "faded": "the object no longer stands out from its surroundings there",
    "leaked": "the mask there spills outside the object's previous outline",
    "jumped": "the mask there barely overlaps the previous slice's",
    "vanished": "the object is (almost) gone there",
}


def slice_words(index: Sequence[int] | int) -> str:
    """``()`` -> "the image", ``(6,)`` or ``6`` -> "slice 6", ``(2, 6)`` -> "slice 2, 6"."""
    if isinstance(index, int):
        return f"slice {index}"
    index = tuple(int(i) for i in index)
    return "the image" if not index else f"slice {', '.join(map(str, index))}"


def slices_words(indices: Iterable[int]) -> str:
    """Sorted slice numbers as ranges: [3, 4, 5, 9] -> "slices 3-5 and 9", [4] -> "slice 4"."""
    zs = sorted({int(z) for z in indices})
    if not zs:
        return "no slice"
    runs: list[list[int]] = [[zs[0], zs[0]]]
    for z in zs[1:]:
        if z == runs[-1][1] + 1:
            runs[-1][1] = z
        else:
            runs.append([z, z])
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"slice{'s' if len(zs) > 1 else ''} {text}"


def objects_words(ids: Iterable[int]) -> str:
    """[3] -> "object 3", [1, 2] -> "objects 1 and 2", [] -> "no object"."""
    ids = sorted({int(i) for i in ids})
    if not ids:
        return "no object"
    if len(ids) == 1:
        return f"object {ids[0]}"
    return "objects " + ", ".join(map(str, ids[:-1])) + f" and {ids[-1]}"
