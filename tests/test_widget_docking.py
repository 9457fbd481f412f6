"""The annotator docked as napari users dock it (Plugins menu = the npe2 manifest path).

``viewer.window.add_plugin_dock_widget("napari-clickseg", ...)`` hands the widget a viewer
wrapped in napari's PublicOnlyProxy; keys go through napari's own key-map chain (the selected
layer's bindings first), as they do for a key press on the canvas.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytestmark = pytest.mark.gui


from _shapes import disk_image as _disk_image  # noqa: E402
from _shapes import iou as _iou  # noqa: E402


def _press(viewer, key: str) -> None:
    """A key press as napari dispatches it: the selected layer's keymap, then the viewer's."""
    handler = viewer.window._qt_viewer._key_map_handler  # test-only: the canvas' own dispatcher
    handler.press_key(key)
    handler.release_key(key)


@pytest.fixture
def docked(viewer):
    """(viewer, annotator) with the annotator docked through the plugin menu path."""
    from napari_clickseg.widgets.annotator import AnnotatorWidget

    def make(data, **kw):
        viewer.add_image(data, name="img", **kw)
        _, w = viewer.window.add_plugin_dock_widget("napari-clickseg", "Annotator")
        assert isinstance(w, AnnotatorWidget)
        assert w.set_model("random-walker")
        w.controls.background_box.setChecked(False)  # synchronous predictions
        return viewer, w

    return make


@pytest.mark.slow
def test_menu_docked_widget_gets_a_wrapped_viewer_and_tracks_layers(docked):
    img, disk = _disk_image()
    viewer, w = docked(img)
    assert w.geometry is not None and w.geometry.layer is viewer.layers["img"]
    w.add_click(40, 50)
    assert w.commit() == 1
    target = w.target
    # the annotator's own layers are never offered or accepted as image or target
    offered = [w.controls.labels_combo.itemText(i) for i in range(w.controls.labels_combo.count())]
    assert "clickseg preview" not in offered and target.name in offered
    assert w.set_target("clickseg preview") is target
    assert not w.set_image_layer("clickseg preview") and w.geometry.layer.name == "img"
    # removing the target layer is noticed: no undo on a layer that is gone
    viewer.layers.remove(target)
    assert w.target is None and not w.history.can_undo
    w.undo()  # nothing to undo, nothing raised
    # a new target is created by the next commit; removing the image is noticed too
    w.add_click(40, 50)
    assert w.commit() == 1 and w.target is not None and w.target is not target
    viewer.layers.remove("img")
    assert w.geometry is None and w.prompts is None
    assert not any(name.startswith("clickseg ") and name != w.target.name for name in map(str, viewer.layers))


def test_ctrl_z_with_the_labels_layer_selected_goes_to_the_annotator(docked):
    img, disk = _disk_image()
    img[60:85, 60:85] = 0.9
    viewer, w = docked(img)
    w.add_click(40, 50)
    assert w.commit() == 1
    w.add_click(72, 72)
    assert w.commit() == 2
    after_two = w.target.data.copy()
    viewer.layers.selection.active = w.target  # what napari does after the first commit
    assert viewer.layers.selection.active is w.target
    _press(viewer, "Control-Z")
    assert set(np.unique(w.target.data)) == {0, 1}, "Ctrl-Z undid the last commit (object 2)"
    assert w.history.can_redo and [r.label_id for r in w.records] == [1]
    assert w.controls.status.text().startswith("undid the commit of object 2")
    _press(viewer, "Control-Z")
    assert not w.target.data.any() and not w.records
    _press(viewer, "Control-Shift-Z")
    _press(viewer, "Control-Shift-Z")
    np.testing.assert_array_equal(w.target.data, after_two)  # both objects back, nothing lost
    assert [r.label_id for r in w.records] == [1, 2]
    # the same from any other selected layer (the image, the click points)
    for layer in (viewer.layers["img"], w.prompts.positive, w.prompts.preview):
        viewer.layers.selection.active = layer
        _press(viewer, "Control-Z")
        assert not (w.target.data == 2).any(), layer.name
        _press(viewer, "Control-Shift-Z")
        np.testing.assert_array_equal(w.target.data, after_two)


def test_napari_paint_on_the_target_is_one_step_of_the_annotator_history(docked):
    img, disk = _disk_image()
    viewer, w = docked(img)
    w.add_click(40, 50)
    assert w.commit() == 1
    committed = w.target.data.copy()
    target = w.target
    viewer.layers.selection.active = target
    target.brush_size = 5
    target.paint((85, 10), 7)  # a hand stroke with napari's brush, away from object 1
    target.paint((40, 50), 0)  # and an erase inside object 1
    painted = target.data.copy()
    assert (painted == 7).any() and not np.array_equal(painted == 1, committed == 1)
    assert w.link.recorded_paints == 2
    _press(viewer, "Control-Z")  # undoes the erase, not the commit
    assert (target.data == 7).any() and np.array_equal(target.data == 1, committed == 1)
    _press(viewer, "Control-Z")  # the stroke
    np.testing.assert_array_equal(target.data, committed)
    _press(viewer, "Control-Z")  # the commit
    assert not target.data.any()
    for _ in range(3):
        _press(viewer, "Control-Shift-Z")
    np.testing.assert_array_equal(target.data, painted)
    # a drag stroke (several dabs grouped by napari into one history item) is one undo step
    with target.block_history():
        target.paint((88, 30), 8)
        target.paint((88, 36), 8)
        target.fill((10, 90), 6)  # and a bucket fill in the same item
    assert w.link.recorded_paints == 3 and (target.data == 8).any() and (target.data == 6).any()
    _press(viewer, "Control-Z")
    np.testing.assert_array_equal(target.data, painted)
    _press(viewer, "Control-Shift-Z")
    assert (target.data == 8).any() and (target.data == 6).any()
    # replacing the layer's data as a whole starts the history afresh (patches no longer apply)
    target.data = np.zeros_like(painted)
    assert not w.history.can_undo and not w.history.can_redo


def test_closing_the_widget_gives_the_labels_layer_napari_undo_back(docked):
    from napari.utils.key_bindings import coerce_keybinding

    img, _ = _disk_image()
    viewer, w = docked(img)
    w.add_click(40, 50)
    w.commit()
    target = w.target
    assert coerce_keybinding("Control-Z") in target.keymap
    w.close()
    assert coerce_keybinding("Control-Z") not in target.keymap  # napari's class binding applies again
    # a closed annotator no longer follows the viewer: new layers and slice changes pass it by
    offered = [w.controls.image_combo.itemText(i) for i in range(w.controls.image_combo.count())]
    viewer.add_image(np.zeros((8, 8), np.float32), name="later")
    assert [w.controls.image_combo.itemText(i) for i in range(w.controls.image_combo.count())] == offered
    assert w._on_mouse not in viewer.mouse_drag_callbacks


def test_a_closed_finetune_widget_no_longer_follows_the_layers(docked):
    img, _ = _disk_image()
    viewer, _ = docked(img)
    _, ft = viewer.window.add_plugin_dock_widget("napari-clickseg", "Fine-tune")
    ft.close()
    before = [ft.labels_combo.itemText(i) for i in range(ft.labels_combo.count())]
    viewer.add_labels(np.zeros(img.shape[:2], np.int32), name="later labels")
    assert [ft.labels_combo.itemText(i) for i in range(ft.labels_combo.count())] == before


def test_finetune_widget_docked_from_the_menu_lists_no_own_layers(docked):
    img, _ = _disk_image()
    viewer, w = docked(img)
    _, ft = viewer.window.add_plugin_dock_widget("napari-clickseg", "Fine-tune")
    w.add_click(40, 50)
    w.commit()
    ft.refresh()
    labels = [ft.labels_combo.itemText(i) for i in range(ft.labels_combo.count())]
    assert w.target.name in labels and "clickseg preview" not in labels
    from napari_clickseg.widgets.finetune_widget import base_kept

    assert base_kept({"training": {"kind": "finetune", "best_step": 0}})
    assert not base_kept({"training": {"kind": "finetune", "best_step": 40}})
    assert not base_kept({"training": {"kind": "iterative", "best_step": 0}})


def test_messages_and_menus_use_users_words_and_real_choices(docked):
    from napari_clickseg.widgets.wording import slice_words, slices_words

    assert slice_words(()) == "the image" and slice_words((6,)) == "slice 6" and slice_words(3) == "slice 3"
    assert slices_words([5, 3, 4, 9]) == "slices 3-5 and 9" and slices_words([4]) == "slice 4"
    img, _ = _disk_image()
    viewer, w = docked(img)
    w.add_click(40, 50)
    w.commit()
    assert w.controls.status.text() == "committed object 1 on the image"
    # a refused choice does not stay on show
    assert not w.set_channels(0)  # a 2D gray image has no channel axis
    assert w.controls.channel_combo.currentIndex() == 0 and w.controls.channels_edit.text() == ""
    assert w.controls.image_combo.currentText() == "img" and w.geometry.channel_axis is None
    viewer.add_labels(np.zeros((10, 10), np.uint8), name="small")
    w.controls.labels_combo.setCurrentText("small")
    assert w.set_target("small") is w.target and w.controls.labels_combo.currentText() == w.target.name


@pytest.mark.slow
def test_propagation_stops_at_the_object_end_and_says_where_and_why(docked, qtbot):
    n, size = 12, 64
    zz, rr, cc = np.ogrid[:n, :size, :size]
    ball = (zz - 5) ** 2 * 16 + (rr - 30) ** 2 + (cc - 32) ** 2 <= 14**2  # slices 2-8
    vol = (0.2 + 0.6 * ball + np.random.default_rng(0).normal(0, 0.04, ball.shape)).astype(np.float32)
    viewer, w = docked(vol)
    viewer.dims.set_current_step(0, 5)
    w.add_click(30, 32)
    lid = w.commit()
    w.propagate_forward()
    qtbot.waitUntil(lambda: not w.busy, timeout=60000)
    filled = [z for z in range(n) if (w.target.data[z] == lid).any()]
    assert filled[0] == 5 and 7 <= filled[-1] <= 9, filled  # at most one slice past the ball
    assert w.controls.status.text().startswith(f"object {lid} propagated to slices 6-")
    assert "stopped before slice" in w.controls.status.text(), w.controls.status.text()


def test_preview_cannot_be_mistaken_for_a_committed_object_and_clicks_are_on_top(docked):
    img, disk = _disk_image()
    img[60:85, 60:85] = 0.9
    viewer, w = docked(img)
    w.add_click(40, 50)
    w.commit()
    w.add_click(72, 72)
    w.commit()
    w.add_click(40, 50)  # a preview over committed object 1
    preview, target = w.prompts.preview, w.target
    shown = preview.colormap.map(np.array([1]))[0]
    for lid in np.unique(target.data)[1:]:
        assert not np.allclose(shown, target.colormap.map(np.array([lid]))[0], atol=0.1), lid
    assert preview.contour > 0, "the preview is an outline, committed objects are filled"
    order = list(viewer.layers)
    for marker in (w.prompts.positive, w.prompts.negative, w.prompts.box):
        assert order.index(marker) > order.index(target), "click markers are drawn over the labels"


@pytest.mark.slow
def test_object_list_shows_selects_goes_to_and_deletes_undoably(docked, qtbot):
    n, size = 8, 64
    zz, rr, cc = np.ogrid[:n, :size, :size]
    ball = (zz - 4) ** 2 * 16 + (rr - 30) ** 2 + (cc - 32) ** 2 <= 12**2
    vol = (0.2 + 0.6 * ball + np.random.default_rng(0).normal(0, 0.04, ball.shape)).astype(np.float32)
    viewer, w = docked(vol)
    viewer.dims.set_current_step(0, 4)
    w.add_click(30, 32)
    assert w.commit() == 1
    viewer.dims.set_current_step(0, 5)
    w.add_click(30, 32)
    w.controls.object_id.setValue(1)
    assert w.commit() == 1  # object 1 on slices 4-5
    viewer.dims.set_current_step(0, 2)
    w.target.data_setitem((np.array([2, 2]), np.array([5, 5]), np.array([5, 6])), 9)  # a hand edit: object 9
    qtbot.waitUntil(lambda: len(w.objects.stats) == 2, timeout=5000)
    table = w.objects.table
    rows = [[table.item(r, c).text() for c in range(3)] for r in range(table.rowCount())]
    assert rows[0][0] == "1" and rows[0][2] == "4-5" and int(rows[0][1]) == (w.target.data == 1).sum()
    assert rows[1] == ["9", "2", "2"]
    assert w.objects.select(9) == 9 and w.controls.object_id.value() == 9 and w.target.selected_label == 9
    assert w.objects.go_to(1) in (4, 5) and w.current_index()[0] in (4, 5)
    before = w.target.data.copy()
    records = list(w.records)
    assert w.objects.delete(1)
    assert not (w.target.data == 1).any() and (w.target.data == 9).sum() == 2
    assert [s.label_id for s in w.objects.stats] == [9] and not any(r.label_id == 1 for r in w.records)
    w.undo()
    np.testing.assert_array_equal(w.target.data, before)
    assert [r.label_id for r in w.records] == [r.label_id for r in records]
    w.redo()
    assert not (w.target.data == 1).any() and not any(r.label_id == 1 for r in w.records)


class _SlowModel:
    """A predictor that takes its time on every click (like a random walker on a large image)."""

    def __init__(self, inner, seconds=0.6):
        self.inner, self.seconds, self.name = inner, seconds, "slow-walker"

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def predict(self, *args, **kwargs):
        import time

        time.sleep(self.seconds)
        return self.inner.predict(*args, **kwargs)


def test_busy_indicator_while_a_slow_model_works_and_cancel_withdraws_the_click(docked, qtbot):
    from napari_clickseg.models.registry import load_model

    img, disk = _disk_image()
    viewer, w = docked(img)
    w.set_predictor(_SlowModel(load_model("random-walker")), lambda: _SlowModel(load_model("random-walker")))
    w.controls.background_box.setChecked(True)
    w.add_click(40, 50)
    assert w.busy_indicator.active and "slow-walker is working on 1 click" in w.busy_indicator.label.text()
    w.wait_idle()
    assert not w.busy_indicator.active and w.prompts.preview.data.any()
    shown = w.prompts.preview.data.copy()
    w.add_click(5, 5, is_positive=False)  # a slow second click ...
    assert w.busy_indicator.active
    w.cancel_prediction()  # ... cancelled while it runs
    w.wait_idle()
    assert not w.busy_indicator.active and "cancelled" in w.controls.status.text()
    assert len(w.session.clicks) == 1 and len(w.prompts.negative.data) == 0
    np.testing.assert_array_equal(w.prompts.preview.data, shown)  # what was shown before stays


def test_finetune_that_kept_the_base_weights_says_so(docked):
    from pathlib import Path
    from types import SimpleNamespace

    img, _ = _disk_image()
    viewer, w = docked(img)
    _, ft = viewer.window.add_plugin_dock_widget("napari-clickseg", "Fine-tune")
    card = {"base": "fdrn", "training": {"kind": "finetune", "best_step": 0}}
    ft._on_done(SimpleNamespace(name="mine", weights_path=Path("mine.pt"), card=card, history=[{"noc90": 3.0}]))
    assert "unchanged" in ft.status.text() and "fdrn" in ft.status.text()
    card = {"base": "fdrn", "training": {"kind": "finetune", "best_step": 120}}
    ft._on_done(SimpleNamespace(name="mine", weights_path=Path("mine.pt"), card=card, history=[{"noc90": 3.0}]))
    assert "unchanged" not in ft.status.text() and ft.status.text().startswith("saved model 'mine'")


def test_a_click_after_cancel_is_kept_and_segmented(docked):
    from napari_clickseg.models.registry import load_model

    img, disk = _disk_image()
    viewer, w = docked(img)
    w.set_predictor(_SlowModel(load_model("random-walker")), lambda: _SlowModel(load_model("random-walker")))
    w.controls.background_box.setChecked(True)
    w.add_click(5, 5)  # a wrong click, slow
    w.cancel_prediction()
    assert len(w.prompts.positive.data) == 0  # withdrawn at once
    w.add_click(40, 50)  # the right one, while the cancelled prediction still runs
    w.wait_idle()
    assert [c.coords for c in w.session.clicks] == [(40, 50)]
    assert _iou(w.prompts.preview.data > 0, disk) > 0.8 and not w.busy_indicator.active


@pytest.mark.slow
def test_real_key_press_on_the_canvas_goes_to_the_annotator(make_napari_viewer, qtbot):
    """A Qt key event on the canvas (vispy -> napari's key-map chain), not a simulated dispatch."""
    from qtpy.QtCore import Qt

    viewer = make_napari_viewer(show=True)
    img, _ = _disk_image()
    viewer.add_image(img, name="img")
    _, w = viewer.window.add_plugin_dock_widget("napari-clickseg", "Annotator")
    assert w.set_model("random-walker")
    w.controls.background_box.setChecked(False)
    w.add_click(40, 50)
    assert w.commit() == 1
    viewer.layers.selection.active = w.target
    canvas = viewer.window._qt_viewer.canvas.native  # test-only access to the canvas widget
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    qtbot.wait(50)
    assert not w.target.data.any() and w.history.can_redo
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    qtbot.wait(50)
    assert (w.target.data == 1).any() and not w.history.can_redo
