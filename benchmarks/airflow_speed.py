"""``--to airflow`` against a JSON round trip and against the SageMaker SDK v2's definition().

For each size, generate.py's pipeline is (a) round-tripped with ``json.dumps(json.loads(text))``,
(b) translated with ``pipeglot.translate(text, write="airflow")`` (reading included), both in
this process, and (c) built as SageMaker SDK v2 objects whose ``Pipeline.definition()`` is timed
in the SDK's own venv (``sdk_definition.py``). Every timed run starts after one
``gc.collect()`` with the collector enabled, in both processes; the best of ``--repeat`` runs
is kept (the least disturbed by other load on the machine). The scaling exponent is the slope
of log(time) against log(steps); calls per step (from cProfile) do not depend on the machine's
load, so a constant figure shows the work is linear.

    .venv/bin/python benchmarks/airflow_speed.py [--sizes 1000,2000,4000,8000] [--repeat 3]
        [--sdk-python .venv-sagemaker2/bin/python] [--sdk-sizes 2000,8000]

Targets (issue 11): translate <= 5x the round trip at 8,000 steps, linear, and faster than the
SDK's definition(). A benchmark, not a test: nothing fails.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import pipeline
from run import calls_per_step, slope

import pipeglot

ROOT = Path(__file__).resolve().parent.parent


def best(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def sdk_seconds(python: str, size: int, repeat: int) -> float | None:
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
    return json.loads(lines[-1])["seconds"] if result.returncode == 0 and lines else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000,8000")
    parser.add_argument("--sdk-sizes", default="2000,8000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sdk-python", default=str(ROOT / ".venv-sagemaker2/bin/python"))
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    sdk_sizes = {int(size) for size in args.sdk_sizes.split(",") if size}
    print(
        f"{'steps':>6} {'json rt':>9} {'airflow':>9} {'ratio':>6} {'calls/step':>10}"
        f" {'SDK v2 definition()':>20}"
    )
    times = []
    for size in sizes:
        text = json.dumps(pipeline(size), indent=2)
        baseline = best(lambda t=text: json.dumps(json.loads(t)), args.repeat)

        def translate(t: str = text) -> str:
            return pipeglot.translate(t, write="airflow", unsupported="ignore")

        seconds = best(translate, args.repeat)
        times.append(seconds)
        calls = calls_per_step(translate, size)
        sdk = sdk_seconds(args.sdk_python, size, args.repeat) if size in sdk_sizes else None
        shown = "" if sdk is None else f"{sdk:.3f} s ({seconds / sdk:.2f}x)"
        print(
            f"{size:>6} {baseline:>8.3f}s {seconds:>8.3f}s {seconds / baseline:>6.2f}"
            f" {calls:>10.0f} {shown:>20}"
        )
    print(f"scaling exponent of --to airflow: {slope(sizes, times):.2f}")


if __name__ == "__main__":
    main()
