"""The pipeline's triggers as the DAG's schedule.

A cron becomes ``CronTriggerTimetable`` (a run starts at each cron time, in the schedule's time
zone, the way EventBridge starts the pipeline) with the cron written in the five fields Airflow's
croniter reads; a Year restriction becomes the DAG's start and end dates. Several crons
with the same time zone and parameters become ``MultipleCronTriggerTimetable`` (Airflow 3).
A cron that no standard cron can say (``15W``, ``LW``, years with gaps) becomes an
``EventsTimetable`` listing its runs. A rate becomes ``DeltaTriggerTimetable`` (Airflow 3) or a
``timedelta`` (Airflow 2, whose runs start one interval after the start date, so the start date
is moved back one interval). The parameters a schedule passes become the params' defaults.
``catchup=False``, as EventBridge does not replay missed times. Event patterns have no faithful
Airflow form and are reported, with what to do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from pipeglot.backends._python import Atom, Doc, Group, call, literal, string_literal
from pipeglot.backends._trigger_notes import report_settings
from pipeglot.backends.airflow.emitter import Emitter
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir import eventbridge, triggers
from pipeglot.ir.model import Workflow

_CODE = "airflow.schedule"
_TRIGGER = "airflow.timetables.trigger"
_DEFAULT_START = dt.datetime(2024, 1, 1)  # fixed, for deterministic output
_EVENTS_LIMIT = 1000  # runs an EventsTimetable lists at most
_EVENTS_YEARS = 10  # ... and over at most this many years from the start


def scheduled_workflow(workflow: Workflow, diagnostics: Diagnostics) -> Workflow:
    """``workflow`` whose parameter defaults are the values its schedule passes: an Airflow
    scheduled run takes the params' defaults."""
    schedule = _first_schedule(workflow)
    if schedule is None or not schedule.parameters:
        return workflow
    values = dict(schedule.parameters)
    parameters = tuple(
        dataclasses.replace(p, default=triggers.typed_value(p, values[p.name]))
        if p.name in values
        else p
        for p in workflow.parameter_list
    )
    diagnostics.approximated(
        f"{_CODE}.parameters",
        f"{triggers.label(schedule)} passes {', '.join(sorted(values))}: these are the params' "
        "defaults, so scheduled runs get them; a manual run gets them too unless it sets them "
        "(SageMaker would use the definition's defaults)",
    )
    return dataclasses.replace(workflow, parameters=parameters)


def dag_arguments(emitter: Emitter) -> dict[str, Doc]:
    """``schedule``, ``start_date`` and maybe ``end_date`` and ``is_paused_upon_creation``;
    nothing when the workflow has no schedule (it then runs when triggered, as SageMaker)."""
    workflow, ledger = emitter.workflow, emitter.diagnostics
    _report_event_triggers(workflow, ledger)
    for trigger in workflow.triggers:
        report_settings(trigger, ledger, _CODE, carries_target=False)
    schedules = [t for t in workflow.triggers if isinstance(t, triggers.Schedule)]
    if not schedules:
        return {}
    first = schedules[0]
    together = _combinable(emitter, schedules)
    for other in schedules[len(together) :]:
        ledger.dropped(
            f"{_CODE}.extra_schedule",
            f"{triggers.label(other)}: a DAG has one schedule, and this one differs from "
            f"{triggers.label(first)} in its kind, time zone or parameters; generate a second "
            "DAG for it (pipeglot translate ... --schedule) or merge them",
        )
    _report_window_and_state(first, ledger)
    if isinstance(first.expression, eventbridge.Rate):
        arguments = _rate(emitter, first)
    elif isinstance(first.expression, eventbridge.At):
        arguments = _events(emitter, first, "")
    else:
        arguments = _cron(emitter, together)
    if not first.enabled:
        arguments["is_paused_upon_creation"] = Atom("True")
    return arguments


def _first_schedule(workflow: Workflow) -> triggers.Schedule | None:
    return next((t for t in workflow.triggers if isinstance(t, triggers.Schedule)), None)


def _combinable(emitter: Emitter, schedules: list[triggers.Schedule]) -> list[triggers.Schedule]:
    """The first schedule, and the following ones one MultipleCronTriggerTimetable can join."""
    first = schedules[0]
    if emitter.profile.version == "2" or not _plain_cron(first):
        return [first]
    together = [first]
    for other in schedules[1:]:
        same = (other.timezone, other.parameters, other.start, other.end, other.enabled) == (
            first.timezone,
            first.parameters,
            first.start,
            first.end,
            first.enabled,
        )
        if not (same and _plain_cron(other)):
            break
        together.append(other)
    return together


def _plain_cron(schedule: triggers.Schedule) -> bool:
    cron = schedule.expression
    return (
        isinstance(cron, eventbridge.Cron)
        and cron.years is None
        and eventbridge.to_standard_cron(cron, last_and_nth=True).fields is not None
    )


