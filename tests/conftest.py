"""Shared test helpers. Keep additions small and self-contained (several people edit this)."""

from __future__ import annotations

import gc
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


def pytest_collection_finish(session):
    """Move every object alive after collection (modules, torch, napari) out of the collector's way.

    napari's viewer fixture runs ``gc.collect()`` several times per test; with torch and napari
    imported each full collection walks millions of long-lived objects. ``gc.freeze`` puts them in
    the permanent generation, so a collection only walks what the tests made.
    """
    gc.collect()
    gc.freeze()


_CALLBACK_LISTS = ("mouse_drag_callbacks", "mouse_move_callbacks", "mouse_double_click_callbacks", "mouse_wheel_callbacks")


@pytest.fixture(scope="session")
def _session_viewer(qapp):
    """One hidden napari viewer for the session's widget tests (creating and closing one costs ~2 s).

    Its QtViewer is not counted in napari's own leak check (``QtViewer._instances``), so tests
    that still need a fresh viewer (``make_napari_viewer(show=True)``) can run beside it.
    """
    from napari import Viewer
    from napari._qt.qt_viewer import QtViewer

    with pytest.MonkeyPatch.context() as mp:
        # as napari's fixture does: no status-checker thread in tests
        mp.setattr("napari._qt.threads.status_checker.StatusChecker.start", lambda *a, **k: None)
        viewer = Viewer(show=False, show_welcome_screen=False)
        QtViewer._instances.discard(viewer.window._qt_viewer)
        pristine = {name: list(getattr(viewer, name)) for name in _CALLBACK_LISTS}
        pristine["keymap"] = dict(viewer.keymap)
        viewer._clickseg_pristine = pristine
        # napari collects garbage on every layer removal: freeze what the viewer and the
        # models (imported lazily by the widgets) brought in, as after collection
        import napari_clickseg.models.learned_predictor  # noqa: F401
        import napari_clickseg.widgets.annotator  # noqa: F401

        gc.collect()
        gc.freeze()
        yield viewer
        viewer.close()


@pytest.fixture
def viewer(_session_viewer, qapp):
    """The session's napari viewer, empty: no layers, no dock widgets, napari's own bindings.

    After the test every widget docked or opened during it is closed (so its ``closeEvent``
    disconnects it, as when a user closes it), every layer removed, the mouse callbacks and
    key bindings put back as napari made them, and the view reset to 2D.
    """
    from qtpy.QtWidgets import QApplication

    before = set(QApplication.topLevelWidgets())
    yield _session_viewer
    v = _session_viewer
    for name, widget in list(v.window.dock_widgets.items()):
        native = getattr(widget, "native", widget)
        native.close()
        v.window.remove_dock_widget(native)
    for widget in set(QApplication.topLevelWidgets()) - before:
        widget.close()
        widget.deleteLater()
    v.layers.clear()
    pristine = v._clickseg_pristine
    for name in _CALLBACK_LISTS:
        getattr(v, name)[:] = pristine[name]
    v.keymap.clear()
    v.keymap.update(pristine["keymap"])
    v.dims.ndisplay = 2
    v.canvas.grid.enabled = False
    v.dims.reset()
    v.reset_view()
    QApplication.processEvents()
