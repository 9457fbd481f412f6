"""Headless test of the fine-tuning dock widget: a tiny fine-tune end to end."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("torch")
pytestmark = pytest.mark.gui


def _blobs_volume(n=4, size=64, seed=0):
    rng = np.random.default_rng(seed)
    rr, cc = np.ogrid[:size, :size]
    img = rng.normal(0.2, 0.03, (n, size, size)).astype(np.float32)
    lab = np.zeros((n, size, size), np.int32)
    for z in range(n):
        for k, (r, c) in enumerate(((20, 20), (42, 44))):
            d = (rr - r - z) ** 2 + (cc - c) ** 2 <= 9**2
            img[z][d] += 0.6
            lab[z][d] = k + 1
    lab[3] = 0  # one unlabelled slice: it must not be used
    return img, lab


@pytest.mark.slow
def test_finetune_widget_end_to_end_and_model_appears_in_annotator(viewer, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSEG_HOME", str(tmp_path))
    from napari_clickseg.models.registry import list_models, user_models_dir
    from napari_clickseg.widgets.annotator import AnnotatorWidget
    from napari_clickseg.widgets.finetune_widget import FinetuneWidget
    img, lab = _blobs_volume()
    viewer.add_image(img, name="vol")
    viewer.add_labels(lab, name="gt")
    # docked as the Plugins menu does (each widget gets napari's wrapped viewer)
    _, ann = viewer.window.add_plugin_dock_widget("napari-clickseg", "Annotator")
    assert isinstance(ann, AnnotatorWidget) and ann.set_model("random-walker")
    _, ft = viewer.window.add_plugin_dock_widget("napari-clickseg", "Fine-tune")
    assert isinstance(ft, FinetuneWidget)
    ft.image_combo.setCurrentText("vol")
    ft.labels_combo.setCurrentText("gt")
    assert ft.labelled_slices() == [0, 1, 2]
    assert "fdrn" in [ft.base_combo.itemText(i) for i in range(ft.base_combo.count())]
    ft.base_combo.setCurrentText("fdrn")
    ft.steps.setValue(2)
    ft.device_combo.setCurrentText("cpu")
    ft.allow_untrained.setChecked(True)  # no shipped fdrn weights needed for this test
    ft.name_edit.setText("tiny-ft")
    ft.extra_config = {"val_clicks": 2, "val_objects": 2, "batch_size": 2, "image_size": 64}
    steps = []
    ft.step_done.connect(lambda s, t, info: steps.append(s))
    worker = ft.start()
    assert worker is not None
    qtbot.waitUntil(lambda: not ft.running, timeout=120000)
    assert ft.result is not None and ft.result.name == "tiny-ft"
    assert steps and steps[-1] == 2
    assert (user_models_dir() / "tiny-ft.pt").is_file()
    assert "tiny-ft" in list_models()
    combo = ann.controls.model_combo
    names = [combo.itemText(i) for i in range(combo.count())]
    assert "tiny-ft" in names
    assert ann.set_model("tiny-ft") and ann.model_name == "tiny-ft"


def test_finetune_widget_refuses_unlabelled(viewer):
    from napari_clickseg.widgets.finetune_widget import FinetuneWidget
    viewer.add_image(np.random.rand(3, 32, 32).astype(np.float32), name="vol")
    viewer.add_labels(np.zeros((3, 32, 32), np.int32), name="empty")
    ft = FinetuneWidget(viewer)
    ft.labels_combo.setCurrentText("empty")
    assert ft.labelled_slices() == [] and ft.start() is None and not ft.running
