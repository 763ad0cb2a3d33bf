"""States per SageMaker step of the Step Functions translation, over the corpus.

A hand-written machine has a little more than one state per step (a Choice and a Parallel here
and there, a state reading a report); helper states beyond that are what this measures. The
states inside Parallel branches and Map item processors count, and so do those of every machine
of a split pipeline. The summary is for the definitions at the top of the corpus directory (the
figure issue 10 sets its target on), then for those and its ``synthetic/`` ones together.

Two figures per pipeline:

- **all states** per step, as they are;
- **by design** per step: the same count, less the states that the services' own interfaces
  require and no design can fold, so that what remains is the machine's own structure (Choices,
  Parallels, guards, Passes) on top of one state per step. What is set aside, and why, is in
  ``SERVICE_STATES``: one ``aws-sdk`` Task makes one API call, and a Lineage step makes one call
  per entity and per association; a job kind without a ``.sync`` integration needs a polling
  loop; an EMR step on a new cluster, or an EMR Serverless application, has its resource
  created and torn down. The start-up states (``Start``, ``CheckParameters``,
  ``InvalidParameters``; at most three, as issue 10 allows) count as one.

    python benchmarks/asl_states.py [--verbose] [CORPUS_DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pipeglot
from pipeglot.backends.asl.names import HELPER_PREFIX

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "sagemaker"

# The helper roles (``pipeglot.<Role>.<Step>``) a step needs because of the service it calls.
SERVICE_STATES = {
    # A Lineage step: one call per entity and association after the step's first; reading an
    # entity that already exists (get-or-create), and the Fail when neither call works.
    **dict.fromkeys(("CreateAction", "CreateContext", "CreateArtifact", "AddAssociation"), "calls"),
    **dict.fromkeys(("ReuseAction", "ReuseContext", "ReuseArtifact", "LineageFailed"), "calls"),
    # No .sync integration (AutoML, EMR Serverless jobs): wait, describe, decide, fail with the
    # job's own reason.
    **dict.fromkeys(("Wait", "Describe", "Poll", "GetJobRun", "Failed"), "polling"),
    # A resource that lives for one step: created, torn down after it and after its failure.
    **dict.fromkeys(
        (
            "CreateCluster",
            "TerminateCluster",
            "TerminateClusterAfterFailure",
            "CreateApplication",
            "StartApplication",
            "StopApplication",
            "StopApplicationAfterFailure",
            "DeleteApplication",
            "DeleteApplicationAfterFailure",
        ),
        "lifecycle",
    ),
}
START_UP_STATES = ("Start", "CheckParameters", "InvalidParameters")


def state_names(states: dict[str, Any]) -> Iterator[str]:
    """Names of one machine's states, those inside Parallel branches and Map item processors
    included."""
    for name, state in states.items():
        yield name
        for nested in _nested(state):
            yield from state_names(nested)


def _nested(state: dict[str, Any]) -> list[dict[str, Any]]:
    processors = [state[key] for key in ("ItemProcessor", "Iterator") if key in state]
    return [machine["States"] for machine in [*state.get("Branches", ()), *processors]]


def role(name: str) -> str | None:
    """``Poll`` for ``pipeglot.Poll.AutoML`` and ``pipeglot.Poll.AutoML.2``; None for a step."""
    if not name.startswith(HELPER_PREFIX):
        return None
    return name[len(HELPER_PREFIX) :].split(".", 1)[0]


def by_design(names: list[str]) -> int:
    """The states less those ``SERVICE_STATES`` sets aside, with the start-up states as one."""
    roles = [role(name) for name in names]
    start_up = sum(item in START_UP_STATES for item in roles)
    service = sum(item in SERVICE_STATES for item in roles)
    return len(names) - service - max(start_up - 1, 0)


def translated_states(source: bytes) -> tuple[int, list[str]]:
    """The pipeline's steps, and the names of every state of its translation."""
    steps = len(pipeglot.load(source).steps)
    document = json.loads(pipeglot.translate(source, write="asl", unsupported="ignore"))
    machines = document.get("StateMachines", {"Main": document})
    return steps, [name for m in machines.values() for name in state_names(m["States"])]


def summary(label: str, ratios: list[tuple[float, float]]) -> str:
    every, designed = zip(*ratios, strict=True)
    return (
        f"{len(ratios)} pipelines ({label}): states per step median "
        f"{statistics.median(every):.2f}, worst {max(every):.2f}; by design median "
        f"{statistics.median(designed):.2f}, worst {max(designed):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    top, everything = [], []
    paths = sorted(args.corpus.glob("*.json")) + sorted(args.corpus.glob("synthetic/*.json"))
    for path in paths:
        steps, names = translated_states(path.read_bytes())
        ratios = (len(names) / steps, by_design(names) / steps)
        everything.append(ratios)
        if path.parent == args.corpus:
            top.append(ratios)
        if args.verbose:
            name = path.relative_to(args.corpus).as_posix()
            print(
                f"{name:70} {steps:4} steps {len(names):5} states {ratios[0]:5.2f}"
                f"  by design {ratios[1]:5.2f}"
            )
    print(summary("top level", top))
    print(summary("with synthetic/", everything))


if __name__ == "__main__":
    main()
