"""Broken user model cards are skipped with a warning naming the file; loading one says why.

Regression tests for issue 13 item 3: one bad ``<user models>/x.json`` used to break
``list_models()``, ``load_model()`` and ``clickseg models`` with an ``AttributeError``.
"""

from __future__ import annotations

import json
import logging

import pytest

from napari_clickseg.cli import main
from napari_clickseg.models.registry import (
    build_model,
    get_model_info,
    list_models,
    load_model,
    user_models_dir,
)

BROKEN = {
    "not-an-object": ("[1, 2]", r"holds a JSON list, not an object"),
    "invalid-json": ('{"family": "fdrn",', r"is not valid JSON"),
    "unknown-family": ('{"family": "unet-9000"}', r"names family 'unet-9000', which is not a learned model family \(fdrn"),
    "classical-family": ('{"family": "geodesic"}', r"names family 'geodesic', which is not a learned"),
    "no-family": ('{"description": "mine"}', r'has no "family" field'),
    "family-not-a-string": ('{"family": 3}', r"names family 3"),
}


def _write(name: str, text: str):
    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_card_is_skipped_with_a_warning_and_named_on_load(case, caplog):
    text, why = BROKEN[case]
    path = _write(case, text)
    good = _write("good-ft", json.dumps({"family": "fdrn", "description": "fine-tuned"}))
    with caplog.at_level(logging.WARNING, logger="napari_clickseg.models.registry"):
        names = list_models()
    assert case not in names and "good-ft" in names and "random-walker" in names
    assert any(str(path) in r.getMessage() and case in r.getMessage() for r in caplog.records), caplog.text
    assert get_model_info("good-ft").family == "fdrn" and good.exists()
    for call in (get_model_info, load_model):
        with pytest.raises(ValueError, match=rf"user model '{case}' cannot be loaded: its model card .*{case}.json {why}"):
            call(case)
    assert load_model("random-walker").name == "random-walker"  # other models are unaffected


def test_broken_card_warns_once_per_version_of_the_file(caplog):
    path = _write("x", "[1, 2]")
    with caplog.at_level(logging.WARNING, logger="napari_clickseg.models.registry"):
        list_models()
        list_models()
    assert sum(str(path) in r.getMessage() for r in caplog.records) == 1


def test_models_command_survives_a_broken_card(capsys):
    _write("x", "[1, 2]")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "random-walker" in out and "fdrn" in out and "\nx " not in out


def test_missing_weights_message_gives_advice_that_works():
    _write("no-weights", json.dumps({"family": "fdrn"}))
    with pytest.raises(FileNotFoundError, match=r"no-weights.pt.*build_model\('no-weights', pretrained=False\)") as err:
        load_model("no-weights")
    assert "pretrained=False" in str(err.value)
    # the advice is a call that works
    assert build_model("no-weights", device="cpu", pretrained=False).trained is False
