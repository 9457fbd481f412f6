"""benchmarks/bench_widget_large_slide.py on a small lazy mosaic of the real MoNuSeg tiles:
the widget annotates it with a chunked target and reports memory (no timings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.data, pytest.mark.slow, pytest.mark.gui]

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_widget_large_slide.py"


def test_widget_benchmark_reports_a_chunked_target_and_its_memory(shared_data, tmp_path):
    data = shared_data / "monuseg-kumar-train"
    if not (data / "images").is_dir():
        pytest.skip(f"{data} is absent")
    env = dict(os.environ, PYTHONPATH=str(BENCH.parents[1]))
    out = tmp_path / "widget.json"
    done = subprocess.run([sys.executable, str(BENCH), "--side", "5000", "--objects", "1", "--min-pixels", str(4096 * 4096),
                           "--data", str(data), "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=900, cwd=BENCH.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["target"] == "ChunkedLabels (multiscale)" and report["side"] == 5000
    assert report["objects_committed"] == report["objects_listed"] == 1 and report["saved"]
    assert 1 <= report["stored_chunks"] <= 4 and report["chunk"] == [512, 512]
    assert [lv[0] for lv in report["levels"]] == [5000, 2500, 1250, 625]
    assert 0.1 < report["rss_before_gb"] <= report["peak_rss_sampled_gb"] < 3.0
