"""States per SageMaker step of the Step Functions translation, over the corpus.

A hand-written machine has a little more than one state per step (a Choice and a Parallel here
and there, a state reading a report); helper states beyond that are what this measures. The
states inside Parallel branches and Map item processors count, and so do those of every machine
of a split pipeline. The summary is for the definitions at the top of the corpus directory (the
figure issue 10 sets its target on), then for those and its ``synthetic/`` ones together.

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
    """States of one machine, those inside Parallel branches and Map item processors included."""
    return sum(1 + sum(map(count_states, _nested(state))) for state in states.values())


def _nested(state: dict[str, Any]) -> list[dict[str, Any]]:
    processors = [state[key] for key in ("ItemProcessor", "Iterator") if key in state]
    return [machine["States"] for machine in [*state.get("Branches", ()), *processors]]


def states_per_step(path: Path) -> tuple[int, int]:
    """The pipeline's steps, and the states of its translation."""
    source = path.read_bytes()
    steps = len(pipeglot.load(source).steps)
    document = json.loads(pipeglot.translate(source, write="asl", unsupported="ignore"))
    machines = document.get("StateMachines", {"Main": document})
    return steps, sum(count_states(machine["States"]) for machine in machines.values())


def summary(label: str, ratios: list[float]) -> str:
    return (
        f"{len(ratios)} pipelines ({label}): states per step median "
        f"{statistics.median(ratios):.2f}, worst {max(ratios):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    top, everything = [], []
    paths = sorted(args.corpus.glob("*.json")) + sorted(args.corpus.glob("synthetic/*.json"))
    for path in paths:
        steps, states = states_per_step(path)
        everything.append(states / steps)
        if path.parent == args.corpus:
            top.append(states / steps)
        if args.verbose:
            name = path.relative_to(args.corpus).as_posix()
            print(f"{name:72} {steps:4} steps {states:5} states {states / steps:5.2f}")
    print(summary("top level", top))
    print(summary("with synthetic/", everything))


if __name__ == "__main__":
    main()
