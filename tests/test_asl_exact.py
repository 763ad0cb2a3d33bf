"""``dag_lowering="exact"``: on a DAG that is not series-parallel, every step starts as soon as its
own dependencies are done.

The N graph (a -> c, b -> c, b -> d) with durations a=6, b=1, c=1, d=6 seconds has a critical path
of 7 s; nested Parallel states make d also wait for a (Parallel[a, b] then Parallel[c, d]: 12 s).
Both lowerings run on moto's Step Functions engine with Wait states standing in for the steps'
durations (and 1 s polls instead of 30 s); the exact one takes the critical path plus its polling
(measured: 8.3 to 8.6 s against 12.2 s), and results flow between the runner executions. A failed
step skips what depends on it, and the rest still runs.
"""

from __future__ import annotations

import copy
import datetime
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module
from test_asl import _asl_validator
from test_asl_moto import REGION, SFN_ROLE, aws, for_moto  # noqa: F401 (the moto fixture)
from test_asl_split import _moto_start_execution_in_boto_case

import pipeglot
from pipeglot.backends.asl import exact
from pipeglot.diagnostics import Diagnostics, Fidelity

DURATIONS = {"a": 6, "b": 1, "c": 1, "d": 6}
CRITICAL_PATH = 7  # a then c, or b then d
SERIES_PARALLEL = 12  # max(a, b) then max(c, d)
TICK = datetime.timedelta(milliseconds=5)  # moto's history timestamps are in milliseconds


def _model(name: str, depends_on: list[str], environment: dict[str, Any]) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Model",
        "DependsOn": depends_on,
        "Arguments": {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "PrimaryContainer": {
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1",
                "Environment": environment,
            },
        },
    }


def _n_graph() -> str:
    run = {"Get": "Execution.PipelineExecutionId"}
    steps = [
        _model("a", [], {"RUN": run}),
        _model("b", [], {"RUN": run}),
        _model("c", ["b"], {"A": {"Get": "Steps.a.ModelName"}}),
        _model("d", ["b"], {"B": {"Get": "Steps.b.ModelName"}}),
    ]
    return json.dumps({"Version": "2020-12-01", "Steps": steps})


# The N graph with a Condition after b: its True branch (e, then g after it) reads d, its False
# branch (f) reads a. Not series-parallel either.
CONDITION_DEPENDENCIES = {
    "a": [],
    "b": [],
    "c": ["a", "b"],
    "d": ["b"],
    "Gate": ["b"],
    "e": ["Gate", "d"],
    "f": ["Gate", "a"],
    "g": ["e"],
}
CONDITION_DURATIONS = {"a": 8, "b": 1, "c": 1, "d": 8, "e": 1, "f": 1, "g": 1}


def _series_parallel_seconds(serve: bool) -> int:
    """What the default lowering's nested Parallel states take: Parallel[a, b], then d (which
    also waits for a), the Condition, and its branch (the ledger names that wait)."""
    seconds = CONDITION_DURATIONS
    branch = seconds["e"] + seconds["g"] if serve else seconds["f"]
    return max(seconds["a"], seconds["b"]) + seconds["d"] + branch


def _condition_graph() -> str:
    run = {"Get": "Execution.PipelineExecutionId"}
    gate = {
        "Name": "Gate",
        "Type": "Condition",
        "DependsOn": ["b"],
        "Arguments": {
            "Conditions": [
                {"Type": "Equals", "LeftValue": {"Get": "Parameters.Serve"}, "RightValue": True}
            ],
            "IfSteps": [_model("e", [], {"D": {"Get": "Steps.d.ModelName"}})],
            "ElseSteps": [_model("f", [], {"A": {"Get": "Steps.a.ModelName"}})],
        },
    }
    steps = [
        _model("a", [], {"RUN": run}),
        _model("b", [], {"RUN": run}),
        _model("c", ["b"], {"A": {"Get": "Steps.a.ModelName"}}),
        _model("d", ["b"], {"B": {"Get": "Steps.b.ModelName"}}),
        gate,
        _model("g", [], {"E": {"Get": "Steps.e.ModelName"}}),
    ]
    parameters = [{"Name": "Serve", "Type": "Boolean", "DefaultValue": True}]
    return json.dumps({"Version": "2020-12-01", "Parameters": parameters, "Steps": steps})


def _translate(
    dag_lowering: str, ledger: Diagnostics | None = None, source: str | None = None
) -> dict[str, Any]:
    text = pipeglot.translate(
        source or _n_graph(), write="asl", name="n", diagnostics=ledger, dag_lowering=dag_lowering
    )
    return json.loads(text)


