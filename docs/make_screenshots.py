"""Regenerate the screenshots in docs/images from the real widgets (headless, under Xvfb).

    OMP_NUM_THREADS=2 xvfb-run -a python docs/make_screenshots.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

OUT = Path(__file__).resolve().parent / "images"


def _centre(labels: np.ndarray, lid: int) -> tuple[int, int]:
    dt = ndi.distance_transform_edt(labels == lid)
    r, c = np.unravel_index(int(np.argmax(dt)), dt.shape)
    return int(r), int(c)


def main() -> None:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_clickseg.data.samples import sample_microscopy_volume
    from napari_clickseg.widgets.annotator import AnnotatorWidget
    from napari_clickseg.widgets.finetune_widget import FinetuneWidget

    OUT.mkdir(exist_ok=True)
    app = QApplication.instance() or QApplication([])
    image, truth = sample_microscopy_volume()
    viewer = napari.Viewer(title="napari-clickseg", show=True)
    viewer.window.resize(1700, 950)
    viewer.add_image(image, name="nuclei (synthetic)")
    w = AnnotatorWidget(viewer)  # the default model: fdrn with its shipped weights
    viewer.window.add_dock_widget(w, name="ClickSeg annotator", area="right")
    z = 3
    viewer.dims.set_current_step(0, z)
    ids = [i for i in np.unique(truth[z]) if i > 0]
    sizes = {i: int((truth[z] == i).sum()) for i in ids}
    big = sorted(ids, key=lambda i: -sizes[i])[:4]
    # two committed objects, propagated through the stack
    for lid in big[:2]:
        r, c = _centre(truth[z], lid)
        w.add_click(r, c)
        ring = ndi.binary_dilation(truth[z] == lid, iterations=4) & ~ndi.binary_dilation(truth[z] == lid, iterations=2)
        rows, cols = np.nonzero(ring)
        w.add_click(int(rows[0]), int(cols[0]), is_positive=False)  # one correction outside
        w.commit()
        for direction in (+1, -1):
            w.propagate(direction)
            while w.busy:
                app.processEvents()
                time.sleep(0.05)
    # an object in progress: a positive and a negative click, preview shown
    r, c = _centre(truth[z], big[2])
    w.add_click(r, c)
    r2, c2 = _centre(truth[z], big[3])
    w.add_click(r2, c2, is_positive=False)
    w.wait_idle()
    viewer.layers.selection.active = w.prompts.positive
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    viewer.reset_view()  # fit the slice to the canvas left beside the dock
    for _ in range(10):
        app.processEvents()
        time.sleep(0.02)
    viewer.screenshot(str(OUT / "annotator.png"), canvas_only=False, flash=False)
    viewer.screenshot(str(OUT / "canvas.png"), canvas_only=True, flash=False)
    w.grab().save(str(OUT / "annotator_widget.png"))
    ft = FinetuneWidget(viewer)
    viewer.window.add_dock_widget(ft, name="ClickSeg fine-tune", area="right")
    ft.image_combo.setCurrentText("nuclei (synthetic)")
    ft.labels_combo.setCurrentText("clickseg labels")
    ft.refresh()
    app.processEvents()
    ft.grab().save(str(OUT / "finetune_widget.png"))
    viewer.close()


if __name__ == "__main__":
    main()
