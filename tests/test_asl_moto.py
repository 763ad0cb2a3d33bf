"""Generated state machines executed on moto's Step Functions engine.

moto runs JSONPath state machines (``execute_state_machine``) and forwards service
integrations to its own SageMaker and S3. Two things it cannot do are adapted HERE, IN TEST
CODE ONLY, never in the backend:

- ``.sync`` SageMaker integrations: each ``createXJob.sync`` Task is rewritten into the
  request/response ``createXJob`` followed by an ``aws-sdk:sagemaker:describeXJob`` Task that
  keeps the original ResultSelector/ResultPath (``for_moto`` below). moto's jobs complete at once.
- responses of ``aws-sdk`` calls: moto hands back S3's ``Body`` as a stream and timestamps as
  datetime objects; ``_plain_sdk_results`` turns them into the string and ISO text that Step
  Functions itself returns.
- a path naming one field inside an array item (``$[1].key``, as a wide Parallel state's
  ResultSelector writes): moto returns it wrapped in a one-item list, Step Functions returns the
  value (``_definite_paths_read_as_step_functions`` below).
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, require_module

import pipeglot

moto = require_module("moto")
boto3 = require_module("boto3")

REGION = "us-east-1"
BUCKET = "pipeglot-e2e"
SFN_ROLE = "arn:aws:iam::123456789012:role/StepFunctions"


def for_moto(definition: dict[str, Any]) -> dict[str, Any]:
    """TEST-ONLY: stand in for each ``.sync`` SageMaker job with create + describe. A job name
    drawn in the Task itself (``States.UUID()``) is drawn once, in a Pass before the create
    call, so that the describe call reads the same name."""
    definition = copy.deepcopy(definition)

    def rewrite(machine: dict[str, Any]) -> None:
        states = machine["States"]
        for name, state in list(states.items()):
            for branch in state.get("Branches", ()):
                rewrite(branch)
            resource = state.get("Resource", "")
            if not (
                resource.startswith("arn:aws:states:::sagemaker:create")
                and resource.endswith(".sync")
            ):
                continue
            noun = resource.split(":")[-1].removesuffix(".sync").removeprefix("create")
            drawn = state["Parameters"].get(f"{noun}Name.$", "")
            if "States.UUID()" in drawn:
                _draw_name_first(machine, name, f"{noun}Name.$")
            describe_name = f"test.Describe.{name}"
            describe: dict[str, Any] = {
                "Type": "Task",
                "Resource": f"arn:aws:states:::aws-sdk:sagemaker:describe{noun}",
                "Parameters": {
                    key: value
                    for key, value in state["Parameters"].items()
                    if key.removesuffix(".$") == f"{noun}Name"
                },
            }
            for key in ("ResultSelector", "ResultPath", "Next", "End"):
                if key in state:
                    describe[key] = state.pop(key)
            state.update(
                Resource=resource.removesuffix(".sync"), ResultPath=None, Next=describe_name
            )
            states[describe_name] = describe

    rewrite(definition)
    return definition


def _draw_name_first(machine: dict[str, Any], name: str, field: str) -> None:
    """TEST-ONLY: compute the Task's name field in a Pass entered instead of the Task (a Pass
    has no retry count: the first attempt's, 0, stands in for it)."""
    states = machine["States"]
    drawn = f"test.Name.{name}"
    expression = states[name]["Parameters"][field].replace("$$.State.RetryCount", "0")
    states[drawn] = {
        "Type": "Pass",
        "Parameters": {"Name.$": expression},
        "ResultPath": "$.TestName",
        "Next": name,
    }
    states[name]["Parameters"][field] = "$.TestName.Name"
    if machine["StartAt"] == name:
        machine["StartAt"] = drawn
    for other, state in states.items():
        targets = [state, *state.get("Choices", ()), *state.get("Catch", ())]
        for holder in targets:
            for key in ("Next", "Default"):
                if holder.get(key) == name and other != drawn:
                    holder[key] = drawn


