"""Triggers: what starts a pipeline. Not part of a SageMaker definition.

A SageMaker pipeline runs when someone starts it, or when an EventBridge target starts it: an
EventBridge Scheduler schedule, or an EventBridge rule with a schedule expression or an event
pattern. Each passes the pipeline parameters in its target (``SageMakerPipelineParameters``).
``Workflow.triggers`` holds them; the ``sagemaker`` reader and writer ignore them, so a
definition's round trip is unchanged.

The readers here take the shapes AWS uses (a Scheduler schedule, a rule and its target) and the
same shapes in a small JSON triggers file::

    {"Triggers": [
      {"Name": "nightly", "ScheduleExpression": "cron(0 2 * * ? *)",
       "ScheduleExpressionTimezone": "Europe/Berlin", "StartDate": "2026-01-01T00:00:00Z",
       "FlexibleTimeWindow": {"Mode": "OFF"}, "PipelineParameters": {"TrainData": "s3://b/k"}},
      {"Name": "on-upload", "EventPattern": {"source": ["aws.s3"]}}
    ]}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeglot.errors import InputError
from pipeglot.ir import eventbridge

if TYPE_CHECKING:
    from pipeglot.ir.model import Parameter, Workflow

MAX_PARAMETERS = 200  # StartPipelineExecution's PipelineParameters
MAX_VALUE_LENGTH = 1024
MAX_WINDOW_MINUTES = 1440  # FlexibleTimeWindow.MaximumWindowInMinutes


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """A recurring schedule. ``start``/``end`` are aware datetimes; ``flexible_window_minutes``
    is None when the window is OFF (the target runs within the minute)."""

    expression: eventbridge.Expression
    timezone: str = "UTC"
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    flexible_window_minutes: int | None = None
    parameters: tuple[tuple[str, str], ...] = ()  # (name, value) as SageMaker receives them
    name: str | None = None
    origin: str = "the command line"  # where it was read, for messages
    enabled: bool = True
    target_settings: str = "{}"  # the target's RetryPolicy / DeadLetterConfig, JSON text
    unmodeled: tuple[str, ...] = ()  # settings read but not translated, for the ledger

    def fire_times(self, *, after: dt.datetime, count: int) -> list[dt.datetime]:
        """The next ``count`` invocations after ``after`` as EventBridge defines them (UTC)."""
        return eventbridge.fire_times(
            self.expression,
            after=after,
            count=count,
            timezone=self.timezone,
            start=self.start,
            end=self.end,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class EventTrigger:
    """An EventBridge rule with an event pattern; ``pattern`` is its JSON text, kept exact."""

    pattern: str
    event_bus: str = "default"
    parameters: tuple[tuple[str, str], ...] = ()
    name: str | None = None
    origin: str = "the command line"
    enabled: bool = True
    target_settings: str = "{}"
    unmodeled: tuple[str, ...] = ()

    @property
    def pattern_value(self) -> Any:
        return json.loads(self.pattern)


Trigger = Schedule | EventTrigger

# What EventBridge does when starting the target fails, unless told otherwise (Scheduler and
# rules alike): retry for a day, up to 185 times.
DEFAULT_RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
_TARGET_SETTINGS = ("RetryPolicy", "DeadLetterConfig")


def target_settings(trigger: Trigger) -> dict[str, Any]:
    """The target's retry policy (when not the default) and dead-letter queue."""
    return dict(json.loads(trigger.target_settings))


def label(trigger: Trigger) -> str:
    """How messages name a trigger: ``schedule 'nightly' (from ...)``."""
    kind = "schedule" if isinstance(trigger, Schedule) else "event rule"
    named = f" {trigger.name!r}" if trigger.name else ""
    return f"{kind}{named} ({trigger.origin})"


# --- Reading the AWS shapes -------------------------------------------------------------------


