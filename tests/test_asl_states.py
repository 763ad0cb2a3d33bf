"""States per SageMaker step of the Step Functions translation over the corpus (issue 10), as
``benchmarks/asl_states.py`` measures them: Parallel branches and Map item processors count."""

from __future__ import annotations

import json
import statistics
from typing import Any

import pytest
from conftest import CORPUS, corpus_files, require

import pipeglot


def count_states(states: dict[str, Any]) -> int:
    total = 0
    for state in states.values():
        nested = [*state.get("Branches", ())]
        nested += [state[key] for key in ("ItemProcessor", "Iterator") if key in state]
        total += 1 + sum(count_states(machine["States"]) for machine in nested)
    return total


def states_per_step(source: bytes) -> float:
    steps = len(pipeglot.load(source).steps)
    document = json.loads(pipeglot.translate(source, write="asl", unsupported="ignore"))
    machines = document.get("StateMachines", {"Main": document})
    return sum(count_states(m["States"]) for m in machines.values()) / steps


@pytest.mark.corpus
def test_median_states_per_step_over_the_corpus_is_at_most_1_6() -> None:
    top_level = [path for path in corpus_files() if path.parent == CORPUS]
    require(bool(top_level), "the shared corpus (set PIPEGLOT_CORPUS)")
    ratios = {path.name: states_per_step(path.read_bytes()) for path in top_level}
    assert statistics.median(ratios.values()) <= 1.6, ratios
    # Not the 2.5: a one-step pipeline with required parameters needs the start-up
    # Pass, the check and its Fail; a Lineage step one Task per SageMaker call it makes.
    assert max(ratios.values()) <= 4.0, ratios


def test_one_step_without_parameters_is_one_state_and_with_parameters_two() -> None:
    step = {"Name": "Fail", "Type": "Fail", "Arguments": {"ErrorMessage": "stop"}}
    bare = {"Version": "2020-12-01", "Steps": [step]}
    assert states_per_step(json.dumps(bare).encode()) == 1
    parameter = {"Name": "Reason", "Type": "String", "DefaultValue": "stop"}
    with_parameter = {**bare, "Parameters": [parameter]}
    assert states_per_step(json.dumps(with_parameter).encode()) == 2  # the defaults' Pass
