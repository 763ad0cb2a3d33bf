"""Pipelines too large for one state machine: a parent and child machines.

The split is checked four ways: every machine of an 8,000-step pipeline is under the limits
and passes statelint and asl-validator; a split machine deployed with ``pipeglot deploy`` runs on
moto's Step Functions engine (children started with ``states:startExecution.sync:2``), results
flowing from one child to the next; a generated pipeline of processing jobs, Conditions on
their reports and registrations, split into 17 machines by a small budget, runs end to end on
moto (``benchmarks/asl_moto_scale.py``, which also runs the 8,000 steps); and the
CloudFormation template holds every machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ROOT, require, require_module
from test_asl import _asl_validator, all_states
from test_asl_moto import REGION, SFN_ROLE, aws  # noqa: F401 (the moto fixture)

import pipeglot
from pipeglot.backends.asl import machine, split
from pipeglot.deploy import deploy
from pipeglot.diagnostics import Diagnostics, Fidelity

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import pipeline

START_CHILD = "arn:aws:states:::states:startExecution.sync:2"


def _model(name: str, environment: dict[str, Any]) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Model",
        "Arguments": {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "PrimaryContainer": {
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1",
                "Environment": environment,
            },
        },
    }


def _models_pipeline() -> dict[str, Any]:
    """Two chains of models after a first one, joined by a last one, then a Condition."""
    run = {"Get": "Execution.PipelineExecutionId"}
    steps = [_model("M0", {"RUN": run})]
    for chain in ("A", "B"):
        previous = "M0"
        for i in range(4):
            name = f"{chain}{i}"
            steps.append(_model(name, {"RUN": run, "PREV": {"Get": f"Steps.{previous}.ModelName"}}))
            previous = name
    steps.append(
        _model("Join", {"A": {"Get": "Steps.A3.ModelName"}, "B": {"Get": "Steps.B3.ModelName"}})
    )
    gate = {
        "Name": "Gate",
        "Type": "Condition",
        "DependsOn": ["Join"],
        "Arguments": {
            "Conditions": [
                {"Type": "Equals", "LeftValue": {"Get": "Parameters.Serve"}, "RightValue": True}
            ],
            "IfSteps": [_model("Serve", {"JOINED": {"Get": "Steps.Join.ModelName"}})],
            "ElseSteps": [],
        },
    }
    return {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Serve", "Type": "Boolean", "DefaultValue": True}],
        "Steps": [*steps, gate],
    }


def _split_document(monkeypatch: pytest.MonkeyPatch, source: dict[str, Any]) -> dict[str, Any]:
    # A small budget splits this small pipeline the way a budget of 1 MB splits a huge one.
    monkeypatch.setattr(machine, "DEFAULT_BUDGET", split.Budget(4000, 40))
    text = pipeglot.translate(json.dumps(source), write="asl", name="models")
    return json.loads(text)


def _moto_start_execution_in_boto_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """TEST-ONLY: moto 5.2 hands the integration's Parameters (StateMachineArn, Input, Name:
    the names AWS documents for ``states:startExecution``) to boto3 unchanged, which wants
    stateMachineArn, input, name, and reads boto3's answer (executionArn) as ExecutionArn.
    Rename both ways, as Step Functions does."""
    service = require_module(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
        "state_task_service_sfn"
    )
    sfn_task = service.StateTaskServiceSfn  # type: ignore[attr-defined]
    original = sfn_task._eval_service_task

    def renamed(self: Any, env: Any, **arguments: Any) -> None:
        given = arguments["normalised_parameters"]
        arguments["normalised_parameters"] = {k[0].lower() + k[1:]: v for k, v in given.items()}
        original(self, env, **arguments)
        answer = env.stack.pop()
        env.stack.append({k[0].upper() + k[1:]: v for k, v in answer.items()})

    monkeypatch.setattr(sfn_task, "_eval_service_task", renamed)
    build_resolver = sfn_task._build_sync2_resolver

    def pascal_resolver(self: Any, *args: Any, **kwargs: Any) -> Any:
        resolve = build_resolver(self, *args, **kwargs)

        def resolved() -> Any:
            answer = resolve()
            if isinstance(answer, dict):
                return {k[0].upper() + k[1:]: v for k, v in answer.items()}
            return answer

        return resolved

    monkeypatch.setattr(sfn_task, "_build_sync2_resolver", pascal_resolver)


def test_split_pipeline_runs_on_moto_with_results_flowing_between_children(
    aws: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _moto_start_execution_in_boto_case(monkeypatch)
    source = _models_pipeline()
    document = _split_document(monkeypatch, source)
    machines = document["StateMachines"]
    assert len(machines) >= 4 and list(machines)[-1] == document["Parent"] == "Main"
    workflow = pipeglot.load(json.dumps(source), name="models")
    lines: list[str] = []
    deploy(workflow, to="stepfunctions", name="models", role_arn=SFN_ROLE, say=lines.append)
    assert len(lines) == len(machines) and all(line.startswith("created") for line in lines)
    sfn = aws.client("stepfunctions", region_name=REGION)
    arns = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    assert set(arns) == {"models", *(f"models-{key}" for key in machines if key != "Main")}

    execution = sfn.start_execution(stateMachineArn=arns["models"], name="run-1", input="{}")
    for _ in range(600):
        result = sfn.describe_execution(executionArn=execution["executionArn"])
        if result["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert result["status"] == "SUCCEEDED", (result.get("error"), result.get("cause"))
    sagemaker = aws.client("sagemaker", region_name=REGION)
    models = {}
    for summary in sagemaker.list_models(MaxResults=100)["Models"]:
        described = sagemaker.describe_model(ModelName=summary["ModelName"])
        models[summary["ModelName"].split("-")[0]] = described["PrimaryContainer"]["Environment"]
    assert sorted(models) == sorted(
        ["m0", "join", "serve", *(f"{c}{i}" for c in "ab" for i in range(4))]
    )
    by_name = {
        m["ModelName"].split("-")[0]: m["ModelName"] for m in sagemaker.list_models()["Models"]
    }
    # the execution's identity is the parent's, in every child
    assert {env["RUN"] for key, env in models.items() if "RUN" in env} == {"run-1"}
    # each model read the name its predecessor's step created, across machines
    assert models["a3"]["PREV"] == by_name["a2"] and models["b0"]["PREV"] == by_name["m0"]
    assert models["join"] == {"A": by_name["a3"], "B": by_name["b3"]}
    assert models["serve"] == {"JOINED": by_name["join"]}


def test_8000_steps_split_into_valid_machines_under_the_limits(tmp_path: Path) -> None:
    linter = require_module("statelint.linter").Linter  # type: ignore[attr-defined]
    source = pipeline(8000)
    ledger = Diagnostics()
    document = json.loads(
        pipeglot.translate(
            json.dumps(source), write="asl", unsupported="ignore", diagnostics=ledger
        )
    )
    machines = document["StateMachines"]
    assert "asl.limit.split" in {d.code for d in ledger}
    assert "asl.limit.definition-size" not in {d.code for d in ledger}
    # its 1.27 MB of kept output URIs are computed from the requests: no payload over 256 KB
    assert "asl.limit.payload-echo" in {d.code for d in ledger}
    assert "asl.limit.payload" not in {d.code for d in ledger}
    seen: dict[str, str] = {}
    paths = []
    for key, definition in machines.items():
        assert len(orjson.dumps(definition)) <= machine.DEFINITION_LIMIT, key
        assert linter.validate(definition) == [], key
        states = all_states(definition["States"])
        for name, state in states.items():
            assert name not in seen, f"{name} in {key} and {seen.get(name)}"
            seen[name] = key
            if state.get("Resource") == START_CHILD:
                child = state["Parameters"]["StateMachineArn"][2:-1]
                assert list(machines).index(child) < list(machines).index(key)  # deploy order
        paths.append(tmp_path / f"{key}.json")
        paths[-1].write_bytes(orjson.dumps(definition))
    assert {step["Name"] for step in _all_steps(source["Steps"])} <= set(seen)
    # asl-validator takes about as long as the rest of the suite over all 22 MB: it checks the
    # parent and the two largest children (every child's states are of the same few shapes).
    largest = sorted(paths[:-1], key=lambda p: -p.stat().st_size)[:2]
    command = [_asl_validator()]
    for path in [paths[-1], *largest]:
        command += ["--json-path", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_a_generated_pipeline_split_into_children_runs_end_to_end_on_moto() -> None:
    """``benchmarks/asl_moto_scale.py`` at a size the suite affords (its 8,000-step run is in the
    README): every machine created in deploy order, one execution of the parent, every job and
    registration done, each job reading the outputs its step names across child machines."""
    import asl_moto_scale  # imports this module's moto adaptation: imported here, not above

    result = asl_moto_scale.run(60, split.Budget(16000, 160), limit=120)
    print(result)
    assert result.status == "Succeeded", result.error
    assert result.machines >= 10
    assert result.expected_jobs == 57 and result.expected_packages == 1
    assert result.processing_jobs == result.jobs_with_their_inputs == result.expected_jobs
    assert result.model_packages == result.expected_packages


def test_output_uris_computed_from_the_requests_run_on_moto(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pipeline whose kept results would make a large document (8,000 generated steps keep
    1.27 MB) computes the output S3 URIs its steps read from the producers' requests, which
    SageMaker echoes. Forced at 60 steps: nothing is kept, and every job of the run, across 17
    child machines, reads exactly the outputs its step names."""
    import asl_moto_scale

    monkeypatch.setattr(machine, "ECHO_ABOVE", 0)
    ledger = Diagnostics()
    text = pipeglot.translate(json.dumps(pipeline(60)), write="asl", diagnostics=ledger)
    assert "asl.limit.payload-echo" in {d.code for d in ledger}
    assert "ProcessingOutputConfig.$" not in text  # no result kept for a later step
    result = asl_moto_scale.run(60, split.Budget(16000, 160), limit=120)
    assert result.status == "Succeeded", result.error
    assert result.machines >= 10
    assert result.processing_jobs == result.jobs_with_their_inputs == result.expected_jobs == 57
    assert result.model_packages == result.expected_packages == 1


