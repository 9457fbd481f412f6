"""Speed benchmark of every model: ``python benchmarks/bench_models.py [clickseg bench options]``.

Same implementation and options as ``clickseg bench`` (``napari_clickseg/eval/benchmark.py``):
encoder ms, per-click median/p95, t_total(1, 5, 20) with the ratio against ritm-like, peak
memory, on CPU with 2 threads (``--device all`` adds the GPU when there is one) for 512x512 and
1024x1024 slices. ``--json FILE`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import sys

from napari_clickseg.eval import bench_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_models.py", description=__doc__.splitlines()[0])
    bench_command.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return bench_command.run(args)
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"bench_models.py: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
