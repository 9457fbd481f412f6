"""Speed benchmark of the models (FDRN timing protocol, methods.md 5.6).

One implementation behind ``clickseg bench`` and ``benchmarks/bench_models.py``.

For every (device, slice size, model) a fresh worker process (so peak memory is the model's own)
builds the predictor with random weights (timings do not depend on the weight values), then:

* **encoder ms** - ``set_image`` on a synthetic slice (percentile normalisation + encoder),
  median of ``repeats`` runs after one warm-up;
* **per-click ms** - ``predict`` for clicks 1..n of a scripted interaction (first click at the
  object centre, then alternating negative/positive clicks around it); from click 2 on the
  previous probability is the synthetic object's mask, i.e. what a trained model would feed
  back, so the Zoom-In ROIs are realistic; median and p95 over all clicks of all repeats;
* **t_total(n)** = encoder + the first n clicks (per-click medians over repeats), n = 1, 5, 20,
  and its ratio against ``ritm-like`` at the same device and size (``ritm / model``);
* **peak MiB** - increase of the worker's peak RSS over its state after building the model
  (``resource.getrusage``; torch allocations are invisible to tracemalloc), and on CUDA
  ``torch.cuda.max_memory_allocated``.

``NAME@CROP`` benchmarks a learned family at another crop size (e.g. ``ritm-like@256``, the
equal-crop comparison with ``fdrn``).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["BenchResult", "run_benchmark", "bench_one", "format_table", "to_json", "DEFAULT_MODELS", "TOTALS"]

TOTALS = (1, 5, 20)
DEFAULT_MODELS = ("fdrn", "fdrn-csfpn", "ritm-like", "ritm-like@256", "random-walker", "graph-cut", "geodesic")
BASELINE = "ritm-like"


@dataclass
class BenchResult:
    """Timings of one model at one slice size on one device (milliseconds, MiB)."""

    model: str
    device: str
    size: int
    threads: int
    encode_ms: float = float("nan")
    click_median_ms: float = float("nan")
    click_p95_ms: float = float("nan")
    first_click_ms: float = float("nan")
    t_total_ms: dict[str, float] = field(default_factory=dict)
    ratio_vs_ritm: float = float("nan")
    peak_mib: float = float("nan")
    gpu_peak_mib: float | None = None
    params: int | None = None
    crop_size: int | None = None
    error: str | None = None


def synthetic_slice(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A uint8 gray slice with a bright blob and texture, and the blob's probability map."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    c, r = size / 2.0, size / 6.0
    blob = ((yy - c) ** 2 / 1.2 + (xx - c) ** 2 * 1.2) < r**2
    img = 60 + 120 * blob + 20 * np.sin(xx / 7.0) * np.cos(yy / 11.0) + rng.normal(0, 12, (size, size))
    prob = np.where(blob, 0.95, 0.03).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), prob


def scripted_clicks(size: int, n: int) -> list[Any]:
    """Click 1 at the object centre, then alternating negative/positive clicks near its edge."""
    from ..core.clicks import Click

    c, r = size / 2.0, size / 6.0
    out = [Click(c, c, True)]
    for k in range(1, n):
        ang = 2.4 * k
        rad = r * (1.15 if k % 2 else 0.85)
        out.append(Click(c + rad * np.sin(ang), c + rad * np.cos(ang), k % 2 == 0))
    return out


def _peak_rss_mib() -> float:
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024.0**2 if sys.platform == "darwin" else 1024.0)
    except ImportError:  # Windows
        return float("nan")


def _build(model: str, device: str) -> Any:
    import warnings

    from ..models.registry import build_model, get_model_info

    name, _, crop = model.partition("@")
    info = get_model_info(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if crop:
            from ..models.learned_predictor import LearnedPredictor
            from ..models.networks import build_network

            p = LearnedPredictor(build_network(name, crop_size=int(crop)), device=device, trained=False)
            p.name = model
            return p
        if info.kind == "classical":
            return build_model(name, device=device)
        return build_model(name, device=device, pretrained=False)


def bench_one(model: str, size: int, device: str = "cpu", threads: int = 2, n_clicks: int = 20,
              repeats: int = 3, budget_s: float = 60.0) -> BenchResult:
    """Measure one model at one slice size in this process (see the module docstring)."""
    import warnings

    import torch

    torch.set_num_threads(threads)  # the benchmark's choice; library code never sets it
    res = BenchResult(model=model, device=device, size=size, threads=threads)
    try:
        pred = _build(model, device)
    except (ModuleNotFoundError, ImportError, AttributeError) as err:
        res.error = f"not available ({err})"
        return res
    net = getattr(pred, "net", None)
    if net is not None:
        res.params = int(sum(p.numel() for p in net.parameters()))
        res.crop_size = int(getattr(pred, "crop_size", 0)) or None
    img, obj_prob = synthetic_slice(size)
    clicks = scripted_clicks(size, n_clicks)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    base_rss = _peak_rss_mib()

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # warm-up (allocator, oneDNN kernels)
        pred.set_image(img)
        pred.predict(clicks[:1])
        pred.predict(clicks[:2], prev_prob=obj_prob)
        enc = []
        for _ in range(max(repeats, 1)):
            sync()
            t0 = time.perf_counter()
            pred.set_image(img)
            sync()
            enc.append((time.perf_counter() - t0) * 1e3)
        per_click = np.full((max(repeats, 1), n_clicks), np.nan)
        start = time.perf_counter()
        for rep in range(max(repeats, 1)):
            prev = None
            for k in range(n_clicks):
                t0 = time.perf_counter()
                pred.predict(clicks[: k + 1], prev_prob=prev)
                sync()
                per_click[rep, k] = (time.perf_counter() - t0) * 1e3
                prev = obj_prob
            if time.perf_counter() - start > budget_s:
                break
    done = per_click[~np.isnan(per_click).any(axis=1)]
    res.encode_ms = float(np.median(enc))
    res.click_median_ms = float(np.median(done))
    res.click_p95_ms = float(np.percentile(done, 95))
    med = np.median(done, axis=0)
    res.first_click_ms = float(med[0])
    res.t_total_ms = {str(n): float(res.encode_ms + med[:n].sum()) for n in TOTALS if n <= n_clicks}
    res.peak_mib = max(_peak_rss_mib() - base_rss, 0.0)
    if cuda:
        res.gpu_peak_mib = torch.cuda.max_memory_allocated() / 2**20
    return res


def _worker(kwargs: dict[str, Any], queue: Any) -> None:
    try:
        queue.put(asdict(bench_one(**kwargs)))
    except Exception as err:  # reported in the table, never hides the other models
        r = BenchResult(model=kwargs["model"], device=kwargs["device"], size=kwargs["size"], threads=kwargs["threads"])
        r.error = f"{type(err).__name__}: {err}"
        queue.put(asdict(r))


def run_benchmark(
    models: Sequence[str] = DEFAULT_MODELS,
    sizes: Sequence[int] = (512, 1024),
    devices: Sequence[str] = ("cpu",),
    threads: int = 2,
    n_clicks: int = 20,
    repeats: int = 3,
    budget_s: float = 60.0,
    isolate: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[BenchResult]:
    """Benchmark every (device, size, model); one worker process each when ``isolate``.

    Returns:
        One ``BenchResult`` per combination, with ``ratio_vs_ritm`` filled where ``ritm-like``
        was measured at the same device and size.
    """
    results: list[BenchResult] = []
    ctx = mp.get_context("spawn")
    for device in devices:
        for size in sizes:
            for model in models:
                if progress is not None:
                    progress(f"{model} on {device} at {size}x{size}")
                kw = dict(model=model, size=size, device=device, threads=threads, n_clicks=n_clicks,
                          repeats=repeats, budget_s=budget_s)
                if isolate:
                    q = ctx.Queue()
                    proc = ctx.Process(target=_worker, args=(kw, q))
                    proc.start()
                    data = q.get()
                    proc.join()
                    r = BenchResult(**data)
                else:
                    r = bench_one(**kw)
                results.append(r)
    for r in results:
        base = next((b for b in results if b.model == BASELINE and b.device == r.device and b.size == r.size
                     and b.error is None), None)
        key = str(max(TOTALS))
        if base is not None and r.error is None and key in r.t_total_ms and key in base.t_total_ms:
            r.ratio_vs_ritm = base.t_total_ms[key] / r.t_total_ms[key]
    return results


def format_table(results: Sequence[BenchResult], note: str | None = None) -> str:
    """Markdown table of the results."""

    def f(x: float | None, nd: int = 1) -> str:
        return "-" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"

    head = ("| model | device | slice | crop | params | encoder ms | click median ms | click p95 ms | "
            "1st click ms | t_total(1) ms | t_total(5) ms | t_total(20) ms | ritm-like / model at 20 | peak MiB |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        if r.error:
            lines.append(f"| {r.model} | {r.device} | {r.size} | - | - | {r.error} | | | | | | | | |")
            continue
        mem = f(r.peak_mib, 0) + (f" (GPU {f(r.gpu_peak_mib, 0)})" if r.gpu_peak_mib is not None else "")
        params = "-" if r.params is None else f"{r.params / 1e6:.2f}M"
        lines.append(
            f"| {r.model} | {r.device} | {r.size} | {r.crop_size or '-'} | {params} | {f(r.encode_ms)} | "
            f"{f(r.click_median_ms)} | {f(r.click_p95_ms)} | {f(r.first_click_ms)} | "
            f"{f(r.t_total_ms.get('1'))} | {f(r.t_total_ms.get('5'))} | {f(r.t_total_ms.get('20'))} | "
            f"{f(r.ratio_vs_ritm, 2)} | {mem} |"
        )
    if note:
        lines += ["", note]
    return "\n".join(lines)


def to_json(results: Sequence[BenchResult], meta: dict[str, Any]) -> str:
    """JSON document with the run's metadata and one object per result."""
    return json.dumps({"meta": meta, "results": [asdict(r) for r in results]}, indent=2)