def _all_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for step in steps:
        found.append(step)
        arguments = step.get("Arguments", {})
        if step["Type"] == "Condition":
            found += _all_steps(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))
    return found


def test_a_step_too_large_for_any_machine_is_unsupported() -> None:
    step = _model("Huge", {"BLOB": "x" * (1100 * 1024)})
    ledger = Diagnostics()
    pipeglot.translate(
        json.dumps({"Version": "2020-12-01", "Steps": [step]}),
        write="asl",
        unsupported="ignore",
        diagnostics=ledger,
    )
    assert "asl.limit.definition-size" in {d.code for d in ledger.of(Fidelity.UNSUPPORTED)}


def _processing_with_outputs(name: str, outputs: int, reads: str | None) -> dict[str, Any]:
    """A processing step with ``outputs`` outputs, reading the first output of ``reads``: its
    LocalPath, a described field the machine keeps (it computes only output S3 URIs from the
    request), so the document holds the whole ProcessingOutputConfig."""
    configured = [
        {
            "OutputName": f"out{i}",
            "S3Output": {
                "S3Uri": f"s3://bucket/{name}/output-number-{i:04d}",
                "LocalPath": f"/opt/ml/processing/{name}/output/{i}",
                "S3UploadMode": "EndOfJob",
            },
        }
        for i in range(outputs)
    ]
    inputs = []
    if reads is not None:
        uri = {"Get": f"Steps.{reads}.ProcessingOutputConfig.Outputs['out0'].S3Output.LocalPath"}
        inputs = [{"InputName": "in", "S3Input": {"S3Uri": uri, "LocalPath": "/opt/in"}}]
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": "ml.m5.large",
                    "InstanceCount": 1,
                    "VolumeSizeInGB": 30,
                }
            },
            "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/p:1"},
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "ProcessingInputs": inputs,
            "ProcessingOutputConfig": {"Outputs": configured},
        },
    }


