"""benchmarks/bench_large_slide.py on a small lazy mosaic of the real MoNuSeg tiles (--quick).

Checks what the benchmark reports (memory, IoU, windows), not how fast it is: timings are for an
idle machine.
"""

from __future__ import annotations

import _bench
import numpy as np
import pytest

pytestmark = [pytest.mark.data, pytest.mark.slow]



def test_quick_benchmark_reports_memory_iou_and_latency(shared_data, tmp_path):
    data = _bench.monuseg(shared_data)
    report = _bench.run_json("bench_large_slide.py", ["--quick", "--data", str(data)], tmp_path / "large.json")
    slide, memory = report["results"]
    assert slide["case"] == "slide" and slide["side"] == 5000 and slide["objects"] == 2
    for key in ("iou_tile_first", "iou_slide_first", "iou_slide_last"):
        assert 0.0 <= slide[key] <= 1.0
    assert slide["windows_encoded"] >= 1 and slide["first_click_s"]["max"] > 0
    assert slide["next_click_s"]["median"] > 0 and slide["click_512_median_s"] > 0
    # a lazily opened slide costs the model and a few windows, not the slide (5000^2 x 3 = 75 MB)
    assert 0.1 < slide["peak_rss_process_gb"] < 1.5
    assert memory["case"] == "memory" and np.isclose(memory["image_gb"], 2000 * 2000 * 3 / 1e9)
    assert memory["peak_added_gb"] >= memory["image_gb"] * 0.9  # the image itself is counted
    assert set(report["meets"]) >= {"slide_iou_within_0.05", "slide_peak_rss_le_1.5GB", "memory_peak_le_3x_image"}
