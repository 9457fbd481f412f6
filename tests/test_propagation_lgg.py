"""Propagation stops where the tumour ends on the whole LGG volumes of ../shared/data (real data)."""

from __future__ import annotations

import _bench as _benchmarks
import numpy as np
import pytest

pytestmark = [pytest.mark.data, pytest.mark.slow]



def _bench():
    return _benchmarks.load("bench_propagation.py")


def test_propagation_from_the_largest_slice_stops_at_the_object_ends(shared_data):
    from napari_clickseg.core.volume import PropagationConfig
    from napari_clickseg.data.readers import read_volume
    from napari_clickseg.models.registry import load_model

    bench = _bench()
    found = bench.volumes(shared_data / "lgg-mri-train" / "volumes")
    if not found:
        pytest.skip("no whole LGG volumes in ../shared/data/lgg-mri-train/volumes")
    name, img, lab = found[0]  # the smaller volume keeps the test short
    r = bench.run_volume(read_volume(img), read_volume(lab) > 0, load_model("fdrn", device="cpu"), PropagationConfig())
    assert max(r["over"]) <= 1, (name, r)
    assert r["dice"] >= 0.8, (name, r)
    # the former rule alone (IoU with the previous slice) ran far past the tumour on this volume
    old = PropagationConfig(min_contrast=None, max_outside=None)
    r_old = bench.run_volume(read_volume(img), read_volume(lab) > 0, load_model("fdrn", device="cpu"), old)
    assert sum(r_old["over"]) > sum(r["over"]) and np.isfinite(r_old["dice"])