def _critical_path(ran: set[str]) -> int:
    """The longest chain of dependent steps that run, in seconds of CONDITION_DURATIONS."""
    finish: dict[str, int] = {}
    for step, dependencies in CONDITION_DEPENDENCIES.items():  # listed in a topological order
        if step in ran:
            start = max((finish[d] for d in dependencies), default=0)
            finish[step] = start + CONDITION_DURATIONS.get(step, 0)
    return max(finish.values())


def _with_durations(states: dict[str, Any], seconds: dict[str, int]) -> None:
    """TEST-ONLY: a Wait of the step's duration in front of each step's state."""
    for state in list(states.values()):
        for branch in state.get("Branches", ()):
            _with_durations(branch["States"], seconds)
    for step, duration in seconds.items():
        wait = f"test.Duration.{step}"
        states[wait] = {"Type": "Wait", "Seconds": duration, "Next": step}
        for name, state in states.items():
            if name == wait:
                continue
            for holder in [state, *state.get("Choices", ())]:
                for field in ("Next", "Default", "StartAt"):
                    if holder.get(field) == step:
                        holder[field] = wait
        if step not in states:
            del states[wait]


def _branches_with_durations(definition: dict[str, Any], seconds: dict[str, int]) -> None:
    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            for branch in state.get("Branches", ()):
                for step, duration in seconds.items():
                    if branch["StartAt"] == step:
                        wait = f"test.Duration.{step}"
                        branch["States"][wait] = {"Type": "Wait", "Seconds": duration, "Next": step}
                        branch["StartAt"] = wait
                walk(branch["States"])

    walk(definition["States"])


def _moto_sfn_sdk_as_aws_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    """TEST-ONLY: moto 5.2 hands aws-sdk:sfn Parameters (PascalCase, as AWS documents for every
    SDK integration) to boto3 unchanged, which wants camelCase, and answers in camelCase; and it
    names a missing execution's error after the action, not Sfn.ExecutionDoesNotExistException.
    Rename as Step Functions does."""
    service = require_module(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
        "state_task_service_aws_sdk"
    )
    sdk_task = service.StateTaskServiceAwsSdk  # type: ignore[attr-defined]
    evaluate, from_error = sdk_task._eval_service_task, sdk_task._from_error

    def renamed(self: Any, env: Any, **arguments: Any) -> None:
        if self.resource.api_name != "sfn":
            return evaluate(self, env, **arguments)
        given = arguments["normalised_parameters"]
        arguments["normalised_parameters"] = {k[0].lower() + k[1:]: v for k, v in given.items()}
        evaluate(self, env, **arguments)
        answer = env.stack.pop()
        env.stack.append({k[0].upper() + k[1:]: v for k, v in answer.items()})

    def error_named(self: Any, env: Any, ex: Exception) -> Any:
        code = getattr(ex, "response", {}).get("Error", {}).get("Code")
        if self.resource.api_name == "sfn" and code == "ExecutionDoesNotExist":
            return self._get_task_failure_event(env, "Sfn.ExecutionDoesNotExistException", code)
        return from_error(self, env, ex)

    monkeypatch.setattr(sdk_task, "_eval_service_task", renamed)
    monkeypatch.setattr(sdk_task, "_from_error", error_named)


def _fast_polls(states: dict[str, Any]) -> None:
    """TEST-ONLY: poll every second instead of every POLL_SECONDS."""
    for state in states.values():
        if state["Type"] == "Wait" and state.get("Seconds") == exact.POLL_SECONDS:
            state["Seconds"] = 1


def _wait(sfn: Any, arn: str, limit: float = 60) -> dict[str, Any]:
    """The execution's status, error, cause and start and stop times, from its history (moto
    5.2's DescribeExecution fails to encode the output of some finished executions)."""
    deadline = time.monotonic() + limit
    while True:
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        last = events[-1] if events else {"type": "none yet"}
        details = last.get("executionFailedEventDetails", {})
        if last["type"] in ("ExecutionSucceeded", "ExecutionFailed"):
            return {
                "executionArn": arn,
                "status": "SUCCEEDED" if last["type"] == "ExecutionSucceeded" else "FAILED",
                "error": details.get("error"),
                "cause": details.get("cause"),
                "startDate": events[0]["timestamp"],
                "stopDate": last["timestamp"],
                "events": events,
            }
        if time.monotonic() > deadline:
            return {"executionArn": arn, "status": "RUNNING"}
        time.sleep(0.05)


