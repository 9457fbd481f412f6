"""Hand edits made outside the annotator become one undoable patch (core.labels.patch_from_changes)."""

from __future__ import annotations

import numpy as np

from napari_clickseg.core.labels import LabelHistory, commit_mask, patch_from_changes


def test_two_overlapping_changes_undo_to_the_first_before_and_redo_to_the_last_after():
    lab = np.zeros((2, 10, 10), np.uint16)
    m = np.zeros((10, 10), bool)
    m[2:6, 2:6] = True
    commit_mask(lab, m, (1,), 1)
    original = lab.copy()
    # two strokes in one item, the second over part of the first (as napari stages a drag)
    i1 = (np.array([1, 1, 1]), np.array([3, 3, 8]), np.array([3, 4, 8]))
    b1 = lab[i1].copy()
    lab[i1] = 5
    i2 = (np.array([1, 1]), np.array([3, 9]), np.array([4, 9]))
    b2 = lab[i2].copy()
    lab[i2] = 0
    after = lab.copy()
    patch = patch_from_changes(lab, [(i1, b1, 5), (i2, b2, np.zeros(2))])
    assert patch is not None and patch.region == (slice(1, 2), slice(3, 10), slice(3, 10))
    hist = LabelHistory()
    hist.push(__import__("napari_clickseg.core.labels", fromlist=["Edit"]).Edit([patch], (5,)))
    hist.undo(lab)
    np.testing.assert_array_equal(lab, original)
    hist.redo(lab)
    np.testing.assert_array_equal(lab, after)


def test_changes_seen_before_they_are_written_give_the_same_patch():
    lab = np.zeros((6, 6), np.uint8)
    idx = (np.array([1, 2]), np.array([1, 2]))
    early = patch_from_changes(lab, [(idx, np.zeros(2), 3)])  # napari emits before writing
    lab[idx] = 3
    late = patch_from_changes(lab, [(idx, np.zeros(2), 3)])
    np.testing.assert_array_equal(early.before, late.before)
    np.testing.assert_array_equal(early.after, late.after)
    assert patch_from_changes(lab, [(idx, np.full(2, 3), 3)]) is None  # nothing changed
    assert patch_from_changes(lab, []) is None
