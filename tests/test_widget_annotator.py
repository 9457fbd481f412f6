"""Headless tests of the annotator dock widget (Xvfb through pytest-xvfb), with random-walker."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("napari")
pytestmark = pytest.mark.gui


from _shapes import disk_image as _disk_image  # noqa: E402
from _shapes import iou as _iou  # noqa: E402


@pytest.fixture
def annotator(viewer):
    from napari_clickseg.widgets.annotator import AnnotatorWidget

    def make(data, **kw):
        viewer.add_image(data, name="img", **kw)
        # docked as Plugins > ClickSeg > Annotator does (the widget gets napari's wrapped viewer)
        _, w = viewer.window.add_plugin_dock_widget("napari-clickseg", "Annotator")
        assert isinstance(w, AnnotatorWidget) and w.set_model("random-walker")
        w.controls.background_box.setChecked(False)  # synchronous predictions: assertions right after a click
        return viewer, w

    return make


def test_clicks_segment_disk_undo_redo(annotator):
    img, disk = _disk_image()
    viewer, w = annotator(img)
    assert w.model_name == "random-walker" and w.prompts is not None
    w.add_click(40, 50)
    mask = w.prompts.preview.data > 0
    assert _iou(mask, disk) > 0.8
    assert len(w.prompts.positive.data) == 1 and w.prompts.positive.ndim == 2
    # a negative click removes a wrong region: first grab a neighbouring bright square too
    w.reset_object()
    img2, _ = _disk_image()
    sq = np.zeros_like(disk)
    sq[70:90, 10:30] = True
    viewer.layers["img"].data = np.where(sq, 0.85, img2).astype(np.float32)
    w.image_changed()  # the layer data changed in place: re-encode
    w.add_click(40, 50)
    w.add_click(80, 20)  # positive on the square: now both are in
    assert (w.prompts.preview.data[75:85, 15:25] > 0).all()
    w.add_click(80, 20, is_positive=False)
    prev = w.prompts.preview.data > 0
    assert not prev[75:85, 15:25].any() and _iou(prev, disk) > 0.8
    # undo/redo of clicks, layers follow the session
    w.undo()
    assert len(w.prompts.negative.data) == 0 and (w.prompts.preview.data[75:85, 15:25] > 0).all()
    w.redo()
    assert len(w.prompts.negative.data) == 1 and not (w.prompts.preview.data[75:85, 15:25] > 0).any()
    # deleting a point through the layer re-segments
    w.prompts.negative.selected_data = {0}
    w.prompts.negative.remove_selected()
    assert (w.prompts.preview.data[75:85, 15:25] > 0).all()


@pytest.mark.slow
def test_commit_twice_two_ids_first_untouched_and_undo(annotator, tmp_path):
    img, disk = _disk_image()
    img[60:85, 60:85] = 0.9
    viewer, w = annotator(img)
    gt = viewer.add_labels(np.zeros((96, 96), np.uint8), name="ground truth")
    w.add_click(40, 50)
    assert w.commit() == 1
    assert w.target is not gt and not gt.data.any(), "an unchosen Labels layer is never written"
    first = w.target.data.copy()
    assert _iou(first == 1, disk) > 0.8
    assert len(w.prompts.positive.data) == 0 and not w.prompts.preview.data.any()
    w.add_click(72, 72)
    assert w.commit() == 2
    lab = w.target.data
    assert np.array_equal(lab == 1, first == 1), "the first object changed"
    assert (lab[65:80, 65:80] == 2).all()
    w.undo()  # no click left: undoes the second commit
    assert not (w.target.data == 2).any() and np.array_equal(w.target.data, first)
    w.redo()
    assert (w.target.data == 2).any()
    # save and resume
    side = w.save(tmp_path / "labels.tif")
    assert side is not None and side.name == "labels.clickseg.json"
    layer = w.load(tmp_path / "labels.tif")
    assert layer is not None and np.array_equal(layer.data, w.target.data)
    assert [r.label_id for r in w.records] == [1, 2] and w.records[0].clicks[0].coords == (40, 50)


@pytest.mark.slow
def test_clicks_on_two_slices_stay_on_their_slices_and_propagate(annotator, qtbot):
    n, size = 9, 64
    zz, rr, cc = np.ogrid[:n, :size, :size]
    ball = (zz - 4) ** 2 * 4 + (rr - 30) ** 2 + (cc - 32) ** 2 <= 16**2
    vol = (0.2 + 0.6 * ball + np.random.default_rng(0).normal(0, 0.04, ball.shape)).astype(np.float32)
    viewer, w = annotator(vol)
    assert w.prompts.positive.ndim == 3
    viewer.dims.set_current_step(0, 2)
    w.add_click(30, 32)
    viewer.dims.set_current_step(0, 6)
    w.add_click(31, 33)
    pts = w.prompts.positive.data
    assert sorted(pts[:, 0].tolist()) == [2.0, 6.0]
    assert w.session.clicks[0].coords == (31, 33) and len(w.session.clicks) == 1
    encodes = w.session.predictor.encode_count
    viewer.dims.set_current_step(0, 2)  # back: that slice's object is restored
    assert len(w.session.clicks) == 1 and w.session.clicks[0].coords == (30, 32)
    assert w.session.predictor.encode_count == encodes, "a visited slice is not encoded again"
    assert w.prompts.preview.data[2].any() and not w.prompts.preview.data[6].any()
    w.reset_object()
    viewer.dims.set_current_step(0, 4)
    w.add_click(30, 32)
    lid = w.commit()
    # propagation forward then backward, each one undo step
    worker = w.propagate_forward()
    qtbot.waitUntil(lambda: not w.busy, timeout=30000)
    lab = w.target.data
    assert (lab[5] == lid).sum() > 0.7 * ball[5].sum() and (lab[6] == lid).any()
    w.propagate_backward()
    qtbot.waitUntil(lambda: not w.busy, timeout=30000)
    assert (w.target.data[3] == lid).sum() > 0.7 * ball[3].sum()
    w.undo()
    assert not (w.target.data[3] == lid).any() and (w.target.data[5] == lid).any()
    assert worker is not None
    # between: the same object committed on slice 0 and on slice 4, the slices between filled
    viewer.dims.set_current_step(0, 0)
    w.add_click(30, 32)
    w.controls.object_id.setValue(lid)  # "commit as" an existing object
    assert w.commit() == lid
    before = w.target.data.copy()
    w.propagate_between()
    qtbot.waitUntil(lambda: not w.busy, timeout=30000)
    assert (w.target.data[1] == lid).any() and (w.target.data[3] == lid).any()
    assert np.array_equal(w.target.data[4:], before[4:]), "slices outside the gap are untouched"


@pytest.mark.slow
def test_bad_input_notifies_and_keeps_labels(annotator, viewer):
    img, disk = _disk_image()
    viewer, w = annotator(img)
    w.add_click(40, 50)
    w.commit()
    before = w.target.data.copy()
    # 4D layer
    viewer.add_image(np.random.rand(2, 3, 16, 16).astype(np.float32), name="4d")
    assert not w.set_image_layer("4d")
    assert w.geometry.layer.name == "img"
    # labels of another shape
    viewer.add_labels(np.zeros((10, 10), np.uint8), name="small")
    w.set_target("small")
    assert w.target.name != "small"
    # click outside the image
    w.add_click(500, 500)
    assert len(w.prompts.positive.data) == 0
    # model that fails to load (no weights): previous model kept
    if "fdrn" in __import__("napari_clickseg").list_models():
        w.add_click(40, 50)
        ok = w.set_model("fdrn")  # no shipped weights yet: an error notification, old model kept
        assert w.model_name == ("fdrn" if ok else "random-walker")
        assert len(w.session.clicks) == 1, "the unfinished object survives a model switch"
        w.reset_object()
        w.set_model("random-walker")
    # NaN image: refused at the first click, session usable afterwards
    nan = img.copy()
    nan[0, 0] = np.nan
    viewer.add_image(nan, name="nan")
    assert w.set_image_layer("nan")
    w.add_click(40, 50)
    assert not w.prompts.preview.data.any()
    assert np.array_equal(w.target.data, before) or w.target is None
    assert w.set_image_layer("img")
    w.add_click(40, 50)
    assert w.prompts.preview.data.any()


class _MouseEvent:
    """Stand-in for napari's read-only mouse event (position in world coordinates): napari's
    release step swaps what it wraps (``__wrapped__``) for the release event."""

    def __init__(self, position, button=1, modifiers=(), type="mouse_press"):
        self.__wrapped__ = SimpleNamespace(type=type, position=position, button=button, modifiers=modifiers,
                                           handled=False, pos=np.zeros(2), is_dragging=False)

    def __getattr__(self, name):
        return getattr(self.__wrapped__, name)


def _click(viewer, w, position, **kw):
    """A mouse click as napari delivers it: the viewer's press, then release callbacks."""
    from napari.utils.interactions import mouse_press_callbacks, mouse_release_callbacks

    mouse_press_callbacks(viewer, _MouseEvent(position, **kw))
    mouse_release_callbacks(viewer, _MouseEvent(position, type="mouse_release", **kw).__wrapped__)


