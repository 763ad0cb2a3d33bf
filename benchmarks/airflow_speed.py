"""``--to airflow`` against a JSON round trip and against the SageMaker SDK v2's definition().

For each size, generate.py's pipeline is (a) round-tripped with ``json.dumps(json.loads(text))``,
(b) translated with ``pipeglot.translate(text, write="airflow")`` (reading included, the
provenance block too, as the CLI writes by default), both in this process, and (c) built as
SageMaker SDK v2 objects whose ``Pipeline.definition()`` is timed in the SDK's own venv
(``sdk_definition.py``; building the objects is not timed, reading the JSON text is).

Times are CPU seconds of the measuring process (``time.process_time``), so that other load on
a shared machine does not decide the result, and each timed run starts after one
``gc.collect()`` with the collector enabled, in both processes. Two figures for each tool:
the best of ``--repeat`` runs in one process (its caches warm, as in a long-lived process that
translates many pipelines), and the first run in a fresh process (after its imports, and for
pipeglot one translation of a small other pipeline, so that only the caches of this
pipeline's own values are cold, as for one CLI call). The scaling exponent is the slope of
log(time) against log(steps); calls per step (from cProfile) do not depend on the machine's
load, so a constant figure shows the work is linear.

    .venv/bin/python benchmarks/airflow_speed.py [--sizes 1000,2000,4000,8000] [--repeat 3]
        [--sdk-python .venv-sagemaker2/bin/python] [--sdk-sizes 1000,2000,4000,8000]

Targets (issue 11): translate <= 5x the round trip at 8,000 steps, linear, and faster than the
SDK's definition() at every size. A benchmark, not a test: nothing fails.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import pipeline
from run import calls_per_step, slope

import pipeglot

ROOT = Path(__file__).resolve().parent.parent


def best(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.process_time()
        action()
        times.append(time.process_time() - started)
    return min(times)


def translate(text: str) -> str:
    return pipeglot.translate(text, write="airflow", unsupported="ignore")


def first_run(size: int) -> float:
    """CPU seconds of the first translation of the pipeline in a fresh process."""
    result = subprocess.run(
        [sys.executable, __file__, "--first", str(size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.split()[-1])


def time_first(size: int) -> None:
    translate(json.dumps(pipeline(60, seed=1)))  # imports and lazy tables, not these values
    text = json.dumps(pipeline(size), indent=2)
    gc.collect()
    started = time.process_time()
    translate(text)
    print(time.process_time() - started)


def sdk_seconds(python: str, size: int, repeat: int) -> dict | None:
    """The SDK's best and first definition() (and its build time), or None if it failed."""
    result = subprocess.run(
        [
            python,
            str(ROOT / "benchmarks" / "sdk_definition.py"),
            str(size),
            "--repeat",
            str(repeat),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if result.returncode == 0 and lines else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000,8000")
    parser.add_argument("--sdk-sizes", default="1000,2000,4000,8000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sdk-python", default=str(ROOT / ".venv-sagemaker2/bin/python"))
    parser.add_argument("--first", type=int, help=argparse.SUPPRESS)  # the fresh process
    args = parser.parse_args()
    if args.first:
        time_first(args.first)
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    sdk_sizes = {int(size) for size in args.sdk_sizes.split(",") if size}
    print("CPU seconds; best of", args.repeat, "in one process / first in a fresh process")
    print(
        f"{'steps':>6} {'json rt':>8} {'airflow':>8} {'ratio':>6} {'first':>7} {'calls/step':>10}"
        f"  {'SDK v2 definition() best / first':>32}  {'airflow / SDK':>13}"
    )
    times = []
    for size in sizes:
        text = json.dumps(pipeline(size), indent=2)
        baseline = best(lambda t=text: json.dumps(json.loads(t)), args.repeat)
        seconds = best(lambda t=text: translate(t), args.repeat)
        times.append(seconds)
        first = first_run(size)
        calls = calls_per_step(lambda t=text: translate(t), size)
        sdk = sdk_seconds(args.sdk_python, size, args.repeat) if size in sdk_sizes else None
        sdk_shown = ratios = ""
        if sdk is not None:
            sdk_shown = f"{sdk['seconds']:.3f} / {sdk['first']:.3f} (build {sdk['build']:.1f})"
            ratios = f"{seconds / sdk['seconds']:.2f} / {first / sdk['first']:.2f}"
        print(
            f"{size:>6} {baseline:>8.3f} {seconds:>8.3f} {seconds / baseline:>6.2f}"
            f" {first:>7.3f} {calls:>10.0f}  {sdk_shown:>32}  {ratios:>13}",
            flush=True,
        )
    if len(sizes) > 1:  # a slope needs two sizes
        print(f"scaling exponent of --to airflow: {slope(sizes, times):.2f}")


if __name__ == "__main__":
    main()
