"""The ``clickseg`` entry point: sub-commands listed, clear one-line errors with exit code 2."""

from __future__ import annotations

import sys

import pytest

from napari_clickseg import cli


def test_help_lists_every_command(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_models_command_lists_the_registry(capsys):
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "fdrn" in out and "random-walker" in out


def test_annotate_without_a_display_says_what_to_do(monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert cli.main(["annotate"]) == 2
    err = capsys.readouterr().err
    assert "no display" in err and "xvfb-run" in err and "clickseg evaluate" in err


def test_unknown_model_is_a_clear_error(capsys, tmp_path):
    rc = cli.main(["evaluate", "--model", "nope", "--data", "sample-microscopy", "--out", str(tmp_path)])
    assert rc == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["annotate", "/no/such/image.tif"]])
def test_missing_image_file(argv, capsys, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":99")  # the file check comes first either way
    assert cli.main(argv) == 2
    assert "does not exist" in capsys.readouterr().err