def _plain(value: Any) -> Any:
    from botocore.response import StreamingBody

    if isinstance(value, StreamingBody):
        return value.read().decode()
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _definite_paths_read_as_step_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    """TEST-ONLY: moto 5.2 wraps the value of a path whose match sits in an array item
    (``$[1].key``) in a one-item list, and unwraps only paths ending in ``[n]``. In Step Functions
    a path without a filter, wildcard, slice or ``..`` names one node and reads as its value."""
    json_path = require_module("moto.stepfunctions.parser.asl.utils.json_path")
    ends_in_index = json_path._is_singleton_array_access  # type: ignore[attr-defined]

    def names_one_node(path: str) -> bool:
        return ends_in_index(path) or not re.search(r"[*?:,]|\.\.", path)

    monkeypatch.setattr(json_path, "_is_singleton_array_access", names_one_node)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto with Step Functions execution enabled; TEST-ONLY plain aws-sdk results."""
    service = require_module(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
        "state_task_service_aws_sdk"
    )
    sdk_task = service.StateTaskServiceAwsSdk  # type: ignore[attr-defined]
    original = sdk_task._eval_service_task

    def plain_results(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        env.stack.append(_plain(env.stack.pop()))

    monkeypatch.setattr(sdk_task, "_eval_service_task", plain_results)
    _definite_paths_read_as_step_functions(monkeypatch)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield boto3


class Machine:
    def __init__(self, aws: Any, fixture: Path) -> None:
        text = pipeglot.translate(fixture.read_bytes(), write="asl", name=fixture.stem)
        self.text = text
        self.sfn = aws.client("stepfunctions", region_name=REGION)
        self.arn = self.sfn.create_state_machine(
            name=fixture.stem, definition=json.dumps(for_moto(json.loads(text))), roleArn=SFN_ROLE
        )["stateMachineArn"]

    def run(
        self, name: str, parameters: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        execution = self.sfn.start_execution(
            stateMachineArn=self.arn, name=name, input=json.dumps(parameters)
        )["executionArn"]
        for _ in range(400):
            result = self.sfn.describe_execution(executionArn=execution)
            if result["status"] != "RUNNING":
                break
            time.sleep(0.05)
        events = self.sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        return result, events


def entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


def scheduled(events: list[dict[str, Any]], resource_type: str) -> list[dict[str, Any]]:
    return [
        json.loads(e["taskScheduledEventDetails"]["parameters"])
        for e in events
        if e.get("taskScheduledEventDetails", {}).get("resource") == resource_type
    ]


def put_report(aws: Any, execution: str, accuracy: float) -> None:
    body = json.dumps({"metrics": {"accuracy": {"value": accuracy}}})
    key = f"{execution}/evaluation/evaluation.json"
    aws.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=body)


JSONGET = FIXTURES / "asl" / "jsonget-condition.json"
SKIPS = FIXTURES / "asl" / "skip-semantics.json"


def test_jsonget_condition_true_runs_the_if_branch(aws: Any) -> None:
    machine = Machine(aws, JSONGET)
    put_report(aws, "good-run", 0.9)
    result, events = machine.run("good-run", {"InputUri": "s3://in/data"})
    assert result["status"] == "SUCCEEDED", result
    states = entered(events)
    assert "CreateModel" in states and "AccuracyTooLow" not in states
    # a route: the Choice leads straight into the branch, nothing records an outcome
    assert states.index("CheckAccuracy") + 1 == states.index("CreateModel")
    assert "CheckAccuracy" not in json.loads(result["output"])
    models = aws.client("sagemaker", region_name=REGION).list_models()["Models"]
    assert [m["ModelName"].startswith("createmodel-") for m in models] == [True]


def test_jsonget_condition_false_reaches_fail_with_its_message(aws: Any) -> None:
    machine = Machine(aws, JSONGET)
    put_report(aws, "bad-run", 0.5)
    result, events = machine.run("bad-run", {"InputUri": "s3://in/data"})
    assert result["status"] == "FAILED"
    assert result["error"] == "FailStep"
    assert result["cause"] == "Accuracy below 0.8 in run bad-run"
    assert "CreateModel" not in entered(events)
    assert aws.client("sagemaker", region_name=REGION).list_models()["Models"] == []


def test_parameter_defaults_and_overrides(aws: Any) -> None:
    machine = Machine(aws, JSONGET)
    put_report(aws, "defaults", 0.9)
    put_report(aws, "overrides", 0.9)
    _, events = machine.run("defaults", {"InputUri": "s3://in/data"})
    (job,) = scheduled(events, "createProcessingJob")
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.large"
    assert job["ProcessingInputs"][0]["S3Input"]["S3Uri"] == "s3://in/data"
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == (
        f"s3://{BUCKET}/defaults/evaluation"
    )
    override = {
        "InputUri": "s3://in/other",
        "InstanceType": "ml.c5.xlarge",
        "AccuracyThreshold": 0.95,
    }
    result, events = machine.run("overrides", override)
    (job,) = scheduled(events, "createProcessingJob")
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.c5.xlarge"
    # 0.9 passed the default threshold; it fails the overridden one.
    assert result["status"] == "FAILED"
    assert result["cause"] == "Accuracy below 0.95 in run overrides"


def test_job_names_differ_per_execution(aws: Any) -> None:
    machine = Machine(aws, JSONGET)
    names = []
    for run in ("first", "second"):
        put_report(aws, run, 0.9)
        _, events = machine.run(run, {"InputUri": "s3://in/data"})
        (job,) = scheduled(events, "createProcessingJob")
        names.append(job["ProcessingJobName"])
    assert names[0] != names[1]
    assert all(name.startswith("evaluate-") and len(name) <= 63 for name in names)


def test_missing_required_parameter_fails_clearly(aws: Any) -> None:
    machine = Machine(aws, JSONGET)
    result, events = machine.run("no-input", {})
    assert result["status"] == "FAILED"
    assert result["error"] == "Pipeline.InvalidParameter"
    assert "InputUri must be a string (required)" in result["cause"]
    assert result["cause"].endswith(
        'The parameters were: {"AccuracyThreshold":0.8,"InstanceType":"ml.m5.large"}'
    )
    assert scheduled(events, "createProcessingJob") == []


def test_mistyped_parameter_fails_clearly(aws: Any) -> None:
    machine = Machine(aws, JSONGET)
    put_report(aws, "bad-type", 0.9)
    result, events = machine.run(
        "bad-type", {"InputUri": "s3://in/data", "AccuracyThreshold": "high"}
    )
    assert result["status"] == "FAILED"
    assert result["error"] == "Pipeline.InvalidParameter"
    assert "AccuracyThreshold must be a number (Float)" in result["cause"]
    # The Condition compares it; CheckParameters (there for InputUri) checks it with the rest,
    # before any step runs, as SageMaker checks parameters when an execution starts.
    assert scheduled(events, "createProcessingJob") == []
    assert "CreateModel" not in entered(events) and "AccuracyTooLow" not in entered(events)


def test_mistyped_compared_parameter_without_start_check_fails_at_its_condition(
    aws: Any, tmp_path: Path
) -> None:
    """With no required parameter there is no CheckParameters: the Condition's own Choice
    checks the parameter it compares, before its comparison could take the wrong branch."""
    document = json.loads(JSONGET.read_text(encoding="utf-8"))
    for parameter in document["Parameters"]:
        parameter.setdefault("DefaultValue", "s3://in/data")
    source = tmp_path / "jsonget-all-defaults.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    machine = Machine(aws, source)
    assert "pipeglot.CheckParameters" not in machine.text
    put_report(aws, "bad-type-late", 0.9)
    result, events = machine.run("bad-type-late", {"AccuracyThreshold": "high"})
    assert result["status"] == "FAILED"
    assert result["error"] == "Pipeline.InvalidParameter"
    assert "AccuracyThreshold must be a number (Float)" in result["cause"]
    assert len(scheduled(events, "createProcessingJob")) == 1  # Evaluate ran first
    assert "CreateModel" not in entered(events) and "AccuracyTooLow" not in entered(events)


@pytest.mark.parametrize("deploy", [False, True])
def test_skipped_branch_skips_its_dependents_but_not_the_rest(aws: Any, deploy: bool) -> None:
    machine = Machine(aws, SKIPS)
    result, events = machine.run(f"deploy-{str(deploy).lower()}", {"Deploy": deploy})
    assert result["status"] == "SUCCEEDED", result
    states = set(entered(events))
    assert ("ServeModel" in states) is deploy
    assert ("ServeConfig" in states) is deploy  # reads ServeModel: skipped with it
    assert "AuditModel" in states  # depends only on the Condition: always runs
    sagemaker = aws.client("sagemaker", region_name=REGION)
    models = sorted(m["ModelName"].split("-")[0] for m in sagemaker.list_models()["Models"])
    assert models == (["auditmodel", "servemodel"] if deploy else ["auditmodel"])
    configs = sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == (["pipeglot-e2e-config"] if deploy else [])


DRIFT = FIXTURES / "asl" / "drift-check-baseline.json"


@pytest.mark.parametrize("register", [True, False])
def test_drift_check_baseline_follows_register_new_baseline(aws: Any, register: bool) -> None:
    """SageMaker's rule: with RegisterNewBaseline the newly calculated baseline is the one
    later steps check drift against; without it, the supplied one (a run-time choice here)."""
    machine = Machine(aws, DRIFT)
    run = f"register-{str(register).lower()}"
    result, _ = machine.run(run, {"RegisterNewBaseline": register})
    assert result["status"] == "SUCCEEDED", result
    sagemaker = aws.client("sagemaker", region_name=REGION)
    (model,) = sagemaker.list_models()["Models"]
    environment = sagemaker.describe_model(ModelName=model["ModelName"])["PrimaryContainer"]
    expected = (
        f"s3://{BUCKET}/{run}/quality/statistics.json"
        if register
        else "s3://baselines/previous/statistics.json"
    )
    assert environment["Environment"] == {"DRIFT_BASELINE": expected}


# One step, no parameters: the step's Task is the whole machine (no start-up states).
ONE_STEP = {
    "Version": "2020-12-01",
    "Steps": [
        {
            "Name": "Train",
            "Type": "Training",
            "Arguments": {
                "AlgorithmSpecification": {
                    "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
                    "TrainingInputMode": "File",
                },
                "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
                "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
                "ResourceConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 30,
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            },
        }
    ],
}


def test_one_step_without_parameters_is_its_task_alone(aws: Any, tmp_path: Path) -> None:
    source = tmp_path / "one-step.json"
    source.write_text(json.dumps(ONE_STEP), encoding="utf-8")
    definition = json.loads(pipeglot.translate(source.read_bytes(), write="asl"))
    assert definition["StartAt"] == "Train" and list(definition["States"]) == ["Train"]
    machine = Machine(aws, source)
    names = []
    for run in ("first", "second"):
        result, events = machine.run(run, {})
        assert result["status"] == "SUCCEEDED", (result, events[-3:])
        (job,) = scheduled(events, "createTrainingJob")
        names.append(job["TrainingJobName"])
    # The Task draws its own token: a new name per execution, in the generated-name format.
    assert names[0] != names[1]
    assert all(re.fullmatch(r"train-[0-9a-f]{12}-0", name) for name in names), names


def _tuning_pipeline(*ranks: int) -> dict[str, Any]:
    """A Tuning step, and one Model step per rank of TrainingJobSummaries it reads."""
    tune = {
        "Name": "Tune",
        "Type": "Tuning",
        "Arguments": {
            "HyperParameterTuningJobConfig": {
                "Strategy": "Bayesian",
                "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "acc"},
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            },
            "TrainingJobDefinition": {
                "AlgorithmSpecification": {
                    "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [{"Name": "acc", "Regex": "acc=([0-9.]+)"}],
                },
                "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
                "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/tune"},
                "ResourceConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 30,
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            },
        },
    }
    models = [
        {
            "Name": f"Model{rank}",
            "Type": "Model",
            "Arguments": {
                "ExecutionRoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
                "PrimaryContainer": {
                    "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1",
                    "ModelDataUrl": {
                        "Std:Join": {
                            "On": "/",
                            "Values": [
                                f"s3://{BUCKET}/tune",
                                {"Get": f"Steps.Tune.TrainingJobSummaries[{rank}].TrainingJobName"},
                                "output/model.tar.gz",
                            ],
                        }
                    },
                },
            },
        }
        for rank in ranks
    ]
    return {"Version": "2020-12-01", "Steps": [tune, *models]}


def test_the_best_tuned_model_is_read_from_the_tuning_job_itself(aws: Any, tmp_path: Path) -> None:
    """Read only at [0], TrainingJobSummaries is the tuning job's BestTrainingJob: no list
    call. The job name reaches CreateModel from moto's DescribeHyperParameterTuningJob."""
    source = tmp_path / "tune-best.json"
    source.write_text(json.dumps(_tuning_pipeline(0)), encoding="utf-8")
    machine = Machine(aws, source)
    assert "listTrainingJobsForHyperParameterTuningJob" not in machine.text
    result, events = machine.run("tune-best", {})
    assert result["status"] == "SUCCEEDED", result
    (model,) = scheduled(events, "createModel")
    best = aws.client("sagemaker", region_name=REGION).describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=scheduled(events, "createHyperParameterTuningJob")[0][
            "HyperParameterTuningJobName"
        ]
    )["BestTrainingJob"]["TrainingJobName"]
    expected = f"s3://{BUCKET}/tune/{best}/output/model.tar.gz"
    assert model["PrimaryContainer"]["ModelDataUrl"] == expected


def test_other_ranks_of_the_tuned_models_keep_the_list_call() -> None:
    definition = pipeglot.translate(json.dumps(_tuning_pipeline(0, 1)).encode(), write="asl")
    states = json.loads(definition)["States"]
    listing = states["pipeglot.ListTrainingJobs.Tune"]
    assert listing["Resource"].endswith(":listTrainingJobsForHyperParameterTuningJob")
    assert "BestTrainingJob" not in definition  # one source for both ranks, in one order