def test_simulated_mouse_box_and_shortcuts(annotator):
    from napari.utils.key_bindings import coerce_keybinding

    from napari_clickseg.widgets.shortcuts import SHORTCUTS

    img, disk = _disk_image()
    viewer, w = annotator(img)
    _click(viewer, w, (40, 50))  # left click: positive
    _click(viewer, w, (5, 5), button=2)  # right click: negative
    _click(viewer, w, (6, 90), modifiers=("Control",))  # ctrl+click: negative
    assert len(w.prompts.positive.data) == 1 and len(w.prompts.negative.data) == 2
    assert [c.is_positive for c in w.session.clicks] == [True, False, False]
    assert _iou(w.prompts.preview.data > 0, disk) > 0.8
    _click(viewer, w, (400, 400))  # outside: ignored with a warning
    assert len(w.session.clicks) == 3
    # moving a point re-segments (session.set_clicks)
    data = w.prompts.positive.data.copy()
    data[0] = (38, 52)
    w.prompts.positive.data = data
    assert w.session.clicks[0].coords == (38, 52) and len(w.session.clicks) == 3
    w.reset_object()
    assert not w.prompts.preview.data.any() and len(w.prompts.negative.data) == 0
    # a rectangle on the Shapes layer segments from the box alone
    w.prompts.box.add_rectangles(np.array([[20, 30], [60, 70]]))
    assert w.session.box is not None and _iou(w.prompts.preview.data > 0, disk) > 0.7
    # shortcuts are bound on the viewer and on every prompt layer (layer keymaps win in napari >= 0.5)
    for target in (viewer, w.prompts.positive, w.prompts.negative, w.prompts.box):
        for key, action, _ in SHORTCUTS:
            assert coerce_keybinding(key) in target.keymap, (target, key)
    w.toggle_polarity()
    _click(viewer, w, (40, 50))
    assert w.session.clicks[-1].is_positive is False
    assert "Shift-C" in w.toolTip()
    # the Points layer's own binding runs the widget action (here: commit)
    viewer.layers.selection.active = w.prompts.positive
    w.toggle_polarity()
    w.reset_object()
    w.add_click(40, 50)
    w.prompts.positive.keymap[coerce_keybinding("Shift-C")](w.prompts.positive)
    assert w.target is not None and (w.target.data == 1).sum() > 0.8 * disk.sum()


