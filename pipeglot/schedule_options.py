"""The command line's trigger options, for any input: ``--schedule``, ``--schedule-timezone``,
``--schedule-start``, ``--schedule-end``, ``--schedule-parameters`` and ``--triggers FILE``.

They add triggers (``pipeglot.ir.triggers``) to the workflow that was read, after those the
input itself carries (a pipeline read from SageMaker brings its EventBridge schedules).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pipeglot.errors import InputError, UsageError
from pipeglot.ir import triggers
from pipeglot.ir.model import Workflow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "triggers (what starts the pipeline; carried to Airflow, Step Functions, KFP)"
    )
    group.add_argument(
        "--schedule",
        action="append",
        metavar="EXPR",
        help='an EventBridge schedule expression, e.g. "cron(0 6 * * ? *)" or "rate(1 day)" '
        "(repeatable)",
    )
    group.add_argument(
        "--schedule-timezone", metavar="TZ", help="IANA time zone of --schedule. Default: UTC"
    )
    group.add_argument("--schedule-start", metavar="TIME", help="ISO 8601 start of --schedule")
    group.add_argument("--schedule-end", metavar="TIME", help="ISO 8601 end of --schedule")
    group.add_argument(
        "--schedule-parameters",
        metavar="JSON",
        help='pipeline parameters the scheduled runs pass, e.g. \'{"Epochs": "10"}\'',
    )
    group.add_argument(
        "--triggers",
        type=Path,
        metavar="FILE",
        help='a JSON file {"Triggers": [...]} of schedules and event patterns, in the shape '
        "of EventBridge Scheduler schedules and rules (see the README)",
    )


def apply(workflow: Workflow, args: argparse.Namespace | None) -> Workflow:
    """``workflow`` with the triggers the command line gives; unchanged when it gives none."""
    if args is None:
        return workflow
    given = (*_from_flags(args), *_from_file(getattr(args, "triggers", None)))
    return triggers.with_triggers(workflow, given) if given else workflow


def _from_flags(args: argparse.Namespace) -> list[triggers.Trigger]:
    expressions = getattr(args, "schedule", None) or []
    extras = {
        "ScheduleExpressionTimezone": getattr(args, "schedule_timezone", None),
        "StartDate": getattr(args, "schedule_start", None),
        "EndDate": getattr(args, "schedule_end", None),
    }
    parameters_text = getattr(args, "schedule_parameters", None)
    if not expressions:
        used = [f"--{key}" for key, value in _flag_names(extras, parameters_text) if value]
        if used:
            raise UsageError(f"{', '.join(used)} describe --schedule; pass --schedule EXPR too")
        return []
    parameters = _parameters(parameters_text) if parameters_text is not None else {}
    found = []
    for index, expression in enumerate(expressions):
        item: dict[str, Any] = {"ScheduleExpression": expression, "PipelineParameters": parameters}
        item.update({key: value for key, value in extras.items() if value is not None})
        where = "--schedule" if len(expressions) == 1 else f"--schedule #{index + 1}"
        found.append(triggers.from_json(item, where=where, origin="--schedule"))
    return found


def _flag_names(extras: dict[str, Any], parameters: str | None) -> list[tuple[str, Any]]:
    return [
        ("schedule-timezone", extras["ScheduleExpressionTimezone"]),
        ("schedule-start", extras["StartDate"]),
        ("schedule-end", extras["EndDate"]),
        ("schedule-parameters", parameters),
    ]


def _parameters(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"--schedule-parameters is not JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise UsageError('--schedule-parameters is a JSON object, e.g. \'{"Epochs": "10"}\'')
    return value


def _from_file(path: Path | None) -> list[triggers.Trigger]:
    if path is None:
        return []
    source = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such triggers file; check the path", source=source) from None
    except json.JSONDecodeError as error:
        raise InputError(
            f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})",
            source=source,
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the triggers file: {error}", source=source) from None
    items = document.get("Triggers") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise InputError(
            'a triggers file is {"Triggers": [...]}, each a schedule or an event pattern',
            source=source,
        )
    try:
        return [
            triggers.from_json(item, where=f"/Triggers/{index}", origin=f"{source}")
            for index, item in enumerate(items)
        ]
    except InputError as error:
        raise error.with_source(source) from None


# --- What ``pipeglot inspect`` shows ------------------------------------------------------------


def inspect_entries(workflow: Workflow) -> dict[str, Any]:
    """``{"triggers": [...]}`` for ``inspect --format json``; nothing when there are none."""
    if not workflow.triggers:
        return {}
    return {"triggers": [_entry(trigger) for trigger in workflow.triggers]}


def _entry(trigger: triggers.Trigger) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": trigger.name, "from": trigger.origin}
    if isinstance(trigger, triggers.Schedule):
        entry["schedule"] = trigger.expression.expression
        entry["timezone"] = trigger.timezone
        for key, moment in (("start", trigger.start), ("end", trigger.end)):
            if moment is not None:
                entry[key] = moment.isoformat()
        if trigger.flexible_window_minutes is not None:
            entry["flexible_window_minutes"] = trigger.flexible_window_minutes
    else:
        entry["event_pattern"] = trigger.pattern_value
        entry["event_bus"] = trigger.event_bus
    entry["enabled"] = trigger.enabled
    entry["parameters"] = dict(trigger.parameters)
    return entry


def inspect_lines(summary: dict[str, Any]) -> list[str]:
    """The text ``inspect`` prints for the triggers in ``summary``."""
    if "triggers" not in summary:
        return []
    lines = ["triggers:"]
    for entry in summary["triggers"]:
        what = entry.get("schedule") or json.dumps(entry["event_pattern"], sort_keys=True)
        where = f" in {entry['timezone']}" if "timezone" in entry else ""
        state = "" if entry["enabled"] else " (disabled)"
        passes = f", passes {json.dumps(entry['parameters'])}" if entry["parameters"] else ""
        lines.append(f"  {entry['name'] or '(unnamed)'}: {what}{where}{state}{passes}")
    return lines
