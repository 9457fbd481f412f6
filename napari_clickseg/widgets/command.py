"""``clickseg annotate [IMAGE] [--labels LABELS] [--model NAME]``: napari with the annotator docked.

Only argparse/pathlib at module level (``clickseg --help`` stays instant); numpy, napari and
the widget are imported inside ``run``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", nargs="?", type=Path, default=None,
                        help="2D image (PNG/TIFF) or volume (TIFF stack, NIfTI); a large tiled (OME-)TIFF or a zarr "
                             "folder opens lazily (only the windows clicked are read); default: a synthetic microscopy sample")
    parser.add_argument("--labels", type=Path, default=None,
                        help="labels file to continue (TIFF/.npy; its .clickseg.json prompts are resumed); "
                             "saved there with 'Save labels + prompts'")
    parser.add_argument("--model", default=None, help="model name (see 'clickseg models'); default fdrn, else random-walker")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="device for learned models")
    parser.add_argument("--flip-tta", action="store_true",
                        help="flip test-time augmentation for learned models (the slice and its mirror, averaged: two views per pass)")
    parser.add_argument("--finetune", action="store_true", help="also dock the fine-tuning widget")
    parser.add_argument("--features", type=Path, default=None, metavar="STORE.zarr",
                        help="read slices' encoder features from a store made by 'clickseg precompute' "
                             "(slices found there are not encoded again; the store must match the model)")


def _load_image(path: Path):
    """(array, rgb, layer keyword arguments): NIfTI files get their voxel spacing as scale;
    large tiled TIFFs and zarr folders stay on disk (a lazy multiscale pyramid, finest first)."""
    from ..core.lazy_image import open_pyramid, opens_lazily
    from ..data.readers import is_nifti, read_array

    if opens_lazily(path):
        levels = open_pyramid(path)
        shape = levels[0].shape
        rgb = len(shape) == 3 and shape[-1] in (3, 4)
        return (levels if len(levels) > 1 else levels[0]), rgb, {"multiscale": len(levels) > 1}

    if is_nifti(path):
        from ..core.nifti import read_nifti

        vol = read_nifti(path)  # the same axis order as read_array, plus the geometry
        return vol.data, False, {"scale": vol.spacing, "metadata": {"nifti_affine": vol.affine.tolist()}}
    arr = read_array(path)
    rgb = arr.ndim == 3 and arr.shape[-1] in (3, 4) and min(arr.shape[:2]) > 4
    return arr, rgb, {}


def _attach_store(widget, store) -> None:
    """Let ``widget`` read features from ``store`` after checking it was made for its model."""
    from ..core.feature_store import StoreIdentity, check_identity

    predictor = widget.session.predictor if widget.session is not None else None
    if predictor is None:
        raise ValueError(f"--features {store.path}: no model is loaded to use the store with")
    check_identity(store.path, store.identity, StoreIdentity.of(predictor))
    widget.use_feature_store(store)


def run(args: argparse.Namespace) -> int:
    if args.image is not None and not (args.image.is_file() or args.image.is_dir()):
        raise FileNotFoundError(f"image file {args.image} does not exist")
    if args.labels is not None and args.labels.suffix.lower() not in (".tif", ".tiff", ".npy"):
        raise ValueError(f"--labels {args.labels}: use a .tif, .tiff or .npy file")
    if sys.platform.startswith("linux") and not any(
        os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    ):
        raise OSError(
            "no display to open napari on (DISPLAY is not set). On a machine without a screen, run "
            "'xvfb-run -a clickseg annotate', or use the headless commands: 'clickseg evaluate --model fdrn "
            "--data sample-microscopy --out DIR' (simulated clicks) or the Python API"
        )
    store = None
    if args.features is not None:
        from ..core.feature_store import ZarrFeatureStore

        store = ZarrFeatureStore.open(args.features)  # a missing or foreign folder fails before napari opens
    if args.model is not None:
        from ..models.registry import list_models, loadable_models

        if args.model not in loadable_models():
            why = "has no trained weights" if args.model in list_models() else "is unknown"
            raise ValueError(f"--model {args.model!r} {why}; loadable models: {', '.join(loadable_models())}")
    import napari

    from .annotator import AnnotatorWidget

    viewer = napari.Viewer(title="napari-clickseg")
    if args.image is None:
        from .sample_data import microscopy_volume

        for data, meta, kind in microscopy_volume():
            getattr(viewer, f"add_{kind}")(data, **meta)
        image_name = "nuclei (synthetic)"
    else:
        arr, rgb, extra = _load_image(args.image)
        from ..core.nifti import nifti_stem

        image_name = nifti_stem(args.image)  # "t1" for t1.nii.gz, "cells" for cells.tif
        viewer.add_image(arr, name=image_name, rgb=rgb, **extra)
    widget = AnnotatorWidget(viewer, model=args.model)
    widget.controls.device_combo.setCurrentText(args.device)
    widget.controls.flip_box.setChecked(args.flip_tta)  # reloads the model with flip TTA when ticked
    widget.set_image_layer(image_name)
    if store is not None:
        _attach_store(widget, store)
    viewer.window.add_dock_widget(widget, name="ClickSeg annotator", area="right")
    if args.labels is not None:
        if args.labels.is_file():
            widget.load(args.labels)
        else:
            widget.set_target(None)
            widget.save_path = args.labels
    if args.finetune:
        from .finetune_widget import FinetuneWidget

        viewer.window.add_dock_widget(FinetuneWidget(viewer), name="ClickSeg fine-tune", area="right")
    napari.run()
    return 0