@pytest.mark.slow
def test_rgb_and_multichannel_images(annotator):
    img, disk = _disk_image()
    viewer, w = annotator(np.stack([img, img * 0.5, 1 - img], -1), rgb=True)
    assert w.geometry.spatial_shape == (96, 96) and w.prompts.positive.ndim == 2
    w.add_click(40, 50)
    assert _iou(w.prompts.preview.data > 0, disk) > 0.8
    # channels-first multi-channel: channel 1 carries the object, channel 0 is noise
    noise = np.random.default_rng(3).random(img.shape).astype(np.float32)
    viewer.add_image(np.stack([noise, img]), name="mc")
    assert w.set_image_layer("mc")
    assert w.set_channels(0, (1,))
    assert w.geometry.spatial_shape == (96, 96) and w.geometry.channels == (1,)
    w.add_click(40, 50)
    assert _iou(w.prompts.preview.data > 0, disk) > 0.8
    assert not w.set_channels(0, (5,))  # a channel that does not exist: refused, still usable
    assert w.geometry.channels == (1,)


def test_background_predictions_drop_superseded_results(annotator):
    img, disk = _disk_image()
    img[60:85, 60:85] = 0.9
    viewer, w = annotator(img)
    w.controls.background_box.setChecked(True)
    w.add_click(40, 50)
    w.add_click(72, 72)  # arrives while the first prediction may still run
    w.add_click(72, 72, is_positive=False)
    w.wait_idle()
    assert not w.busy and len(w.session.clicks) == 3
    shown = w.prompts.preview.data > 0
    np.testing.assert_array_equal(shown, w.session.mask)  # what is shown is the newest result
    assert _iou(shown, disk) > 0.8 and not shown[65:80, 65:80].any()
    assert w.queue.dropped_results >= 1, "the first result was superseded while it ran"
    assert w.commit() == 1 and (w.target.data == 1).sum() == shown.sum()


