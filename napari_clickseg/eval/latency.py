"""Latency accounting of an evaluation run (the FDRN timing protocol, Zeng et al., ACM MM 2023).

Per object the runner records the encoder time of its image (``t_encode``, shared by every
object of that image) and the time of every click (``predictor.predict`` only), all in
milliseconds from ``time.perf_counter``. From those:

* ``encode_median`` — median of ``t_encode`` over objects;
* ``click_median``, ``click_p95`` — median and 95th percentile over all clicks of all objects;
* ``t_total(n) = t_encode + sum of the first n click times``, median over objects, n = 1, 5, 20.
  An object that stopped before n clicks (nothing left to correct) is padded with its own
  median click time, so every object counts for every n.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

__all__ = ["LatencyStats", "latency_stats", "t_total", "TOTAL_CLICKS"]

#: click counts n for which t_total(n) is reported
TOTAL_CLICKS = (1, 5, 20)


def t_total(encode_ms: float, click_ms: Sequence[float], n: int) -> float:
    """``t_encode + sum of the first n click times`` of one object (ms).

    Missing clicks (fewer than n recorded) are counted at the object's median click time.
    """
    clicks = np.asarray(click_ms, float)
    taken = clicks[:n]
    missing = n - taken.size
    pad = float(np.median(clicks)) * missing if (missing > 0 and clicks.size) else 0.0
    return float(encode_ms) + float(taken.sum()) + pad


@dataclass(frozen=True)
class LatencyStats:
    """Latency summary in milliseconds (see module docstring)."""

    encode_median: float
    click_median: float
    click_p95: float
    t_total: dict[int, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """The ``latency_ms`` and ``t_total_ms`` blocks of ``summary.json``."""
        return {
            "latency_ms": {
                "encode_median": self.encode_median,
                "click_median": self.click_median,
                "click_p95": self.click_p95,
            },
            "t_total_ms": {str(n): v for n, v in self.t_total.items()},
        }


def latency_stats(
    encode_ms: Sequence[float],
    click_ms: Sequence[Sequence[float]],
    ns: Sequence[int] = TOTAL_CLICKS,
) -> LatencyStats:
    """Summarise per-object timings.

    Args:
        encode_ms: per object, the encoder time of its image (ms).
        click_ms: per object, the list of per-click times (ms), oldest first.
        ns: click counts for ``t_total``.

    Returns:
        ``LatencyStats``; NaN fields when there is no data.
    """
    if len(encode_ms) != len(click_ms):
        raise ValueError(f"{len(encode_ms)} encoder times but {len(click_ms)} click-time lists")
    nan = float("nan")
    enc = np.asarray(encode_ms, float)
    pooled = np.concatenate([np.asarray(c, float) for c in click_ms] + [np.zeros(0)])
    totals = {}
    for n in ns:
        per_object = [t_total(e, c, n) for e, c in zip(enc, click_ms)]
        totals[int(n)] = float(np.median(per_object)) if per_object else nan
    return LatencyStats(
        encode_median=float(np.median(enc)) if enc.size else nan,
        click_median=float(np.median(pooled)) if pooled.size else nan,
        click_p95=float(np.percentile(pooled, 95)) if pooled.size else nan,
        t_total=totals,
    )
