"""The triggers of a workflow as CloudFormation resources, for the CloudFormation writers.

Each schedule becomes an ``AWS::Scheduler::Schedule`` with the same expression, time zone,
start, end, flexible window and state (a schedule that came from an EventBridge rule keeps its
meaning: rules evaluate in UTC, and so does the schedule). Each event pattern becomes an
``AWS::Events::Rule`` with the pattern exactly as read, on the same event bus. Both target
the translated workflow with the parameters the source passed, and one IAM role lets
EventBridge start it, on that one resource only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from pipeglot.backends._trigger_notes import report_settings
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir import triggers
from pipeglot.ir.model import Workflow
from pipeglot.ir.sagemaker import START_PIPELINE_EXECUTION_ACTION

ROLE = "TriggerRole"


@dataclass(frozen=True, slots=True)
class Target:
    """What the triggers start. ``kind`` is ``states`` (a state machine: the parameters are
    the execution input, typed) or ``sagemaker`` (a pipeline: SageMakerPipelineParameters)."""

    kind: str
    arn: Any  # a CloudFormation expression for the target's ARN
    code: str  # the writer's ledger prefix, e.g. "asl-cloudformation"


def add_triggers(
    template: dict[str, Any], workflow: Workflow, diagnostics: Diagnostics, target: Target
) -> dict[str, Any]:
    """``template`` with one resource per trigger of ``workflow`` and the role they use."""
    if not workflow.triggers:
        return template
    resources = template["Resources"]
    principals: set[str] = set()
    used: set[str] = set(resources)
    for trigger in workflow.triggers:
        if isinstance(trigger, triggers.Schedule):
            logical, resource = _schedule(trigger, workflow, target), "AWS::Scheduler::Schedule"
            principals.add("scheduler.amazonaws.com")
            prefix = "Schedule"
        else:
            logical, resource = _rule(trigger, workflow, target), "AWS::Events::Rule"
            principals.add("events.amazonaws.com")
            prefix = "EventRule"
        name = _logical_id(prefix, trigger.name, used)
        report_settings(trigger, diagnostics, target.code, carries_target=True)
        resources[name] = {"Type": resource, "Properties": logical}
        diagnostics.exact(
            f"{target.code}.trigger",
            f"{triggers.label(trigger)} is the {resource} {name}, with the same "
            + ("expression and time zone" if resource.endswith("Schedule") else "event pattern"),
        )
    resources[ROLE] = _role(sorted(principals), target)
    template.setdefault("Outputs", {})[f"{ROLE}Arn"] = {"Value": {"Fn::GetAtt": [ROLE, "Arn"]}}
    return template


def _schedule(schedule: triggers.Schedule, workflow: Workflow, target: Target) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "Description": _description(schedule),
        "ScheduleExpression": schedule.expression.expression,
        "ScheduleExpressionTimezone": schedule.timezone,
        "FlexibleTimeWindow": (
            {"Mode": "OFF"}
            if schedule.flexible_window_minutes is None
            else {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": schedule.flexible_window_minutes}
        ),
        "State": "ENABLED" if schedule.enabled else "DISABLED",
    }
    if schedule.start is not None:
        properties["StartDate"] = _time(schedule.start)
    if schedule.end is not None:
        properties["EndDate"] = _time(schedule.end)
    properties["Target"] = _target(schedule, workflow, target)
    return properties


def _rule(trigger: triggers.EventTrigger, workflow: Workflow, target: Target) -> dict[str, Any]:
    properties: dict[str, Any] = {"Description": _description(trigger)}
    if trigger.event_bus != "default":
        properties["EventBusName"] = trigger.event_bus
    properties["EventPattern"] = trigger.pattern_value
    properties["State"] = "ENABLED" if trigger.enabled else "DISABLED"
    properties["Targets"] = [{"Id": "Workflow", **_target(trigger, workflow, target)}]
    return properties


def _target(trigger: triggers.Trigger, workflow: Workflow, target: Target) -> dict[str, Any]:
    body: dict[str, Any] = {"Arn": target.arn, "RoleArn": {"Fn::GetAtt": [ROLE, "Arn"]}}
    body.update(triggers.target_settings(trigger))  # RetryPolicy, DeadLetterConfig: same keys
    if target.kind == "sagemaker":
        if trigger.parameters:
            body["SageMakerPipelineParameters"] = {
                "PipelineParameterList": [
                    {"Name": name, "Value": value} for name, value in trigger.parameters
                ]
            }
        return body
    body["Input"] = json.dumps(execution_input(trigger, workflow), sort_keys=True)
    return body


def execution_input(trigger: triggers.Trigger, workflow: Workflow) -> dict[str, Any]:
    """The parameters as a state machine's execution input: by name, typed as declared."""
    typed = {}
    for name, value in trigger.parameters:
        parameter = workflow.parameter(name)
        assert parameter is not None  # checked when the trigger was added
        typed[name] = triggers.typed_value(parameter, value, where=triggers.label(trigger))
    return typed


def _role(principals: list[str], target: Target) -> dict[str, Any]:
    action = "states:StartExecution" if target.kind == "states" else START_PIPELINE_EXECUTION_ACTION
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": "Lets EventBridge start the workflow on its schedules and events.",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": principal},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                        },
                    }
                    for principal in principals
                ],
            },
            "Policies": [
                {
                    "PolicyName": "start-workflow",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": action, "Resource": target.arn}
                        ],
                    },
                }
            ],
        },
    }


def _description(trigger: triggers.Trigger) -> str:
    return f"Translated by pipeglot from the {triggers.label(trigger)}."[:512]


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _logical_id(prefix: str, name: str | None, used: set[str]) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name or "")
    base = prefix + "".join(word[:1].upper() + word[1:] for word in words)[:200]
    candidate, number = base, 2
    while candidate in used:
        candidate, number = f"{base}{number}", number + 1
    used.add(candidate)
    return candidate
