"""``dag_lowering="exact"``: every step starts as soon as its own dependencies are done.

Nested Parallel states cannot express a DAG that is not series-parallel without making some
steps wait for steps they do not depend on. The exact lowering runs each step in its own
execution of one *runner* state machine and lets the executions wait for each other:

- the parent (``Main``) prepares the document as usual, then a Parallel state with one branch per
  step starts that step's runner execution (``states:startExecution.sync:2``), named
  ``<run token>-<step key>``, so every execution's ARN is known from the step's name;
- the runner routes on ``$.Scratch.Step`` to the step's states. First it polls
  ``states:describeExecution`` of each dependency's execution (not yet started, or running:
  wait and poll again) and merges the results of those that SUCCEEDED into its document; a
  dependency that failed or was skipped makes the runner fail as *skipped*, so that skips
  propagate as in SageMaker and steps already running finish;
- after the Parallel state, the parent fails if any step failed or was skipped.

The polling happens in the runner executions, so the parent's history grows with the number of
steps only, and each runner's history with the time it waits (``poll_cost``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeglot.backends.asl.names import RUN_KEY, SCRATCH_KEY

State = dict[str, Any]

POLL_SECONDS = 30
RUNNER = "Runner"
START_SYNC = "arn:aws:states:::states:startExecution.sync:2"
DESCRIBE = "arn:aws:states:::aws-sdk:sfn:describeExecution"
# History events: one poll round (describe Task 5, Choice 2, Wait 2); a runner's fixed part
# (start, end, the routing Choice, the prefix Pass, a merge Pass per dependency); one branch of
# the parent (the Parallel's branch events and the .sync Task).
EVENTS_PER_POLL = 9
RUNNER_FIXED_EVENTS = 8
PARENT_EVENTS_PER_STEP = 7
NAME_LIMIT = 80
STEP_PATH = f"$.{SCRATCH_KEY}.Step"
OUTCOME_PATH = f"$.{SCRATCH_KEY}.Steps"
_PREFIX = f"$.{SCRATCH_KEY}.Executions"
_POLL = f"$.{SCRATCH_KEY}.Poll"


def execution_suffix(key: str, index: int, token_length: int) -> str:
    """The part of a step's execution name after the run token (names hold at most 80)."""
    if token_length + 1 + len(key) <= NAME_LIMIT:
        return key
    return f"step{index}"


def prefix_state() -> State:
    """The ARN prefix of this runner's executions, from its own state machine ARN
    (``arn:<partition>:states:<region>:<account>:stateMachine:<name>``)."""
    parts = [
        f"States.ArrayGetItem(States.StringSplit($$.StateMachine.Id, ':'), {i})"
        for i in (1, 3, 4, 6)
    ]
    return {
        "Type": "Pass",
        "Comment": "Where the executions of the other steps are: their ARNs follow from names.",
        "Parameters": {
            "Prefix.$": "States.Format('arn:{}:states:{}:{}:execution:{}:', "
            + ", ".join(parts)
            + ")"
        },
        "ResultPath": _PREFIX,
    }


def poll_states(
    step_state: str, dependency: str, suffix: str, helper: Any, then: str, skip: str
) -> tuple[str, dict[str, State]]:
    """Poll one dependency's execution until it ends; merge its document if it SUCCEEDED."""
    poll = helper("Poll", f"{step_state}.{dependency}")
    check = helper("Check", f"{step_state}.{dependency}")
    wait = helper("Wait", f"{step_state}.{dependency}")
    merge = helper("Merge", f"{step_state}.{dependency}")
    arn = f"States.Format('{{}}{{}}-{suffix}', {_PREFIX}.Prefix, $.{RUN_KEY}.Token)"
    states: dict[str, State] = {
        poll: {
            "Type": "Task",
            "Comment": f"Has {dependency} finished?",
            "Resource": DESCRIBE,
            "Parameters": {"ExecutionArn.$": arn},
            "ResultPath": _POLL,
            # Not started yet: its execution does not exist. Wait and ask again.
            "Catch": [
                {
                    "ErrorEquals": ["Sfn.ExecutionDoesNotExistException"],
                    "ResultPath": _POLL,
                    "Next": wait,
                }
            ],
            "Next": check,
        },
        check: {
            "Type": "Choice",
            "Choices": [
                # Absent after the Catch: the execution does not exist yet.
                {"Variable": f"{_POLL}.Status", "IsPresent": False, "Next": wait},
                {"Variable": f"{_POLL}.Status", "StringEquals": "SUCCEEDED", "Next": merge},
                {
                    "Or": [
                        {"Variable": f"{_POLL}.Status", "StringEquals": "RUNNING"},
                        {"Variable": f"{_POLL}.Status", "StringEquals": "PENDING_REDRIVE"},
                    ],
                    "Next": wait,
                },
            ],
            "Default": skip,
        },
        wait: {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": poll},
        merge: {
            "Type": "Pass",
            "Comment": f"The results of {dependency} and the steps before it.",
            # The dependency's document first: this step's own Run and Scratch win.
            "Parameters": {
                "Document.$": f"States.JsonMerge(States.StringToJson({_POLL}.Output), $, false)"
            },
            "OutputPath": "$.Document",
            "Next": then,
        },
    }
    return poll, states


def skipped_state(step_state: str) -> State:
    return {
        "Type": "Fail",
        "Error": "pipeglot.Skipped",
        "Comment": f"A step {step_state} depends on failed or was skipped: SageMaker does not "
        "run it.",
        "Cause": f"{step_state} was not run: a step it depends on failed or was skipped",
    }


def branch(step: str, state_name: str, suffix: str, helper: Any) -> dict[str, Any]:
    """The parent's branch for one step: run it in its runner execution, report the outcome."""
    name = helper("Step", state_name)
    run = helper("Run", state_name)
    failed = helper("Failed", state_name)
    return {
        "StartAt": name,
        "States": {
            name: {
                "Type": "Pass",
                "Result": state_name,
                "ResultPath": STEP_PATH,
                "Next": run,
            },
            run: {
                "Type": "Task",
                "Comment": f"Run {step} in its own execution of the runner state machine.",
                "Resource": START_SYNC,
                "Parameters": {
                    "StateMachineArn": f"${{{RUNNER}}}",
                    "Name.$": f"States.Format('{{}}-{suffix}', $.{RUN_KEY}.Token)",
                    "Input.$": "$",
                },
                # Only the outcome: the Parallel's output stays small at any width.
                "ResultSelector": {"Ran": True},
                "ResultPath": f"$.{SCRATCH_KEY}.Outcome",
                "OutputPath": f"$.{SCRATCH_KEY}.Outcome",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": failed}],
                "End": True,
            },
            failed: {"Type": "Pass", "Result": {"Failed": step}, "End": True},
        },
    }


def poll_cost(waiting_seconds: float) -> int:
    """History events a runner spends polling for ``waiting_seconds``."""
    return int(waiting_seconds / POLL_SECONDS + 1) * EVENTS_PER_POLL


def longest_wait(history_limit: int, step_events: int) -> float:
    """How long (seconds) a runner can wait for its dependencies within ``history_limit``."""
    rounds = (history_limit - RUNNER_FIXED_EVENTS - step_events) // EVENTS_PER_POLL
    return max(rounds, 0) * POLL_SECONDS


def transitions(predecessors: Mapping[str, Sequence[str]]) -> int:
    """State transitions of one run without polling rounds beyond the first: per step, its
    branch (2), the runner's start states (2), and per dependency one poll, check and merge."""
    return sum(4 + 3 * len(preds) for preds in predecessors.values())
