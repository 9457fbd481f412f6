"""Running the scripts of ``benchmarks/`` from tests: as a module, or as a user runs them."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def script(name: str) -> Path:
    """Path of ``benchmarks/<name>``; skips the test when the benchmarks are not beside it."""
    path = BENCHMARKS / name
    if not path.is_file():
        pytest.skip(f"{path} is not beside the tests (installed package without the repository)")
    return path


def load(name: str) -> ModuleType:
    """Import ``benchmarks/<name>`` as a module (registered in ``sys.modules``: dataclasses need it)."""
    path = script(name)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_json(name: str, args: list[str], out: Path, timeout: int = 900) -> dict[str, Any]:
    """Run ``python benchmarks/<name> ARGS --out OUT`` from the benchmarks folder; its JSON report.

    Fails the test with the end of stderr when the script exits with an error.
    """
    path = script(name)
    env = dict(os.environ, PYTHONPATH=str(BENCHMARKS.parent))
    done = subprocess.run([sys.executable, str(path), *args, "--out", str(out)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=BENCHMARKS)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def monuseg(shared_data: Path) -> Path:
    """The real MoNuSeg folder; skips the test when its images are absent."""
    data = shared_data / "monuseg-kumar-train"
    if not (data / "images").is_dir():
        pytest.skip(f"{data} is absent")
    return data
