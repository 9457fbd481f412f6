"""Small building blocks shared by the learned networks (FDRN, FDRN-CSFPN, RITM-like).

All modules take and return (B, C, H, W) float tensors. None of them uses ``no_grad``: the
predictor owns ``inference_mode``; the modules stay trainable as they are.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ConvBNReLU",
    "ResBlock",
    "Conv1S",
    "ScaledAdd",
    "NonLocalAttention",
    "SparseGraphPropagation",
    "SepResBlock",
    "imagenet_normalize",
]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def imagenet_normalize(x: Tensor) -> Tensor:
    """(B, 3, H, W) in [0, 1] -> ImageNet mean/std normalised (constants, not parameters)."""
    mean = torch.tensor(_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


class ConvBNReLU(nn.Sequential):
    """k x k conv (no bias) + BatchNorm + ReLU."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, relu: bool = True) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResBlock(nn.Module):
    """Basic residual block (two 3x3 convs); a 1x1 projection when ``cin != cout``."""

    def __init__(self, cin: int, cout: int | None = None) -> None:
        super().__init__()
        cout = cin if cout is None else cout
        self.conv1 = ConvBNReLU(cin, cout, 3)
        self.conv2 = ConvBNReLU(cout, cout, 3, relu=False)
        self.skip = None if cin == cout else ConvBNReLU(cin, cout, 1, relu=False)

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv2(self.conv1(x))
        return F.relu(y + (x if self.skip is None else self.skip(x)))

    def zero_residual(self) -> None:
        """Zero the last BatchNorm's weight and bias: the residual branch gives 0, so a block
        without a projection returns ReLU(x), i.e. ``x`` itself for non-negative ``x`` (a
        ReLU's output). A block added to a trained network this way leaves its function as it
        was (``warm_start_network``)."""
        _zero_bn(self.conv2[1])


class ScaledAdd(nn.Module):
    """Learnable scalar ``|s|`` (initialised ``init``) multiplying a branch before it is added."""

    def __init__(self, init: float = 0.05) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(init)))

    def forward(self, x: Tensor) -> Tensor:
        return self.scale.abs() * x


