"""``clickseg evaluate`` end to end: contract files and keys."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from _window_oracle import WindowOracle

from napari_clickseg import cli
from napari_clickseg.models import registry
from napari_clickseg.models.base import BasePredictor


@pytest.fixture(autouse=True)
def _only_evaluate(monkeypatch):
    """Build the CLI with the evaluate sub-command alone (other sub-commands are not under test)."""
    monkeypatch.setattr(cli, "COMMANDS", {"evaluate": cli.COMMANDS["evaluate"]})


CONTRACT_KEYS = {
    "model", "dataset", "objects", "noc", "nof", "miou_curve", "auc", "latency_ms", "t_total_ms"
}


def check_outputs(out, n_objects, max_clicks=20):
    summary = json.loads((out / "summary.json").read_text())
    assert CONTRACT_KEYS <= summary.keys()
    assert summary["objects"] == n_objects
    assert set(summary["noc"]) == set(summary["nof"]) == {"85", "90", "95"}
    assert all(1 <= v <= max_clicks for v in summary["noc"].values())
    assert len(summary["miou_curve"]) == max_clicks
    assert all(0.0 <= v <= 1.0 for v in summary["miou_curve"])
    assert 0.0 <= summary["auc"] <= 1.0
    assert set(summary["latency_ms"]) == {"encode_median", "click_median", "click_p95"}
    assert set(summary["t_total_ms"]) == {"1", "5", "20"}
    tot = summary["t_total_ms"]
    assert tot["20"] >= tot["5"] >= tot["1"] > 0
    rows = list(csv.DictReader(open(out / "per_object.csv")))
    assert len(rows) == n_objects
    assert (out / "miou_curve.png").stat().st_size > 1000
    return summary


# -- stand-ins (no real loader or model needed) ------------------------------------------------
class DiskOracle(BasePredictor):
    """The object (image > 0.5) within 6 px of any positive click, minus 3 px around negatives."""

    def _encode(self, image):
        return np.asarray(image) > 0.5

    def _predict(self, fg, clicks, prev_prob, box):
        rr, cc = np.mgrid[: fg.shape[0], : fg.shape[1]]
        out = np.zeros(fg.shape, bool)
        for c in clicks:
            near = (rr - c.row) ** 2 + (cc - c.col) ** 2 <= (36 if c.is_positive else 9)
            out = (out | (near & fg)) if c.is_positive else (out & ~near)
        return out.astype(np.float32)


def write_toy_dataset(root):
    """A 64x64 image with three squares of 12, 16 and 20 px (ids 1..3), as images/ + masks/ PNGs."""
    import imageio.v3 as iio

    img = np.zeros((64, 64), np.uint8)
    lab = np.zeros((64, 64), np.uint8)
    for i, (r, c, s) in enumerate([(4, 4, 12), (4, 30, 16), (34, 10, 20)], start=1):
        img[r: r + s, c: c + s] = 255
        lab[r: r + s, c: c + s] = i
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    iio.imwrite(root / "images" / "toy.png", img)
    iio.imwrite(root / "masks" / "toy.png", lab)
    return root


@pytest.fixture
def stand_ins(monkeypatch, tmp_path):
    """A toy dataset folder (read by the real loader); an oracle model replaces the registry's."""

    def fake_load_model(name, device="auto", weights=None, flip_tta=False):
        p = DiskOracle()
        p.name = name
        return p

    monkeypatch.setattr(registry, "load_model", fake_load_model)
    return str(write_toy_dataset(tmp_path / "toy"))


def test_evaluate_cli_on_a_toy_folder(stand_ins, tmp_path, capsys):
    out = tmp_path / "ev"
    rc = cli.main(["evaluate", "--model", "disk-oracle", "--data", stand_ins, "--objects", "2",
                   "--out", str(out), "--no-progress"])
    assert rc == 0
    summary = check_outputs(out, 2)
    assert summary["model"] == "disk-oracle" and summary["dataset"] == "toy"
    printed = capsys.readouterr().out
    assert "NoC" in printed and "t_total" in printed


