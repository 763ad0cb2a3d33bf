"""The pipeline's schedules as Kubeflow recurring runs.

A KFP pipeline is scheduled by a recurring run, created with the kfp client next to the
compiled pipeline. The generated file carries them as data, ``RECURRING_RUNS`` (the keyword
arguments of ``kfp.Client.create_recurring_run``), and ``create_recurring_runs(client, ...)``
submits them. A cron is written in KFP's six-field format (seconds first, robfig/cron, which
reads no ``L``, ``W`` or ``#``); a rate is ``interval_second``; a Year range is the start and end
time; the parameters are the run's ``params``. KFP's scheduler evaluates every cron in one time
zone (``cronScheduleTimezone`` of its install config, UTC unless changed), which the ledger
says when the schedule uses another. Event patterns have no KFP form and are reported.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from typing import Any

from pipeglot.backends._python import literal, statement
from pipeglot.backends._trigger_notes import report_settings
from pipeglot.backends.kfp.plan import Plan
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir import eventbridge, triggers
from pipeglot.ir.model import Workflow

_CODE = "kfp.schedule"


def section(plan: Plan) -> str | None:
    """The file's recurring runs (a ``module.EXTENSIONS`` part), or None when no schedule can
    be one."""
    schedules = _schedules(plan.workflow)
    runs = [run for run in (_recurring_run(plan, s, schedules) for s in schedules) if run]
    if not runs:
        return None
    return (
        "# --- The pipeline's schedules, as KFP recurring runs ---\n"
        + statement("RECURRING_RUNS", literal(runs))
        + "\n\n\n"
        + _SUBMIT
    )


def report(plan: Plan, diagnostics: Diagnostics) -> None:
    """Ledger entries: each schedule as written, or why not; each event pattern dropped."""
    for trigger in plan.workflow.triggers:
        report_settings(trigger, diagnostics, _CODE, carries_target=False)
        if isinstance(trigger, triggers.EventTrigger):
            diagnostics.dropped(
                f"{_CODE}.event_pattern",
                f"{triggers.label(trigger)}: Kubeflow Pipelines has no event triggers (pattern "
                f"{trigger.pattern}); keep the EventBridge rule and point it at a function that "
                "creates a run with the kfp client",
            )
            continue
        if isinstance(trigger.expression, eventbridge.At):
            diagnostics.dropped(
                f"{_CODE}.one_time",
                f"{triggers.label(trigger)}: {trigger.expression.expression} is one run, and a "
                "KFP recurring run repeats; start that run yourself at that time "
                "(kfp run create --experiment-name EXPERIMENT --package-file PIPELINE.yaml)",
            )
            continue
        cron = _kfp_cron(trigger)
        if isinstance(trigger.expression, eventbridge.Cron) and cron is None:
            diagnostics.dropped(
                f"{_CODE}.cron",
                f"{triggers.label(trigger)}: {trigger.expression.expression} has no KFP cron "
                f"form ({_problem(trigger)}); no recurring run is written for it",
            )
            continue
        _report_written(plan, trigger, cron, diagnostics)


def _report_written(
    plan: Plan, schedule: triggers.Schedule, cron: str | None, ledger: Diagnostics
) -> None:
    command = _command(plan, schedule, cron)
    ledger.exact(
        f"{_CODE}.recurring_run",
        f"{triggers.label(schedule)} is a recurring run in RECURRING_RUNS; submit it with "
        f"create_recurring_runs(kfp.Client(...), EXPERIMENT_ID, 'PIPELINE.yaml'), or: {command}",
    )
    utc = _utc_cron(schedule)
    if utc is not None:
        ledger.exact(
            f"{_CODE}.timezone",
            f"{triggers.label(schedule)}: {schedule.timezone} is always "
            f"{_offset_text(schedule.timezone)}, so the cron is written in UTC, "
            f"{utc.expression}, as KFP's scheduler evaluates it by default",
        )
    elif schedule.timezone != "UTC" and cron is not None:
        ledger.approximated(
            f"{_CODE}.timezone",
            f"{triggers.label(schedule)}: the cron is in {schedule.timezone}; KFP evaluates every "
            "cron in its scheduler's time zone (cronScheduleTimezone in pipeline-install-config, "
            f"UTC by default): set it to {schedule.timezone} or the runs happen at UTC times",
        )
    if isinstance(schedule.expression, eventbridge.Cron):
        sensitive = eventbridge.dst_sensitive_times(schedule.expression, schedule.timezone)
        if sensitive:
            ledger.approximated(
                f"{_CODE}.daylight_saving",
                f"{triggers.label(schedule)}: {', '.join(sensitive[:6])} fall in a clock change "
                f"of {schedule.timezone}; EventBridge skips a missing time and runs a repeated "
                "one once, KFP's scheduler may not",
            )
    if schedule.flexible_window_minutes is not None:
        ledger.approximated(
            f"{_CODE}.flexible_window",
            f"{triggers.label(schedule)}: KFP starts runs at the scheduled time, not within a "
            f"{schedule.flexible_window_minutes}-minute flexible window",
        )


def _schedules(workflow: Workflow) -> list[triggers.Schedule]:
    return [t for t in workflow.triggers if isinstance(t, triggers.Schedule)]


def kfp_cron(schedule: triggers.Schedule) -> str | None:
    """The schedule's cron in KFP's six fields (``second minute hour dom month dow``)."""
    return _kfp_cron(schedule)


def _kfp_cron(schedule: triggers.Schedule) -> str | None:
    cron = schedule.expression
    if not isinstance(cron, eventbridge.Cron):
        return None
    cron = _utc_cron(schedule) or cron
    standard = eventbridge.to_standard_cron(cron, last_and_nth=False)
    if standard.fields is None:
        return None
    try:
        eventbridge.year_bounds(cron.years)
    except ValueError:
        return None
    return "0 " + standard.text


def _utc_cron(schedule: triggers.Schedule) -> eventbridge.Cron | None:
    """The cron in UTC, which KFP's scheduler uses by default, when the zone allows it."""
    cron = schedule.expression
    if schedule.timezone == "UTC" or not isinstance(cron, eventbridge.Cron):
        return None
    return eventbridge.in_utc(cron, schedule.timezone)


