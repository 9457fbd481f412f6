"""Weight averaging of networks trained from one start (a "model soup", Wortsman et al. 2022).

Two runs of one recipe from the same weights, each on its own samples (different ``run.seed``),
end in nearby points of weight space; their average can be better than either (docs/training.md,
"Chunks 11 and 11b") at no training cost: on a 2-core machine two 1-thread runs fit side by side
and their average holds the samples of both. Averaging networks from *different* starts does not work (their units are
not aligned), so every input must have the same architecture config and the same parameter
names and shapes.

``average_networks`` returns the averaged network; ``clickseg average``
(``train.average_command``) writes it with a model card that names its inputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..models.networks import network_from_config
from ..models.weights_io import load_network

__all__ = ["average_networks"]


def average_networks(paths: Sequence[str | Path], weights: Sequence[float] | None = None) -> nn.Module:
    """The weighted mean of networks saved by ``save_model`` (CPU, eval mode).

    Args:
        paths: two or more ``NAME.pt`` files (each with its card), of one family and one
            architecture config.
        weights: one non-negative weight per file (normalised to sum 1); default equal weights.

    Returns:
        A network of the inputs' architecture whose floating-point parameters and buffers are
        the weighted means of the inputs'; integer buffers (BatchNorm's ``num_batches_tracked``)
        take the largest input value.

    Raises:
        ValueError: fewer than two files, a weight count that does not match, negative or all-zero
            weights, or inputs of different families / architectures.
        FileNotFoundError, WeightsError: as ``load_network`` for a missing or unusable file.
    """
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise ValueError(f"averaging needs at least two weights files, got {len(paths)}")
    if weights is None:
        weights = [1.0] * len(paths)
    if len(weights) != len(paths):
        raise ValueError(f"{len(weights)} weights for {len(paths)} files: give one weight per file")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be >= 0 and not all 0, got {list(weights)}")
    total = float(sum(weights))
    nets = [load_network(p, device="cpu") for p in paths]
    configs = [dataclasses.asdict(n.config) for n in nets]
    for p, cfg in zip(paths[1:], configs[1:]):
        if cfg != configs[0]:
            diff = sorted(k for k in set(cfg) | set(configs[0]) if cfg.get(k) != configs[0].get(k))
            raise ValueError(f"{p} has another architecture than {paths[0]} (differs in {diff}); "
                             f"only networks trained from one start can be averaged")
    states = [n.state_dict() for n in nets]
    out: dict[str, torch.Tensor] = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            acc = torch.zeros_like(first, dtype=torch.float64)
            for w, s in zip(weights, states):
                acc += (w / total) * s[key].to(torch.float64)
            out[key] = acc.to(first.dtype)
        else:
            out[key] = torch.stack([s[key] for s in states]).max(dim=0).values
    net = network_from_config(configs[0])
    net.load_state_dict(out, strict=True)
    return net.eval()
