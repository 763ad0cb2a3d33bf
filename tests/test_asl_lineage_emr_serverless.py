"""Lineage and EMRServerless steps in ASL: state shapes, name-to-ARN resolution, PascalCase
requests that keep user map keys, the properties later states read, and the IAM policy."""

from __future__ import annotations

import json
from typing import Any

from conftest import FIXTURES, corpus_files

import pipeglot
from pipeglot.backends.asl.emr_serverless import pascal_case
from pipeglot.backends.asl.steps import UNSUPPORTED
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.ir.model import StepKind

FIXTURE = FIXTURES / "asl" / "lineage-emr-serverless.json"


def translate(source: bytes) -> tuple[dict[str, Any], Diagnostics]:
    ledger = Diagnostics()
    text = pipeglot.translate(source, write="asl", unsupported="warn", diagnostics=ledger)
    return json.loads(text), ledger


def states_of(definition: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for name, state in definition["States"].items():
        found[name] = state
        for branch in state.get("Branches", ()):
            found.update(states_of(branch))
    return found


def statements(source: bytes) -> list[dict[str, Any]]:
    text = pipeglot.translate(source, write="asl-cloudformation", unsupported="ignore")
    role = json.loads(text)["Resources"]["StateMachineRole"]["Properties"]
    return role["Policies"][0]["PolicyDocument"]["Statement"]


def by_action(policy: list[dict[str, Any]]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for statement in policy:
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in actions if isinstance(actions, list) else [actions]:
            found.setdefault(action, []).extend(
                resources if isinstance(resources, list) else [resources]
            )
    return found


def test_only_unknown_step_types_stay_unsupported() -> None:
    assert {StepKind.UNKNOWN} == UNSUPPORTED


def test_lineage_corpus_pipelines_translate_at_the_default_error_level() -> None:
    lineage = [p for p in corpus_files() if p.name.endswith("-lineage.json")]
    for path in lineage:  # raises UnsupportedError if anything is reported unsupported
        pipeglot.translate(path.read_bytes(), write="asl")


# --- Lineage ----------------------------------------------------------------------------


def test_lineage_creates_each_entity_then_adds_each_association() -> None:
    states = states_of(translate(FIXTURE.read_bytes())[0])
    sdk = "arn:aws:states:::aws-sdk:sagemaker:"
    assert states["Record"]["Resource"] == sdk + "createAction"
    assert states["Record"]["Parameters"]["ActionName"] == "train-run"
    assert states["Record"]["ResultSelector"] == {"Action1": {"Arn.$": "$.ActionArn"}}
    assert states["Record"]["ResultPath"] == "$.Record"
    artifact = states["pipeglot.CreateArtifact.Record"]
    assert artifact["Resource"] == sdk + "createArtifact"
    assert (
        artifact["Parameters"]["ArtifactName.$"] == "States.Format('{}-model', $$.Execution.Name)"
    )
    assert artifact["ResultPath"] == "$.Record.Artifact1"
    context = states["pipeglot.CreateContext.Record"]
    assert context["Parameters"]["ContextName.$"] == "$$.Execution.Name"
    # The chain runs create calls first, in request order, then the associations.
    chain, name = [], "Record"
    while name in states and "Record" in name:
        chain.append(name)
        name = states[name].get("Next", "")
    assert chain == [
        "Record",
        "pipeglot.CreateArtifact.Record",
        "pipeglot.CreateContext.Record",
        "pipeglot.AddAssociation.Record",
        "pipeglot.AddAssociation.Record.2",
    ]


def test_association_names_resolve_to_the_arns_the_create_calls_returned() -> None:
    states = states_of(translate(FIXTURE.read_bytes())[0])
    first = states["pipeglot.AddAssociation.Record"]
    assert first["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:addAssociation"
    assert first["Parameters"] == {
        "SourceArn.$": "$.Record.Action1.Arn",  # {"Name": "train-run", "Type": "Action"}
        "DestinationArn.$": "$.Record.Artifact1.Arn",  # the same Std:Join as the artifact's name
        "AssociationType": "Produced",
    }
    second = states["pipeglot.AddAssociation.Record.2"]["Parameters"]
    assert second == {
        "SourceArn": "arn:aws:sagemaker:us-east-1:123456789012:artifact/0123456789abcdef",
        "DestinationArn.$": "$.Record.Context1.Arn",
    }


def test_lineage_reuses_an_action_or_context_of_the_same_name() -> None:
    states, ledger = translate(FIXTURE.read_bytes())
    states = states_of(states)
    (catch,) = states["Record"]["Catch"]
    reuse = states[catch["Next"]]
    assert reuse["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:describeAction"
    assert reuse["Parameters"] == {"ActionName": "train-run"}
    assert reuse["ResultSelector"] == states["Record"]["ResultSelector"]
    assert reuse["Next"] == states["Record"]["Next"]
    failed = states[reuse["Catch"][0]["Next"]]
    assert failed["Type"] == "Fail" and failed["CausePath"] == catch["ResultPath"] + ".Cause"
    assert "Catch" not in states["pipeglot.CreateArtifact.Record"]  # artifacts have no name key
    codes = {d.code for d in ledger.of(Fidelity.APPROXIMATED)}
    assert "asl.lineage.get-or-create" in codes


def test_lineage_properties_read_the_stored_arns() -> None:
    states = states_of(translate(FIXTURE.read_bytes())[0])
    environment = states["Use"]["Parameters"]["Environment"]
    assert environment["ACTION.$"] == "$.Record.Action1.Arn"
    assert environment["LINKED.$"] == "$.Record.Association1.DestinationArn"


def test_unresolvable_association_name_is_reported_unsupported() -> None:
    document = {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": "L",
                "Type": "Lineage",
                "Arguments": {
                    "Actions": [
                        {"ActionName": "a", "ActionType": "t", "Source": {"SourceUri": "u"}}
                    ],
                    "Associations": [
                        {
                            "Source": {"Name": "a", "Type": "Context"},
                            "Destination": {"Arn": "arn:aws:sagemaker:us-east-1:1:action/x"},
                        }
                    ],
                },
            }
        ],
    }
    _, ledger = translate(json.dumps(document).encode())
    assert [d.code for d in ledger.of(Fidelity.UNSUPPORTED)] == ["asl.lineage.association"]


def test_lineage_policy_allows_the_lineage_calls_only() -> None:
    actions = by_action(statements(FIXTURE.read_bytes()))
    sub = json.dumps
    assert "action/train-run*" in sub(actions["sagemaker:CreateAction"])
    assert "action/train-run*" in sub(actions["sagemaker:DescribeAction"])
    assert "artifact/*" in sub(actions["sagemaker:CreateArtifact"])
    assert "context/*" in sub(actions["sagemaker:CreateContext"])
    association = sub(actions["sagemaker:AddAssociation"])
    assert "arn:aws:sagemaker:us-east-1:123456789012:artifact/0123456789abcdef" in association
    assert "action/*" in association and "context/*" in association
    assert not any(a.endswith("*") for a in actions)


# --- EMR Serverless ---------------------------------------------------------------------


def test_pascal_case_renames_members_and_keeps_map_keys() -> None:
    unknown: list[str] = []
    request = {
        "executionRoleArn": "r",
        "jobDriver": {"sparkSubmit": {"entryPoint": "e", "entryPointArguments": ["a"]}},
        "configurationOverrides": {
            "applicationConfiguration": [
                {
                    "classification": "c",
                    "properties": {"spark.x": "1"},
                    "configurations": [{"classification": "d", "properties": {"k.y": "2"}}],
                }
            ]
        },
        "tags": {"team": "ml"},
        "brandNew": {"innerKey": 1},
    }
    assert pascal_case(request, "StartJobRun", unknown) == {
        "ExecutionRoleArn": "r",
        "JobDriver": {"SparkSubmit": {"EntryPoint": "e", "EntryPointArguments": ["a"]}},
        "ConfigurationOverrides": {
            "ApplicationConfiguration": [
                {
                    "Classification": "c",
                    "Properties": {"spark.x": "1"},
                    "Configurations": [{"Classification": "d", "Properties": {"k.y": "2"}}],
                }
            ]
        },
        "Tags": {"team": "ml"},
        "BrandNew": {"innerKey": 1},
    }
    assert unknown == ["brandNew"]


def test_emr_serverless_with_an_application_id_is_one_sync_job() -> None:
    states = states_of(translate((FIXTURES / "every-step-type.json").read_bytes())[0])
    job = states["SparkServerless"]
    assert job["Resource"] == "arn:aws:states:::emr-serverless:startJobRun.sync"
    assert job["Parameters"] == {
        "ApplicationId": "00f1abcdefgh",
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/EMRServerlessRole",
        "JobDriver": {
            "SparkSubmit": {
                "EntryPoint": "s3://my-bucket/code/job.py",
                "EntryPointArguments.$": "States.Array('--input', $.Parameters.InputData)",
            }
        },
    }
    assert job["Retry"][0]["MaxAttempts"] == 3  # the step's RetryPolicy on throttling


def test_emr_serverless_application_config_creates_starts_and_deletes_it() -> None:
    states, ledger = translate(FIXTURE.read_bytes())
    states = states_of(states)
    base = "arn:aws:states:::emr-serverless:"
    create = states["pipeglot.CreateApplication.Spark"]
    assert create["Resource"] == base + "createApplication.sync"
    assert create["Parameters"]["InitialCapacity"] == {
        "DRIVER": {"WorkerCount": 1, "WorkerConfiguration": {"Cpu": "2vCPU", "Memory": "4GB"}}
    }
    assert create["Next"] == "pipeglot.StartApplication.Spark"  # auto-start is off
    assert states["pipeglot.StartApplication.Spark"]["Resource"] == base + "startApplication.sync"
    job = states["Spark"]
    assert job["Parameters"]["ApplicationId.$"] == "$.Scratch.Spark.ApplicationId"
    overrides = job["Parameters"]["ConfigurationOverrides"]
    assert overrides["ApplicationConfiguration"][0]["Properties"] == {
        "spark.executor.memory": "4g",
        "spark.dynamicAllocation.enabled": "false",
    }
    assert overrides["MonitoringConfiguration"]["CloudWatchLoggingConfiguration"]["LogTypes"] == {
        "SPARK_DRIVER": ["stdout"]
    }
    assert job["Parameters"]["Tags"] == {"team": "ml", "costCenter": "42"}
    assert job["Parameters"]["Name"] == "spark-job"
    # success: read the job run, stop, delete, go on; failure: stop, delete, fail.
    read = states[job.get("Next", "pipeglot.GetJobRun.Spark")]
    assert read["Resource"] == "arn:aws:states:::aws-sdk:emrserverless:getJobRun"
    stop = states[read["Next"]]
    assert stop["Resource"] == base + "stopApplication.sync"
    assert states[stop["Next"]]["Resource"] == base + "deleteApplication"
    assert states[stop["Next"]]["Next"] == "Use"
    for guarded in (job, read, states["pipeglot.StartApplication.Spark"]):
        cleanup = states[guarded["Catch"][0]["Next"]]
        assert cleanup["Resource"] == base + "stopApplication.sync"
        delete = states[cleanup["Next"]]
        assert states[delete["Next"]]["Type"] == "Fail"
    assert "asl.emr-serverless.application" in {d.code for d in ledger}


def test_emr_serverless_properties_read_the_job_run_in_pascal_case() -> None:
    states = states_of(translate(FIXTURE.read_bytes())[0])
    assert states["Spark"]["ResultSelector"] == {
        "ApplicationId.$": "$.ApplicationId",
        "JobRunId.$": "$.JobRunId",
    }
    assert states["pipeglot.GetJobRun.Spark"]["ResultSelector"] == {"JobRun.$": "$.JobRun"}
    environment = states["Use"]["Parameters"]["Environment"]
    assert environment["STATE.$"] == "$.Spark.JobRun.State"
    assert environment["COST_CENTER.$"] == "$.Spark.JobRun.Tags.costCenter"  # a map key: as is
    assert environment["CLASSIFICATION.$"] == (
        "$.Spark.JobRun.ConfigurationOverrides.ApplicationConfiguration[0].Classification"
    )


def test_emr_serverless_policy_is_least_privilege() -> None:
    policy = statements(FIXTURE.read_bytes())
    actions = by_action(policy)
    sub = json.dumps
    assert "emr-serverless:${AWS::Region}:${AWS::AccountId}:/*" in sub(
        actions["emr-serverless:CreateApplication"]
    )
    assert "/applications/*/jobruns/*" in sub(actions["emr-serverless:GetJobRun"])
    assert "/applications/*/jobruns/*" in sub(actions["emr-serverless:CancelJobRun"])
    for action in ("StartJobRun", "StartApplication", "StopApplication", "DeleteApplication"):
        assert "/applications/*" in sub(actions[f"emr-serverless:{action}"]), action
    rules = sub(actions["events:PutRule"])
    assert "StepFunctionsGetEventsForEMRServerlessJobRule" in rules
    assert "StepFunctionsGetEventsForEMRServerlessApplicationRule" in rules
    pass_role = [s for s in policy if s["Action"] == "iam:PassRole"]
    assert pass_role == [
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "arn:aws:iam::123456789012:role/EMRServerlessRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
        },
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "arn:aws:iam::123456789012:role/r",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
    ]
    (linked,) = [s for s in policy if s["Action"] == "iam:CreateServiceLinkedRole"]
    assert linked["Condition"] == {
        "StringLike": {"iam:AWSServiceName": "ops.emr-serverless.amazonaws.com"}
    }


def test_emr_serverless_with_a_known_application_scopes_it() -> None:
    actions = by_action(statements((FIXTURES / "every-step-type.json").read_bytes()))
    assert "/applications/00f1abcdefgh" in json.dumps(actions["emr-serverless:StartJobRun"])
    assert "/applications/00f1abcdefgh/jobruns/*" in json.dumps(actions["emr-serverless:GetJobRun"])
