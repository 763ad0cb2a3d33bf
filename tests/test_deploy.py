"""pipeglot deploy: create or update a SageMaker pipeline or a Step Functions state machine,
idempotently, from any input; against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, FIXTURES, as_user_without_permissions, require_module

import pipeglot
from pipeglot.cli import main
from pipeglot.formats import WRITERS

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
OTHER_ROLE = "arn:aws:iam::123456789012:role/OtherRole"
REGION = "us-east-1"
EVERY_STEP = FIXTURES / "every-step-type.json"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto, as the default AWS account and region; yields a boto3 Session."""
    moto = require_module("moto")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with moto.mock_aws():
        import boto3

        yield boto3.session.Session(region_name=REGION)


def _deploy(*args: str) -> int:
    return main(["deploy", *args])


# --- SageMaker --------------------------------------------------------------------------------


def test_sagemaker_create_then_nothing_then_update(aws: Any, capsys: Any) -> None:
    client = aws.client("sagemaker")
    args = [str(EVERY_STEP), "--to", "sagemaker", "--name", "every-step", "--role-arn", ROLE]

    assert _deploy(*args) == 0
    assert capsys.readouterr().out.startswith("created SageMaker pipeline 'every-step' (arn:aws:")
    stored = client.describe_pipeline(PipelineName="every-step")
    assert pipeglot.load(stored["PipelineDefinition"]) == pipeglot.load(EVERY_STEP.read_text())
    assert stored["RoleArn"] == ROLE

    assert _deploy(*args) == 0  # idempotent: the second run changes nothing
    assert "is up to date" in capsys.readouterr().out
    again = client.describe_pipeline(PipelineName="every-step")
    assert again["LastModifiedTime"] == stored["LastModifiedTime"]

    args[-1] = OTHER_ROLE
    assert _deploy(*args) == 0
    assert capsys.readouterr().out.startswith("updated SageMaker pipeline 'every-step'")
    assert client.describe_pipeline(PipelineName="every-step")["RoleArn"] == OTHER_ROLE


def test_sagemaker_dry_run_sends_nothing(aws: Any, capsys: Any) -> None:
    args = [str(EVERY_STEP), "--to", "sagemaker", "--name", "dry", "--role-arn", ROLE]
    assert _deploy(*args, "--dry-run") == 0
    out = capsys.readouterr().out
    summary, requests = out.split("\n", 1)
    assert summary.startswith("dry run: would create SageMaker pipeline 'dry'")
    [request] = json.loads(requests)
    assert request["Service"] == "sagemaker" and request["Operation"] == "CreatePipeline"
    assert request["PipelineName"] == "dry" and request["RoleArn"] == ROLE
    assert len(request["ClientRequestToken"]) == 64
    assert request["PipelineDefinition"]["Steps"][0]["Name"] == "Preprocess"
    assert aws.client("sagemaker").list_pipelines()["PipelineSummaries"] == []


def test_sagemaker_copy_from_the_service(aws: Any, capsys: Any) -> None:
    """Any input: here a pipeline in the account, deployed under another name."""
    client = aws.client("sagemaker")
    client.create_pipeline(
        PipelineName="source", PipelineDefinition=EVERY_STEP.read_text(), RoleArn=ROLE
    )
    assert (
        _deploy("sagemaker://source", "--to", "sagemaker", "--name", "copy", "--role-arn", ROLE)
        == 0
    )
    copied = client.describe_pipeline(PipelineName="copy")["PipelineDefinition"]
    assert pipeglot.load(copied) == pipeglot.load(EVERY_STEP.read_text())


def test_sagemaker_from_an_sdk_script(aws: Any, capsys: Any) -> None:
    """The project template's script, run offline, then deployed to the (moto) account."""
    require_module("sagemaker.core")
    script = EXAMPLES / "abalone-project" / "pipelines" / "abalone" / "pipeline.py"
    assert _deploy(str(script), "--to", "sagemaker", "--name", "abalone", "--role-arn", ROLE) == 0
    stored = aws.client("sagemaker").describe_pipeline(PipelineName="abalone")
    names = [step["Name"] for step in json.loads(stored["PipelineDefinition"])["Steps"]]
    assert names[:3] == ["PreprocessAbaloneData", "TrainAbaloneModel", "EvaluateAbaloneModel"]


