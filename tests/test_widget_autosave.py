"""Autosave in the annotator: written after commits and by the timer, offered, restored, switched off."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytestmark = pytest.mark.gui


def _image():
    rr, cc = np.ogrid[:64, :64]
    img = 0.15 + 0.7 * (((rr - 30) ** 2 + (cc - 30) ** 2) < 12**2)
    return (img + np.random.default_rng(0).normal(0, 0.03, img.shape)).astype(np.float32)


@pytest.fixture
def open_image(make_napari_viewer):
    from napari_clickseg.widgets.annotator import AnnotatorWidget

    def make(img):
        viewer = make_napari_viewer()
        viewer.add_image(img, name="img")
        w = AnnotatorWidget(viewer, model="random-walker")
        w.controls.background_box.setChecked(False)
        w.autosave._timer.stop()  # explicit ticks here (the kill test relies on the timer)
        return viewer, w

    return make


@pytest.mark.slow
def test_commit_is_saved_at_once_and_offered_again(open_image):
    img = _image()
    viewer, w = open_image(img)
    assert w.autosave.offer is None
    w.add_click(30, 30)
    w.commit()
    state = w.autosave.store.read()
    np.testing.assert_array_equal(state.labels, w.target.data)
    assert [r.label_id for r in state.records] == [1]
    w.undo()  # undo of the commit: saved at once too (every change of the document is)
    assert not w.autosave.store.read().labels.any() and not w.autosave.tick()
    w.redo()
    w.add_click(5, 5, is_positive=False)
    assert w.autosave.tick() and not w.autosave.tick()  # nothing new: no second write
    viewer2, w2 = open_image(img.copy())
    assert w2.autosave.offer is not None and len(w2.autosave.offer.records) == 1
    existing = set(map(id, viewer2.layers))
    layer = w2.restore_autosave()
    assert id(layer) not in existing and w2.target is layer
    np.testing.assert_array_equal(layer.data, w.target.data)
    assert [(c.row, c.col, c.is_positive) for c in w2.session.clicks] == [(5, 5, False)]


def test_painting_on_the_target_is_saved(open_image):
    viewer, w = open_image(_image())
    w.add_click(30, 30)
    w.commit()
    w.target.data_setitem((np.array([60]), np.array([60])), 9)  # what napari's brush calls
    assert w.autosave.tick() and w.autosave.store.read().labels[60, 60] == 9


@pytest.mark.slow
def test_new_work_sets_the_old_autosave_aside(open_image):
    img = _image()
    viewer, w = open_image(img)
    w.add_click(30, 30)
    w.commit()
    folder = w.autosave.store.folder
    viewer2, w2 = open_image(img)
    assert w2.autosave.offer is not None
    w2.add_click(30, 30)  # works on without restoring
    assert w2.autosave.tick() and w2.autosave.offer is None
    assert len(list(folder.glob("*.previous.*"))) == 2  # the old one is kept aside, not overwritten
    viewer3, w3 = open_image(img)
    w3.autosave.decline()
    assert w3.autosave.offer is None


@pytest.mark.slow
def test_a_different_image_gets_no_offer(open_image):
    viewer, w = open_image(_image())
    w.add_click(30, 30)
    w.commit()
    viewer2, w2 = open_image(_image()[::-1].copy())
    assert w2.autosave.offer is None


@pytest.mark.slow
def test_autosave_can_be_turned_off(open_image, monkeypatch):
    monkeypatch.setenv("CLICKSEG_AUTOSAVE", "0")
    from napari_clickseg.core.autosave import autosave_dir

    viewer, w = open_image(_image())
    w.add_click(30, 30)
    w.commit()
    assert not w.autosave.tick() and not autosave_dir().exists()
    monkeypatch.delenv("CLICKSEG_AUTOSAVE")
    viewer, w = open_image(_image())
    w.autosave.enabled = False  # per annotator
    w.add_click(30, 30)
    w.commit()
    assert not autosave_dir().exists()
