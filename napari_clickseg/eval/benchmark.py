"""Speed benchmark of the models (the FDRN timing protocol: encoder once, then per-click cost).

One implementation behind ``clickseg bench`` and ``benchmarks/bench_models.py``.

For every (device, slice size) one worker process builds every model - with its shipped trained
weights (hence its shipped architecture and crop size) where it has them, else with random
weights (timings do not depend on the weight values) - and times them *interleaved* - round r runs each
model once - so that load changes on a shared machine hit all models alike; then:

* **encoder ms** - ``set_image`` on a synthetic slice (percentile normalisation + encoder),
  median of ``repeats`` runs after one warm-up;
* **per-click ms** - ``predict`` for clicks 1..n of a scripted interaction (first click at the
  object centre, then alternating negative/positive clicks around it); from click 2 on the
  previous probability is the synthetic object's mask, i.e. what a trained model would feed
  back, so the Zoom-In ROIs are realistic; median and p95 over all clicks of all repeats;
* **t_total(n)** = encoder + the first n clicks (per-click medians over repeats), n = 1, 5, 20,
  and its ratio against ``ritm-like`` at the same device and size (``ritm / model``);
* **min encoder / click ms** - the fastest run of each (clicks 2..n): on a shared, loaded
  machine the medians inflate; the minima show what an unloaded one gives;
* **peak MiB** - in a separate fresh worker per model (one interaction): increase of the peak
  RSS over the state after building the model (``resource.getrusage``; torch allocations are
  invisible to tracemalloc), and on CUDA ``torch.cuda.max_memory_allocated``.

Models are model specs (``core.predictor.parse_model_spec``), built by ``registry.build_spec``:
``NAME@CROP`` benchmarks a learned family at another crop size with random weights (e.g.
``ritm-like@256``, the equal-crop comparison with ``fdrn``); ``NAME+flip`` a learned model with
flip test-time augmentation (``fdrn+flip``: the slice and its mirror in one batch). Rows of
models with random weights say so (``trained`` false, "(random weights)" in the table).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "BenchResult", "run_benchmark", "bench_one", "bench_round_robin", "format_table", "to_json",
    "DEFAULT_MODELS", "TOTALS",
]

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
    click_min_ms: float = float("nan")  #: fastest click: what an unloaded machine gives
    encode_min_ms: float = float("nan")
    t_total_ms: dict[str, float] = field(default_factory=dict)
    ratio_vs_ritm: float = float("nan")  #: t_total(20) of ritm-like / of this model
    peak_mib: float = float("nan")
    gpu_peak_mib: float | None = None
    params: int | None = None
    crop_size: int | None = None
    trained: bool | None = None  #: False: random weights (learned model without a weights file, or NAME@CROP)
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

    from ..models.registry import build_spec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random weights warn on the first click; the row says so instead
        return build_spec(model, device=device)


class _Timer:
    """One model at one slice size: times ``set_image`` and scripted interactions."""

    def __init__(self, model: str, size: int, device: str, n_clicks: int) -> None:
        import torch

        self.res = BenchResult(model=model, device=device, size=size, threads=torch.get_num_threads())
        self.pred = _build(model, device)
        self.res.trained = getattr(self.pred, "trained", None)
        net = getattr(self.pred, "net", None)
        if net is not None:
            self.res.params = int(sum(p.numel() for p in net.parameters()))
            self.res.crop_size = int(getattr(self.pred, "crop_size", 0)) or None
        self.img, self.obj_prob = synthetic_slice(size)
        self.clicks = scripted_clicks(size, n_clicks)
        self.cuda = device.startswith("cuda")
        self.enc: list[float] = []
        self.rounds: list[list[float]] = []
        self.spent = 0.0

    def _sync(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    def warm_up(self) -> None:
        self.pred.set_image(self.img)
        self.pred.predict(self.clicks[:1])
        self.pred.predict(self.clicks[:2], prev_prob=self.obj_prob)

    def round(self) -> None:
        """One encoder run and one interaction of ``n_clicks`` clicks."""
        start = time.perf_counter()
        self._sync()
        t0 = time.perf_counter()
        self.pred.set_image(self.img)
        self._sync()
        self.enc.append((time.perf_counter() - t0) * 1e3)
        prev, times = None, []
        for k in range(len(self.clicks)):
            t0 = time.perf_counter()
            self.pred.predict(self.clicks[: k + 1], prev_prob=prev)
            self._sync()
            times.append((time.perf_counter() - t0) * 1e3)
            prev = self.obj_prob  # what a trained model would feed back
        self.rounds.append(times)
        self.spent += time.perf_counter() - start

    def result(self) -> BenchResult:
        res, n_clicks = self.res, len(self.clicks)
        per_click = np.asarray(self.rounds)
        res.encode_ms = float(np.median(self.enc))
        res.click_median_ms = float(np.median(per_click))
        res.click_p95_ms = float(np.percentile(per_click, 95))
        res.click_min_ms = float(per_click[:, 1:].min()) if n_clicks > 1 else float(per_click.min())
        res.encode_min_ms = float(np.min(self.enc))
        med = np.median(per_click, axis=0)
        res.first_click_ms = float(med[0])
        counts = sorted({n for n in TOTALS if n <= n_clicks} | {min(n_clicks, max(TOTALS))})
        res.t_total_ms = {str(n): float(res.encode_ms + med[:n].sum()) for n in counts}
        return res


def bench_one(model: str, size: int, device: str = "cpu", threads: int = 2, n_clicks: int = 20,
              repeats: int = 3, budget_s: float = 60.0) -> BenchResult:
    """Measure one model at one slice size in this process, with its peak memory.

    Peak memory is the increase of this process's peak RSS over its state after building the
    model (meaningful in a fresh process: ``run_benchmark`` runs this in a worker), plus
    ``torch.cuda.max_memory_allocated`` on CUDA.
    """
    import warnings

    import torch

    torch.set_num_threads(threads)  # the benchmark's choice; library code never sets it
    try:
        timer = _Timer(model, size, device, n_clicks)
    except (ModuleNotFoundError, ImportError, AttributeError) as err:
        res = BenchResult(model=model, device=device, size=size, threads=threads)
        res.error = f"not available ({err})"
        return res
    if timer.cuda:
        torch.cuda.reset_peak_memory_stats()
    base_rss = _peak_rss_mib()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timer.warm_up()
        for _ in range(max(repeats, 1)):
            timer.round()
            if timer.spent > budget_s:
                break
    res = timer.result()
    res.peak_mib = max(_peak_rss_mib() - base_rss, 0.0)
    if timer.cuda:
        res.gpu_peak_mib = torch.cuda.max_memory_allocated() / 2**20
    return res


def bench_round_robin(models: Sequence[str], size: int, device: str = "cpu", threads: int = 2,
                      n_clicks: int = 20, repeats: int = 3, budget_s: float = 60.0) -> list[BenchResult]:
    """Time several models in this process, interleaved: round r runs every model once.

    On a shared machine, load changes during the run then hit every model alike, so the
    ratios between models stay fair. A model whose time exceeds ``budget_s`` stops early.
    No memory figures (see ``bench_one``).
    """
    import warnings

    import torch

    torch.set_num_threads(threads)
    timers: list[_Timer | BenchResult] = []
    for m in models:
        try:
            timers.append(_Timer(m, size, device, n_clicks))
        except (ModuleNotFoundError, ImportError, AttributeError) as err:
            r = BenchResult(model=m, device=device, size=size, threads=threads)
            r.error = f"not available ({err})"
            timers.append(r)
    live = [t for t in timers if isinstance(t, _Timer)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in live:
            t.warm_up()
        for _ in range(max(repeats, 1)):
            for t in live:
                if not t.rounds or t.spent <= budget_s:
                    t.round()
    return [t.result() if isinstance(t, _Timer) else t for t in timers]


def _worker(kwargs: dict[str, Any], queue: Any) -> None:
    fn = kwargs.pop("_fn")
    try:
        out = fn(**kwargs)
        queue.put([asdict(r) for r in (out if isinstance(out, list) else [out])])
    except Exception as err:  # reported in the table, never hides the other models
        names = kwargs.get("models") or [kwargs["model"]]
        rows = []
        for m in names:
            r = BenchResult(model=m, device=kwargs["device"], size=kwargs["size"], threads=kwargs["threads"])
            r.error = f"{type(err).__name__}: {err}"
            rows.append(asdict(r))
        queue.put(rows)


def _in_worker(fn: Callable[..., Any], **kwargs: Any) -> list[BenchResult]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_worker, args=({"_fn": fn, **kwargs}, q), daemon=True)
    proc.start()
    rows = q.get()
    proc.join()
    return [BenchResult(**r) for r in rows]


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
    """Benchmark every (device, size, model).

    Timings come from ``bench_round_robin`` (all models interleaved in one worker process per
    device and size); with ``isolate`` each model additionally gets a fresh worker running one
    interaction for its peak memory. Without ``isolate`` everything runs in this process and
    memory is not reported.

    Returns:
        One ``BenchResult`` per combination, with ``ratio_vs_ritm`` filled where ``ritm-like``
        was measured at the same device and size.
    """
    results: list[BenchResult] = []
    for device in devices:
        for size in sizes:
            kw = dict(size=size, device=device, threads=threads, n_clicks=n_clicks, repeats=repeats, budget_s=budget_s)
            if progress is not None:
                progress(f"timing {len(models)} models on {device} at {size}x{size}")
            rows = _in_worker(bench_round_robin, models=list(models), **kw) if isolate else bench_round_robin(models, **kw)
            if isolate:
                for r in rows:
                    if r.error is not None:
                        continue
                    if progress is not None:
                        progress(f"memory of {r.model} on {device} at {size}x{size}")
                    mem = _in_worker(bench_one, model=r.model, **{**kw, "repeats": 1})[0]
                    r.peak_mib, r.gpu_peak_mib = mem.peak_mib, mem.gpu_peak_mib
            results.extend(rows)
    key = str(min(n_clicks, max(TOTALS)))  # ratio at 20 clicks (or all clicks if fewer)
    for r in results:
        base = next((b for b in results if b.model == BASELINE and b.device == r.device and b.size == r.size
                     and b.error is None), None)
        if base is not None and r.error is None and key in r.t_total_ms and key in base.t_total_ms:
            r.ratio_vs_ritm = base.t_total_ms[key] / r.t_total_ms[key]
    return results


def format_table(results: Sequence[BenchResult], note: str | None = None) -> str:
    """Markdown table of the results."""

    def f(x: float | None, nd: int = 1) -> str:
        return "-" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"

    head = ("| model | device | slice | crop | params | encoder ms | click median ms | click p95 ms | "
            "1st click ms | t_total(1) ms | t_total(5) ms | t_total(20) ms | ritm-like / model at 20 | peak MiB | "
            "min encoder / click ms |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        if r.error:
            lines.append(f"| {r.model} | {r.device} | {r.size} | - | - | {r.error} | | | | | | | | | |")
            continue
        mem = f(r.peak_mib, 0) + (f" (GPU {f(r.gpu_peak_mib, 0)})" if r.gpu_peak_mib is not None else "")
        params = "-" if r.params is None else f"{r.params / 1e6:.2f}M"
        lines.append(
            f"| {r.model}{' (random weights)' if r.trained is False else ''} | {r.device} | {r.size} | {r.crop_size or '-'} | {params} | {f(r.encode_ms)} | "
            f"{f(r.click_median_ms)} | {f(r.click_p95_ms)} | {f(r.first_click_ms)} | "
            f"{f(r.t_total_ms.get('1'))} | {f(r.t_total_ms.get('5'))} | {f(r.t_total_ms.get('20'))} | "
            f"{f(r.ratio_vs_ritm, 2)} | {mem} | {f(r.encode_min_ms)} / {f(r.click_min_ms)} |"
        )
    if note:
        lines += ["", note]
    return "\n".join(lines)


def to_json(results: Sequence[BenchResult], meta: dict[str, Any]) -> str:
    """JSON document with the run's metadata and one object per result."""
    return json.dumps({"meta": meta, "results": [asdict(r) for r in results]}, indent=2)