def _run_exact(
    aws: Any,  # noqa: F811
    runner_edit: Any = None,
    source: str | None = None,
    durations: dict[str, int] = DURATIONS,
    execution_input: str = "{}",
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    document = _translate("exact", source=source)
    runner = for_moto(document["StateMachines"]["Runner"])
    _with_durations(runner["States"], durations)
    _fast_polls(runner["States"])
    if runner_edit is not None:
        runner_edit(runner["States"])
    sfn = aws.client("stepfunctions", region_name=REGION)
    runner_arn = sfn.create_state_machine(
        name="n-Runner", definition=json.dumps(runner), roleArn=SFN_ROLE
    )["stateMachineArn"]
    parent = json.loads(
        json.dumps(document["StateMachines"]["Main"]).replace("${Runner}", runner_arn)
    )
    parent_arn = sfn.create_state_machine(
        name="n", definition=json.dumps(parent), roleArn=SFN_ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=parent_arn, name="run-1", input=execution_input)
    result = _wait(sfn, execution["executionArn"])
    runs = {}
    for summary in sfn.list_executions(stateMachineArn=runner_arn)["executions"]:
        step = summary["name"].split("-", 1)[1]
        runs[step] = _wait(sfn, summary["executionArn"], limit=0)
    return sfn, result, runs


def _step_started(events: list[dict[str, Any]], step: str) -> Any:
    for event in events:
        if event.get("stateEnteredEventDetails", {}).get("name") == f"test.Duration.{step}":
            return event["timestamp"]
    raise AssertionError(f"{step} never started")


def _step_span(events: list[dict[str, Any]], steps: Any) -> tuple[Any, Any]:
    """When the first of ``steps`` started (its duration Wait) and the last one ended."""
    starts, ends = [], []
    for event in events:
        entered = event.get("stateEnteredEventDetails", {}).get("name", "")
        if entered.removeprefix("test.Duration.") in steps and entered.startswith("test."):
            starts.append(event["timestamp"])
        if event.get("stateExitedEventDetails", {}).get("name") in steps:
            ends.append(event["timestamp"])
    return min(starts), max(ends)


def _seconds(result: dict[str, Any]) -> float:
    return (result["stopDate"] - result["startDate"]).total_seconds()


def test_exact_schedule_on_moto_takes_the_critical_path_where_series_parallel_waits(
    aws: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _moto_start_execution_in_boto_case(monkeypatch)
    _moto_sfn_sdk_as_aws_documents(monkeypatch)
    sfn, result, runs = _run_exact(aws)
    assert result["status"] == "SUCCEEDED", (result.get("error"), result.get("cause"))
    assert sorted(runs) == ["a", "b", "c", "d"]
    assert all(run["status"] == "SUCCEEDED" for run in runs.values())
    # every step started only after its own dependencies finished, d without waiting for a
    started = {step: _step_started(run["events"], step) for step, run in runs.items()}
    assert started["c"] >= max(runs["a"]["stopDate"], runs["b"]["stopDate"]) - TICK
    assert runs["b"]["stopDate"] - TICK <= started["d"] < runs["a"]["stopDate"]
    spans = [_step_span(run["events"], DURATIONS) for run in runs.values()]
    # the schedule's makespan: from the first step's start to the last step's end (moto adds a
    # few seconds before and after, starting and following the executions)
    exact_seconds = (max(end for _, end in spans) - min(s for s, _ in spans)).total_seconds()

    series_parallel = for_moto(_translate("series-parallel"))
    _branches_with_durations(series_parallel, DURATIONS)
    arn = sfn.create_state_machine(
        name="n-sp", definition=json.dumps(series_parallel), roleArn=SFN_ROLE
    )["stateMachineArn"]
    default = _wait(sfn, sfn.start_execution(stateMachineArn=arn, name="run-1")["executionArn"])
    assert default["status"] == "SUCCEEDED", (default.get("error"), default.get("cause"))
    first, last = _step_span(default["events"], DURATIONS)
    default_seconds = (last - first).total_seconds()
    start = result["startDate"]
    late = {
        step: (started[step] - max([start, *(runs[p]["stopDate"] for p in preds)])).total_seconds()
        for step, preds in {"a": [], "b": [], "c": ["a", "b"], "d": ["b"]}.items()
    }
    print(
        f"exact {exact_seconds:.2f} s, series-parallel {default_seconds:.2f} s, critical path "
        f"{CRITICAL_PATH} s (whole executions: {_seconds(result):.2f} s and "
        f"{_seconds(default):.2f} s); each step's start after its dependencies' end: {late}"
    )
    assert default_seconds >= SERIES_PARALLEL
    # the exact schedule's overhead is the polling (1 s here) and moto's .sync polling
    assert CRITICAL_PATH <= exact_seconds < default_seconds - 2

    # results flowed from the runner executions of a and b to those of c and d
    sagemaker = aws.client("sagemaker", region_name=REGION)
    models = {}
    for summary in sagemaker.list_models(MaxResults=100)["Models"]:
        name = summary["ModelName"]
        environment = sagemaker.describe_model(ModelName=name)["PrimaryContainer"]["Environment"]
        models.setdefault(name.split("-")[0], []).append((name, environment))
    exact_a = [name for name, env in models["a"] if env.get("RUN") == "run-1"]
    assert any(env.get("A") in exact_a for _, env in models["c"])


def test_a_failed_step_skips_its_dependents_and_the_rest_runs(
    aws: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _moto_start_execution_in_boto_case(monkeypatch)
    _moto_sfn_sdk_as_aws_documents(monkeypatch)

    def fail_b(states: dict[str, Any]) -> None:
        states["b"] = {"Type": "Fail", "Error": "test.Failed", "Cause": "b failed"}

    _, result, runs = _run_exact(aws, fail_b)
    assert result["status"] == "FAILED"
    assert all(f'"{step}"' in result["cause"] for step in "bcd")
    assert {step: run["status"] for step, run in runs.items()} == {
        "a": "SUCCEEDED",
        "b": "FAILED",
        "c": "FAILED",
        "d": "FAILED",
    }
    assert runs["d"].get("error") == "pipeglot.Skipped"


@pytest.mark.parametrize("serve", [True, False])
def test_a_condition_runs_the_branch_it_chooses_on_the_critical_path(
    aws: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    serve: bool,
) -> None:
    _moto_start_execution_in_boto_case(monkeypatch)
    _moto_sfn_sdk_as_aws_documents(monkeypatch)
    _, result, runs = _run_exact(
        aws,
        source=_condition_graph(),
        durations=CONDITION_DURATIONS,
        execution_input=json.dumps({"Serve": serve}),
    )
    # the branch not taken is not a failure: the pipeline succeeds, as in SageMaker
    assert result["status"] == "SUCCEEDED", (result.get("error"), result.get("cause"))
    assert sorted(runs) == sorted(CONDITION_DEPENDENCIES)
    assert all(run["status"] == "SUCCEEDED" for run in runs.values())
    ran = {step for step, run in runs.items() if step in _entered(run["events"])}
    expected = {"a", "b", "c", "d", "Gate", *(("e", "g") if serve else ("f",))}
    assert ran == expected
    not_run = {step for step, run in runs.items() if f"pipeglot.NotRun.{step}" in _entered(run)}
    assert not_run == set(CONDITION_DEPENDENCIES) - expected
    sagemaker = aws.client("sagemaker", region_name=REGION)
    models = {m["ModelName"].split("-")[0] for m in sagemaker.list_models()["Models"]}
    assert models == expected - {"Gate"}
    # results of the steps before the Condition reached the branch it chose
    environment = {
        m["ModelName"].split("-")[0]: sagemaker.describe_model(ModelName=m["ModelName"])[
            "PrimaryContainer"
        ]["Environment"]
        for m in sagemaker.list_models()["Models"]
    }
    names = {
        m["ModelName"].split("-")[0]: m["ModelName"] for m in sagemaker.list_models()["Models"]
    }
    if serve:
        assert environment["e"] == {"D": names["d"]} and environment["g"] == {"E": names["e"]}
    else:
        assert environment["f"] == {"A": names["a"]}
    # every step that ran started once its own dependencies had ended
    started = {step: _step_started(runs[step]["events"], step) for step in ran - {"Gate"}}
    for step in started:
        for dependency in CONDITION_DEPENDENCIES[step]:
            assert started[step] >= runs[dependency]["stopDate"] - TICK, (step, dependency)
    spans = [_step_span(runs[step]["events"], CONDITION_DURATIONS) for step in started]
    makespan = (max(end for _, end in spans) - min(s for s, _ in spans)).total_seconds()
    critical = _critical_path(ran)
    first = min(s for s, _ in spans)
    late = {step: round((started[step] - first).total_seconds(), 2) for step in sorted(started)}
    critical, series_parallel = _critical_path(ran), _series_parallel_seconds(serve)
    print(
        f"Serve={serve}: exact {makespan:.2f} s, critical path {critical} s, series-parallel "
        f"lowering {series_parallel} s; steps started at {late}"
    )
    # the overhead is the polling (1 s here) along the critical chain, and moto's .sync polling
    assert critical <= makespan < series_parallel
    ledger = Diagnostics()
    _translate("series-parallel", ledger, _condition_graph())
    [wait] = [d for d in ledger if d.code == "asl.structure.extra-wait"]
    assert wait.step == "d" and "also waits for 'a'" in wait.message


def _entered(events: Any) -> list[str]:
    if isinstance(events, dict):
        events = events["events"]
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


@pytest.mark.parametrize("graph", ["n", "condition"])
def test_exact_machines_pass_statelint_and_asl_validator(tmp_path: Path, graph: str) -> None:
    linter = require_module("statelint.linter").Linter  # type: ignore[attr-defined]
    ledger = Diagnostics()
    document = _translate("exact", ledger, _condition_graph() if graph == "condition" else None)
    assert list(document["StateMachines"]) == ["Runner", "Main"]
    command = [_asl_validator()]
    for key, definition in document["StateMachines"].items():
        assert linter.validate(copy.deepcopy(definition)) == [], key
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(definition))
        command += ["--json-path", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    reported = {d.code: d for d in ledger}
    assert reported["asl.schedule.exact"].fidelity is Fidelity.EXACT
    assert "asl.structure.extra-wait" not in reported
    if graph == "condition":
        assert "asl.condition.guard" not in reported and "asl.condition.guards" not in reported
        message = reported["asl.condition.exact"].message
        assert "skipped when True: 'f'; False: 'e', 'g'" in message
        return
    assert "critical path of 2 units, where the series-parallel lowering takes 2" in (
        reported["asl.schedule.exact"].message
    )


def test_cloudformation_lets_the_parent_start_the_runner_and_the_runner_follow_the_others(
    tmp_path: Path,
) -> None:
    template = json.loads(
        pipeglot.translate(_n_graph(), write="asl-cloudformation", name="n", dag_lowering="exact")
    )
    resources = template["Resources"]
    assert resources["StateMachineRunner"]["Properties"]["StateMachineName"] == {
        "Fn::Sub": "${StateMachineName}-Runner"
    }
    substituted = resources["StateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert substituted == {"Runner": {"Ref": "StateMachineRunner"}}
    policy = resources["StateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    granted = {}
    for statement in policy["Statement"]:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            granted[action] = json.dumps(statement["Resource"])
    assert granted["states:StartExecution"].endswith('stateMachine:${StateMachineName}-Runner"}')
    assert 'execution:${StateMachineName}-*"' in granted["states:DescribeExecution"]
    linter = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert linter is not None
    path = tmp_path / "exact.json"
    path.write_text(json.dumps(template))
    result = subprocess.run([linter, str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_flag_and_a_wrong_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeglot.cli import main

    source = tmp_path / "n.json"
    source.write_text(_n_graph())
    out = tmp_path / "machines"
    out.mkdir()
    command = ["translate", str(source), "--to", "asl", "-o", str(out)]
    assert main([*command, "--dag-lowering", "exact"]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["Main.json", "Runner.json"]
    with pytest.raises(SystemExit) as stopped:
        main([*command, "--dag-lowering", "fastest"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "--dag-lowering: invalid choice: 'fastest'" in error and "Traceback" not in error
    with pytest.raises(pipeglot.UsageError, match="--dag-lowering must be one of"):
        pipeglot.translate(_n_graph(), write="asl", dag_lowering="fastest")


def test_a_pipeline_too_large_for_one_runner_gets_the_split_default_lowering() -> None:
    """The runner holds every step's states: for 300 generated steps it is about 1.5 MB, over
    Step Functions' 1 MB, so the series-parallel lowering is written, split into children,
    and the ledger says why."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from generate import pipeline

    ledger = Diagnostics()
    document = _translate("exact", ledger, json.dumps(pipeline(300)))
    machines = document["StateMachines"]
    assert "Runner" not in machines and len(machines) > 2
    # its own code: ``pipeglot compare`` reads asl.schedule.exact as "the exact schedule ran"
    assert "asl.schedule.exact" not in {d.code for d in ledger}
    [fallback] = [d for d in ledger if d.code == "asl.schedule.exact-too-large"]
    assert fallback.fidelity is Fidelity.APPROXIMATED
    assert "'Runner' is " in fallback.message and "series-parallel lowering is written" in (
        fallback.message
    )
    codes = {d.code for d in ledger}
    assert {"asl.limit.split", "asl.schedule.makespan"} <= codes
    assert "asl.limit.definition-size" not in codes
