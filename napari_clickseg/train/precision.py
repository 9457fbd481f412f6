"""Training precision: bf16/fp16 autocast where the hardware has it, float32 elsewhere.

``resolve_precision("auto", device)`` picks bf16 on a CPU whose oneDNN has bf16 kernels
(AVX512-BF16 / AMX), bf16 on a CUDA GPU that supports it and fp16 with a gradient scaler on one
that does not, and float32 otherwise (MPS, older CPUs). Only the forward passes run under
autocast: parameters, the loss and the optimiser state stay float32.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Iterator

import torch

from .config import PRECISIONS

__all__ = ["PRECISIONS", "Precision", "cpu_has_bf16", "resolve_precision"]

log = logging.getLogger(__name__)

def cpu_has_bf16() -> bool:
    """Whether this CPU runs oneDNN bf16 kernels natively (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@dataclass(frozen=True)
class Precision:
    """A resolved training precision.

    Attributes:
        name: ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        device_type: ``"cpu"``, ``"cuda"`` or ``"mps"``.
        why: one line for the log (what was picked and why).
    """

    name: str
    device_type: str
    why: str = ""

    @property
    def dtype(self) -> torch.dtype | None:
        """The autocast dtype (None for float32)."""
        return {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(self.name)

    @property
    def needs_scaler(self) -> bool:
        """fp16 gradients underflow without loss scaling (bf16 has float32's range)."""
        return self.name == "float16"

    @property
    def channels_last(self) -> bool:
        """Channels-last weights and inputs: oneDNN/cuDNN's fast convolution layout."""
        return self.device_type in ("cpu", "cuda")

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Context for the forward passes (a no-op for float32)."""
        if self.dtype is None:
            yield
            return
        with torch.autocast(self.device_type, dtype=self.dtype):
            yield

    def prepare(self, net: torch.nn.Module) -> torch.nn.Module:
        """Put ``net``'s weights in this precision's memory layout (before an optimiser sees them)."""
        return net.to(memory_format=torch.channels_last) if self.channels_last else net

    def scaler(self) -> torch.amp.GradScaler | None:
        """A gradient scaler for fp16, else None."""
        return torch.amp.GradScaler(self.device_type) if self.needs_scaler else None


def resolve_precision(name: str, device: torch.device) -> Precision:
    """Resolve a ``run.precision`` setting for ``device``.

    Args:
        name: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        device: the training device.

    Raises:
        ValueError: unknown name, or a precision this device cannot run (bf16 on a CPU without
            bf16 kernels is allowed but slow, so it is refused with a hint; fp16 needs CUDA).
    """
    if name not in PRECISIONS:
        raise ValueError(f"run.precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    kind = device.type
    if name == "auto":
        if kind == "cpu":
            if cpu_has_bf16():
                return Precision("bfloat16", kind, "bf16 autocast: this CPU has native bf16 kernels")
            return Precision("float32", kind, "float32: this CPU has no native bf16 kernels")
        if kind == "cuda":
            if torch.cuda.is_bf16_supported():
                return Precision("bfloat16", kind, "bf16 autocast on CUDA")
            return Precision("float16", kind, "fp16 autocast with a gradient scaler (no bf16 on this GPU)")
        return Precision("float32", kind, f"float32 on {kind}")
    if name == "bfloat16" and kind == "cpu" and not cpu_has_bf16():
        raise ValueError("run.precision = 'bfloat16' but this CPU has no native bf16 kernels (it would be "
                         "slower than float32); use 'auto' or 'float32'")
    if name == "float16" and kind != "cuda":
        raise ValueError(f"run.precision = 'float16' needs a CUDA device, not {kind}; use 'auto'")
    return Precision(name, kind, f"{name} (as configured)")
