"""The speed benchmark runs end to end on a tiny setting and reports every column."""

from __future__ import annotations

import json
import math

import pytest

from napari_clickseg.eval import bench_command
from napari_clickseg.eval.benchmark import format_table, run_benchmark


def test_run_benchmark_tiny_in_process():
    results = run_benchmark(["fdrn", "ritm-like@64"], sizes=[96], n_clicks=5, repeats=1, isolate=False)
    assert [r.model for r in results] == ["fdrn", "ritm-like@64"]
    assert [r.trained for r in results] == [True, False]  # NAME@CROP is built untrained, and says so
    assert "| ritm-like@64 (random weights) |" in format_table(results)
    fdrn = results[0]
    assert fdrn.error is None
    assert fdrn.encode_ms > 0 and fdrn.click_median_ms > 0 and fdrn.click_p95_ms >= fdrn.click_median_ms
    assert set(fdrn.t_total_ms) == {"1", "5"}  # n <= clicks only
    assert fdrn.t_total_ms["5"] > fdrn.t_total_ms["1"] > fdrn.encode_ms
    assert math.isnan(fdrn.ratio_vs_ritm)  # no plain ritm-like row in this run
    table = format_table(results, note="random weights")
    assert table.count("\n| fdrn |") == 1 and "random weights" in table


@pytest.mark.slow
def test_bench_command_writes_json(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser()
    bench_command.add_arguments(parser)
    out = tmp_path / "bench.json"
    args = parser.parse_args(["--models", "fdrn,ritm-like", "--sizes", "80", "--clicks", "3", "--repeats", "1",
                              "--no-isolate", "--json", str(out)])
    assert bench_command.run(args) == 0
    doc = json.loads(out.read_text())
    from napari_clickseg.models.registry import get_model_info

    shipped = get_model_info("fdrn").has_weights
    assert doc["meta"]["trained_weights"] == (["fdrn"] if shipped else [])
    rows = {r["model"]: r for r in doc["results"]}
    assert rows["ritm-like"]["ratio_vs_ritm"] == 1.0 and rows["fdrn"]["ratio_vs_ritm"] > 0
    assert "random weights" in capsys.readouterr().out
