"""benchmarks/bench_widget_large_slide.py on a small lazy mosaic of the real MoNuSeg tiles:
the widget annotates it with a chunked target and reports memory (no timings)."""

from __future__ import annotations

import _bench
import pytest

pytestmark = [pytest.mark.data, pytest.mark.slow, pytest.mark.gui]



def test_widget_benchmark_reports_a_chunked_target_and_its_memory(shared_data, tmp_path):
    data = _bench.monuseg(shared_data)
    report = _bench.run_json("bench_widget_large_slide.py",
                             ["--side", "5000", "--objects", "1", "--min-pixels", str(4096 * 4096), "--data", str(data)],
                             tmp_path / "widget.json")
    assert report["target"] == "ChunkedLabels (multiscale)" and report["side"] == 5000
    assert report["objects_committed"] == report["objects_listed"] == 1 and report["saved"]
    assert 1 <= report["stored_chunks"] <= 4 and report["chunk"] == [512, 512]
    assert [lv[0] for lv in report["levels"]] == [5000, 2500, 1250, 625]
    assert 0.1 < report["rss_before_gb"] <= report["peak_rss_sampled_gb"] < 3.0
