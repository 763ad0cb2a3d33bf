"""Backend for ``sagemaker-cloudformation``: the pipeline as CloudFormation users deploy it.

The template holds an ``AWS::SageMaker::Pipeline`` whose ``PipelineDefinitionBody`` is exactly
what ``--to sagemaker`` writes, the execution role as a template parameter (SageMaker runs the
pipeline's jobs with it; its permissions are the pipeline's, not this tool's to guess), and
the pipeline's triggers: an ``AWS::Scheduler::Schedule`` per schedule and an
``AWS::Events::Rule`` per event pattern, passing the same parameters, with the role that lets
EventBridge start the pipeline.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from pipeglot.backend import Option
from pipeglot.backends import _eventbridge_cfn, _json
from pipeglot.backends import sagemaker as sagemaker_json
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.model import StepKind, Workflow
from pipeglot.ir.sagemaker import PIPELINE_ARN_SUB, PIPELINE_NAME_LIMIT

EXTENSION = ".json"
OPTIONS: tuple[Option, ...] = ()
UNSUPPORTED: dict[StepKind, str] = {}  # the definition is written as it was read

# A lowercase name keeps the ARN the template builds for the triggers (PIPELINE_ARN_SUB) equal
# to the one SageMaker gives the pipeline, which names it in lower case.
_NAME_PATTERN = f"[a-z0-9](-*[a-z0-9]){{0,{PIPELINE_NAME_LIMIT - 1}}}"
_PIPELINE_ARN = PIPELINE_ARN_SUB


def export(workflow: Workflow, *, diagnostics: Diagnostics | None = None) -> str:
    """A CloudFormation template (JSON) deploying the pipeline and its triggers."""
    ledger = Diagnostics() if diagnostics is None else diagnostics
    # The definition holds no trigger: they are the template's own resources.
    body = sagemaker_json.export(dataclasses.replace(workflow, triggers=()), diagnostics=ledger)
    return _json.dumps(template(workflow, body, ledger))


def template(workflow: Workflow, definition: str, diagnostics: Diagnostics) -> dict[str, Any]:
    document: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"SageMaker pipeline {workflow.name or 'pipeline'!r} and its triggers, "
        "written by pipeglot.",
        "Parameters": {
            "PipelineName": {
                "Type": "String",
                "Default": pipeline_name(workflow),
                "AllowedPattern": _NAME_PATTERN,
                "Description": "Name of the SageMaker pipeline (lowercase letters, digits, -).",
            },
            "PipelineRoleArn": {
                "Type": "String",
                "AllowedPattern": "arn:aws[a-z-]*:iam::[0-9]{12}:role/.+",
                "Description": "ARN of the IAM role SageMaker runs the pipeline's steps with.",
            },
        },
        "Resources": {
            "Pipeline": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": {"Ref": "PipelineName"},
                    "PipelineDefinition": {"PipelineDefinitionBody": definition},
                    "RoleArn": {"Ref": "PipelineRoleArn"},
                },
            }
        },
        "Outputs": {
            "PipelineArn": {"Value": {"Fn::Sub": _PIPELINE_ARN}},
        },
    }
    target = _eventbridge_cfn.Target(
        kind="sagemaker",
        arn={"Fn::Sub": _PIPELINE_ARN},
        code="sagemaker-cloudformation",
    )
    _eventbridge_cfn.add_triggers(document, workflow, diagnostics, target)
    for name, resource in document["Resources"].items():
        if name not in ("Pipeline", _eventbridge_cfn.ROLE):
            resource["DependsOn"] = "Pipeline"  # the ARN is built, not referenced
    return document


def pipeline_name(workflow: Workflow) -> str:
    """The pipeline's name in SageMaker's alphabet, lowercase."""
    name = re.sub(r"[^a-z0-9]+", "-", (workflow.name or "pipeline").lower()).strip("-")
    return name[:PIPELINE_NAME_LIMIT] or "pipeline"