def test_evaluate_cli_perturbed_and_min_area(stand_ins, tmp_path):
    out = tmp_path / "ev"
    rc = cli.main(["evaluate", "--model", "m", "--data", stand_ins, "--jitter", "3",
                   "--misleading", "5",
                   "--max-clicks", "10", "--min-area", "200", "--out", str(out), "--no-progress"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objects"] == 2  # the 12x12 square (144 px) is below --min-area
    assert summary["jitter"] == 3 and summary["misleading"] == 5
    assert len(summary["miou_curve"]) == 10


def test_evaluate_cli_bad_settings(stand_ins, tmp_path, capsys):
    def evaluate(data, *extra):
        return cli.main(["evaluate", "--model", "m", "--data", data, *extra])

    rc = evaluate(stand_ins, "--misleading", "20", "--out", str(tmp_path))
    assert rc == 2 and "misleading" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate(stand_ins, "--objects", "0", "--out", str(tmp_path))
    (tmp_path / "file").write_text("x")
    rc = evaluate(stand_ins, "--out", str(tmp_path / "file"))
    assert rc == 2 and "--out" in capsys.readouterr().err
    (tmp_path / "no_masks" / "images").mkdir(parents=True)
    rc = evaluate(str(tmp_path / "no_masks"), "--out", str(tmp_path / "o"))
    assert rc == 2 and "masks" in capsys.readouterr().err


def test_evaluate_cli_opens_a_large_tiled_tiff_lazily(tmp_path, monkeypatch):
    """--data slide.tif (tiled, larger than DENSE_MAX_PIXELS) is opened by the lazy reader of
    ``clickseg annotate`` and read only in the windows the model asks for."""
    tifffile = pytest.importorskip("tifffile")
    zarr = pytest.importorskip("zarr")
    n = 4200  # just above core.window.DENSE_MAX_PIXELS (4096 x 4096)
    img = np.zeros((n, n), np.uint8)
    lab = np.zeros((n, n), np.uint8)
    for i, (r, c, s) in enumerate([(1000, 1200, 30), (3000, 3900, 24)], start=1):
        img[r: r + s, c: c + s] = 220
        lab[r: r + s, c: c + s] = i
    tifffile.imwrite(tmp_path / "slide.tif", img, tile=(512, 512))
    tifffile.imwrite(tmp_path / "slide_labels.tif", lab)
    del img
    reads = []
    real_getitem = zarr.Array.__getitem__

    def spy(self, key):
        out = real_getitem(self, key)
        reads.append(int(np.size(out)))
        return out

    def no_full_read(self, *args, **kwargs):
        raise AssertionError("the whole slide was read (np.asarray of the zarr array)")

    monkeypatch.setattr(zarr.Array, "__getitem__", spy)
    monkeypatch.setattr(zarr.Array, "__array__", no_full_read, raising=False)
    oracle = WindowOracle()
    monkeypatch.setattr(registry, "load_model", lambda *a, **k: oracle)
    out = tmp_path / "ev"
    rc = cli.main(["evaluate", "--model", "window-oracle", "--data", str(tmp_path / "slide.tif"),
                   "--labels", str(tmp_path / "slide_labels.tif"), "--max-clicks", "3",
                   "--out", str(out), "--no-progress"])
    assert rc == 0
    summary = check_outputs(out, 2, max_clicks=3)
    assert summary["miou_curve"][0] == pytest.approx(1.0)  # each square found from its first click
    assert oracle.images_seen and all(t is zarr.Array for t in oracle.images_seen)
    assert reads and max(reads) <= (2 * WindowOracle.half + 1) ** 2  # windows only, never the slide


# -- the real thing ---------------------------------------------------------------------------
@pytest.mark.data
@pytest.mark.slow
def test_evaluate_random_walker_on_glas(shared_data, tmp_path):
    glas = shared_data / "glas-train"
    if not glas.is_dir():
        pytest.skip(f"{glas} is absent")
    out = tmp_path / "glas"
    rc = cli.main(["evaluate", "--model", "random-walker", "--data", str(glas), "--objects", "3",
                   "--max-clicks", "20", "--out", str(out), "--no-progress"])
    assert rc == 0
    summary = check_outputs(out, 3)
    assert summary["model"] == "random-walker" and summary["dataset"] == "glas-train"
    # clicks help: the curve rises from the first click to the last
    assert summary["miou_curve"][-1] > summary["miou_curve"][0]


@pytest.mark.data
def test_evaluate_validation_part_only(shared_data, tmp_path, capsys):
    """--part val keeps to the held-out patients of data/splits.py (LGG: by patient)."""
    from napari_clickseg.data.splits import LGG_VAL_PATIENTS

    lgg = shared_data / "lgg-mri-train"
    if not lgg.is_dir():
        pytest.skip(f"{lgg} is absent")
    out = tmp_path / "lgg_val"
    rc = cli.main(["evaluate", "--model", "geodesic", "--data", str(lgg), "--part", "val",
                   "--objects", "4", "--max-clicks", "2", "--out", str(out), "--no-progress"])
    assert rc == 0
    check_outputs(out, 4, max_clicks=2)
    with open(out / "per_object.csv") as fh:
        names = [row["name"] for row in csv.DictReader(fh)]
    assert len(names) == 4
    assert all(any(n.startswith(p) for p in LGG_VAL_PATIENTS) for n in names), names
    # a folder that is not one of the split datasets is refused with a clear message
    (tmp_path / "mine" / "images").mkdir(parents=True)
    rc = cli.main(["evaluate", "--model", "geodesic", "--data", str(tmp_path / "mine"), "--part", "val",
                   "--out", str(tmp_path / "o2"), "--no-progress"])
    assert rc == 2 and "--part all" in capsys.readouterr().err