def test_a_document_too_large_for_a_child_boundary_names_the_child_and_the_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each step keeps its whole ProcessingOutputConfig (about 60 KB here) for the next one:
    the third child receives two of them, and the startExecution.sync:2 result returns its
    input and its output, three of them more: over 256 KB."""
    monkeypatch.setattr(machine, "DEFAULT_BUDGET", split.Budget(120_000, 40))
    steps = [
        _processing_with_outputs("P1", 400, None),
        _processing_with_outputs("P2", 400, "P1"),
        _processing_with_outputs("P3", 400, "P2"),
        _processing_with_outputs("P4", 400, "P3"),
    ]
    ledger = Diagnostics()
    document = json.loads(
        pipeglot.translate(
            json.dumps({"Version": "2020-12-01", "Steps": steps}),
            write="asl",
            unsupported="ignore",
            diagnostics=ledger,
        )
    )
    children = [key for key in document["StateMachines"] if key != "Main"]
    assert len(children) >= 3
    [payload] = [d for d in ledger if d.code == "asl.limit.payload"]
    kept = len(json.dumps(steps[0]["Arguments"]["ProcessingOutputConfig"]))
    message = payload.message
    # the first boundary over the limit, with what it receives and what comes back
    first = next(key for key in children if f"{key!r} (steps 'P" in message)
    over = int(message.split("receives about ")[1].split(" bytes")[0].replace(",", ""))
    back = int(message.split("brings it back")[1].split("about ")[1].split(";")[0].replace(",", ""))
    steps_before = children.index(first)
    assert over == pytest.approx(steps_before * kept, rel=0.01)
    assert back == pytest.approx((2 * steps_before + 1) * kept, rel=0.01) and back > 262_144
    assert "Step Functions fails a state whose input or result exceeds 262,144 bytes" in message


def _wide_pipeline(guarded: bool) -> list[dict[str, Any]]:
    """P1 (an 80 KB ProcessingOutputConfig that every R reads), sixteen steps R0..R15 reading
    it side by side, and Join reading every R's output. ``guarded``: the R steps sit in the
    If branch of a Condition and depend on a step after it outside its branches, so the
    Condition cannot route into its branches and they have guards."""
    steps = [_processing_with_outputs("P1", 500, None)]
    wide = [_processing_with_outputs(f"R{i}", 1, "P1") for i in range(16)]
    join = _processing_with_outputs("Join", 1, "R0")
    for i in range(1, 16):
        uri = {"Get": f"Steps.R{i}.ProcessingOutputConfig.Outputs['out0'].S3Output.LocalPath"}
        inputs = join["Arguments"]["ProcessingInputs"]
        inputs.append({"InputName": f"in{i}", "S3Input": {"S3Uri": uri, "LocalPath": f"/in{i}"}})
    if not guarded:
        return [*steps, *wide, join]
    rule = {"Type": "Equals", "LeftValue": {"Get": "Parameters.Run"}, "RightValue": True}
    after = {**_processing_with_outputs("After", 1, None), "DependsOn": ["Gate"]}
    for step in wide:
        step["DependsOn"] = ["After"]
    gate = {
        "Name": "Gate",
        "Type": "Condition",
        "DependsOn": ["P1"],
        "Arguments": {"Conditions": [rule], "IfSteps": wide, "ElseSteps": []},
    }
    return [*steps, gate, after, join]


def _run_on_moto(aws: Any, text: str) -> list[dict[str, Any]]:  # noqa: F811
    """Create the machine, run it once, and return its history once it has ended."""
    from test_asl_moto import for_moto

    sfn = aws.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name="wide", definition=json.dumps(for_moto(json.loads(text))), roleArn=SFN_ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="run-1")["executionArn"]
    for _ in range(600):
        events = sfn.get_execution_history(executionArn=execution)["events"]
        if events and events[-1]["type"] in ("ExecutionFailed", "ExecutionSucceeded"):
            return events
        time.sleep(0.05)
    raise AssertionError("the execution did not end within 30 s")


def _translated(steps: list[dict[str, Any]], ledger: Diagnostics) -> str:
    parameters = [{"Name": "Run", "Type": "Boolean", "DefaultValue": True}]
    source = {"Version": "2020-12-01", "Parameters": parameters, "Steps": steps}
    return pipeglot.translate(json.dumps(source), write="asl", diagnostics=ledger)


def test_a_wide_parallel_state_keeps_one_copy_of_the_document_and_runs_on_moto(
    aws: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The smallest pipeline that failed before: merging the sixteen branches' documents five at
    a time made the Parallel state output four copies of P1's 80 KB result, 320 KB, and moto's
    engine failed it with States.DataLimitExceeded. The state now keeps the first branch's
    document and selects only the other branches' results Join reads: every state's output in
    the history stays about one copy of the document, and Join reads all sixteen outputs."""
    steps = _wide_pipeline(guarded=False)
    ledger = Diagnostics()
    text = _translated(steps, ledger)
    assert "asl.limit.payload" not in {d.code for d in ledger}
    [wide] = [s for s in json.loads(text)["States"].values() if len(s.get("Branches", ())) == 16]
    assert wide["ResultSelector"]["Doc.$"] == "$[0]"
    assert set(wide["ResultSelector"]["New"]) == {f"R{i}.$" for i in range(1, 16)}
    linter = require_module("statelint.linter").Linter  # type: ignore[attr-defined]
    assert linter.validate(json.loads(text)) == []
    path = tmp_path / "wide.json"
    path.write_text(text)
    checked = subprocess.run([_asl_validator(), "--json-path", str(path)], capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    events = _run_on_moto(aws, text)
    assert events[-1]["type"] == "ExecutionSucceeded", str(events[-1])[:1500]
    config = steps[0]["Arguments"]["ProcessingOutputConfig"]
    document = len(json.dumps(config, separators=(",", ":")))  # P1's result, most of it
    outputs = [
        len(e["stateExitedEventDetails"]["output"])
        for e in events
        if "stateExitedEventDetails" in e
    ]
    assert document < max(outputs) < 1.2 * document  # one copy (it was four)
    sagemaker = aws.client("sagemaker", region_name=REGION)
    [join] = [
        j["ProcessingJobName"]
        for j in sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
        if j["ProcessingJobName"].startswith("join-")
    ]
    inputs = sagemaker.describe_processing_job(ProcessingJobName=join)["ProcessingInputs"]
    assert [i["S3Input"]["S3Uri"] for i in inputs] == [
        f"/opt/ml/processing/R{i}/output/0" for i in range(16)
    ]


def test_a_wide_parallel_of_guarded_steps_is_reported_and_fails_on_moto_as_predicted(
    aws: Any,  # noqa: F811
) -> None:
    """Guarded steps may leave no result, and selecting a missing key fails a state, so their
    Parallel still merges whole documents five at a time: four copies of the document, 320 KB.
    The ledger says so before the run, and moto's engine fails the state as Step Functions
    does."""
    steps = _wide_pipeline(guarded=True)
    ledger = Diagnostics()
    text = _translated(steps, ledger)
    [payload] = [d for d in ledger if d.code == "asl.limit.payload"]
    assert "the Parallel state of the 16 branches starting with 'R0', 'R1', 'R2' ..." in (
        payload.message
    )
    wide = steps[1]["Arguments"]["IfSteps"]
    kept = [len(json.dumps(s["Arguments"]["ProcessingOutputConfig"])) for s in [steps[0], *wide]]
    estimate = int(
        payload.message.split("copies of the document, about ")[1].split(" ")[0].replace(",", "")
    )
    assert "outputs 4 copies" in payload.message
    assert estimate == pytest.approx(4 * sum(kept), rel=0.02)
    events = _run_on_moto(aws, text)
    failed = events[-1].get("executionFailedEventDetails", {})
    assert events[-1]["type"] == "ExecutionFailed"
    assert "States.DataLimitExceeded" in failed.get("error", "") + failed.get("cause", "")


def test_cloudformation_holds_every_machine_and_lets_the_parent_run_the_children(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(machine, "DEFAULT_BUDGET", split.Budget(4000, 40))
    template = json.loads(
        pipeglot.translate(json.dumps(_models_pipeline()), write="asl-cloudformation")
    )
    resources = template["Resources"]
    children = [k for k in resources if k.startswith("StateMachinePart")]
    assert len(children) >= 3
    substituted = resources["StateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert all(value == {"Ref": f"StateMachine{key}"} for key, value in substituted.items())
    policy = resources["StateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    actions = set()
    for statement in policy["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    assert {"states:StartExecution", "states:DescribeExecution", "states:StopExecution"} <= actions
    linter = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    require(linter is not None, "cfn-lint")
    path = tmp_path / "split.json"
    path.write_text(json.dumps(template))
    result = subprocess.run([str(linter), str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_output_folder_gets_one_file_per_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pipeglot.cli import main

    source = tmp_path / "models.json"
    source.write_text(json.dumps(_models_pipeline()))
    document = _split_document(monkeypatch, _models_pipeline())
    out = tmp_path / "machines"
    out.mkdir()
    assert main(["translate", str(source), "--to", "asl", "-o", str(out)]) == 0
    written = sorted(path.name for path in out.iterdir())
    assert written == sorted(f"{key}.json" for key in document["StateMachines"])
    command = f"Regenerate with: pipeglot translate {source} --to asl -o {out}"
    for key, machine_document in document["StateMachines"].items():
        machine = json.loads((out / f"{key}.json").read_text())
        # The CLI's Comments name the command that was run; the API's name none.
        comment, expected = machine.pop("Comment", ""), dict(machine_document)
        assert (command in comment) == (command.split(":")[0] in expected.pop("Comment", ""))
        assert machine == expected
