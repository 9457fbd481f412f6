"""The prompt layers and the session agree through undo/redo, tools and slice changes.

Regression tests for issue 13 items 4-7 (headless napari viewer through pytest-xvfb).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytestmark = pytest.mark.gui

from _shapes import disk_image  # noqa: E402


def _disk_image(*args, **kw):
    return disk_image(*args, **kw)[0]


@pytest.fixture
def annotator(viewer):
    from napari_clickseg.widgets.annotator import AnnotatorWidget

    def make(data, background=False):
        viewer.add_image(data, name="img")
        w = AnnotatorWidget(viewer, model="random-walker")
        w.controls.background_box.setChecked(background)
        viewer.window.add_dock_widget(w)
        return viewer, w

    return make


def _layer_clicks(w):
    return [(c.row, c.col, c.is_positive) for c in w.prompts.clicks_on(w.current_index())]


def _session_clicks(w):
    return [(c.row, c.col, c.is_positive) for c in w.session.clicks]


def test_undo_removes_the_box_rectangle_and_redo_brings_it_back(annotator):
    viewer, w = annotator(_disk_image())
    w.prompts.box.add_rectangles(np.array([[20, 30], [60, 70]]))
    assert w.session.box is not None and len(w.prompts.box.data) == 1
    w.undo()
    assert w.session.box is None and len(w.prompts.box.data) == 0, "the rectangle stays after undo"
    w.add_click(40, 50)
    assert w.session.box is None, "the next click put the undone box back"
    w.undo()
    w.redo()
    assert w.session.box is None and _session_clicks(w) == [(40, 50, True)]
    w.reset_object()
    w.prompts.box.add_rectangles(np.array([[20, 30], [60, 70]]))
    box = w.session.box
    w.undo()
    w.redo()
    assert w.session.box == box and w.prompts.box_on(()) == box


def test_undo_and_redo_keep_the_click_order(annotator):
    viewer, w = annotator(_disk_image())
    w.add_click(5, 5, is_positive=False)
    w.add_click(40, 50)
    w.add_click(45, 55)
    w.add_click(80, 80, is_positive=False)
    order = [(5, 5, False), (40, 50, True), (45, 55, True), (80, 80, False)]
    assert _session_clicks(w) == order
    w.undo()
    assert _layer_clicks(w) == order[:3] == _session_clicks(w)
    w.undo()
    assert _layer_clicks(w) == order[:2]
    w.redo()
    w.redo()
    assert _layer_clicks(w) == order == _session_clicks(w)
    w.add_click(30, 40, is_positive=False)  # the next click must not re-order the chain
    assert _session_clicks(w) == order + [(30, 40, False)] == _layer_clicks(w)


def test_points_added_with_napari_s_own_tool_are_numbered_in_order(annotator):
    viewer, w = annotator(_disk_image())
    pos, neg = w.prompts.positive, w.prompts.negative
    w.add_click(5, 5, is_positive=False)  # the widget
    pos.add(np.array([[40, 50]]))  # napari's point tool calls Layer.add (and selects the point)
    neg.add(np.array([[80, 80]]))
    pos.add(np.array([[45, 55]]))
    expected = [(5, 5, False), (40, 50, True), (80, 80, False), (45, 55, True)]
    assert _session_clicks(w) == expected == _layer_clicks(w)
    orders = [*pos.features["order"], *neg.features["order"]]
    assert len(set(orders)) == 4, f"duplicate order numbers {orders}"
    # selecting an old point makes napari copy its order into feature_defaults: still fresh
    neg.selected_data = {0}
    neg.add(np.array([[10, 90]]))
    assert _session_clicks(w)[-1] == (10, 90, False)


def test_a_burst_of_clicks_is_undone_one_click_at_a_time(annotator):
    viewer, w = annotator(_disk_image(), background=True)
    for rc in ((40, 50), (45, 55), (30, 45)):
        w.add_click(*rc)  # no waiting
    w.wait_idle()
    assert len(w.session.clicks) == 3
    w.undo()
    assert _session_clicks(w) == [(40, 50, True), (45, 55, True)] == _layer_clicks(w)


def test_coming_back_to_a_slice_keeps_per_click_undo(annotator):
    vol = np.stack([_disk_image(64, (30, 32), 14, seed=s) for s in range(5)])
    viewer, w = annotator(vol)
    viewer.dims.set_current_step(0, 1)
    w.add_click(30, 32)
    w.add_click(33, 35)
    w.add_click(2, 2, is_positive=False)
    viewer.dims.set_current_step(0, 3)
    w.add_click(30, 32)
    viewer.dims.set_current_step(0, 1)  # back: the object and its history come back
    assert _session_clicks(w) == [(30, 32, True), (33, 35, True), (2, 2, False)]
    w.undo()
    assert _session_clicks(w) == [(30, 32, True), (33, 35, True)] == _layer_clicks(w), "one undo removed all clicks"
    w.redo()
    assert len(w.session.clicks) == 3
    # after a model change the slice is replayed click by click: undo still removes one click
    w.set_model("geodesic")
    viewer.dims.set_current_step(0, 3)
    viewer.dims.set_current_step(0, 1)
    w.undo()
    assert _session_clicks(w) == [(30, 32, True), (33, 35, True)] == _layer_clicks(w)


def test_box_undo_redo_on_a_stack(annotator):
    vol = np.stack([_disk_image(64, (30, 32), 14, seed=s) for s in range(3)])
    viewer, w = annotator(vol)
    viewer.dims.set_current_step(0, 1)
    w.prompts.box.add_rectangles(np.array([[1, 15, 15], [1, 15, 45], [1, 45, 45], [1, 45, 15]]))
    box = w.session.box
    assert box is not None
    w.undo()
    assert len(w.prompts.box.data) == 0
    w.redo()
    assert w.prompts.box_on((1,)) == box and len(w.prompts.box.data) == 1
