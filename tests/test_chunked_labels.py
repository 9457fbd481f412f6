"""ChunkedLabels: zarr-chunked labels of huge slides, their display levels and object index,
and the document, session and files working on them without reading the whole array."""

from __future__ import annotations

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

from napari_clickseg.core.chunked_labels import ChunkedLabels, needs_chunked_labels  # noqa: E402
from napari_clickseg.core.document import AnnotationDocument  # noqa: E402
from napari_clickseg.core.objects import erase_object, largest_slice, object_stats  # noqa: E402
from napari_clickseg.core.window import WindowedMap  # noqa: E402


def _disk(shape, centre, radius):
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    return (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius**2


@pytest.fixture
def read_sizes(monkeypatch):
    """Sizes (elements) of every read from a zarr array during the test."""
    sizes: list[int] = []
    real = zarr.Array.__getitem__

    def spy(self, key):
        out = real(self, key)
        sizes.append(int(np.size(out)))
        return out

    monkeypatch.setattr(zarr.Array, "__getitem__", spy)
    return sizes


def test_writes_keep_the_levels_and_the_index_in_step_with_the_labels():
    lab = ChunkedLabels.create((3000, 2500), chunk=512, coarsest=400)
    assert [lv.shape for lv in lab.levels] == [(3000, 2500), (1500, 1250), (750, 625), (375, 313)]
    dense = np.zeros(lab.shape, np.uint32)
    lab[100:700, 200:900] = 3
    dense[100:700, 200:900] = 3
    idx = (np.array([5, 2999, 1500]), np.array([7, 2499, 1000]))
    lab[idx] = np.array([9, 9, 4])
    dense[idx] = [9, 9, 4]
    lab[600:650, 850:1200] = 0
    dense[600:650, 850:1200] = 0
    assert np.array_equal(np.asarray(lab), dense)
    for k, level in enumerate(lab.levels[1:], start=1):
        assert np.array_equal(np.asarray(level[...]), dense[:: 2**k, :: 2**k])
    assert object_stats(lab) == object_stats(dense)
    written, stamp = lab.changes_since(0)
    assert written == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 1), (5, 4)]  # scattered points: their chunks
    lab[2999, 2499] = 9  # the same value: the chunk is written all the same
    assert lab.changes_since(stamp)[0] == [(5, 4)]
    assert lab.max_id() == 9 and lab.ids() == [3, 4, 9]
    assert lab.bbox(3) == (slice(100, 700), slice(200, 900)) and lab.bbox(9) == (slice(5, 3000), slice(7, 2500))
    assert lab.bbox(5) is None
    lab[:, :] = 0  # chunks of zeros are not kept
    assert lab.stored_chunks() == [] and lab.levels[0].nchunks_initialized == 0 and object_stats(lab) == []


def test_stacks_index_each_slice():
    lab = ChunkedLabels.create((4, 1200, 1300), chunk=512)
    dense = np.zeros(lab.shape, np.uint16)
    for z, (r, c) in enumerate([(100, 100), (600, 700), (900, 1100)]):
        dense[z][_disk((1200, 1300), (r, c), 40 + 10 * z)] = 2
        lab[z] = dense[z]
    dense[3, 0:10, 0:10] = 5
    lab[3, 0:10, 0:10] = 5
    assert object_stats(lab) == object_stats(dense)
    assert largest_slice(lab, 2) == largest_slice(dense, 2) == 2 and largest_slice(lab, 7) is None
    assert lab.bbox(2, (1,)) == (slice(1, 2), slice(550, 651), slice(650, 751))
    assert lab.bbox(2, (3,)) is None
    patch = erase_object(lab, 2)
    ref = erase_object(dense, 2)
    assert patch.region == ref.region and np.array_equal(patch.after, ref.after)