def test_precompute_volume_fills_cache_and_cancel(annotator, qtbot):
    vol = np.random.default_rng(0).random((6, 48, 48)).astype(np.float32)
    viewer, w = annotator(vol)
    worker = w.precompute()
    qtbot.waitUntil(lambda: not w.busy, timeout=30000)
    n0 = w.session.predictor.encode_count
    for z in (1, 4, 5):
        viewer.dims.set_current_step(0, z)
        w.add_click(20, 20)
    assert w.session.predictor.encode_count == n0, "precomputed slices are looked up, not encoded"
    worker = w.precompute()
    w.cancel()
    qtbot.waitUntil(lambda: not w.busy, timeout=30000)
    assert worker is not None


def test_manifest_declares_widgets_and_sample_data():
    from npe2 import PluginManifest

    pm = PluginManifest.from_distribution("napari-clickseg")
    assert {w.display_name for w in pm.contributions.widgets} == {"Annotator", "Fine-tune"}
    assert {s.key for s in pm.contributions.sample_data} == {"microscopy-volume", "mri-volume"}
    for cmd in pm.contributions.commands:
        module, _, attr = cmd.python_name.partition(":")
        assert callable(getattr(__import__(module, fromlist=[attr]), attr)), cmd.python_name
    from napari_clickseg.widgets.sample_data import mri_volume

    (img, meta, kind), (lab, _, lkind) = mri_volume()
    assert kind == "image" and lkind == "labels" and lab.shape == img.shape and lab.max() >= 1


@pytest.mark.slow
def test_flip_tta_box_reloads_the_learned_model_and_keeps_the_object(annotator):
    img, disk = _disk_image()
    viewer, w = annotator(img)
    w.add_click(40, 50)
    w.controls.flip_box.setChecked(True)  # classical model: no flip TTA, nothing breaks, object kept
    assert w.model_name == "random-walker" and not getattr(w.session.predictor, "flip_tta", False)
    assert _iou(w.prompts.preview.data > 0, disk) > 0.8
    assert w.set_model("fdrn")
    assert w.session.predictor.flip_tta and "+flip@" in w.model_key
    assert _iou(w.prompts.preview.data > 0, disk) > 0.7  # the click was replayed on both views
    w.controls.flip_box.setChecked(False)
    assert w.model_name == "fdrn" and not w.session.predictor.flip_tta
    assert w.settings()["flip_tta"] is False


