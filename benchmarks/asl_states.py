"""States per SageMaker step of the Step Functions translation, over the corpus.

A hand-written machine has a little more than one state per step (a Choice and a Parallel here
and there, a state reading a report); helper states beyond that are what this measures.

    python benchmarks/asl_states.py [--verbose] [CORPUS_DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import pipeglot

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "sagemaker"


def count_states(states: dict[str, Any]) -> int:
    """States of one machine, those inside Parallel branches included."""
    return sum(
        1 + sum(count_states(branch["States"]) for branch in state.get("Branches", ()))
        for state in states.values()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    ratios = []
    for path in sorted(args.corpus.glob("*.json")):
        source = path.read_bytes()
        steps = len(pipeglot.load(source).steps)
        document = json.loads(pipeglot.translate(source, write="asl", unsupported="ignore"))
        machines = document.get("StateMachines", {"Main": document})
        states = sum(count_states(machine["States"]) for machine in machines.values())
        ratios.append(states / steps)
        if args.verbose:
            print(f"{path.name:62} {steps:4} steps {states:5} states {states / steps:5.2f}")
    print(
        f"{len(ratios)} pipelines: states per step median {statistics.median(ratios):.2f}, "
        f"worst {max(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