def test_copies_files_and_folders_round_trip(tmp_path):
    dense = np.zeros((2100, 1800), np.uint32)
    dense[_disk(dense.shape, (1000, 900), 300)] = 7
    dense[2000:, 1700:] = 8
    lab = ChunkedLabels.from_array(dense, path=tmp_path / "labels.zarr")
    assert np.array_equal(np.asarray(lab), dense)
    again = ChunkedLabels.open(tmp_path / "labels.zarr")
    assert object_stats(again) == object_stats(dense) and again.stored_chunks() == lab.stored_chunks()
    with pytest.raises(ValueError, match="not a ChunkedLabels folder"):
        ChunkedLabels.open(_plain_zarr(tmp_path / "plain.zarr"))
    doc = AnnotationDocument(lab)
    for name in ("labels.tif", "labels.npy"):
        doc.save(tmp_path / name)
        back = AnnotationDocument.load(tmp_path / name, chunked=True)
        assert isinstance(back.labels, ChunkedLabels) and np.array_equal(np.asarray(back.labels), dense)
        small = AnnotationDocument.load(tmp_path / name)  # 2100x1800: below the threshold
        assert isinstance(small.labels, np.ndarray) and np.array_equal(small.labels, dense)
    assert needs_chunked_labels((20000, 20000)) and not needs_chunked_labels((2100, 1800))
    assert needs_chunked_labels((2100, 1800), min_pixels=1000)


def _plain_zarr(path):
    zarr.open_group(str(path), mode="w").create_array("labels", shape=(10, 10), dtype="u1")
    return path


def test_the_document_reads_only_object_boxes_of_chunked_labels(read_sizes):
    n = 6000
    doc = AnnotationDocument(ChunkedLabels.create((n, n)))
    ref = AnnotationDocument(np.zeros((300, 300), np.uint32))  # the same edits on the crop they touch

    def crop(m):
        return m.read((2900, 3900, 3199, 4199))

    def region(d):
        return d.labels[2900:3200, 3900:4200] if d is doc else d.labels

    a = WindowedMap((n, n), (3000, 4000), _disk((80, 80), (40, 40), 35), False)
    b = WindowedMap((n, n), (3050, 4050), _disk((60, 60), (30, 30), 28), False)
    grown = WindowedMap((n, n), (2990, 3990), _disk((100, 100), (50, 50), 48), False)
    read_sizes.clear()
    assert doc.commit(a) == ref.commit(crop(a)) == 1
    assert doc.commit(b) == ref.commit(crop(b)) == 2  # beside object 1: keeps its pixels (no overwrite)
    edited = doc.object_mask(1)
    assert isinstance(edited, WindowedMap) and edited.offset == (3005, 4005)  # the disc's box
    assert np.array_equal(crop(edited), ref.object_mask(1))
    assert doc.replace(1, grown) and ref.replace(1, crop(grown))
    assert np.array_equal(region(doc), region(ref))
    assert doc.ids() == ref.ids() == [1, 2] and doc.next_id() == 3
    assert doc.delete(2) and ref.delete(2)
    for _ in range(2):
        doc.undo()
        ref.undo()
    assert np.array_equal(region(doc), region(ref)) and object_stats(doc.labels) == object_stats(ref.labels)
    doc.redo()
    ref.redo()
    assert np.array_equal(region(doc), region(ref)) and doc.object_mask(1).count_nonzero() == int((ref.labels == 1).sum())
    assert max(read_sizes) <= 1024 * 1024  # chunks and object boxes, never the 36 M pixel slide


def test_a_session_starts_from_a_windowed_mask_on_a_large_slide():
    from _window_oracle import WindowOracle

    from napari_clickseg.core.session import InteractiveSession

    z = zarr.create_array(store={}, shape=(5000, 5000), chunks=(1024, 1024), dtype="u1")
    z[2000:2060, 3000:3060] = 220
    session = InteractiveSession(WindowOracle(), z)
    seed = WindowedMap(z.shape, (2000, 3000), np.ones((60, 60), bool), False)
    mask = session.start_from_mask(seed)
    assert isinstance(mask, WindowedMap) and mask.bbox() == (2000, 3000, 2059, 3059)
    assert isinstance(session.seed, WindowedMap)
    anchor = session._model_clicks(())[0]
    assert 2000 <= anchor.row < 2060 and 3000 <= anchor.col < 3060
    session.add_click(2030, 3030, False)  # a negative click inside: the oracle erases around it
    session.undo()
    assert session.mask.bbox() == (2000, 3000, 2059, 3059)