# --- Crons -----------------------------------------------------------------------------------


def _cron(emitter: Emitter, schedules: list[triggers.Schedule]) -> dict[str, Doc]:
    first = schedules[0]
    cron = first.expression
    assert isinstance(cron, eventbridge.Cron)
    standard = eventbridge.to_standard_cron(cron, last_and_nth=True)
    try:
        bounds = eventbridge.year_bounds(cron.years)
    except ValueError:
        bounds, standard = None, eventbridge.StandardCron(None, "its years have gaps")
    if standard.fields is None:
        return _events(emitter, first, standard.problem or "")
    start, end = _year_window(first, bounds)
    timezone = literal(first.timezone)
    if len(schedules) > 1:
        emitter.use(f"{_TRIGGER}.MultipleCronTriggerTimetable")
        crons = [
            literal(eventbridge.to_standard_cron(s.expression, last_and_nth=True).text)  # type: ignore[arg-type]
            for s in schedules
        ]
        schedule = call("MultipleCronTriggerTimetable", *crons, timezone=timezone)
    else:
        emitter.use(f"{_TRIGGER}.CronTriggerTimetable")
        schedule = call("CronTriggerTimetable", literal(standard.text), timezone=timezone)
    for each in schedules:
        _report_cron(each, emitter.diagnostics)
    arguments: dict[str, Doc] = {
        "schedule": schedule,
        "start_date": _datetime(emitter, start, first.timezone),
    }
    if end is not None:
        arguments["end_date"] = _datetime(emitter, end, first.timezone)
    return arguments


def _year_window(
    schedule: triggers.Schedule, bounds: tuple[int, int] | None
) -> tuple[dt.datetime, dt.datetime | None]:
    """The DAG's start and end (aware): the schedule's, narrowed to its Year field."""
    tz = eventbridge.zone(schedule.timezone)
    start = schedule.start or _DEFAULT_START.replace(tzinfo=tz)
    end = schedule.end
    if bounds is not None:
        start = max(start, dt.datetime(bounds[0], 1, 1, tzinfo=tz))
        last = dt.datetime(bounds[1], 12, 31, 23, 59, tzinfo=tz)
        end = last if end is None else min(end, last)
    return start, end


def _report_cron(schedule: triggers.Schedule, ledger: Diagnostics) -> None:
    cron = schedule.expression
    assert isinstance(cron, eventbridge.Cron)
    sensitive = eventbridge.dst_sensitive_times(cron, schedule.timezone)
    if sensitive:
        ledger.approximated(
            f"{_CODE}.daylight_saving",
            f"{triggers.label(schedule)}: on the days {schedule.timezone} changes its clocks, "
            f"the times {', '.join(sensitive[:6])}{'...' if len(sensitive) > 6 else ''} are "
            "skipped or happen twice; EventBridge skips a time that does not exist and runs a "
            "repeated time once, Airflow runs it after the change or at its second occurrence",
        )
        return
    ledger.exact(
        f"{_CODE}.cron",
        f"{triggers.label(schedule)}: {cron.expression} in {schedule.timezone} is the DAG's "
        "cron timetable, with the same run times",
    )


def _events(emitter: Emitter, schedule: triggers.Schedule, problem: str) -> dict[str, Doc]:
    """An EventsTimetable listing the runs EventBridge would start, from the DAG's start."""
    tz = eventbridge.zone(schedule.timezone)
    start = schedule.start or _DEFAULT_START.replace(tzinfo=tz)
    horizon = start.replace(year=start.year + _EVENTS_YEARS)
    end = horizon if schedule.end is None else min(schedule.end, horizon)
    times = schedule.fire_times(after=start - dt.timedelta(seconds=1), count=_EVENTS_LIMIT)
    times = [moment for moment in times if moment <= end]
    emitter.use("airflow.timetables.events.EventsTimetable", "datetime.datetime", "datetime.UTC")
    listed = [Atom(_utc_text(moment)) for moment in times]
    until = times[-1].isoformat() if times else "the start"
    if isinstance(schedule.expression, eventbridge.At):
        emitter.diagnostics.exact(
            f"{_CODE}.one_time",
            f"{triggers.label(schedule)}: the one run at {until} is the DAG's EventsTimetable",
        )
    else:
        emitter.diagnostics.approximated(
            f"{_CODE}.events",
            f"{triggers.label(schedule)}: {schedule.expression.expression}: {problem}, so the "
            f"DAG lists its {len(times)} runs up to {until} in an EventsTimetable; regenerate "
            "the DAG before then",
        )
    arguments: dict[str, Doc] = {
        "schedule": call(
            "EventsTimetable",
            event_dates=Group("[", tuple(listed), "]"),
            description=literal(schedule.expression.expression),
            restrict_to_events=Atom("True"),
        ),
        "start_date": _datetime(emitter, start, schedule.timezone),
    }
    return arguments


