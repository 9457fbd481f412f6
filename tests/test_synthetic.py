"""Procedural generator and sample volumes: determinism and label sanity per kind."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_clickseg.data.samples import sample_microscopy_volume, sample_mri_volume
from napari_clickseg.data.synthetic import KINDS, generate, vary_appearance


@pytest.mark.parametrize("kind", KINDS)
def test_generate_is_deterministic_and_labelled(kind):
    a = generate(np.random.default_rng(3), kind, (96, 112))
    b = generate(np.random.default_rng(3), kind, (96, 112))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
    assert a.kind == kind
    assert a.image.dtype == np.float32 and a.image.shape[:2] == (96, 112)
    assert a.image.ndim == 2 or a.image.shape[2] == 3
    assert 0.0 <= a.image.min() and a.image.max() <= 1.0
    assert a.labels.dtype == np.int32 and a.labels.shape == (96, 112)
    ids, counts = np.unique(a.labels, return_counts=True)
    assert ids[0] == 0 and len(ids) >= 2, "every kind must produce background and at least one object"
    assert counts[1:].min() >= 30  # min_area default
    c = generate(np.random.default_rng(4), kind, (96, 112))
    assert not np.array_equal(a.image, c.image)


def test_kind_specific_properties():
    glands = generate(np.random.default_rng(0), "glands", (128, 128), appearance=0.0)
    assert glands.image.ndim == 3  # H&E-like RGB
    mri = generate(np.random.default_rng(0), "mri", (128, 128), appearance=0.0)
    assert set(np.unique(mri.labels)) <= {0, 1}
    mem = generate(np.random.default_rng(0), "membranes", (128, 128), appearance=0.0, min_area=0)
    # cells are separated by membranes: no two different cells touch directly (4-neighbours)
    lab = mem.labels
    right = (lab[:, 1:] != lab[:, :-1]) & (lab[:, 1:] > 0) & (lab[:, :-1] > 0)
    down = (lab[1:] != lab[:-1]) & (lab[1:] > 0) & (lab[:-1] > 0)
    assert not right.any() and not down.any()
    assert (lab == 0).mean() > 0.03  # membrane pixels exist
    nuc = generate(np.random.default_rng(0), "nuclei", (128, 128), appearance=0.0)
    img = nuc.image
    assert img[nuc.labels > 0].mean() > img[nuc.labels == 0].mean()  # bright nuclei


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown synthetic kind"):
        generate(np.random.default_rng(0), "planets")


def test_generate_is_reproducible_and_drops_small_objects():
    a = generate(np.random.default_rng([5, 7]), None, (64, 64), min_area=30)
    b = generate(np.random.default_rng([5, 7]), None, (64, 64), min_area=30)
    assert np.array_equal(a.image, b.image) and a.kind == b.kind
    ids, counts = np.unique(a.labels[a.labels > 0], return_counts=True)
    assert (counts >= 30).all()


def test_vary_appearance_ranges():
    rng = np.random.default_rng(0)
    img = np.random.default_rng(1).random((32, 32)).astype(np.float32)
    channels = set()
    for _ in range(30):
        out = vary_appearance(rng, img)
        assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
        channels.add(out.ndim)
    assert channels == {2, 3}  # gray stays gray or becomes RGB
    assert np.allclose(vary_appearance(rng, img, 0.0), (img - img.min()) / (img.max() - img.min()))


def _continues_across_slices(labels: np.ndarray) -> int:
    """Number of ids whose masks overlap on three consecutive slices."""
    n = 0
    for i in np.unique(labels)[1:]:
        m = labels == i
        for z in range(labels.shape[0] - 2):
            if (m[z] & m[z + 1]).any() and (m[z + 1] & m[z + 2]).any():
                n += 1
                break
    return n


def test_sample_microscopy_volume():
    t = time.perf_counter()
    image, labels = sample_microscopy_volume(0)
    assert time.perf_counter() - t < 4.0  # < 2 s on an idle machine
    assert image.shape == labels.shape == (8, 256, 256)
    assert image.dtype in (np.uint8, np.uint16) and labels.dtype == np.int32
    assert labels.max() >= 20
    assert _continues_across_slices(labels) >= 10
    image2, labels2 = sample_microscopy_volume(0)
    assert np.array_equal(image, image2) and np.array_equal(labels, labels2)
    assert not np.array_equal(labels, sample_microscopy_volume(1)[1])
    assert image[labels > 0].mean() > 2 * image[labels == 0].mean()


def test_sample_mri_volume():
    image, labels = sample_mri_volume(0)
    assert image.ndim == 3 and image.shape == labels.shape
    assert labels.dtype == np.int32 and set(np.unique(labels)) == {0, 1}
    with_tumour = np.nonzero(labels.reshape(len(labels), -1).any(1))[0]
    assert len(with_tumour) >= 4 and np.all(np.diff(with_tumour) == 1)  # consecutive slices
    assert labels[0].sum() == 0 and labels[-1].sum() == 0
    z = with_tumour[len(with_tumour) // 2]
    assert ndi.label(labels[z])[1] == 1  # one blob
    assert image[z][labels[z] > 0].mean() > image[z][labels[z] == 0].mean()  # FLAIR-bright
    assert np.array_equal(image, sample_mri_volume(0)[0])
