"""Committing masks into label arrays and undo/redo of commits (core/labels.py)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.labels import Edit, LabelHistory, commit_mask, mask_bbox, next_free_id


def _square(shape, r0, c0, r1, c1):
    m = np.zeros(shape, bool)
    m[r0:r1, c0:c1] = True
    return m


def test_next_free_id_and_bbox():
    lab = np.zeros((4, 5), np.uint16)
    assert next_free_id(lab) == 1
    lab[1, 2] = 7
    assert next_free_id(lab) == 8
    assert mask_bbox(lab > 0) == (slice(1, 2), slice(2, 3))
    assert mask_bbox(np.zeros((3, 3), bool)) is None


def test_commit_preserves_existing_objects_unless_overwrite():
    lab = np.zeros((2, 10, 10), np.int32)
    p1 = commit_mask(lab, _square((10, 10), 2, 2, 6, 6), index=(1,))
    assert p1 is not None and p1.region[0] == slice(1, 2)
    assert set(np.unique(lab[1])) == {0, 1} and not lab[0].any()
    first = lab.copy()
    p2 = commit_mask(lab, _square((10, 10), 4, 4, 8, 8), index=(1,))
    assert p2 is not None
    assert np.all(lab[first == 1] == 1), "an existing object lost pixels"
    assert np.count_nonzero(lab == 2) == 16 - 4
    commit_mask(lab, _square((10, 10), 0, 0, 3, 3), index=(1,), label_id=5, overwrite=True)
    assert lab[1, 2, 2] == 5 and lab[1, 0, 0] == 5
    # the patch stores only the object's bounding box
    assert p2.before.shape == (1, 4, 4)


def test_commit_bad_input():
    lab = np.zeros((10, 10), np.uint8)
    with pytest.raises(ValueError, match="mask has shape"):
        commit_mask(lab, np.ones((5, 5), bool))
    with pytest.raises(ValueError, match="index"):
        commit_mask(lab, np.ones((10, 10), bool), index=(0,))
    with pytest.raises(ValueError, match="does not fit"):
        commit_mask(lab, np.ones((10, 10), bool), label_id=300)
    assert commit_mask(lab, np.zeros((10, 10), bool)) is None


def test_history_undo_redo_multi_level_and_writer():
    lab = np.zeros((3, 12, 12), np.uint16)
    hist = LabelHistory()
    snaps = [lab.copy()]
    for k in range(3):
        p = commit_mask(lab, _square((12, 12), k, k, k + 5, k + 5), index=(k,))
        hist.push(Edit([p], (k + 1,)))
        snaps.append(lab.copy())
    # one edit with two patches (a propagation) undoes as one step
    e = Edit([commit_mask(lab, _square((12, 12), 8, 8, 11, 11), index=(z,), label_id=4) for z in (0, 2)], (4,))
    hist.push(e)
    after = lab.copy()
    assert hist.undo(lab) is e
    np.testing.assert_array_equal(lab, snaps[3])
    writes = []

    def write(idx, values):
        writes.append(len(values))
        lab[idx] = values

    hist.undo(lab, write=write)
    np.testing.assert_array_equal(lab, snaps[2])
    assert writes == [25], "the writer gets only the changed pixels"
    hist.redo(lab, write=write)
    hist.redo(lab)
    np.testing.assert_array_equal(lab, after)
    assert not hist.can_redo and hist.can_undo
    hist.undo(lab)
    hist.push(Edit([commit_mask(lab, _square((12, 12), 0, 8, 2, 10), index=(1,))], (9,)))
    assert not hist.can_redo, "a new edit clears the redo stack"