class Conv1S(nn.Module):
    """RITM "Conv1S" guidance stem (Sofiiuk et al. 2022), with a configurable width.

    1x1 conv (cin -> mid) -> LeakyReLU(0.2) -> 3x3 conv stride 2 (mid -> cout). The result is at
    half the input resolution and is meant to be added to the image stem's first stride-2 output.
    """

    def __init__(self, cin: int, cout: int, mid: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, mid, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(mid, cout, 3, stride=2, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class NonLocalAttention(nn.Module):
    """FDRN semantic feature integration (Zeng et al., ACM MM 2023).

    Affinity from *recycled* encoder keys/queries (ROI-aligned), values from the head's own
    guidance-conditioned feature: ``X = A . Conv3x3(f)``, then ``ResBlock(concat(X, f))``
    projected back to ``f``'s width.

    ``softmax="row"`` (default): ``A[j, k] = softmax_k(K_j . Q_k / sqrt(C))`` - the standard
    non-local block; every output pixel gets a convex combination of values, so the magnitude
    of ``X`` does not depend on the crop size. ``softmax="column"``: the paper's Eq. 3
    (normalised over the first index, each column sums to 1); kept as an ablation switch.
    """

    def __init__(self, channels: int, key_channels: int, softmax: str = "row") -> None:
        super().__init__()
        if softmax not in ("row", "column"):
            raise ValueError(f"softmax must be 'row' or 'column', got {softmax!r}")
        self.softmax = softmax
        self.scale = 1.0 / math.sqrt(key_channels)
        self.value = nn.Conv2d(channels, channels, 3, padding=1)
        self.fuse = ResBlock(2 * channels, channels)

    def forward(self, f: Tensor, keys: Tensor, queries: Tensor) -> Tensor:
        """f: (B, C, h, w); keys, queries: (B, Ck, h, w) -> (B, C, h, w)."""
        b, c, h, w = f.shape
        k = keys.flatten(2).transpose(1, 2)  # (B, hw, Ck)
        q = queries.flatten(2)  # (B, Ck, hw)
        energy = torch.bmm(k, q) * self.scale  # (B, hw_j, hw_k)
        attn = energy.softmax(dim=2 if self.softmax == "row" else 1)
        v = self.value(f).flatten(2).transpose(1, 2)  # (B, hw, C)
        x = torch.bmm(attn, v).transpose(1, 2).reshape(b, c, h, w)
        return self.fuse(torch.cat([x, f], dim=1))


class SparseGraphPropagation(nn.Module):
    """CSFPN Sparse Graph Network (Zhang et al., arXiv 2203.05145): attention over the clicked positions only.

    Every pixel attends to the features at the click nodes (softmax over the nodes), so the
    cost is O(HW * N) instead of O((HW)^2). ``Y = lambda * m + X`` with ``lambda`` initialised
    to 0; ``heads`` independent heads are averaged, then 1x1 conv + BN + ReLU.
    """

    def __init__(self, channels: int, reduction: int = 3, heads: int = 3) -> None:
        super().__init__()
        self.kc = max(channels // reduction, 4)
        self.heads = heads
        self.q = nn.Conv2d(channels, self.kc * heads, 1)
        self.k = nn.Conv2d(channels, self.kc * heads, 1)
        self.v = nn.Conv2d(channels, channels * heads, 1)
        self.lam = nn.Parameter(torch.zeros(()))
        self.out = ConvBNReLU(channels, channels, 1)

    def forward(self, x: Tensor, nodes: Tensor, valid: Tensor) -> Tensor:
        """Propagate click-node features to every pixel.

        Args:
            x: (B, C, h, w) feature.
            nodes: (B, N) long flat indices ``row * w + col`` of the click nodes on ``x``'s grid.
            valid: (B, N) bool; invalid nodes are masked out. A sample without any valid node
                gets no message (``Y = X``).

        Returns:
            (B, C, h, w).
        """
        b, c, h, w = x.shape
        n = nodes.shape[1]
        if n == 0:
            return self.out(x)
        idx = nodes.clamp(0, h * w - 1)
        q = self.q(x).view(b, self.heads, self.kc, h * w)
        k = self.k(x).view(b, self.heads, self.kc, h * w)
        v = self.v(x).view(b, self.heads, c, h * w)
        gather = idx[:, None, None, :]
        k_n = torch.gather(k, 3, gather.expand(b, self.heads, self.kc, n))  # (B, H, kc, N)
        v_n = torch.gather(v, 3, gather.expand(b, self.heads, c, n))  # (B, H, C, N)
        energy = torch.einsum("bhcp,bhcn->bhpn", q, k_n) / math.sqrt(self.kc)  # (B, H, hw, N)
        energy = energy.masked_fill(~valid[:, None, None, :], -1e4)  # finite: no NaN grads
        attn = energy.softmax(dim=-1) * valid.any(dim=1).to(x.dtype)[:, None, None, None]
        m = torch.einsum("bhpn,bhcn->bhcp", attn, v_n).mean(dim=1).view(b, c, h, w)
        return self.out(self.lam * m + x)


class SepResBlock(nn.Module):
    """Depthwise-separable residual block (cheap on CPU): 2 x (dw3x3 + BN + pw1x1 + BN)."""

    def __init__(self, cin: int, cout: int | None = None) -> None:
        super().__init__()
        cout = cin if cout is None else cout
        self.body = nn.Sequential(
            nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, groups=cout, bias=False),
            nn.BatchNorm2d(cout),
            nn.Conv2d(cout, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.skip = None if cin == cout else ConvBNReLU(cin, cout, 1, relu=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + (x if self.skip is None else self.skip(x)))

    def zero_residual(self) -> None:
        """As ``ResBlock.zero_residual``: the body's last BatchNorm gives 0."""
        _zero_bn(self.body[-1])


def _zero_bn(bn: nn.Module) -> None:
    if not isinstance(bn, nn.modules.batchnorm._BatchNorm):
        raise TypeError(f"expected a BatchNorm layer, got {type(bn).__name__}")
    with torch.no_grad():
        bn.weight.zero_()
        bn.bias.zero_()
