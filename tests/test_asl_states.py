"""States per SageMaker step of the Step Functions translation over the corpus (issue 10), as
``benchmarks/asl_states.py`` measures them: Parallel branches and Map item processors count."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_files, require

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from asl_states import (  # benchmarks/ is not a package
    SERVICE_STATES,
    START_UP_STATES,
    by_design,
    role,
    translated_states,
)


@pytest.fixture(scope="module")
def corpus_states() -> dict[str, tuple[int, list[str]]]:
    paths = corpus_files()
    require(bool(paths), "the shared corpus (set PIPEGLOT_CORPUS)")
    return {
        path.relative_to(CORPUS).as_posix(): translated_states(path.read_bytes()) for path in paths
    }


@pytest.mark.corpus
def test_median_states_per_step_over_the_corpus_is_at_most_1_6(corpus_states) -> None:
    top_level = {
        name: len(names) / steps
        for name, (steps, names) in corpus_states.items()
        if "/" not in name
    }
    assert statistics.median(top_level.values()) <= 1.6, top_level


@pytest.mark.corpus
def test_worst_states_per_step_by_design_is_at_most_2_5(corpus_states) -> None:
    """Every state counts but those a service's interface requires (``SERVICE_STATES``: the
    extra calls of a Lineage step, a polling loop, a cluster's lifecycle) and the start-up
    states beyond the first. All states as they are reach 4.0: a one-step pipeline with
    required parameters is the start-up Pass, the check, its Fail and the step."""
    designed = {name: by_design(names) / steps for name, (steps, names) in corpus_states.items()}
    assert max(designed.values()) <= 2.5, designed


@pytest.mark.corpus
def test_parameter_defaults_and_checks_take_at_most_three_states(corpus_states) -> None:
    for name, (_, names) in corpus_states.items():
        start_up = [state for state in names if role(state) in START_UP_STATES]
        assert len(start_up) <= 3, (name, start_up)


@pytest.mark.corpus
def test_only_the_named_service_states_are_set_aside(corpus_states) -> None:
    """A helper state of any other role (a guard, a route, a merge) counts in full."""
    roles = {role(state) for _, names in corpus_states.values() for state in names} - {None}
    assert roles & set(SERVICE_STATES), "the corpus exercises the set-aside roles"
    steps = ["Train", "Eval"]
    assert by_design([*steps, "pipeglot.Guard.Eval", "pipeglot.Route"]) == 4
    assert by_design([*steps, "pipeglot.Poll.Train", "pipeglot.Wait.Train"]) == 2
    assert by_design([*steps, *(f"pipeglot.{name}" for name in START_UP_STATES)]) == 3


def states_per_step(source: bytes) -> float:
    steps, names = translated_states(source)
    return len(names) / steps


def test_one_step_without_parameters_is_one_state_and_with_parameters_two() -> None:
    step = {"Name": "Fail", "Type": "Fail", "Arguments": {"ErrorMessage": "stop"}}
    bare = {"Version": "2020-12-01", "Steps": [step]}
    assert states_per_step(json.dumps(bare).encode()) == 1
    parameter = {"Name": "Reason", "Type": "String", "DefaultValue": "stop"}
    with_parameter = {**bare, "Parameters": [parameter]}
    assert states_per_step(json.dumps(with_parameter).encode()) == 2  # the defaults' Pass
