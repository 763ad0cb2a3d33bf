"""The triggers of a pipeline in SageMaker: the EventBridge Scheduler schedules and EventBridge
rules whose target is the pipeline, with the parameters each passes
(``SageMakerPipelineParameters``).

A pipeline's definition holds none of this: teams start pipelines from EventBridge. Scheduler
schedules are listed in every schedule group and kept when their target is the pipeline's ARN;
rules are found with ``ListRuleNamesByTarget`` on every event bus. Each target of a rule that
starts the pipeline is one trigger (a rule may start it twice with different parameters).
"""

from __future__ import annotations

from typing import Any

from pipeglot import aws
from pipeglot.ir import triggers


def read_triggers(pipeline_arn: str, region: str | None) -> tuple[triggers.Trigger, ...]:
    """Every schedule and rule that starts ``pipeline_arn``, schedules first, by name."""
    return (*_schedules(pipeline_arn, region), *_rules(pipeline_arn, region))


def _same(arn: Any, pipeline_arn: str) -> bool:
    # SageMaker writes pipeline ARNs in lowercase; a target may have been typed otherwise.
    return isinstance(arn, str) and arn.lower() == pipeline_arn.lower()


def _schedules(pipeline_arn: str, region: str | None) -> list[triggers.Trigger]:
    client = aws.client("scheduler", region)
    found = []
    action = "listing the EventBridge Scheduler schedules (scheduler:ListSchedules)"
    with aws.translated_errors(action):
        pages = client.get_paginator("list_schedules").paginate()
        summaries = [item for page in pages for item in page.get("Schedules", [])]
    for summary in sorted(summaries, key=lambda s: (s.get("GroupName", ""), s["Name"])):
        if not _same((summary.get("Target") or {}).get("Arn"), pipeline_arn):
            continue
        group = summary.get("GroupName", "default")
        with aws.translated_errors(f"reading schedule {group}/{summary['Name']}"):
            schedule = client.get_schedule(Name=summary["Name"], GroupName=group)
        where = f"EventBridge Scheduler schedule {group}/{summary['Name']}"
        found.append(triggers.from_scheduler(schedule, where=where))
    return found


def _rules(pipeline_arn: str, region: str | None) -> list[triggers.Trigger]:
    client = aws.client("events", region)
    found = []
    with aws.translated_errors("listing the EventBridge event buses (events:ListEventBuses)"):
        buses = [bus["Name"] for bus in _all(client.list_event_buses, "EventBuses")]
    for bus in sorted(set(buses) | {"default"}):
        action = f"listing the EventBridge rules on bus {bus!r} that start the pipeline"
        with aws.translated_errors(action):
            names = _all(
                client.list_rule_names_by_target,
                "RuleNames",
                TargetArn=pipeline_arn,
                EventBusName=bus,
            )
        for name in sorted(names):
            with aws.translated_errors(f"reading EventBridge rule {name!r}"):
                rule = client.describe_rule(Name=name, EventBusName=bus)
                targets = _all(client.list_targets_by_rule, "Targets", Rule=name, EventBusName=bus)
            for target in targets:
                if _same(target.get("Arn"), pipeline_arn):
                    where = f"EventBridge rule {name} target {target.get('Id')}"
                    found.append(triggers.from_rule(rule, target, where=where))
    return found


def _all(call: Any, key: str, **arguments: Any) -> list[Any]:
    """Every item of a NextToken-paged EventBridge list call."""
    items: list[Any] = []
    token = None
    while True:
        response = call(**arguments, **({"NextToken": token} if token else {}))
        items.extend(response.get(key, []))
        token = response.get("NextToken")
        if not token:
            return items
