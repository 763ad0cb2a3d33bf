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

Conditions: a Condition's runner evaluates it and records its outcome in its document, as the
default lowering does. A step SageMaker would not run (its Condition chose the other branch, or
a step it depends on was not run for that reason) does not fail: its runner ends at once, with
its document holding ``{"<step key>": {"NotRun": true}}`` (``not_run_state``), so the steps
after it, merging that document, are not run either, and the execution still succeeds. Which
outcome each step checks itself comes from the skip analysis (``ir.regions``): the literals of
its requirements that none of its dependencies' requirements imply (``own_literals``); a step
requiring both outcomes of one Condition never runs, and no runner is started for it.

The polling happens in the runner executions, so the parent's history grows with the number of
steps only, and each runner's history with the time it waits (``poll_cost``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeglot.backends.asl.names import RUN_KEY, SCRATCH_KEY
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.model import StepKind, Workflow
from pipeglot.ir.regions import Regions, condition_regions

State = dict[str, Any]

POLL_SECONDS = 30
RUNNER = "Runner"
PARENT = "Main"
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
NOT_RUN = "NotRun"  # the mark of a step not run: no SageMaker response has such a field


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


def skips(workflow: Workflow) -> Regions:
    """What each Condition's outcome skips: the shared analysis (``ir.regions``)."""
    return condition_regions(workflow)


def runs(order: Sequence[str], regions: Regions) -> list[str]:
    """The steps that get a runner execution: all but those that can never run."""
    return [name for name in order if not regions.never_runs(name)]


def report_conditions(workflow: Workflow, regions: Regions, diagnostics: Diagnostics) -> None:
    """What each Condition's runner decides, and the steps no runner is started for."""
    for step in workflow.steps:
        if step.kind is not StepKind.CONDITION:
            continue
        skipped = {
            outcome: regions.skipped_when(step.name, outcome == "True")
            for outcome in ("True", "False")
        }
        listed = "; ".join(
            f"{outcome}: {', '.join(map(repr, names)) or 'nothing'}"
            for outcome, names in skipped.items()
        )
        diagnostics.exact(
            "asl.condition.exact",
            "the Condition's runner records its outcome; the runners of the steps it skips end "
            f"as not run and the execution still succeeds, as in SageMaker (skipped when {listed})",
            step.name,
        )
    for name in regions.requirements:
        if regions.never_runs(name):
            diagnostics.exact(
                "asl.condition.never-runs",
                "the step needs both outcomes of one Condition, so SageMaker never runs it: no "
                "runner execution is started for it",
                name,
            )


def own_literals(
    requirements: Mapping[str, frozenset[tuple[str, bool]]],
    step: str,
    predecessors: Sequence[str],
) -> list[tuple[str, bool]]:
    """The (Condition, outcome) pairs a step's runner checks itself: those of its requirements
    that none of its dependencies requires (a dependency that ran met its own). Each one's
    Condition is a dependency (the branch holding the step), so its outcome is in the document
    once the dependencies are merged."""
    inherited = set().union(*(requirements[p] for p in predecessors))
    own = sorted(requirements[step] - inherited, key=lambda literal: literal[0])
    assert all(condition in predecessors for condition, _ in own), (step, own)
    return own


def deciding(
    requirements: Mapping[str, frozenset[tuple[str, bool]]],
    step: str,
    predecessors: Sequence[str],
) -> list[str]:
    """The dependencies whose documents say whether the step runs: its own literals'
    Conditions and the dependencies that may not run themselves, in dependency order."""
    conditions = {condition for condition, _ in own_literals(requirements, step, predecessors)}
    return [p for p in predecessors if p in conditions or requirements[p]]


def runs_check(
    step_state: str,
    maybe_not_run: Sequence[str],
    outcomes: Sequence[tuple[str, str]],
    then: str,
    not_run: str,
) -> State | None:
    """A Choice that ends the runner as *not run* when a dependency was not run (``maybe_not_run``:
    the keys of those that may not be) or a Condition chose the other branch (``outcomes``:
    the Condition's key and the outcome the step needs). ``None`` when nothing can stop it.

    The marks come first: Choice rules are tried in order, and a Condition that was not run has
    no outcome to compare."""
    rules: list[State] = [
        {"Variable": f"$.{key}.{NOT_RUN}", "IsPresent": True, "Next": not_run}
        for key in maybe_not_run
    ]
    rules += [
        {"Not": {"Variable": f"$.{key}.Outcome", "StringEquals": outcome}, "Next": not_run}
        for key, outcome in outcomes
    ]
    if not rules:
        return None
    return {
        "Type": "Choice",
        "Comment": f"Does SageMaker run {step_state}? Not if a Condition chose the other "
        "branch, before it or of a step it depends on.",
        "Choices": rules,
        "Default": then,
    }


def not_run_state(step_state: str, key: str) -> State:
    """The runner's end for a step SageMaker does not run: it succeeds, and its document marks
    the step as not run for the steps after it."""
    return {
        "Type": "Pass",
        "Comment": f"SageMaker does not run {step_state}: a Condition chose the other branch.",
        "Result": {key: {NOT_RUN: True}},
        "End": True,
    }


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


def too_large(
    sizes: Mapping[str, int], events: Mapping[str, int], size_limit: int, history_limit: int
) -> str | None:
    """Why the machines do not fit Step Functions' limits, or None. The runner holds every
    step's states, so its definition grows with the pipeline; an execution of it runs one
    step's, so its history does not: only the parent's counts."""
    problems = [f"{name!r} is {size:,} bytes" for name, size in sizes.items() if size > size_limit]
    if events[PARENT] > history_limit:
        problems.append(f"an execution of {PARENT!r} records about {events[PARENT]:,} events")
    if not problems:
        return None
    return (
        "dag_lowering='exact' keeps every step's states in one runner machine and every step's "
        f"start in one parent: here {' and '.join(problems)}, over Step Functions' "
        f"{size_limit:,}-byte definitions or {history_limit:,}-event histories, so the "
        "series-parallel lowering is written (split into child machines where needed)"
    )


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