# --- Rates -----------------------------------------------------------------------------------


def _rate(emitter: Emitter, schedule: triggers.Schedule) -> dict[str, Doc]:
    rate = schedule.expression
    assert isinstance(rate, eventbridge.Rate)
    emitter.use("datetime.timedelta")
    interval = Atom(f"timedelta({rate.unit}s={rate.value})")
    start = schedule.start or _DEFAULT_START.replace(tzinfo=dt.UTC)
    if emitter.profile.version == "2":
        schedule_doc: Doc = interval  # a run starts at the end of each interval
        start -= rate.interval
    else:
        emitter.use(f"{_TRIGGER}.DeltaTriggerTimetable")
        schedule_doc = call("DeltaTriggerTimetable", interval)
    emitter.diagnostics.approximated(
        f"{_CODE}.rate",
        f"{triggers.label(schedule)}: {rate.expression} runs every {rate.value} {rate.unit}(s) as "
        "in EventBridge, counted from "
        + ("its StartDate" if schedule.start else "the DAG's first scheduled run")
        + "; with catchup=False Airflow counts again from the next run after a pause, where "
        "EventBridge keeps its original phase",
    )
    arguments: dict[str, Doc] = {
        "schedule": schedule_doc,
        "start_date": _datetime(emitter, start, "UTC"),
    }
    if schedule.end is not None:
        arguments["end_date"] = _datetime(emitter, schedule.end, "UTC")
    return arguments


# --- What the DAG does not carry -------------------------------------------------------------


def _report_window_and_state(schedule: triggers.Schedule, ledger: Diagnostics) -> None:
    if schedule.flexible_window_minutes is not None:
        ledger.approximated(
            f"{_CODE}.flexible_window",
            f"{triggers.label(schedule)}: EventBridge starts each run at a random time within "
            f"{schedule.flexible_window_minutes} minutes of the scheduled one; Airflow starts "
            "it at the scheduled time",
        )
    if not schedule.enabled:
        ledger.exact(
            f"{_CODE}.disabled",
            f"{triggers.label(schedule)} is DISABLED: the DAG is paused when created",
        )


def _report_event_triggers(workflow: Workflow, ledger: Diagnostics) -> None:
    for trigger in workflow.triggers:
        if not isinstance(trigger, triggers.EventTrigger):
            continue
        objects = _s3_objects(trigger.pattern_value)
        what = (
            f"new objects at {', '.join(objects)}" if objects else f"the pattern {trigger.pattern}"
        )
        ledger.dropped(
            f"{_CODE}.event_pattern",
            f"{triggers.label(trigger)}: Airflow has no trigger on EventBridge events ({what}); "
            "an S3 sensor would also fire on objects that already exist, not once per new one, "
            "so none is generated: route the rule to an SQS queue and watch it with an Airflow 3 "
            "AssetWatcher (MessageQueueTrigger), or keep the rule and let its target trigger "
            "the DAG through the Airflow REST API",
        )


def _s3_objects(pattern: object) -> list[str] | None:
    """``s3://bucket/prefix*`` for an S3 "Object Created" pattern on buckets and key prefixes."""
    if not isinstance(pattern, dict) or pattern.get("source") != ["aws.s3"]:
        return None
    detail = pattern.get("detail")
    if pattern.get("detail-type") != ["Object Created"] or not isinstance(detail, dict):
        return None
    buckets = (detail.get("bucket") or {}).get("name")
    keys = (detail.get("object") or {}).get("key") or [{"prefix": ""}]
    if not isinstance(buckets, list) or not all(isinstance(b, str) for b in buckets):
        return None
    prefixes = [key.get("prefix") for key in keys if isinstance(key, dict)]
    if len(prefixes) != len(keys) or not all(isinstance(p, str) for p in prefixes):
        return None
    return [f"s3://{bucket}/{prefix}*" for bucket in buckets for prefix in prefixes]


# --- Times -----------------------------------------------------------------------------------


def _datetime(emitter: Emitter, moment: dt.datetime, timezone: str) -> Doc:
    """``datetime(...)`` in the schedule's time zone (the DAG's time zone is its start
    date's), or in UTC."""
    if timezone == "UTC":
        emitter.use("datetime.datetime", "datetime.UTC")
        return Atom(_utc_text(moment))
    emitter.use("datetime.datetime", "zoneinfo.ZoneInfo")
    local = moment.astimezone(eventbridge.zone(timezone))
    return Atom(f"datetime({_fields(local)}, tzinfo=ZoneInfo({string_literal(timezone)}))")


def _utc_text(moment: dt.datetime) -> str:
    return f"datetime({_fields(moment.astimezone(dt.UTC))}, tzinfo=UTC)"


def _fields(moment: dt.datetime) -> str:
    parts = [moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second]
    while len(parts) > 3 and parts[-1] == 0:
        parts.pop()
    return ", ".join(str(part) for part in parts)
