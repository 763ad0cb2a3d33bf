"""Translation time as a ratio to a plain JSON round trip, and how it scales with size.

For each size, the same generated definition is (a) round-tripped with
``json.dumps(json.loads(text))`` and (b) translated with ``pipeglot.translate``; both are
timed in this process, best of several runs, so the ratio holds on a busy machine. With
``--clock cpu`` both are measured in CPU time of this process (``time.process_time``), which
waiting for a shared machine's cores does not inflate. The scaling exponent is the slope of
log(time) against log(steps): 1.0 is linear.

    python benchmarks/run.py [--to FORMAT ...] [--sizes 500,1000,...] [--repeat N]
                             [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import pipeline

import pipeglot

DEFAULT_SIZES = (500, 1000, 2000, 4000, 8000)
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def best_time(action: Callable[[], object], repeat: int, clock: str = "wall") -> float:
    now = CLOCKS[clock]
    best = math.inf
    for _ in range(repeat):
        start = now()
        action()
        best = min(best, now() - start)
    return best


def calls_per_step(action: Callable[[], object], size: int) -> float:
    """Python function calls per step: unlike seconds, the same on a busy or an idle machine,
    so a constant figure across sizes shows that the work itself is linear."""
    profile = cProfile.Profile()
    profile.runcall(action)
    return pstats.Stats(profile).total_calls / size  # type: ignore[attr-defined]


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(ys) against log(xs)."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mx) ** 2 for a in lx
    )


def measure(
    fmt: str, sizes: list[int], repeat: int, clock: str = "wall"
) -> tuple[list[float], list[float]]:
    print(f"\n--to {fmt} ({clock} clock)")
    print(
        f"{'steps':>7} {'MB':>6} {'json rt (s)':>12} {'translate (s)':>14} {'ratio':>6}"
        f" {'calls/step':>11}"
    )
    times, baselines, ratios = [], [], []
    for size in sizes:
        text = json.dumps(pipeline(size), indent=2)
        baseline = best_time(lambda t=text: json.dumps(json.loads(t)), repeat, clock)

        def action(t: str = text) -> str:
            return pipeglot.translate(t, write=fmt, unsupported="ignore")

        translate = best_time(action, repeat, clock)
        calls = calls_per_step(action, size)
        times.append(translate)
        baselines.append(baseline)
        ratios.append(translate / baseline)
        megabytes = len(text) / 1e6
        print(
            f"{size:>7} {megabytes:>6.1f} {baseline:>12.3f} {translate:>14.3f} {ratios[-1]:>6.2f}"
            f" {calls:>11.0f}"
        )
    if len(sizes) > 1:  # a slope needs two sizes
        print(
            f"scaling exponent: translate {slope(sizes, times):.2f} "
            f"(the JSON round trip itself: {slope(sizes, baselines):.2f})"
        )
    return times, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--to", action="append", help="output format (repeatable; default sagemaker)"
    )
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for fmt in args.to or ["sagemaker"]:
        measure(fmt, sizes, args.repeat, args.clock)


if __name__ == "__main__":
    main()
