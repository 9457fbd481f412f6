"""``core.autosave``: atomic files per image in the per-user folder, read back exactly."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.core.autosave import (
    Autosave,
    SlicePrompts,
    atomic_write,
    autosave_dir,
    autosave_enabled,
    image_signature,
)
from napari_clickseg.core.clicks import Box, Click
from napari_clickseg.core.persistence import ObjectRecord


def test_round_trip_and_signature(tmp_path):
    vol = np.random.default_rng(0).random((3, 16, 16)).astype(np.float32)
    sig = image_signature(vol)
    assert sig == image_signature(vol.copy()) and sig != image_signature(vol[::-1])
    assert sig != image_signature(vol.astype(np.float64))
    store = Autosave(sig)
    assert store.folder == autosave_dir() and store.read() is None
    labels = np.zeros((3, 16, 16), np.uint32)
    labels[1, 2:5, 2:5] = 7
    rec = ObjectRecord(7, (1,), [Click(3, 3), Click(0, 0, False)], Box(2, 2, 4, 4), "geodesic")
    prompts = [SlicePrompts((2,), [Click(5, 6, False), Click(8, 9)], None), SlicePrompts((0,), [], None)]
    store.write_labels(labels)
    store.write_state([rec], prompts, {"model": "geodesic"}, labels.shape)
    state = Autosave(sig).read()
    np.testing.assert_array_equal(state.labels, labels)
    assert state.records[0].clicks == rec.clicks and state.records[0].box == rec.box
    assert [(p.index, p.clicks) for p in state.prompts] == [((2,), prompts[0].clicks)]  # empty slices dropped
    assert state.settings == {"model": "geodesic"} and not state.is_empty and state.saved_at > 0
    assert not [p for p in store.folder.iterdir() if p.name.endswith(".tmp")]
    store.set_aside()
    assert Autosave(sig).read() is None and len(list(store.folder.glob(f"{sig}.previous.*"))) == 2


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "x.json"
    atomic_write(path, lambda f: f.write(b"old"))

    def broken(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_corrupt_autosave_is_named(tmp_path):
    store = Autosave("abc123", folder=tmp_path)
    store.state_path.write_text("{not json")
    with pytest.raises(ValueError, match=r"autosave .*abc123.json cannot be read"):
        store.read()
    store.state_path.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match=r"is not a napari-clickseg autosave"):
        store.read()
    with pytest.raises(ValueError, match="alphanumeric"):
        Autosave("../etc")


def test_only_the_newest_images_are_kept(tmp_path):
    import time

    for k in range(5):
        Autosave(f"sig{k}", folder=tmp_path, keep=3).write_state([], [], {})
        time.sleep(0.02)  # distinct modification times
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sig2.json", "sig3.json", "sig4.json"]


def test_switch(monkeypatch):
    assert autosave_enabled()
    for off in ("0", "off", "False"):
        monkeypatch.setenv("CLICKSEG_AUTOSAVE", off)
        assert not autosave_enabled()
