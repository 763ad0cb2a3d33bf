"""Lineage and EMRServerless steps in KFP: what the generated components send and return.

The components are run in this process, as the generated file defines them (the component's
own function with the runtime functions it carries), so the code under test is the generated
code. EMR Serverless runs against moto. moto 5.2.5 does not implement SageMaker's lineage APIs
(CreateAction, CreateArtifact, CreateContext and AddAssociation answer NotImplemented), so the
Lineage component talks to botocore's Stubber instead, which checks every request against
SageMaker's API model and against the exact parameters expected here.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest
from conftest import FIXTURES, require_module

import pipeglot
from pipeglot.backends.kfp import runtime
from pipeglot.backends.kfp.plan import plan
from pipeglot.diagnostics import Diagnostics, Fidelity

SOURCE = FIXTURES / "kfp" / "lineage-emr-serverless.json"  # a copy of the ASL tests' one
RUN_ID = "0b6f3f0e-5d1c-4b7e-9f3a-2c1d4e5f6a7b"
RUN_NAME = "runs/" + RUN_ID
ACCOUNT = "arn:aws:sagemaker:us-east-1:123456789012"


def _definition(**changes) -> dict:
    definition = json.loads(SOURCE.read_text())
    for step in definition["Steps"]:
        step["Arguments"].update(changes.get(step["Name"], {}))
    return definition


def _generated(tmp_path: Path, definition: dict | None = None) -> tuple[ModuleType, Diagnostics]:
    require_module("kfp")
    ledger = Diagnostics()
    source = json.dumps(definition or _definition())
    text = pipeglot.translate(source, write="kfp", diagnostics=ledger, name="lineage")
    path = tmp_path / f"generated_{uuid.uuid4().hex}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    # The request each task passes, as the plan holds it (the pipeline writes the same value
    # with its shared parts named).
    planned = plan(pipeglot.load(source), Diagnostics(), "python:3.11-slim")
    module.REQUESTS = {name: json.dumps(task.request) for name, task in planned.tasks.items()}
    return module, ledger


@pytest.fixture(autouse=True)
def _aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # The EMR Serverless component handles SIGTERM (a cancelled run); keep this process's own.
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_both_translate_with_their_differences_recorded(tmp_path):
    module, ledger = _generated(tmp_path)
    codes = {(d.code, d.step) for d in ledger.of(Fidelity.APPROXIMATED)}
    assert ("kfp.lineage_step", "Record") in codes
    assert ("kfp.emr_serverless_application", "Spark") in codes
    assert not ledger.of(Fidelity.UNSUPPORTED)
    assert module.lineage.component_spec.name == "lineage"

    from pipeglot.backends.kfp.compiled import compile_source

    spec = compile_source(Path(module.__file__).read_text())
    assert "run_lineage_step" in spec and "end_emr_serverless_application" in spec


# --- Lineage ----------------------------------------------------------------------------------


def test_lineage_creates_entities_then_associates_them_by_arn(tmp_path, monkeypatch):
    import boto3
    from botocore.stub import Stubber

    module, _ = _generated(tmp_path)
    client = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(client)
    action, artifact, context = (
        f"{ACCOUNT}:action/train-run",
        f"{ACCOUNT}:artifact/{RUN_ID}-model",
        f"{ACCOUNT}:context/{RUN_ID}",
    )
    existing = f"{ACCOUNT}:artifact/0123456789abcdef"
    # Entities first, in SageMaker's order (actions, artifacts, contexts), with expressions
    # resolved; then each association, {Name, Type} ends replaced by the ARNs just created.
    stub.add_response(
        "create_action",
        {"ActionArn": action},
        {
            "ActionName": "train-run",
            "ActionType": "ModelTraining",
            "Source": {"SourceUri": "s3://bucket/run"},
        },
    )
    stub.add_response(
        "create_artifact",
        {"ArtifactArn": artifact},
        {
            "ArtifactName": f"{RUN_ID}-model",
            "ArtifactType": "Model",
            "Source": {"SourceUri": "s3://bucket/in"},
        },
    )
    stub.add_response(
        "create_context",
        {"ContextArn": context},
        {
            "ContextName": RUN_ID,
            "ContextType": "PipelineExecution",
            "Source": {"SourceUri": RUN_NAME},
        },
    )
    stub.add_response(
        "add_association",
        {"SourceArn": action, "DestinationArn": artifact},
        {"SourceArn": action, "DestinationArn": artifact, "AssociationType": "Produced"},
    )
    stub.add_response(
        "add_association",
        {"SourceArn": existing, "DestinationArn": context},
        {"SourceArn": existing, "DestinationArn": context},
    )
    monkeypatch.setitem(module.__dict__, "aws_client", lambda service: client)
    with stub:
        answer = module.lineage.python_func(
            step="Record",
            request=module.REQUESTS["Record"],
            InputData="s3://bucket/in",
            execution_id=RUN_ID,
            execution_arn=RUN_NAME,
        )
    stub.assert_no_pending_responses()
    # The step's properties, as later steps read them (runtime.walk, by name and index).
    result = json.loads(answer)
    assert result["Step"] == "Record"
    properties, names = result["Properties"], module.list_name_fields()
    assert runtime.walk(properties, "ActionArns['train-run']", names) == action
    assert runtime.walk(properties, "Associations[0].DestinationArn", names) == artifact


def test_lineage_fails_on_a_name_the_step_does_not_create(tmp_path, monkeypatch):
    import boto3
    from botocore.stub import Stubber

    definition = _definition(
        Record={
            "Actions": [],
            "Artifacts": [],
            "Contexts": [],
            "Associations": [
                {"Source": {"Name": "nowhere", "Type": "Action"}, "Destination": {"Arn": "x"}}
            ],
        }
    )
    module, _ = _generated(tmp_path, definition)
    client = boto3.client("sagemaker", region_name="us-east-1")
    monkeypatch.setitem(module.__dict__, "aws_client", lambda service: client)
    with Stubber(client), pytest.raises(RuntimeError, match="names Action 'nowhere'"):
        module.lineage.python_func(step="Record", request=module.REQUESTS["Record"])


# --- EMR Serverless -------------------------------------------------------------------------


@pytest.fixture
def emr_serverless():
    require_module("moto")
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("emr-serverless", region_name="us-east-1")


def test_emr_serverless_application_is_created_used_and_deleted(tmp_path, emr_serverless):
    module, _ = _generated(tmp_path)
    answer = module.emr_serverless_job.python_func(
        step="Spark", request=module.REQUESTS["Spark"], InputData="s3://bucket/in"
    )

    (application,) = emr_serverless.list_applications()["applications"]
    assert application["name"] == "pipeline-app"
    assert application["releaseLabel"] == "emr-7.0.0"
    assert application["state"] == "TERMINATED"  # stopped and deleted after the job
    (listed,) = emr_serverless.list_job_runs(applicationId=application["id"])["jobRuns"]
    run = emr_serverless.get_job_run(applicationId=application["id"], jobRunId=listed["id"])
    job = run["jobRun"]
    assert job["name"] == "spark-job"
    assert job["executionRole"] == "arn:aws:iam::123456789012:role/EMRServerlessRole"
    assert job["jobDriver"]["sparkSubmit"]["entryPointArguments"] == ["--input", "s3://bucket/in"]
    # The properties are GetJobRun's answer, as SageMaker exposes them (jobRun.*).
    properties, names = json.loads(answer)["Properties"], module.list_name_fields()
    path = "jobRun.configurationOverrides.applicationConfiguration[0].classification"
    assert runtime.walk(properties, path, names) == "spark-defaults"
    assert runtime.walk(properties, "jobRun.state", names) == "SUCCESS"
    assert runtime.walk(properties, "jobRun.tags['costCenter']", names) == "42"


def test_emr_serverless_application_is_deleted_when_the_job_cannot_run(tmp_path, emr_serverless):
    # A job driver EMR Serverless rejects: the job never starts, the application still goes.
    definition = _definition()
    definition["Steps"][1]["Arguments"]["JobConfig"]["jobDriver"] = {
        "unknownDriver": {"input": {"Get": "Parameters.InputData"}}
    }
    module, _ = _generated(tmp_path, definition)
    with pytest.raises(Exception, match=r"unknownDriver"):
        module.emr_serverless_job.python_func(
            step="Spark", request=module.REQUESTS["Spark"], InputData="s3://bucket/in"
        )
    (application,) = emr_serverless.list_applications()["applications"]
    assert application["state"] == "TERMINATED"


def test_emr_serverless_on_an_existing_application_leaves_it_alone(tmp_path, emr_serverless):
    existing = emr_serverless.create_application(
        name="shared", releaseLabel="emr-7.0.0", type="SPARK", clientToken="t"
    )["applicationId"]
    definition = _definition()
    arguments = definition["Steps"][1]["Arguments"]
    del arguments["ApplicationConfig"]
    arguments["ApplicationId"] = existing
    arguments["JobConfig"]["applicationId"] = existing  # the SDK repeats it here
    module, ledger = _generated(tmp_path, definition)
    assert "kfp.emr_serverless_application" not in {d.code for d in ledger}
    answer = module.emr_serverless_job.python_func(
        step="Spark", request=module.REQUESTS["Spark"], InputData="s3://bucket/in"
    )
    assert json.loads(answer)["Properties"]["jobRun"]["state"] == "SUCCESS"
    (application,) = emr_serverless.list_applications()["applications"]
    assert application["state"] == "STARTED"