def test_access_denied_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    code = as_user_without_permissions(
        monkeypatch,
        REGION,
        lambda: _deploy(str(EVERY_STEP), "--to", "sagemaker", "--name", "x", "--role-arn", ROLE),
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "looking up SageMaker pipeline 'x': access denied" in err
    assert "Traceback" not in err


def test_unknown_target_is_a_usage_error(capsys: Any) -> None:
    with pytest.raises(SystemExit) as raised:
        _deploy(str(EVERY_STEP), "--to", "lambda", "--name", "x", "--role-arn", ROLE)
    assert raised.value.code == 2


def test_too_large_a_definition(aws: Any, tmp_path: Path, capsys: Any) -> None:
    definition = json.loads(EVERY_STEP.read_text())
    definition["Steps"][0]["Description"] = "x" * (1024 * 1024)
    big = tmp_path / "big.json"
    big.write_text(json.dumps(definition))
    assert _deploy(str(big), "--to", "sagemaker", "--name", "big", "--role-arn", ROLE) == 2
    assert "over the 1 MB" in capsys.readouterr().err


# --- Step Functions ---------------------------------------------------------------------------


def _require_asl() -> None:
    if "asl" not in WRITERS:
        pytest.skip("the asl writer (backends/asl) is not registered in pipeglot.formats yet")


def test_stepfunctions_create_then_nothing_then_update(aws: Any, capsys: Any) -> None:
    _require_asl()
    client = aws.client("stepfunctions")
    # Step types ASL cannot run become visible placeholders (--unsupported warn).
    args = [
        str(EVERY_STEP),
        "--to",
        "stepfunctions",
        "--name",
        "every-step",
        "--role-arn",
        ROLE,
        "--unsupported",
        "warn",
    ]

    assert _deploy(*args) == 0
    out = capsys.readouterr().out
    assert out.startswith("created Step Functions state machine 'every-step' (arn:aws:states:")
    [machine] = client.list_state_machines()["stateMachines"]
    stored = client.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    workflow = pipeglot.load(EVERY_STEP.read_bytes(), name="every-step-type")
    expected = pipeglot.dump(workflow, write="asl", unsupported="ignore")
    assert json.loads(stored["definition"]) == json.loads(expected)
    assert stored["roleArn"] == ROLE

    assert _deploy(*args) == 0
    assert "is up to date" in capsys.readouterr().out

    args[args.index(ROLE)] = OTHER_ROLE
    assert _deploy(*args) == 0
    assert capsys.readouterr().out.startswith("updated Step Functions state machine 'every-step'")
    updated = client.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    assert updated["roleArn"] == OTHER_ROLE


def test_stepfunctions_dry_run(aws: Any, capsys: Any) -> None:
    _require_asl()
    args = [str(EVERY_STEP), "--to", "stepfunctions", "--name", "every-step", "--role-arn", ROLE]
    assert _deploy(*args, "--unsupported", "ignore", "--dry-run") == 0
    [request] = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert request["Operation"] == "CreateStateMachine"
    assert request["name"] == "every-step" and request["type"] == "STANDARD"
    assert "States" in request["definition"]
    assert aws.client("stepfunctions").list_state_machines()["stateMachines"] == []


def test_stepfunctions_exact_lowering_creates_the_runner_first(
    aws: Any, tmp_path: Path, capsys: Any
) -> None:
    """``--dag-lowering exact``: the runner machine is created as NAME-Runner, then the parent
    with the runner's ARN in each of its branches; deploying again changes nothing."""
    from test_asl_exact import _n_graph

    source = tmp_path / "n.json"
    source.write_text(_n_graph())
    args = [str(source), "--to", "stepfunctions", "--name", "n", "--role-arn", ROLE]
    assert _deploy(*args, "--dag-lowering", "exact") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "created Step Functions state machine 'n-Runner'",
        "created Step Functions state machine 'n'",
    ]
    client = aws.client("stepfunctions")
    arns = {m["name"]: m["stateMachineArn"] for m in client.list_state_machines()["stateMachines"]}
    assert set(arns) == {"n", "n-Runner"}
    stored = {
        name: json.loads(client.describe_state_machine(stateMachineArn=arn)["definition"])
        for name, arn in arns.items()
    }
    expected = json.loads(
        pipeglot.translate(_n_graph(), write="asl", name="n", dag_lowering="exact")
    )["StateMachines"]
    assert stored["n-Runner"] == expected["Runner"]  # the machine tested on moto's engine
    started = [
        state["Parameters"]["StateMachineArn"]
        for branch in stored["n"]["States"]["pipeglot.Steps"]["Branches"]
        for state in branch["States"].values()
        if state.get("Resource") == "arn:aws:states:::states:startExecution.sync:2"
    ]
    assert started == [arns["n-Runner"]] * 4
    assert json.dumps(stored["n"]).replace(arns["n-Runner"], "${Runner}") == json.dumps(
        expected["Main"]
    )

    assert _deploy(*args, "--dag-lowering", "exact") == 0
    assert capsys.readouterr().out.count("is up to date") == 2
    # without the flag, the default lowering: the parent is updated to the one machine
    assert _deploy(*args) == 0
    assert capsys.readouterr().out.startswith("updated Step Functions state machine 'n'")


def test_exact_lowering_through_the_api_and_for_the_wrong_target(
    aws: Any, tmp_path: Path, capsys: Any
) -> None:
    from test_asl_exact import _n_graph

    from pipeglot.deploy import deploy

    workflow = pipeglot.load(_n_graph(), name="n")
    lines: list[str] = []
    requests = deploy(
        workflow,
        to="stepfunctions",
        name="n",
        role_arn=ROLE,
        dry_run=True,
        say=lines.append,
        dag_lowering="exact",
    )
    assert [(r.operation, r.parameters["name"]) for r in requests] == [
        ("CreateStateMachine", "n-Runner"),
        ("CreateStateMachine", "n"),
    ]
    assert aws.client("stepfunctions").list_state_machines()["stateMachines"] == []
    with pytest.raises(pipeglot.UsageError, match="must be one of series-parallel, exact"):
        deploy(workflow, to="stepfunctions", name="n", role_arn=ROLE, dag_lowering="fastest")
    source = tmp_path / "n.json"
    source.write_text(_n_graph())
    args = [str(source), "--to", "sagemaker", "--name", "n", "--role-arn", ROLE]
    assert _deploy(*args, "--dag-lowering", "exact") == 2
    error = capsys.readouterr().err
    assert "--dag-lowering applies to --to stepfunctions, not sagemaker" in error
    assert "Traceback" not in error
    assert aws.client("sagemaker").list_pipelines()["PipelineSummaries"] == []
