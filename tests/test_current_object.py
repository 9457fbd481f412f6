"""CurrentObject: the slice held, edits, commit decisions and undo routing (pure core, no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.clicks import Click
from napari_clickseg.core.current_object import COMMIT_KINDS, CurrentObject
from napari_clickseg.core.document import AnnotationDocument
from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.models.base import BasePredictor


class SquarePredictor(BasePredictor):
    """prob: the previous map with a 9x9 square set to 1 at every positive click, 0 at negatives."""

    name = "square"

    def _encode(self, image):
        return np.asarray(image, np.float32)

    def _predict(self, features, clicks, prev_prob, box):
        prob = np.zeros(features.shape[:2], np.float32) if prev_prob is None else prev_prob.copy()
        for c in clicks:
            prob[max(c.row - 4, 0) : c.row + 5, max(c.col - 4, 0) : c.col + 5] = 1.0 if c.is_positive else 0.0
        return prob


_IMAGE = np.random.default_rng(2).random((40, 40)).astype(np.float32)


def _square(r0, c0, r1, c1, shape=(40, 40)):
    m = np.zeros(shape, bool)
    m[r0:r1, c0:c1] = True
    return m


@pytest.fixture
def stack():
    return np.random.default_rng(0).random((3, 40, 40)).astype(np.float32)


def _current():
    session = InteractiveSession(SquarePredictor())
    session.anchor_masks = False  # the square model needs no anchor; keeps the counts exact
    return CurrentObject(session)


def test_leaving_a_slice_keeps_its_unfinished_object_and_coming_back_restores_it(stack):
    cur = _current()
    cur.hold((0,), stack[0], key="z0")
    assert cur.holds((0,)) and not cur.holds((1,))
    cur.session.add(Click(10, 10))
    cur.hold((1,), stack[1], key="z1")
    assert cur.index == (1,) and cur.session.clicks == ()
    cur.hold((0,), stack[0], key="z0")
    assert cur.session.clicks == (Click(10, 10),) and cur.session.mask[10, 10]
    cur.forget_slices()  # the image's data changed: nothing comes back
    assert cur.index is None
    cur.hold((0,), stack[0], key="z0")
    assert cur.session.clicks == ()


def test_a_slice_that_cannot_be_segmented_leaves_no_slice_held(stack):
    cur = _current()
    cur.hold((0,), stack[0], key="z0")
    with pytest.raises(ValueError):
        cur.hold((1,), np.zeros((40, 40, 5), np.float32))  # 5 channels: refused
    assert cur.index is None and not cur.holds((0,))


def test_an_edit_replaces_exactly_its_object_and_an_unchanged_edit_says_so():
    cur = _current()
    image = np.random.default_rng(1).random((40, 40)).astype(np.float32)
    doc = AnnotationDocument.blank((40, 40))
    doc.commit(_square(5, 5, 20, 20))
    doc.commit(_square(25, 25, 35, 35))
    before = doc.labels.copy()
    cur.hold((), image)
    with pytest.raises(ValueError):
        cur.start_edit(1, np.zeros((5, 5), bool), True)  # the mask must fit the slice
    ed = cur.start_edit(1, doc.object_mask(1), in_target=True)
    assert (ed.label_id, ed.index, ed.in_target) == (1, (), True) and cur.editing_here and cur.edited_id == 1
    assert cur.commit(doc).kind == "unchanged"  # no click: the object stays as it was
    cur.session.add(Click(8, 8, False))  # trims a corner of object 1
    done = cur.commit(doc, label_id=9)  # the id is ignored for a replace
    assert (done.kind, done.label_id, done.index, done.done) == ("replaced", 1, (), True)
    changed = doc.labels != before
    assert changed.any() and (before[changed] == 1).all() and (doc.labels[changed] == 0).all()
    assert (doc.labels == 2).sum() == (before == 2).sum()
    doc.undo()
    assert np.array_equal(doc.labels, before)


def test_an_object_of_another_layer_is_added_as_new():
    cur = _current()
    cur.hold((), _IMAGE)
    doc = AnnotationDocument.blank((40, 40))
    doc.commit(_square(0, 0, 4, 4))
    cur.start_edit(7, _square(10, 10, 20, 20), in_target=False)
    assert cur.edited_id is None
    done = cur.commit(doc)
    assert (done.kind, done.label_id) == ("committed", 2) and (doc.labels[10:20, 10:20] == 2).all()


def test_commit_creates_a_document_only_when_a_mask_is_to_be_added():
    cur = _current()
    assert cur.commit(None).kind == "nothing"  # no slice held
    cur.hold((), _IMAGE)
    made = []

    def create():
        made.append(AnnotationDocument.blank((40, 40)))
        return made[-1]

    assert cur.commit(None, create=create).kind == "empty" and not made
    cur.session.add(Click(20, 20))
    assert cur.commit(None).kind == "no document"
    done = cur.commit(None, create=create, model="square")
    assert done.kind == "committed" and len(made) == 1 and made[0].records[0].model == "square"
    assert made[0].records[0].clicks == [Click(20, 20)]
    # all under another object and no overwrite: nothing written
    assert cur.commit(made[0], label_id=5).kind == "covered" and 5 not in made[0].ids()
    assert set(COMMIT_KINDS) >= {"replaced", "unchanged", "committed", "nothing", "empty", "no document", "covered"}


def test_undo_takes_the_clicks_back_first_then_the_document(stack):
    cur = _current()
    doc = AnnotationDocument.blank((3, 40, 40))
    cur.hold((0,), stack[0], key="z0")
    cur.session.add(Click(10, 10))
    cur.commit(doc)
    cur.reset()
    cur.session.add(Click(30, 30))
    assert cur.step("undo", doc, (0,)) == ("click", None) and cur.session.clicks == ()
    what, edit = cur.step("undo", doc, (0,))
    assert what == "document" and edit.label_ids == (1,) and not doc.labels.any()
    assert cur.step("undo", doc, (0,)) == ("nothing", None)
    # on another slice than the one held, the clicks are not the session's to undo
    assert cur.step("redo", doc, (2,))[0] == "document" and (doc.labels[0] == 1).any()
    assert cur.step("redo", doc, (0,)) == ("click", None) and cur.session.clicks == (Click(30, 30),)
    with pytest.raises(ValueError, match="undo"):
        cur.step("again", doc, (0,))


def test_use_and_drop_forget_the_slice_and_the_edit():
    cur = _current()
    cur.hold((), _IMAGE)
    cur.start_edit(3, _square(1, 1, 9, 9), True)
    cur.use(InteractiveSession(SquarePredictor()))
    assert cur.index is None and cur.editing is None and not cur.session.has_image
    with pytest.raises(RuntimeError, match="no slice"):
        cur.start_edit(3, _square(1, 1, 9, 9), True)
    with pytest.raises(RuntimeError, match="no session"):
        CurrentObject().hold((), _IMAGE)
