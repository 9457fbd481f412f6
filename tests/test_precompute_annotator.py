"""The annotator reads features precomputed by ``clickseg precompute``: no encoder run for them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("zarr", reason="precompute needs zarr (pip install 'napari-clickseg[distributed]')")
pytest.importorskip("distributed", reason="precompute needs dask[distributed]")
pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.mark.slow
def test_annotator_encodes_nothing_for_precomputed_slices(viewer, tmp_path):
    import tifffile

    from napari_clickseg.core.feature_store import StoreMismatchError, ZarrFeatureStore
    from napari_clickseg.eval.precompute import ModelSpec, precompute
    from napari_clickseg.widgets.annotator import AnnotatorWidget
    from napari_clickseg.widgets.command import _attach_store

    n, size = 3, 64
    rng = np.random.default_rng(3)
    vol = (rng.random((n, size, size)) * 100).astype(np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for z in range(n):
        vol[z][(yy - 30) ** 2 + (xx - 30 - 2 * z) ** 2 < 110] = 220
    tifffile.imwrite(tmp_path / "vol.tif", vol, photometric="minisblack")
    report = precompute(tmp_path / "vol.tif", tmp_path / "s.zarr", ModelSpec("fdrn", device="cpu"), progress=False)
    assert report.encoded == n
    viewer.add_image(tifffile.imread(tmp_path / "vol.tif"), name="img")
    _, w = viewer.window.add_plugin_dock_widget("napari-clickseg", "Annotator")
    assert isinstance(w, AnnotatorWidget) and w.set_model("random-walker")
    with pytest.raises(StoreMismatchError, match="not by model 'random-walker'"):
        _attach_store(w, ZarrFeatureStore.open(tmp_path / "s.zarr"))
    assert w.set_model("fdrn")
    w.controls.background_box.setChecked(False)
    _attach_store(w, ZarrFeatureStore.open(tmp_path / "s.zarr"))
    for z in range(n):
        viewer.dims.set_current_step(0, z)
        w.add_click(30, 30 + 2 * z)
        assert w.session.mask.any()
    assert w.session.predictor.encode_count == 0
