"""Object facts and erasing one object (core/objects.py)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.labels import Edit, LabelHistory
from napari_clickseg.core.objects import erase_object, largest_slice, object_stats


def test_object_stats_area_and_slice_range_and_erase_is_undoable():
    lab = np.zeros((6, 10, 10), np.uint16)
    lab[1:4, 2:5, 2:5] = 3
    lab[3, 2, 2] = 7
    lab[2, 6:9, 6:9] = 7
    stats = object_stats(lab)
    assert [(s.label_id, s.area, s.first, s.last) for s in stats] == [(3, 26, 1, 3), (7, 10, 2, 3)]
    assert largest_slice(lab, 7) == 2 and largest_slice(lab, 5) is None
    two_d = object_stats(lab[2])
    assert [(s.label_id, s.first) for s in two_d] == [(3, None), (7, None)]
    before = lab.copy()
    patch = erase_object(lab, 3)
    assert patch is not None and erase_object(lab, 4) is None and erase_object(lab, 0) is None
    hist = LabelHistory()
    lab[patch.region] = patch.after
    hist.push(Edit([patch], (3,)))
    assert not (lab == 3).any() and (lab == 7).sum() == 10
    hist.undo(lab)
    np.testing.assert_array_equal(lab, before)
    assert object_stats(np.zeros((3, 3), np.uint8)) == []
    with pytest.raises(ValueError, match="integers"):
        object_stats(lab.astype(float))
    big = np.zeros((4, 4), np.int64)
    big[1, 1] = 5_000_000  # sparse path
    assert [(s.label_id, s.area) for s in object_stats(big)] == [(5_000_000, 1)]
