"""``models.card_summary``: a card's nested lineage flattened oldest first; ``clickseg models --card``."""

from __future__ import annotations

import pytest

from napari_clickseg import cli
from napari_clickseg.models.card_summary import lineage, summary_lines
from napari_clickseg.models.registry import get_model_info
from napari_clickseg.models.weights_io import read_card


def _run(steps, samples, seed, lr, init="", init_card_training=None, sha=None):
    training = {"steps": steps, "samples": samples, "config": {"run": {"seed": seed}, "optim": {"lr": lr},
                                                               "model": {"init": init}}}
    if init_card_training is not None:
        training["init"] = {"weights": init, "sha256": sha, "training": init_card_training}
    return training


def test_lineage_is_oldest_first_with_each_runs_own_figures():
    first = _run(4400, None, 0, 5e-4)  # an old card: no sample count
    second = _run(3000, 24000, 1, 2e-4, "a.pt", first, "aa" * 32)
    third = _run(1200, 9600, 8, 1e-4, "b.pt", second, "bb" * 32)
    rows = lineage({"training": third})
    assert [r["steps"] for r in rows] == [4400, 3000, 1200]
    assert [r["samples"] for r in rows] == [None, 24000, 9600]
    assert [r["seed"] for r in rows] == [0, 1, 8]
    assert [r["init"] for r in rows] == ["", "a.pt", "b.pt"]
    assert [r["init_sha256"] for r in rows] == [None, "aa" * 32, "bb" * 32]


def test_a_card_without_training_has_no_lineage_and_says_so():
    assert lineage({"description": "hand-made"}) == []
    lines = summary_lines("x", {"description": "hand-made"})
    assert lines[0] == "x: hand-made" and "none recorded" in lines[-1]


def test_summary_reads_totals_and_full_protocol_from_the_card():
    card = {"description": "d", "parameters": 1234, "size_bytes": 2**20,
            "training": {**_run(10, 80, 3, 1e-4, "a.pt", _run(5, 40, 2, 1e-3), "cc" * 32),
                         "total_steps": 15, "total_samples": 120, "data": {"glas-train": 0.5},
                         "left_out": ["ph2-dermoscopy"]},
            "evaluation": {"full_protocol": {"objects": "20", "mean_noc90": 7.5, "command": "bench X",
                                             "per_part": {"glas-train": {"noc90": 4.0, "miou1": 0.6},
                                                          "ph2-dermoscopy": {"noc90": 9.0}}}}}
    text = "\n".join(summary_lines("m", card))
    assert "parameters: 1,234, file 1.0 MiB" in text
    assert "lineage: 2 run(s), 15 steps, 120 samples seen" in text
    assert "from random weights" in text and "from a.pt (cccccccc)" in text
    assert "ph2-dermoscopy (left out): noc90 9.0" in text and "glas-train: noc90 4.0, miou1 0.6" in text
    assert "mean NoC@90 7.5" in text and "measured with: bench X" in text


def test_models_card_command_prints_the_shipped_v2_lineage(capsys):
    info = get_model_info("fdrn-v2")
    if not info.has_weights:
        pytest.skip("fdrn-v2 weights are not installed")
    card = read_card(info.weights)
    assert cli.main(["models", "--card", "fdrn-v2"]) == 0
    out = capsys.readouterr().out
    runs = lineage(card)
    assert len(runs) >= 2 and runs[0]["init"] == ""  # the chain ends at a random start
    assert f"lineage: {len(runs)} run(s), {card['training']['total_steps']:,} steps" in out
    for part in card["training"]["left_out"]:
        assert f"{part} (left out)" in out


def test_models_card_of_a_classical_model_is_a_clear_error(capsys):
    assert cli.main(["models", "--card", "random-walker"]) == 2
    assert "classical model" in capsys.readouterr().err
