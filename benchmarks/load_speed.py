"""Reading a SageMaker definition (``pipeglot.load``) as a ratio to a plain JSON round trip.

For each size, ``benchmarks/generate.py``'s pipeline is round-tripped with
``json.dumps(json.loads(text))`` and read with ``pipeglot.load``, both in CPU time of this
process (``time.process_time``), best of several runs. ``pipeglot.load`` pauses the cyclic
garbage collector while it builds the IR, so the round trip is timed with it paused too: the
ratio compares the work, not the collector. Calls per step (Python function calls counted by
cProfile) are the same on a busy and an idle machine; a constant figure shows linear work.

    python benchmarks/load_speed.py [--sizes 1000,2000,4000,8000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import pipeline
from run import best_time, calls_per_step, slope

import pipeglot
from pipeglot.performance import paused_garbage_collection

DEFAULT_SIZES = (1000, 2000, 4000, 8000)


def round_trip(text: str) -> str:
    with paused_garbage_collection():
        return json.dumps(json.loads(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'steps':>7} {'json rt (s)':>12} {'load (s)':>9} {'ratio':>6} {'calls/step':>11}")
    loads = []
    for size in sizes:
        text = json.dumps(pipeline(size), indent=2)
        baseline = best_time(lambda t=text: round_trip(t), args.repeat, "cpu")
        load = best_time(lambda t=text: pipeglot.load(t), args.repeat, "cpu")
        calls = calls_per_step(lambda t=text: pipeglot.load(t), size)
        loads.append(load)
        print(f"{size:>7} {baseline:>12.3f} {load:>9.3f} {load / baseline:>6.2f} {calls:>11.0f}")
    if len(sizes) > 1:
        print(f"scaling exponent of load: {slope(sizes, loads):.2f}")


if __name__ == "__main__":
    main()
