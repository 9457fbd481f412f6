"""AnnotationDocument: commit, edit, delete, undo/redo and save/resume of an annotation (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
from _shapes import disk_image

from napari_clickseg import AnnotationDocument, Click, InteractiveSession, load_model
from napari_clickseg.core.clicks import Box


def _square(shape, r0, c0, r1, c1):
    m = np.zeros(shape, bool)
    m[r0:r1, c0:c1] = True
    return m


def test_commit_new_and_into_existing_never_touches_others():
    doc = AnnotationDocument.blank((40, 40))
    a = doc.commit(_square((40, 40), 5, 5, 20, 20), clicks=[Click(10, 10)], model="m")
    b = doc.commit(_square((40, 40), 15, 15, 30, 30))
    assert (a, b) == (1, 2)
    assert (doc.labels[5:20, 5:20] == 1).all(), "the second object took pixels of the first"
    assert (doc.labels[20:30, 20:30] == 2).all() and doc.ids() == [1, 2]
    # into an existing id: pixels added, none of the id's own removed, the other object kept
    assert doc.commit(_square((40, 40), 0, 0, 8, 8), label_id=1) == 1
    assert (doc.labels[0:8, 0:8] == 1).all() and (doc.labels[5:20, 5:20] == 1).all()
    assert [r.label_id for r in doc.records] == [1, 2, 1]
    rec = doc.records[0]
    assert rec.clicks == [Click(10, 10)] and rec.model == "m" and rec.source == "clicks" and rec.time > 0
    # overwrite only when asked
    assert doc.commit(_square((40, 40), 10, 10, 12, 12), label_id=2) is None
    assert doc.commit(_square((40, 40), 10, 10, 12, 12), label_id=2, overwrite=True) == 2
    assert (doc.labels[10:12, 10:12] == 2).all()


def test_replace_changes_exactly_that_object_on_that_slice_and_undo_restores():
    doc = AnnotationDocument.blank((3, 30, 30), dtype=np.uint16)
    doc.commit(_square((30, 30), 2, 2, 12, 12), (1,))
    doc.commit(_square((30, 30), 2, 2, 12, 12), (2,), label_id=1)
    doc.commit(_square((30, 30), 10, 10, 20, 20), (1,))
    before = doc.labels.copy()
    mask = doc.edit(1, (1,))
    assert mask.sum() == 100 and not doc.labels[0].any()
    new = _square((30, 30), 5, 5, 16, 16)  # shrinks on one side, grows over object 2 and background
    assert doc.replace(1, new, (1,), clicks=[Click(6, 6, False)], model="x")
    lab = doc.labels
    changed = lab != before
    assert not changed[0].any() and not changed[2].any(), "another slice changed"
    assert (lab[1] == 2).sum() == (before[1] == 2).sum(), "another object changed"
    assert np.array_equal(lab[1] == 1, new & (before[1] != 2))
    assert doc.records[-1].source == "edited" and doc.records[-1].index == (1,)
    doc.undo()
    assert np.array_equal(doc.labels, before) and [r.source for r in doc.records] == ["clicks"] * 3
    doc.redo()
    assert np.array_equal(doc.labels == 1, lab == 1) and doc.records[-1].source == "edited"
    # an empty mask erases the object from the slice; edit of an absent object is refused
    assert doc.replace(1, np.zeros((30, 30), bool), (1,))
    assert not (doc.labels[1] == 1).any() and (doc.labels[2] == 1).any()
    with pytest.raises(ValueError, match="no pixel"):
        doc.edit(1, (1,))
    with pytest.raises(ValueError, match="coordinates"):
        doc.replace(1, new, ())


def test_delete_and_unlimited_undo_redo():
    doc = AnnotationDocument.blank((50, 50))
    states = [doc.labels.copy()]
    for k in range(120):  # more than the old 100-step bound
        r, c = k // 12 * 4, k % 12 * 4
        assert doc.commit(_square((50, 50), r, c, r + 2, c + 2)) == k + 1
        states.append(doc.labels.copy())
    assert doc.delete(3) and not (doc.labels == 3).any() and not doc.records_of(3)
    assert not doc.delete(999)
    doc.undo()
    assert np.array_equal(doc.labels, states[-1]) and len(doc.records_of(3)) == 1
    for k in range(120, 0, -1):
        doc.undo()
        assert np.array_equal(doc.labels, states[k - 1])
    assert not doc.can_undo and doc.undo() is None and not doc.records
    for _ in range(120):
        doc.redo()
    assert np.array_equal(doc.labels, states[-1]) and len(doc.records) == 120
    doc.redo()  # the deletion
    assert not (doc.labels == 3).any() and not doc.can_redo


def test_writes_go_through_write_and_listeners_hear_changes():
    arr = np.zeros((20, 20), np.int32)
    writes, heard = [], []

    def write(idx, values):
        writes.append(len(values))
        arr[idx] = values

    doc = AnnotationDocument(arr, write=write)
    doc.listeners.append(heard.append)
    doc.commit(_square((20, 20), 0, 0, 4, 4))
    doc.undo()
    doc.redo()
    assert writes == [16, 16, 16] and heard == ["commit", "undo", "redo"]
    with pytest.raises(ValueError, match="integer"):
        AnnotationDocument(np.zeros((4, 4), np.float32))


def test_save_and_resume_labels_and_prompts(tmp_path):
    doc = AnnotationDocument.blank((2, 24, 24))
    doc.commit(_square((24, 24), 1, 1, 9, 9), (0,), clicks=[Click(4, 4), Click(2, 8, False)],
               box=Box(0, 0, 10, 10), model="random-walker")
    doc.commit_slices({(1,): _square((24, 24), 2, 2, 8, 8)}, 1, model="random-walker")
    side = doc.save(tmp_path / "lab.tif", settings={"model": "random-walker"})
    assert side.name == "lab.clickseg.json"
    back = AnnotationDocument.load(tmp_path / "lab.tif")
    assert np.array_equal(back.labels, doc.labels) and back.settings == {"model": "random-walker"}
    assert [(r.label_id, r.index, r.source) for r in back.records] == [(1, (0,), "clicks"), (1, (1,), "propagated")]
    assert back.records[0].clicks == doc.records[0].clicks and back.records[0].box == Box(0, 0, 10, 10)
    assert back.records[0].time == pytest.approx(doc.records[0].time)
    assert back.next_id() == 2 and not back.can_undo
    with pytest.raises(FileNotFoundError):
        AnnotationDocument.load(tmp_path / "missing.tif")


def test_python_alone_annotate_edit_undo_save(tmp_path):
    image, disk = disk_image()
    session = InteractiveSession(load_model("random-walker"), image)
    doc = AnnotationDocument.blank(image.shape[:2])
    session.add_click(40, 50)
    lid = doc.commit(session.mask, clicks=session.clicks, model="random-walker")
    committed = doc.labels.copy()
    assert lid == 1 and (committed == 1).sum() > 0.8 * disk.sum()
    doc.edit(lid, session=session)
    assert np.array_equal(session.mask, committed == 1) and not session.clicks and not session.can_undo
    r, c = np.argwhere(committed == 1)[0]  # a negative click on the object's edge corrects it
    session.add_click(int(r), int(c), False)
    assert not session.mask[r, c]
    assert doc.replace(lid, session.mask, clicks=session.clicks)
    assert doc.labels[r, c] == 0
    doc.undo()
    assert np.array_equal(doc.labels, committed)
    doc.save(tmp_path / "a.npy")
    assert np.array_equal(AnnotationDocument.load(tmp_path / "a.npy").labels, committed)