def from_json(item: Any, *, where: str, origin: str) -> Trigger:
    """One trigger in the triggers-file / API shape (see the module docstring)."""
    if not isinstance(item, Mapping):
        raise InputError(
            "a trigger is a JSON object with ScheduleExpression or EventPattern", location=where
        )
    name = item.get("Name")
    if name is not None and not isinstance(name, str):
        raise InputError("Name must be a string", location=f"{where}/Name")
    enabled = _state(item, where)
    parameters = _parameters(item, where)
    common: dict[str, Any] = {
        "parameters": parameters,
        "name": name,
        "origin": origin,
        "enabled": enabled,
        "target_settings": _settings(item.get("Target"), f"{where}/Target"),
        "unmodeled": tuple(item.get("Unmodeled", ())),
    }
    if ("ScheduleExpression" in item) == ("EventPattern" in item):
        raise InputError(
            "give exactly one of ScheduleExpression (cron(...) or rate(...)) and EventPattern",
            location=where,
        )
    if "EventPattern" in item:
        return EventTrigger(
            pattern=_pattern_text(item["EventPattern"], f"{where}/EventPattern"),
            event_bus=_string(item, "EventBusName", where, "default"),
            **common,
        )
    timezone = _string(item, "ScheduleExpressionTimezone", where, "UTC")
    eventbridge.zone(timezone, where=f"{where}/ScheduleExpressionTimezone")
    start = _date(item, "StartDate", where)
    end = _date(item, "EndDate", where)
    if start is not None and end is not None and end <= start:
        raise InputError("EndDate must be after StartDate", location=f"{where}/EndDate")
    return Schedule(
        expression=eventbridge.parse(
            item["ScheduleExpression"], where=f"{where}/ScheduleExpression"
        ),
        timezone=timezone,
        start=start,
        end=end,
        flexible_window_minutes=_window(item.get("FlexibleTimeWindow"), where),
        **common,
    )


def from_scheduler(schedule: Mapping[str, Any], *, where: str) -> Trigger:
    """A Scheduler ``GetSchedule`` response; the parameters are its target's."""
    target = schedule.get("Target") or {}
    group = schedule.get("GroupName", "default")
    item = {
        key: schedule[key]
        for key in (
            "Name",
            "ScheduleExpression",
            "ScheduleExpressionTimezone",
            "StartDate",
            "EndDate",
            "FlexibleTimeWindow",
            "State",
        )
        if schedule.get(key) is not None
    }
    item["PipelineParameters"] = _target_parameters(target)
    item["Target"] = {key: target[key] for key in _TARGET_SETTINGS if key in target}
    item["Unmodeled"] = [
        key
        for key in ("KmsKeyArn", "ActionAfterCompletion")
        if schedule.get(key) not in (None, "NONE")
    ]
    if group != "default":
        item["Unmodeled"].append(f"GroupName {group!r}")
    return from_json(
        item, where=where, origin=f"EventBridge Scheduler schedule {group}/{item.get('Name')}"
    )


def from_rule(rule: Mapping[str, Any], target: Mapping[str, Any], *, where: str) -> Trigger:
    """An EventBridge ``DescribeRule`` response and the target that starts the pipeline."""
    item: dict[str, Any] = {"Name": rule.get("Name"), "State": rule.get("State", "ENABLED")}
    if rule.get("ScheduleExpression"):
        item["ScheduleExpression"] = rule["ScheduleExpression"]  # rules evaluate in UTC
    if rule.get("EventPattern"):
        item["EventPattern"] = rule["EventPattern"]
        item["EventBusName"] = rule.get("EventBusName", "default")
    item["PipelineParameters"] = _target_parameters(target)
    item["Target"] = {key: target[key] for key in _TARGET_SETTINGS if key in target}
    return from_json(item, where=where, origin=f"EventBridge rule {rule.get('Name')}")


def _settings(value: Any, where: str) -> str:
    """``Target``'s RetryPolicy (unless it is the default) and DeadLetterConfig, as JSON text."""
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        raise InputError('Target is an object such as {"RetryPolicy": {...}}', location=where)
    unknown = sorted(set(value) - set(_TARGET_SETTINGS))
    if unknown:
        raise InputError(
            f"Target takes RetryPolicy and DeadLetterConfig, not {', '.join(unknown)} (the "
            "target is the translated pipeline)",
            location=where,
        )
    kept = {key: value[key] for key in _TARGET_SETTINGS if key in value}
    if kept.get("RetryPolicy") == DEFAULT_RETRY_POLICY:
        del kept["RetryPolicy"]
    return json.dumps(kept, sort_keys=True)


def _target_parameters(target: Mapping[str, Any]) -> list[Any]:
    block = target.get("SageMakerPipelineParameters") or {}
    return list(block.get("PipelineParameterList") or [])


def _state(item: Mapping[str, Any], where: str) -> bool:
    state = item.get("State", "ENABLED")
    if state not in ("ENABLED", "DISABLED"):
        raise InputError("State is ENABLED or DISABLED", location=f"{where}/State")
    return bool(state == "ENABLED")


def _string(item: Mapping[str, Any], key: str, where: str, default: str) -> str:
    value = item.get(key, default)
    if not isinstance(value, str) or not value:
        raise InputError(f"{key} must be a non-empty string", location=f"{where}/{key}")
    return value


