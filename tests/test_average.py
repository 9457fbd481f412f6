"""Weight averaging (``train.average``, ``clickseg average``): exact means, clear refusals."""

from __future__ import annotations

import json

import pytest
import torch

from napari_clickseg.cli import main
from napari_clickseg.models.networks import build_network
from napari_clickseg.models.weights_io import load_network, save_model, sha256_file
from napari_clickseg.train.average import average_networks

SMALL = {"crop_size": 64, "encoder": {"stem": 8, "low": 8, "mid": 8, "high": 16, "key": 8, "blocks": (1, 1, 1)}}


@pytest.fixture
def two(tmp_path):
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        net = build_network("fdrn", **SMALL)
        with torch.no_grad():  # make BatchNorm buffers differ too
            for name, buf in net.named_buffers():
                if buf.is_floating_point():
                    buf.add_(seed + 0.5)
                else:
                    buf.fill_(3 + seed)
        paths.append(save_model(net, tmp_path / f"n{seed}.pt", {"training": {"seed": seed}}))
    return paths


def test_equal_mean_of_every_float_tensor(two):
    a, b = (load_network(p).state_dict() for p in two)
    avg = average_networks(two).state_dict()
    assert set(avg) == set(a)
    floats = 0
    for key, value in avg.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, (a[key] + b[key]) / 2)
            floats += 1
        else:  # num_batches_tracked: the larger count
            assert torch.equal(value, torch.maximum(a[key], b[key])), key
    assert floats > 10


def test_weighted_mean_and_identity(two):
    a, b = (load_network(p).state_dict() for p in two)
    avg = average_networks(two, [3, 1]).state_dict()
    key = next(k for k, v in a.items() if v.is_floating_point() and v.ndim == 4)
    torch.testing.assert_close(avg[key], 0.75 * a[key] + 0.25 * b[key])
    only_first = average_networks(two, [1, 0]).state_dict()
    for k, v in a.items():
        if v.is_floating_point():
            assert torch.allclose(only_first[k], v), k


def test_refuses_what_cannot_be_averaged(two, tmp_path):
    with pytest.raises(ValueError, match="at least two"):
        average_networks(two[:1])
    with pytest.raises(ValueError, match="one weight per file"):
        average_networks(two, [1.0])
    with pytest.raises(ValueError, match="not all 0"):
        average_networks(two, [0, 0])
    other = save_model(build_network("fdrn", crop_size=96, encoder=SMALL["encoder"]), tmp_path / "other.pt")
    with pytest.raises(ValueError, match="another architecture.*crop_size"):
        average_networks([two[0], other])
    with pytest.raises(FileNotFoundError):
        average_networks([two[0], tmp_path / "missing.pt"])


def test_cli_writes_a_loadable_average_with_its_sources(two, tmp_path, capsys):
    out = tmp_path / "soup.pt"
    assert main(["average", str(two[0]), str(two[1]), "--out", str(out), "--mix", "1,3"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    sources = card["training"]["averaged_from"]
    assert [s["sha256"] for s in sources] == [sha256_file(p) for p in two]
    assert [s["weight"] for s in sources] == [0.25, 0.75]
    assert [s["training"] for s in sources] == [{"seed": 0}, {"seed": 1}]
    net = load_network(out, family="fdrn")
    key = "encoder.stem1.0.weight"
    a, b = (load_network(p).state_dict()[key] for p in two)
    torch.testing.assert_close(net.state_dict()[key], 0.25 * a + 0.75 * b)
    assert main(["average", str(two[0]), str(two[1]), "--out", str(out), "--mix", "a,b"]) == 2
    assert "--mix must be comma-separated numbers" in capsys.readouterr().err
