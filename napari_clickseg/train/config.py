"""Typed training configuration, loaded from TOML and validated.

A config file has the sections ``[model]``, ``[data]`` (with ``[data.sources]`` and
``[data.appearance]``),
``[clicks]``, ``[optim]``, ``[validation]`` and ``[run]``; every key is optional (defaults
below) but unknown keys or wrong types are errors that name the key, e.g.
``configs/x.toml: unknown key 'optim.learning_rate' (known: batch_size, lr, ...)``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

__all__ = [
    "ModelSection", "AppearanceSection", "DataSection", "ClickSection", "OptimSection", "ValidationSection",
    "RunSection", "LossSection", "TrainConfig", "load_config", "config_from_dict", "config_to_dict", "PRECISIONS",
]


PRECISIONS = ("auto", "float32", "bfloat16", "float16")  #: values of ``run.precision``


@dataclass
class ModelSection:
    """The network to train.

    Attributes:
        family: network family of ``models.networks.build_network`` (``fdrn``, ...).
        crop_size: Zoom-In crop side of the click head (multiple of 16).
        overrides: further ``build_network`` config fields (e.g. ``{width = 48}``).
        init: optional weights file (``.pt`` + card) to start from instead of random weights.
    """

    family: str = "fdrn"
    crop_size: int = 192
    overrides: dict[str, Any] = field(default_factory=dict)
    init: str = ""


@dataclass
class AppearanceSection:
    """Appearance augmentations (``train.augment.appearance``): probabilities and ranges.

    The defaults are today's behaviour (only ``color_jitter`` with ``gray_rgb_prob`` 0.15).

    Attributes:
        gray_rgb_prob: probability of ``color_jitter``'s gray <-> RGB change (mean gray / tint).
        luminance_gray_prob: probability of a luminance-gray version of a colour image.
        single_channel_prob: probability of one channel of a colour (or multi-channel MRI)
            image replicated to 3 and re-stretched.
        channel_shuffle_prob: probability of a random channel order.
        invert_prob: probability of inverted contrast (``1 - image``).
        gamma_prob: probability of a gamma change; ``gamma_range`` [low, high], log-uniform.
        stain_prob: probability of H&E stain jitter (HED space), on ``stain_datasets`` only;
            ``stain_strength`` is its size (0.05 typical).
        blur_prob: probability of a Gaussian blur; ``blur_sigma`` [low, high] pixels.
        noise_prob: probability of Gaussian noise; ``noise_std`` [low, high] (image in [0, 1]).
    """

    gray_rgb_prob: float = 0.15
    luminance_gray_prob: float = 0.0
    single_channel_prob: float = 0.0
    channel_shuffle_prob: float = 0.0
    invert_prob: float = 0.0
    gamma_prob: float = 0.0
    gamma_range: list[float] = field(default_factory=lambda: [0.5, 2.0])
    stain_prob: float = 0.0
    stain_strength: float = 0.05
    stain_datasets: list[str] = field(default_factory=lambda: ["glas-train", "monuseg-kumar-train"])
    blur_prob: float = 0.0
    blur_sigma: list[float] = field(default_factory=lambda: [0.4, 1.5])
    noise_prob: float = 0.0
    noise_std: list[float] = field(default_factory=lambda: [0.01, 0.06])


@dataclass
class DataSection:
    """Training data.

    Attributes:
        root: folder holding the real dataset folders ("" = ``$CLICKSEG_DATA``); a relative
            path is relative to the working directory.
        sources: sampling weight per source: ``synthetic`` and/or dataset names of
            ``data.splits.DATASETS`` (only their training parts are used).
        left_out: datasets kept out of training entirely (held-out folders for honest
            generalisation numbers); naming one of them in ``sources`` is an error.
        synthetic_kinds: generator kinds to draw from ([] = all).
        image_size: side of the square training image ("global" image) in pixels.
        scale: range of the random rescale of real images (1 = native resolution).
        object_scale_prob: probability that a real sample's rescale is object-relative
            instead: the target's box side after rescaling is log-uniform in ``object_extent``
            pixels, the factor clipped to ``scale_limits``.
        object_extent: [low, high] target side in pixels for the object-relative rescale.
        scale_limits: [low, high] bounds of the object-relative rescale factor.
        min_area: smallest target (pixels, after cropping).
        appearance: appearance augmentations (``[data.appearance]``).
    """

    root: str = ""
    sources: dict[str, float] = field(default_factory=lambda: {"synthetic": 1.0})
    left_out: list[str] = field(default_factory=list)
    synthetic_kinds: list[str] = field(default_factory=list)
    image_size: int = 256
    scale: list[float] = field(default_factory=lambda: [0.6, 1.3])
    object_scale_prob: float = 0.0
    object_extent: list[float] = field(default_factory=lambda: [10.0, 230.0])
    scale_limits: list[float] = field(default_factory=lambda: [0.05, 4.0])
    min_area: int = 40
    appearance: AppearanceSection = field(default_factory=AppearanceSection)

    def check(self, where: str = "config", selection: list[str] | None = None) -> None:
        """Check the data keys; raises ValueError naming the key.

        Args:
            where: config name for the messages.
            selection: ``validation.datasets`` (model selection must not see ``left_out``).
        """
        from ..data.splits import DATASETS

        def bad(key: str, msg: str) -> ValueError:
            return ValueError(f"{where}: data.{key} {msg}")

        def check_range(key: str, v: list[float], low: float = 0.0) -> None:
            if len(v) != 2 or not low < v[0] <= v[1]:
                raise bad(key, f"must be [low, high] with {low:g} < low <= high, got {v}")

        for name in self.left_out:
            if name not in DATASETS:
                raise bad("left_out", f"has unknown dataset {name!r}; known: {', '.join(DATASETS)}")
            if self.sources.get(name, 0) > 0:
                raise bad("sources", f"trains on {name!r}, which data.left_out keeps out of training; "
                                     f"remove it from one of the two")
        for name in selection or []:
            if name in self.left_out:
                raise ValueError(f"{where}: validation.datasets has {name!r}, which data.left_out keeps out; "
                                 f"selecting checkpoints on it would make its numbers no longer held out")
        check_range("scale", self.scale)
        check_range("object_extent", self.object_extent, 1.0 - 1e-9)
        check_range("scale_limits", self.scale_limits)
        if not 0 <= self.object_scale_prob <= 1:
            raise bad("object_scale_prob", f"must lie in [0, 1], got {self.object_scale_prob}")
        a = self.appearance
        for key in ("gray_rgb_prob", "luminance_gray_prob", "single_channel_prob", "channel_shuffle_prob",
                    "invert_prob", "gamma_prob", "stain_prob", "blur_prob", "noise_prob"):
            v = getattr(a, key)
            if not 0 <= v <= 1:
                raise bad(f"appearance.{key}", f"must lie in [0, 1], got {v}")
        check_range("appearance.gamma_range", a.gamma_range)
        check_range("appearance.blur_sigma", a.blur_sigma)
        if len(a.noise_std) != 2 or not 0 <= a.noise_std[0] <= a.noise_std[1] <= 0.5:
            raise bad("appearance.noise_std", f"must be [low, high] with 0 <= low <= high <= 0.5, got {a.noise_std}")
        if not 0 <= a.stain_strength <= 0.5:
            raise bad("appearance.stain_strength", f"must lie in [0, 0.5], got {a.stain_strength}")
        for name in a.stain_datasets:
            if name not in DATASETS:
                raise bad("appearance.stain_datasets", f"has unknown dataset {name!r}; known: {', '.join(DATASETS)}")


@dataclass
class ClickSection:
    """Simulated prompts (RITM multi-point sampler + iterative training, FDRN ROIs, boxes).

    Attributes:
        max_positive, max_negative: caps of the initial click counts.
        centre_prob: probability that the first positive click is near the object centre.
        max_iterative: no-gradient click rounds are drawn uniformly from 0..max_iterative.
        supervised_rounds: head passes per encoder pass that each get a loss, one simulated
            click apart (1 = RITM's single trained pass).
        objects_per_image: training targets drawn from each training image (other objects of
            the same crop, each with its own prompts), sharing one encoder pass.
        merge_prob: probability of merging two objects into one target.
        roi_low, roi_high: FDRN dynamic-scale ROI side as a fraction of the image.
        object_roi_prob: probability of an object-relative ROI instead (``sampler.object_roi``:
            the zoomed views of the predictor's Zoom-In, where small objects fill the crop).
        object_roi_range: its side as a multiple [low, high] of the object's bounding box.
        box_prob: probability of a box prompt (jittered GT bounding box).
        box_only_prob: given a box, probability of no initial clicks.
        box_only_held: box-only samples sit out the no-gradient click rounds (no click added,
            the previous probability stays zero), so their first supervised pass sees what a
            user's box alone gives the network. Off, that state gets a loss only in the steps
            that draw no no-gradient round (1 in ``max_iterative + 1``).
        box_jitter: box side jitter as a fraction of the box size.
        mask_prompt_prob: probability that a sample starts as an edit of an existing object
            (``train.iterative.make_prompts``): a degraded target (``data.degrade``) as the
            previous probability, its anchor click and one correction click. 0 = never (and
            nothing is drawn for it: runs without mask prompts keep their random stream).
        mask_prompt_radius: [low, high] whole pixels an edit's eroded / dilated mask differs by
            (uniform).
        mask_prompt_cut: [low, high] fraction of the object an edit's cut mask lacks (uniform).
        first_click_prob: probability that a sample is a first click as the evaluation and a
            user make it (``sampler.first_click``: one positive click deep inside the object, no
            box, the whole training image as the ROI, as the predictor's whole-slice first
            pass), held out of the no-gradient rounds like box-only samples, so its first
            supervised pass is the one-click state. The multi-point sampler rarely gives that
            state a loss: it needs one positive click, no negative one and no no-gradient round.
            0 = never (nothing is drawn: older runs keep their random stream).
    """

    max_positive: int = 24
    max_negative: int = 24
    centre_prob: float = 0.5
    max_iterative: int = 3
    supervised_rounds: int = 1
    objects_per_image: int = 1
    merge_prob: float = 0.15
    roi_low: float = 0.3
    roi_high: float = 1.0
    object_roi_prob: float = 0.0
    object_roi_range: list[float] = field(default_factory=lambda: [1.2, 3.0])
    box_prob: float = 0.15
    box_only_prob: float = 0.5
    box_only_held: bool = False
    box_jitter: float = 0.1
    mask_prompt_prob: float = 0.0
    mask_prompt_radius: list[int] = field(default_factory=lambda: [1, 5])
    mask_prompt_cut: list[float] = field(default_factory=lambda: [0.1, 0.4])
    first_click_prob: float = 0.0


@dataclass
class LossSection:
    """Training loss: NFL on the head's logits plus ``boundary_weight`` x BCE on the pixels
    within ``boundary_radius`` of the target's boundary (``train.losses.boundary_loss``), plus
    ``distill_weight`` x BCE against the ``model.init`` network's probabilities
    (``train.losses.distillation_loss``) on the samples that start as before the fine-tune (no
    mask prompt, not box-only): a fine-tune that teaches new prompts keeps what its starting
    network does with clicks (Learning without Forgetting, Li & Hoiem 2017). Needs ``model.init``.
    ``distill_zoom_out`` = [low, high] adds a distilled pass of those samples' first click on
    their image shrunk U(low, high) times and tiled (``train.iterative.zoomed_out_first_click``):
    the whole-slice first pass on a slice many times the training image's size, where small
    objects are a few crop pixels wide, a state the training ROIs never show ([] = off).
    ``first_click_zoom_out`` = [low, high] gives the first-click samples
    (``clicks.first_click_prob``) one more pass supervised by the ground truth on the same
    shrunk, tiled view (``train.iterative.first_click_zoom_out``): the target is the clicked
    copy only, the copies in the other tiles are background ([] = off).
    """

    boundary_weight: float = 0.0
    boundary_radius: int = 2
    distill_weight: float = 0.0
    distill_zoom_out: list[float] = field(default_factory=list)
    first_click_zoom_out: list[float] = field(default_factory=list)


@dataclass
class OptimSection:
    """Optimiser and schedule (Adam, step decay /10 at ``milestones`` fractions of ``steps``).

    ``encoder_lr_mult = 0`` freezes the encoder: its weights get no gradient and no update (only
    the click head trains; no encoder backward pass). ``freeze_bn`` keeps every BatchNorm layer
    in eval mode (running mean and variance fixed at the ``model.init`` weights' values; the
    affine weights still train): for fine-tunes whose small batches and changed data mixture
    would otherwise drift the statistics. BatchNorm layers that ``model.init`` does not hold
    (added by ``model.overrides``) keep training theirs. ``fresh_lr_mult`` scales the learning
    rate of the entries ``model.init`` does not hold (e.g. the residual blocks a deeper encoder
    adds, which start at zero and, at a fine-tune's lr, stay near it).
    """

    lr: float = 5e-4
    batch_size: int = 8
    steps: int = 20000
    milestones: list[float] = field(default_factory=lambda: [0.83, 0.91])
    weight_decay: float = 0.0
    encoder_lr_mult: float = 1.0
    grad_clip: float = 5.0
    freeze_bn: bool = False
    fresh_lr_mult: float = 1.0


@dataclass
class ValidationSection:
    """Periodic validation NoC@90 with the evaluation simulator on fixed objects.

    Attributes:
        every: validate every this many steps (0 = never).
        datasets: real datasets to validate on ([] = the real datasets of ``data.sources``).
        objects_per_dataset: fixed objects drawn from each validation part.
        synthetic_objects: fixed synthetic objects (0 = none).
        max_clicks: clicks per object (20 = the standard protocol).
        seed: seed of the object draw.
    """

    every: int = 500
    datasets: list[str] = field(default_factory=list)
    objects_per_dataset: int = 6
    synthetic_objects: int = 6
    max_clicks: int = 20
    seed: int = 0


@dataclass
class RunSection:
    """Run control: seed, device, precision, data workers, threads, checkpointing and logging.

    Attributes:
        seed: seed of the data stream (step k's data depends only on (seed, k)).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        precision: ``auto`` (bf16 autocast where the hardware has it), ``float32``,
            ``bfloat16`` or ``float16`` (CUDA, with a gradient scaler); see ``train.precision``.
        data_workers: worker processes that build the next steps' batches while the network
            runs (0 = in the training process).
        threads: torch threads of the training process (0 = torch's default).
        checkpoint_every, log_every: cadence in steps.
    """

    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    data_workers: int = 1
    threads: int = 0
    checkpoint_every: int = 100
    log_every: int = 10


@dataclass
class TrainConfig:
    """The whole training configuration (see the section classes)."""

    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    clicks: ClickSection = field(default_factory=ClickSection)
    optim: OptimSection = field(default_factory=OptimSection)
    loss: LossSection = field(default_factory=LossSection)
    validation: ValidationSection = field(default_factory=ValidationSection)
    run: RunSection = field(default_factory=RunSection)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, where: str = "config") -> None:
        """Check value ranges; raises ValueError naming the key."""
        def bad(key: str, msg: str) -> ValueError:
            return ValueError(f"{where}: {key} {msg}")

        if self.model.crop_size <= 0 or self.model.crop_size % 16:
            raise bad("model.crop_size", f"must be a positive multiple of 16, got {self.model.crop_size}")
        if self.data.image_size < 32:
            raise bad("data.image_size", f"must be >= 32, got {self.data.image_size}")
        if not self.data.sources or any(w < 0 for w in self.data.sources.values()) or sum(self.data.sources.values()) <= 0:
            raise bad("data.sources", "needs at least one source with a positive weight")
        from ..data.splits import DATASETS

        for name in self.data.sources:
            if name != "synthetic" and name not in DATASETS:
                raise bad("data.sources", f"has unknown source {name!r}; known: synthetic, {', '.join(DATASETS)}")
        for name in self.validation.datasets:
            if name not in DATASETS:
                raise bad("validation.datasets", f"has unknown dataset {name!r}; known: {', '.join(DATASETS)}")
        self.data.check(where, self.validation.datasets)
        if self.loss.boundary_weight < 0:
            raise bad("loss.boundary_weight", f"must be >= 0, got {self.loss.boundary_weight}")
        if self.loss.boundary_radius < 1:
            raise bad("loss.boundary_radius", f"must be >= 1, got {self.loss.boundary_radius}")
        if self.loss.distill_weight < 0:
            raise bad("loss.distill_weight", f"must be >= 0, got {self.loss.distill_weight}")
        zo = self.loss.distill_zoom_out
        if zo and (len(zo) != 2 or not 1 < zo[0] <= zo[1]):
            raise bad("loss.distill_zoom_out", f"must be [] or [low, high] with 1 < low <= high, got {zo}")
        if zo and self.loss.distill_weight <= 0:
            raise bad("loss.distill_zoom_out", "needs loss.distill_weight > 0")
        fz = self.loss.first_click_zoom_out
        if fz and (len(fz) != 2 or not 1 < fz[0] <= fz[1]):
            raise bad("loss.first_click_zoom_out", f"must be [] or [low, high] with 1 < low <= high, got {fz}")
        if fz and self.clicks.first_click_prob <= 0:
            raise bad("loss.first_click_zoom_out", "needs clicks.first_click_prob > 0 (it trains the first-click samples)")
        if self.loss.distill_weight > 0 and not self.model.init:
            raise bad("loss.distill_weight", "needs model.init: the term keeps the network close to the one it starts from")
        if not 0 < self.clicks.roi_low <= self.clicks.roi_high <= 1:
            raise bad("clicks.roi_low/roi_high", "must satisfy 0 < roi_low <= roi_high <= 1")
        if not 0 <= self.clicks.object_roi_prob <= 1:
            raise bad("clicks.object_roi_prob", "must be in [0, 1]")
        lo_hi = self.clicks.object_roi_range
        if len(lo_hi) != 2 or not 1 <= lo_hi[0] <= lo_hi[1]:
            raise bad("clicks.object_roi_range", "must be [low, high] with 1 <= low <= high")
        if self.clicks.max_positive < 1 or self.clicks.max_negative < 0 or self.clicks.max_iterative < 0:
            raise bad("clicks", "max_positive >= 1, max_negative >= 0 and max_iterative >= 0 are required")
        if self.clicks.supervised_rounds < 1:
            raise bad("clicks.supervised_rounds", f"must be >= 1, got {self.clicks.supervised_rounds}")
        if self.clicks.objects_per_image < 1:
            raise bad("clicks.objects_per_image", f"must be >= 1, got {self.clicks.objects_per_image}")
        for key in ("centre_prob", "merge_prob", "box_prob", "box_only_prob", "mask_prompt_prob", "first_click_prob"):
            v = getattr(self.clicks, key)
            if not 0 <= v <= 1:
                raise bad(f"clicks.{key}", f"must lie in [0, 1], got {v}")
        rad = self.clicks.mask_prompt_radius
        if len(rad) != 2 or not 1 <= rad[0] <= rad[1]:
            raise bad("clicks.mask_prompt_radius", f"must be [low, high] whole pixels with 1 <= low <= high, got {rad}")
        cut = self.clicks.mask_prompt_cut
        if len(cut) != 2 or not 0 < cut[0] <= cut[1] < 1:
            raise bad("clicks.mask_prompt_cut", f"must be [low, high] fractions with 0 < low <= high < 1, got {cut}")
        if self.optim.lr <= 0 or self.optim.batch_size < 1 or self.optim.steps < 1:
            raise bad("optim", "lr > 0, batch_size >= 1 and steps >= 1 are required")
        if self.run.device not in ("auto", "cpu", "cuda", "mps") and not self.run.device.startswith("cuda:"):
            raise bad("run.device", f"must be auto, cpu, cuda or mps, got {self.run.device!r}")
        if self.run.precision not in PRECISIONS:
            raise bad("run.precision", f"must be one of {', '.join(PRECISIONS)}, got {self.run.precision!r}")
        if self.run.data_workers < 0 or self.run.threads < 0:
            raise bad("run", "data_workers and threads must be >= 0")
        if self.run.checkpoint_every < 1 or self.run.log_every < 1:
            raise bad("run", "checkpoint_every and log_every must be >= 1")

    def real_datasets(self) -> list[str]:
        """Real datasets used for training (positive weight)."""
        return [n for n, w in self.data.sources.items() if n != "synthetic" and w > 0]

    def validation_datasets(self) -> list[str]:
        return list(self.validation.datasets) or self.real_datasets()


def _check_type(value: Any, tp: Any, key: str, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}: {key} must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: {key} must be an integer, got {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise ValueError(f"{where}: {key} must be a {tp.__name__}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"{where}: {key} must be a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_check_type(v, item, f"{key}[{i}]", where) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where}: {key} must be a table, got {value!r}")
        _, vt = typing.get_args(tp)
        return {k: (v if vt is Any else _check_type(v, vt, f"{key}.{k}", where)) for k, v in value.items()}
    return value


def _build(cls: type, data: dict[str, Any], prefix: str, where: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: [{prefix.rstrip('.')}] must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise ValueError(f"{where}: unknown key '{prefix}{unknown[0]}' (known: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, value in data.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, value, f"{prefix}{name}.", where)
        else:
            kwargs[name] = _check_type(value, tp, f"{prefix}{name}", where)
    if cls is TrainConfig:
        obj = cls.__new__(cls)
        for f in dataclasses.fields(cls):
            setattr(obj, f.name, kwargs.get(f.name, f.default_factory()))  # type: ignore[misc]
        obj.validate(where)
        return obj
    return cls(**kwargs)


def config_from_dict(data: dict[str, Any], where: str = "config") -> TrainConfig:
    """Build and validate a ``TrainConfig`` from a nested dict (TOML layout)."""
    return _build(TrainConfig, data, "", where)


def load_config(path: str | Path) -> TrainConfig:
    """Read a TOML training config; raises FileNotFoundError / ValueError naming the problem.

    A top-level ``based_on = "OTHER.toml"`` (a path relative to this file) starts from that
    config and applies this file's keys on top of it, table by table (a key given here replaces
    the base's value; tables merge key by key), so a campaign chunk states only what it changes.
    """
    return config_from_dict(_read_toml(Path(path), ()), where=str(path))


def _read_toml(p: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """The TOML at ``p`` with its ``based_on`` chain resolved (``seen``: the files above it)."""
    if not p.is_file():
        raise FileNotFoundError(f"training config {p} does not exist (see configs/*.toml)")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{p}: not valid TOML ({err})") from None
    base = data.pop("based_on", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ValueError(f"{p}: based_on must be a path (a string), got {base!r}")
    base_path = (p.parent / base).resolve()
    if base_path in seen or base_path == p.resolve():
        raise ValueError(f"{p}: based_on {base!r} makes a cycle of configs")
    return _merged(_read_toml(base_path, (*seen, p.resolve())), data)


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` applied: tables merge key by key, any other value replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def config_to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """Plain nested dict of ``cfg`` (TOML layout; round-trips through ``config_from_dict``)."""
    return dataclasses.asdict(cfg)

