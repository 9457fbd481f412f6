"""``InteractiveSession.history`` / ``restore_history``: a slice's undo history survives a visit elsewhere."""

from __future__ import annotations

import numpy as np

from napari_clickseg.core.session import InteractiveSession
from napari_clickseg.models.registry import load_model


def _img(seed):
    return np.random.default_rng(seed).random((32, 32)).astype(np.float32)


def test_history_is_restored_only_on_the_slice_it_belongs_to():
    s = InteractiveSession(load_model("random-walker"))
    s.set_image(_img(0), key="a")
    s.add_click(10, 10)
    s.add_click(20, 20, False)
    s.undo()
    kept = s.history()
    s.set_image(_img(1), key="b")
    assert not s.restore_history(kept) and s.clicks == ()
    s.set_image(_img(0), key="a")
    assert s.clicks == () and s.restore_history(kept)
    assert [c.coords for c in s.clicks] == [(10, 10)] and s.can_redo
    s.redo()
    assert [c.is_positive for c in s.clicks] == [True, False]
    s.set_image(_img(0), key=None)
    assert not s.restore_history(s.history())  # no key: nothing says which slice it is
