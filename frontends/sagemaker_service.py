"""Frontend for pipelines that live in SageMaker, read through boto3.

    sagemaker://NAME                    the pipeline's current definition (DescribePipeline)
    sagemaker://NAME@EXECUTION          the definition an execution ran with, EXECUTION being
                                        its ARN or the last part of it (the execution ID)
    arn:aws:sagemaker:REGION:ACCOUNT:pipeline/NAME[/execution/ID]   the same, by ARN

The definition then goes through the ``sagemaker`` frontend, so the result is exactly what the
JSON would give; ``sagemaker://NAME`` also brings the EventBridge schedules and rules that start
the pipeline, with their parameters, as the workflow's triggers (``_service_triggers``).
Credentials and the region come from the usual AWS configuration; an ARN names
its own region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeglot import aws
from pipeglot.errors import UsageError
from pipeglot.frontends import _service_triggers, sagemaker
from pipeglot.ir.model import Workflow
from pipeglot.ir.triggers import with_triggers

READS_TEXT = False  # the CLI hands this frontend the INPUT string: a sagemaker:// URI or an ARN
SCHEME = "sagemaker://"

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"pipeline/(?P<name>[^/]+)(?:/execution/(?P<execution>[^/]+))?"
)
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")
_EXECUTION_ID = re.compile(r"[a-zA-Z0-9]{1,256}")


@dataclass(frozen=True, slots=True)
class Source:
    """One pipeline, and optionally one of its executions, in one region."""

    name: str
    execution: str | None = None  # an execution ARN, or an execution ID to complete
    region: str | None = None  # None: from the AWS configuration


def load(source: str, *, name: str | None = None, region: str | None = None) -> Workflow:
    """Read a pipeline's definition from SageMaker into a validated Workflow.

    Raises:
        AwsError: the call failed (not found, access denied, throttled, no credentials).
        UsageError: ``source`` is neither ``sagemaker://NAME[@EXECUTION]`` nor a pipeline ARN.
    """
    where = parse_source(source)
    client = aws.client("sagemaker", where.region or region)
    definition = read_definition(client, where)
    workflow = sagemaker.load(definition, name=name or where.name)
    if where.execution is not None:
        return workflow  # what an execution ran; the pipeline's triggers come with sagemaker://NAME
    return with_triggers(
        workflow, _service_triggers.read_triggers(_arn(client, where), where.region or region)
    )


def _arn(client: Any, where: Source) -> str:
    with aws.translated_errors(f"reading pipeline {where.name!r}"):
        return str(client.describe_pipeline(PipelineName=where.name)["PipelineArn"])


def parse_source(text: str) -> Source:
    """Split a ``sagemaker://`` URI or a pipeline (execution) ARN."""
    arn = _ARN.fullmatch(text)
    if arn is not None:
        execution = text if arn["execution"] else None
        return Source(arn["name"], execution, arn["region"])
    if not text.startswith(SCHEME):
        raise UsageError(
            f"{text!r} is not a SageMaker pipeline reference; use sagemaker://NAME, "
            "sagemaker://NAME@EXECUTION_ARN, or a pipeline ARN "
            "(arn:aws:sagemaker:REGION:ACCOUNT:pipeline/NAME)"
        )
    name, at, execution = text[len(SCHEME) :].partition("@")
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"{text!r} does not name a pipeline: a name is letters, digits and hyphens, "
            "as in sagemaker://my-pipeline"
        )
    if not at:
        return Source(name)
    match = _ARN.fullmatch(execution)
    if match is not None:
        if match["execution"] is None or match["name"].lower() != name.lower():
            raise UsageError(
                f"{execution!r} is not an execution of pipeline {name!r}; use "
                f"sagemaker://{name}@arn:aws:sagemaker:REGION:ACCOUNT:pipeline/{name}/execution/ID"
            )
        return Source(name, execution, match["region"])
    if _EXECUTION_ID.fullmatch(execution):
        return Source(name, execution)
    raise UsageError(
        f"{execution!r} is neither an execution ARN nor an execution ID; copy the ARN "
        "from the SageMaker console or from ListPipelineExecutions"
    )


def read_definition(client: Any, where: Source) -> str:
    """The definition JSON: the pipeline's current one, or the one an execution ran with."""
    if where.execution is None:
        with aws.translated_errors(f"reading pipeline {where.name!r}"):
            response = client.describe_pipeline(PipelineName=where.name)
        return _definition_text(response, where)
    execution = where.execution
    if not execution.startswith("arn:"):  # an execution ID: the ARN extends the pipeline's
        with aws.translated_errors(f"reading pipeline {where.name!r}"):
            pipeline_arn = client.describe_pipeline(PipelineName=where.name)["PipelineArn"]
        execution = f"{pipeline_arn}/execution/{execution}"
    with aws.translated_errors(f"reading execution {execution!r} of pipeline {where.name!r}"):
        response = client.describe_pipeline_definition_for_execution(PipelineExecutionArn=execution)
    return _definition_text(response, where)


def _definition_text(response: dict[str, Any], where: Source) -> str:
    definition = response.get("PipelineDefinition")
    if not isinstance(definition, str) or not definition:
        raise aws.AwsError(
            f"SageMaker returned no definition for pipeline {where.name!r}; "
            "check that it was created with one"
        )
    return definition
