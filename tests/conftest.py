"""Shared test helpers. Keep additions small and self-contained (several people edit this)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")

#: the real labelled data: $CLICKSEG_DATA, else ../shared/data beside the checkout (never copied
#: into the repo; the package itself only reads $CLICKSEG_DATA or an explicit root)
SHARED_DATA = Path(os.environ.get("CLICKSEG_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
if SHARED_DATA.is_dir():
    os.environ.setdefault("CLICKSEG_DATA", str(SHARED_DATA))


@pytest.fixture
def shared_data() -> Path:
    """Path of the real data folder (``SHARED_DATA``); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it lives beside the checkout)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_user_models(tmp_path_factory, monkeypatch):
    """Every test gets its own per-user model folder, never the real one."""
    monkeypatch.setenv("CLICKSEG_HOME", str(tmp_path_factory.mktemp("clickseg_home")))