def test_edit_existing_object_with_modifier_click_then_undo(annotator):
    from napari_clickseg.widgets.shortcuts import EDIT_MODIFIERS

    img, disk = _disk_image()
    img[70:90, 10:30] = 0.9
    viewer, w = annotator(img)
    w.add_click(40, 50)
    assert w.commit() == 1
    w.add_click(80, 20)
    assert w.commit() == 2
    before = w.target.data.copy()
    # Ctrl-Shift-click on object 1: it becomes the current object, its mask the preview
    _click(viewer, w, (40, 50), modifiers=tuple(EDIT_MODIFIERS))
    assert w.editing is not None and w.editing.label_id == 1 and w.editing.in_target
    assert not w.session.clicks and np.array_equal(w.prompts.preview.data > 0, before == 1)
    # one negative click near its edge corrects it; commit replaces exactly that object
    _click(viewer, w, (40, 66), button=2)
    assert [c.is_positive for c in w.session.clicks] == [False]
    assert w.commit() == 1 and w.editing is None
    after = w.target.data
    changed = after != before
    assert changed.any() and after[40, 66] == 0, "the negative click did not correct the object"
    assert not (changed & ~((before == 1) | (after == 1))).any(), "pixels of another object or the background changed"
    assert np.array_equal(after == 2, before == 2)
    assert [r.source for r in w.records] == ["clicks", "clicks", "edited"]
    w.undo()
    assert np.array_equal(w.target.data, before), "undo did not restore the object exactly"
    assert [r.source for r in w.records] == ["clicks", "clicks"]
    w.redo()
    assert np.array_equal(w.target.data, after)
    # delete the edited object (Shift-D's action); undo brings it back
    assert w.edit(2) and w.delete_object() and not (w.target.data == 2).any() and w.editing is None
    w.undo()
    assert np.array_equal(w.target.data == 2, before == 2)


def test_edit_object_of_another_labels_layer_commits_it_as_new(annotator):
    img, disk = _disk_image()
    viewer, w = annotator(img)
    other = viewer.add_labels(disk.astype(np.uint8) * 7, name="cellpose")
    _click(viewer, w, (40, 50), modifiers=("Control", "Shift"))  # no target yet: refused, nothing written
    assert w.editing is None and not other.data[0, 0]
    w.controls.source_combo.setCurrentText("cellpose")
    _click(viewer, w, (40, 50), modifiers=("Control", "Shift"))
    assert w.editing is not None and w.editing.label_id == 7 and not w.editing.in_target
    lid = w.commit()
    assert lid == 1 and np.array_equal(w.target.data == 1, disk) and np.array_equal(other.data, disk * 7)
    w.image_changed()  # public "the image changed": the next click encodes the slice again
    assert w.held_index is None
    w.add_click(40, 50)
    assert w.held_index == () and w.prompts.preview.data.any()


def test_mouse_action_follows_the_mouse_table():
    from napari_clickseg.widgets.shortcuts import mouse_action

    assert mouse_action((), 1, True) == ("click", True)
    assert mouse_action((), 1, False) == ("click", False)  # after N
    assert mouse_action((), 2, True) == ("click", False)  # right click: the opposite
    assert mouse_action(("Shift",), 1, True) == ("click", False)
    assert mouse_action(("Control",), 1, False) == ("click", True)
    assert mouse_action(("Control", "Shift"), 1, True) == ("edit", False)
    assert mouse_action(("Alt",), 1, True) == ("click", True)  # Alt is napari's: no meaning here
