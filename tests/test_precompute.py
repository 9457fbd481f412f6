"""``clickseg precompute`` on Dask: fills the store, resumes, each worker loads the model once,
and a session then encodes nothing for the stored slices."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("zarr", reason="precompute needs zarr (pip install 'napari-clickseg[distributed]')")
distributed = pytest.importorskip("distributed", reason="precompute needs dask[distributed]")

import tifffile  # noqa: E402

from napari_clickseg import (  # noqa: E402
    InteractiveSession,
    cli,  # noqa: E402
    load_model,
)
from napari_clickseg.core.feature_cache import FeatureCache, feature_key, model_identity  # noqa: E402
from napari_clickseg.core.feature_store import ZarrFeatureStore, import_zarr  # noqa: E402
from napari_clickseg.eval.precompute import ModelSpec, precompute, volume_slices, worker_models  # noqa: E402

CPU = ModelSpec("fdrn", device="cpu")


def write_volume(path, n: int = 4, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(1)
    vol = (rng.random((n, size, size)) * 120).astype(np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for z in range(n):
        vol[z][(yy - 30) ** 2 + (xx - 26 - 3 * z) ** 2 < 90] = 230
    tifffile.imwrite(path, vol, photometric="minisblack")
    return vol


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as c:
        with distributed.Client(c) as client:
            yield client


@pytest.mark.slow
def test_precompute_fills_resumes_and_loads_the_model_once(tmp_path, cluster):
    vol = write_volume(tmp_path / "vol.tif")
    out = tmp_path / "store.zarr"
    before = len(worker_models())
    first = precompute(tmp_path / "vol.tif", out, CPU, client=cluster, progress=False)
    assert (first.total, first.encoded, first.skipped) == (4, 4, 0)
    built = worker_models()[before:]
    assert len(built) == 1 and built[0][1] == CPU  # one model for the one worker, for all 4 slices
    again = precompute(tmp_path / "vol.tif", out, CPU, client=cluster, progress=False)
    assert (again.encoded, again.skipped) == (0, 4)
    assert len(worker_models()) == before + 1  # the worker's cached model was reused
    # an interrupted slice (no ``complete`` mark) is redone, the others are kept
    store = ZarrFeatureStore.open(out)
    key2 = store.slice_keys()[2]
    import_zarr().open_group(str(out), mode="a")["features"][key2].attrs["complete"] = False
    resumed = precompute(tmp_path / "vol.tif", out, CPU, client=cluster, progress=False)
    assert (resumed.encoded, resumed.skipped) == (1, 3)

    # the annotator's path (session + feature cache keyed by content) encodes nothing now
    predictor = load_model("fdrn", device="cpu")
    cache = FeatureCache(backing=ZarrFeatureStore.open(out, expect=predictor))
    session = InteractiveSession(predictor, feature_store=cache)
    for img in vol:
        session.set_image(img, key=feature_key(img, model_identity(predictor)))
        assert session.add_click(30, 30).any()
    assert predictor.encode_count == 0


@pytest.mark.slow
def test_precompute_refuses_a_store_of_other_weights(tmp_path, cluster):
    from napari_clickseg.core.feature_store import StoreMismatchError
    from napari_clickseg.models.networks import build_network
    from napari_clickseg.models.weights_io import save_model

    write_volume(tmp_path / "vol.tif", n=2)
    out = tmp_path / "store.zarr"
    precompute(tmp_path / "vol.tif", out, CPU, client=cluster, progress=False)
    other = save_model(build_network("fdrn"), tmp_path / "w" / "fdrn-random.pt")
    with pytest.raises(StoreMismatchError, match="made by model 'fdrn'"):
        precompute(tmp_path / "vol.tif", out, ModelSpec("fdrn", weights=str(other), device="cpu"),
                   client=cluster, progress=False)


@pytest.mark.slow
def test_cli_on_a_scheduler_address(tmp_path, capsys):
    """``--scheduler tcp://...``: a cluster reached over TCP, as a 'dask scheduler' would be."""
    write_volume(tmp_path / "vol.tif", n=3)
    out = tmp_path / "store.zarr"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=":0",
                                  worker_dashboard_address=":0") as c:
        args = ["precompute", str(tmp_path / "vol.tif"), "--out", str(out), "--scheduler", c.scheduler_address,
                "--device", "cpu", "--no-progress"]
        assert c.scheduler_address.startswith("tcp://127.0.0.1:")
        assert cli.main(args) == 0
        assert "3 slice(s) encoded, 0 already stored, of 3" in capsys.readouterr().out
        assert cli.main(args) == 0
        assert "0 slice(s) encoded, 3 already stored, of 3" in capsys.readouterr().out
    assert len(ZarrFeatureStore.open(out)) == 3


def test_cli_local_cluster_and_bad_input(tmp_path, capsys):
    write_volume(tmp_path / "vol.tif", n=2)
    out = tmp_path / "store.zarr"
    assert cli.main(["precompute", str(tmp_path / "vol.tif"), "--out", str(out), "--device", "cpu",
                     "--no-progress"]) == 0
    assert "2 slice(s) encoded" in capsys.readouterr().out
    assert cli.main(["precompute", str(tmp_path / "absent.tif"), "--out", str(out)]) == 2
    assert "absent.tif does not exist" in capsys.readouterr().err
    assert cli.main(["precompute", str(tmp_path / "vol.tif"), "--out", str(out), "--model", "nope"]) == 2
    assert "unknown" in capsys.readouterr().err


def test_folder_of_images_and_unusable_slices(tmp_path):
    from skimage import io as skio

    (tmp_path / "images").mkdir()
    rng = np.random.default_rng(2)
    for i in (2, 10, 1):
        skio.imsave(tmp_path / "images" / f"s{i}.png", (rng.random((32, 32)) * 255).astype(np.uint8), check_contrast=False)
    n, get = volume_slices(tmp_path)
    assert n == 3
    np.testing.assert_array_equal(get(2), skio.imread(tmp_path / "images" / "s10.png"))  # natural order

    vol = write_volume(tmp_path / "v.tif", n=2)
    vol[1] = 7  # a constant slice cannot be segmented: reported, not stored
    tifffile.imwrite(tmp_path / "v.tif", vol, photometric="minisblack")
    report = precompute(tmp_path / "v.tif", tmp_path / "s.zarr", CPU, workers=1, progress=False)
    assert (report.encoded, report.unusable) == (1, (1,))


def test_missing_dask_names_the_extra(tmp_path, monkeypatch, capsys):
    write_volume(tmp_path / "vol.tif", n=1)
    monkeypatch.setitem(sys.modules, "distributed", None)
    assert cli.main(["precompute", str(tmp_path / "vol.tif"), "--out", str(tmp_path / "s.zarr")]) == 2
    assert "pip install 'napari-clickseg[distributed]'" in capsys.readouterr().err
