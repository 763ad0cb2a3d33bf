"""Reading pipelines from SageMaker (sagemaker://NAME, @EXECUTION, ARNs), against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, as_user_without_permissions, require_module

import pipeglot
from pipeglot.aws import AwsError
from pipeglot.cli import main
from pipeglot.errors import UsageError
from pipeglot.frontends import sagemaker, sagemaker_service
from pipeglot.frontends.sagemaker_service import Source, parse_source

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
REGION = "us-east-1"
DEFINITION = (FIXTURES / "every-step-type.json").read_text()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's SageMaker, as the default AWS account and region."""
    moto = require_module("moto")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with moto.mock_aws():
        import boto3

        yield boto3.client("sagemaker", region_name=REGION)


def _create(client: Any, name: str, definition: str = DEFINITION) -> str:
    return client.create_pipeline(PipelineName=name, PipelineDefinition=definition, RoleArn=ROLE)[
        "PipelineArn"
    ]


def test_reads_the_current_definition(aws: Any) -> None:
    _create(aws, "every-step")
    workflow = pipeglot.load("sagemaker://every-step", read="sagemaker-service")
    assert workflow == sagemaker.load(DEFINITION, name="every-step")


def test_reads_by_pipeline_arn_in_its_region(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = _create(aws, "every-step")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # the ARN's region wins
    assert pipeglot.load(arn, read="sagemaker-service") == sagemaker.load(
        DEFINITION, name="every-step"
    )


def test_reads_the_definition_an_execution_ran_with(aws: Any) -> None:
    """After an update, NAME gives the new definition and NAME@EXECUTION the one that ran."""
    _create(aws, "evolving")
    execution = aws.start_pipeline_execution(PipelineName="evolving")["PipelineExecutionArn"]
    newer = json.loads(DEFINITION)
    data_path = {"Name": "DataPath", "Type": "String", "DefaultValue": "s3://other-bucket/data"}
    newer["Parameters"] = [*newer["Parameters"][:-1], data_path]
    aws.update_pipeline(PipelineName="evolving", PipelineDefinition=json.dumps(newer))

    old = sagemaker.load(DEFINITION, name="evolving")
    new = sagemaker.load(json.dumps(newer), name="evolving")
    assert old != new
    execution_id = execution.rsplit("/", 1)[1]
    for source in (
        f"sagemaker://evolving@{execution}",
        f"sagemaker://evolving@{execution_id}",
        execution,
    ):
        assert pipeglot.load(source, read="sagemaker-service") == old, source
    assert pipeglot.load("sagemaker://evolving", read="sagemaker-service") == new


def test_cli_translates_from_the_service(aws: Any, capsys: Any, tmp_path: Path) -> None:
    _create(aws, "every-step")
    output = tmp_path / "every-step.json"
    assert (
        main(["translate", "sagemaker://every-step", "--to", "sagemaker", "-o", str(output)]) == 0
    )
    assert sagemaker.load(output.read_text()) == sagemaker.load(DEFINITION)
    assert main(["inspect", "sagemaker://every-step"]) == 0
    assert capsys.readouterr().out.startswith("pipeline every-step: 32 steps")


def test_missing_pipeline_is_one_clear_error(aws: Any, capsys: Any) -> None:
    assert main(["validate", "sagemaker://absent"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "pipeglot: error: sagemaker://absent: reading pipeline 'absent': not found"
    )
    assert "check the name, the account and the region" in err
    assert "Traceback" not in err


def test_missing_execution_is_one_clear_error(aws: Any) -> None:
    arn = _create(aws, "every-step")
    with pytest.raises(AwsError, match=r"reading execution .* not found"):
        pipeglot.load(f"sagemaker://every-step@{arn}/execution/nope", read="sagemaker-service")


def test_access_denied(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """moto enforcing IAM: a user without SageMaker permissions is refused."""
    code = as_user_without_permissions(
        monkeypatch, REGION, lambda: main(["validate", "sagemaker://every-step"])
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "reading pipeline 'every-step': access denied" in err
    assert "needs permission for DescribePipeline" in err


def test_throttling_after_retries() -> None:
    """botocore's own Stubber plays the service answering ThrottlingException."""
    boto3 = require_module("boto3")
    from botocore.stub import Stubber

    client = boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stub:
        stub.add_client_error("describe_pipeline", "ThrottlingException", "Rate exceeded")
        with pytest.raises(AwsError, match="AWS throttled DescribePipeline even after retries"):
            sagemaker_service.read_definition(client, Source("busy"))


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require_module("boto3")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with pytest.raises(AwsError, match="no AWS credentials were found"):
        pipeglot.load("sagemaker://anything", read="sagemaker-service")


def test_no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require_module("boto3")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(AwsError, match="no AWS region is configured"):
        pipeglot.load("sagemaker://anything", read="sagemaker-service")


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("sagemaker://p", Source("p")),
        ("sagemaker://my-pipeline@abc123", Source("my-pipeline", "abc123")),
        (
            "sagemaker://p@arn:aws:sagemaker:eu-west-1:123456789012:pipeline/p/execution/x1",
            Source(
                "p", "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/p/execution/x1", "eu-west-1"
            ),
        ),
        ("arn:aws:sagemaker:us-west-2:123456789012:pipeline/p", Source("p", None, "us-west-2")),
        (
            "arn:aws:sagemaker:us-west-2:123456789012:pipeline/p/execution/x1",
            Source(
                "p", "arn:aws:sagemaker:us-west-2:123456789012:pipeline/p/execution/x1", "us-west-2"
            ),
        ),
    ],
)
def test_parse_source(text: str, source: Source) -> None:
    assert parse_source(text) == source


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sagemaker://", "does not name a pipeline"),
        ("sagemaker://bad_name", "does not name a pipeline"),
        ("sagemaker://p@", "neither an execution ARN nor an execution ID"),
        (
            "sagemaker://p@arn:aws:sagemaker:us-east-1:123456789012:pipeline/q/execution/x",
            "is not an execution of pipeline 'p'",
        ),
        ("s3://bucket/key", "not a SageMaker pipeline reference"),
    ],
)
def test_parse_source_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_source(text)