def _offset_text(timezone: str) -> str:
    offset = eventbridge.fixed_offset(timezone) or dt.timedelta()
    hours = offset // dt.timedelta(hours=1)
    return f"UTC{'+' if hours >= 0 else '-'}{abs(hours):02d}:00"


def _problem(schedule: triggers.Schedule) -> str:
    cron = schedule.expression
    assert isinstance(cron, eventbridge.Cron)
    standard = eventbridge.to_standard_cron(cron, last_and_nth=False)
    return standard.problem or "its years have gaps"


def _recurring_run(
    plan: Plan, schedule: triggers.Schedule, schedules: list[triggers.Schedule]
) -> dict[str, Any] | None:
    run: dict[str, Any] = {"job_name": _job_name(plan, schedule, schedules)}
    if isinstance(schedule.expression, eventbridge.Rate):
        run["interval_second"] = schedule.expression.seconds
    else:
        cron = _kfp_cron(schedule)
        if cron is None:
            return None
        run["cron_expression"] = cron
    start, end = _window(schedule)
    if start is not None:
        run["start_time"] = _time(start)
    if end is not None:
        run["end_time"] = _time(end)
    run["no_catchup"] = True  # EventBridge does not replay missed times
    run["enabled"] = schedule.enabled
    run["params"] = _params(plan, schedule)
    return run


def _window(schedule: triggers.Schedule) -> tuple[dt.datetime | None, dt.datetime | None]:
    start, end = schedule.start, schedule.end
    cron = schedule.expression
    bounds = eventbridge.year_bounds(cron.years) if isinstance(cron, eventbridge.Cron) else None
    if bounds is not None:
        tz = eventbridge.zone(schedule.timezone)
        first = dt.datetime(bounds[0], 1, 1, tzinfo=tz)
        last = dt.datetime(bounds[1], 12, 31, 23, 59, 59, tzinfo=tz)
        start = first if start is None else max(start, first)
        end = last if end is None else min(end, last)
    return start, end


def _params(plan: Plan, schedule: triggers.Schedule) -> dict[str, Any]:
    workflow = plan.workflow
    params = {}
    for name, value in schedule.parameters:
        parameter = workflow.parameter(name)
        assert parameter is not None  # checked when the trigger was added
        params[plan.parameters.get(name, name)] = triggers.typed_value(parameter, value)
    return params


def _job_name(plan: Plan, schedule: triggers.Schedule, schedules: list[triggers.Schedule]) -> str:
    """The pipeline's name and the schedule's (or its number when it has none)."""
    if schedule.name:
        return f"{plan.pipeline_name}-{schedule.name}"
    if len(schedules) == 1:
        return plan.pipeline_name
    return f"{plan.pipeline_name}-schedule-{schedules.index(schedule) + 1}"


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _command(plan: Plan, schedule: triggers.Schedule, cron: str | None) -> str:
    """The kfp CLI command that creates the recurring run from the compiled pipeline."""
    words = ["kfp", "recurring-run", "create", "--experiment-name", "EXPERIMENT"]
    words += ["--job-name", schedule.name or "PIPELINE"]
    if cron is not None:
        words += ["--cron-expression", cron]
    else:
        assert isinstance(schedule.expression, eventbridge.Rate)
        words += ["--interval-second", str(schedule.expression.seconds)]
    start, end = _window(schedule)
    if start is not None:
        words += ["--start-time", _time(start)]
    if end is not None:
        words += ["--end-time", _time(end)]
    words += ["--no-catchup", "--pipeline-package-path", "PIPELINE.yaml"]
    if not schedule.enabled:
        words.append("--disabled")
    words += [f"{name}={_cli_value(value)}" for name, value in _params(plan, schedule).items()]
    return shlex.join(words)


def _cli_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


_SUBMIT = '''def create_recurring_runs(client, experiment_id, pipeline_package_path):
    """Create each recurring run, e.g. with kfp.Client(host=...) and the compiled YAML."""
    return [
        client.create_recurring_run(
            experiment_id=experiment_id, pipeline_package_path=pipeline_package_path, **run
        )
        for run in RECURRING_RUNS
    ]'''