def _pattern_text(value: Any, where: str) -> str:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as error:
            raise InputError(
                f"the event pattern is not JSON ({error.msg})", location=where
            ) from None
        if not isinstance(parsed, dict):
            raise InputError("an event pattern is a JSON object", location=where)
        return value
    if not isinstance(value, Mapping) or not value:
        raise InputError("an event pattern is a non-empty JSON object", location=where)
    return json.dumps(value, separators=(",", ":"))


def _date(item: Mapping[str, Any], key: str, where: str) -> dt.datetime | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(
                f"{key} {value!r} is not an ISO 8601 time such as 2026-01-01T00:00:00Z",
                location=f"{where}/{key}",
            ) from None
    if not isinstance(value, dt.datetime):
        raise InputError(f"{key} must be an ISO 8601 time", location=f"{where}/{key}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # the API's times are UTC
    return value.astimezone(dt.UTC)


def _window(value: Any, where: str) -> int | None:
    if value is None:
        return None
    at = f"{where}/FlexibleTimeWindow"
    if not isinstance(value, Mapping) or value.get("Mode") not in ("OFF", "FLEXIBLE"):
        raise InputError('FlexibleTimeWindow is {"Mode": "OFF"} or FLEXIBLE', location=at)
    if value["Mode"] == "OFF":
        return None
    minutes = value.get("MaximumWindowInMinutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InputError("a FLEXIBLE window needs MaximumWindowInMinutes", location=at)
    if not 1 <= minutes <= MAX_WINDOW_MINUTES:
        raise InputError(
            f"MaximumWindowInMinutes is 1-{MAX_WINDOW_MINUTES}",
            location=f"{at}/MaximumWindowInMinutes",
        )
    return minutes


def _parameters(item: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    """``PipelineParameters``: an object ``{name: value}`` or the API's ``[{Name, Value}]``."""
    value = item.get("PipelineParameters", ())
    at = f"{where}/PipelineParameters"
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list | tuple):
        pairs = []
        for index, entry in enumerate(value):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("Name"), str):
                raise InputError(
                    'each entry is {"Name": ..., "Value": ...}', location=f"{at}/{index}"
                )
            pairs.append((entry["Name"], entry.get("Value")))
    else:
        raise InputError('PipelineParameters is an object such as {"Epochs": "10"}', location=at)
    if len(pairs) > MAX_PARAMETERS:
        raise InputError(f"SageMaker takes at most {MAX_PARAMETERS} parameters", location=at)
    return tuple((name, parameter_text(value, f"{at}/{name}")) for name, value in pairs)


def parameter_text(value: Any, where: str) -> str:
    """A parameter value as SageMaker receives it: a string (JSON numbers and booleans are
    written as their JSON text)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = json.dumps(value)
    elif isinstance(value, str):
        text = value
    else:
        raise InputError("a parameter value is a string, a number or a boolean", location=where)
    if len(text) > MAX_VALUE_LENGTH:
        raise InputError(
            f"a parameter value has at most {MAX_VALUE_LENGTH} characters", location=where
        )
    return text


# --- Checking against the pipeline --------------------------------------------------------------


def check(workflow: Workflow, triggers: tuple[Trigger, ...]) -> None:
    """Every parameter a trigger passes is declared, and its value fits the parameter's type."""
    for trigger in triggers:
        for name, value in trigger.parameters:
            parameter = workflow.parameter(name)
            if parameter is None:
                declared = ", ".join(p.name for p in workflow.parameter_list) or "none"
                raise InputError(
                    f"passes parameter {name!r}, which the pipeline does not declare "
                    f"(it declares {declared}); remove it or declare it",
                    location=label(trigger),
                )
            typed_value(parameter, value, where=label(trigger))


def typed_value(parameter: Parameter, text: str, *, where: str = "a trigger") -> Any:
    """The value ``text`` takes as ``parameter`` (SageMaker reads parameter strings by type)."""
    kind = parameter.type.value
    try:
        if kind == "Integer":
            return int(text)
        if kind == "Float":
            return float(text)
    except ValueError:
        raise InputError(
            f"passes {text!r} for {kind} parameter {parameter.name!r}; give a number",
            location=where,
        ) from None
    if kind == "Boolean":
        if text.lower() not in ("true", "false"):
            raise InputError(
                f"passes {text!r} for Boolean parameter {parameter.name!r}; give true or false",
                location=where,
            )
        return text.lower() == "true"
    return text


def with_triggers(workflow: Workflow, triggers: tuple[Trigger, ...]) -> Workflow:
    """``workflow`` with ``triggers`` added after its own, checked against its parameters."""
    check(workflow, triggers)
    return dataclasses.replace(workflow, triggers=(*workflow.triggers, *triggers))
