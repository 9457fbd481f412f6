"""A few hundred seeded random user actions on the annotator, checked against a shadow model.

The engine is ``benchmarks/soak_annotator.py`` (which runs thousands:
``python benchmarks/soak_annotator.py --actions 2000 --seed S``): committed labels, the ordered
prompts of every slice, the session's input and the preview are compared after every action.
"""

from __future__ import annotations

import _bench
import pytest

pytest.importorskip("napari")
pytestmark = [pytest.mark.gui, pytest.mark.slow]


def _engine():
    return _bench.load("soak_annotator.py")


@pytest.mark.parametrize("seed", [0, 1])
def test_random_actions_keep_labels_and_prompt_order(make_napari_viewer, seed):
    engine = _engine()
    soak = engine.Soak(make_napari_viewer(), seed, models=("random-walker", "geodesic", "graph-cut"))
    try:
        summary = soak.run(150)
    finally:
        soak.close()
    counts = summary["counts"]
    assert summary["violations"] == 0
    # the run exercised what it claims to
    for kind in ("click", "tool-add", "burst", "move", "delete", "box", "undo-prompt", "slice"):
        assert counts.get(kind, 0) > 0, (kind, counts)
    assert counts.get("commit", 0) + counts.get("commit-overwrite", 0) > 0, counts
