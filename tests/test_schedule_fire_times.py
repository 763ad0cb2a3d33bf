"""Same next run times on every target: for each EventBridge expression (``?``, ``L``, ``W``,
``#``, years, time zones, daylight-saving changes, rates, a one-time schedule), the next twenty
times EventBridge
starts the pipeline equal the times each target starts its translation, or the ledger says
why they differ.

Each target is asked with its own machinery: Airflow 3 and Airflow 2 load the generated DAG
files in a real DagBag and step the DAG's own timetable; the CloudFormation writers' Scheduler
schedule is read back from the template (expression, time zone, start) and evaluated as
EventBridge defines it; KFP's recurring-run cron is evaluated by croniter in KFP's seconds-first
format, in UTC (the KFP scheduler's default time zone), and its intervals from the start time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import require, require_module

import pipeglot
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.ir import triggers
from pipeglot.ir.model import Workflow

COUNT = 20
DEFINITION = json.dumps(
    {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Epochs", "Type": "Integer", "DefaultValue": 1}],
        "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "scheduled"}}],
    }
)

# name -> (expression, time zone, StartDate)
CASES: dict[str, tuple[str, str, str]] = {
    "daily-utc": ("cron(0 6 * * ? *)", "UTC", "2026-03-01T00:00:00Z"),
    "berlin-spring-forward": ("cron(30 2 * * ? *)", "Europe/Berlin", "2026-03-20T00:00:00Z"),
    "berlin-fall-back": ("cron(0/30 1-3 * * ? *)", "Europe/Berlin", "2026-10-24T20:00:00Z"),
    "new-york-weekdays": ("cron(0 9 ? * MON-FRI *)", "America/New_York", "2026-03-01T00:00:00Z"),
    "last-day-of-month": ("cron(0 12 L * ? *)", "UTC", "2026-01-01T00:00:00Z"),
    "nearest-weekday": ("cron(0 9 15W * ? *)", "UTC", "2026-01-01T00:00:00Z"),
    "last-weekday": ("cron(0 18 LW * ? *)", "UTC", "2026-01-01T00:00:00Z"),
    "last-friday-tokyo": ("cron(0 18 ? * 6L *)", "Asia/Tokyo", "2026-01-01T00:00:00Z"),
    "first-monday-london": ("cron(15 10 ? * 2#1 *)", "Europe/London", "2026-01-01T00:00:00Z"),
    "saturdays-sydney": ("cron(0 6 ? * L *)", "Australia/Sydney", "2026-03-01T00:00:00Z"),
    "weekday-range-wrapping": ("cron(0 7 ? * FRI-MON *)", "UTC", "2026-01-01T00:00:00Z"),
    "two-years": ("cron(0 8 ? * MON-FRI 2026-2027)", "UTC", "2025-12-20T00:00:00Z"),
    "years-with-gaps": ("cron(0 0 1 JAN,JUL ? 2026,2028)", "UTC", "2025-01-01T00:00:00Z"),
    "every-ten-from-one": ("cron(1/10 * * * ? *)", "UTC", "2026-03-01T00:00:00Z"),
    "rate-hours": ("rate(6 hours)", "UTC", "2026-03-01T03:17:00Z"),
    "rate-day-over-dst": ("rate(1 day)", "Europe/Berlin", "2026-03-27T05:00:00Z"),
    "one-time": ("at(2026-07-14T09:00:00)", "Europe/Paris", "2026-01-01T00:00:00Z"),
    "tokyo-weekdays": ("cron(0 9 ? * MON-FRI *)", "Asia/Tokyo", "2026-01-01T00:00:00Z"),
}


def _workflow(case: str) -> Workflow:
    expression, timezone, start = CASES[case]
    item = {
        "Name": case,
        "ScheduleExpression": expression,
        "ScheduleExpressionTimezone": timezone,
        "StartDate": start,
        "PipelineParameters": {"Epochs": "7"},
    }
    workflow = pipeglot.load(DEFINITION, name=f"sched-{case}")
    return triggers.with_triggers(workflow, (triggers.from_json(item, where=case, origin=case),))


def _truth(case: str) -> list[str]:
    """EventBridge's next twenty invocations from the StartDate (ir/eventbridge.py)."""
    (schedule,) = _workflow(case).triggers
    assert isinstance(schedule, triggers.Schedule) and schedule.start is not None
    times = schedule.fire_times(after=schedule.start - dt.timedelta(microseconds=1), count=COUNT)
    return [_utc(moment) for moment in times]


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dump(case: str, fmt: str, **options: Any) -> tuple[str, Diagnostics]:
    ledger = Diagnostics()
    text = pipeglot.dump(
        _workflow(case), write=fmt, unsupported="warn", diagnostics=ledger, **options
    )
    return text, ledger


def _reported(ledger: Diagnostics, prefix: str) -> list[str]:
    return [
        entry.code
        for entry in ledger
        if entry.code.startswith(prefix) and entry.fidelity is not Fidelity.EXACT
    ]


# --- EventBridge itself: the truth is what it says -----------------------------------------


def test_the_truth_has_twenty_times_where_the_expression_allows() -> None:
    for case in CASES:
        expected = {"years-with-gaps": 4, "one-time": 1}.get(case, COUNT)
        assert len(_truth(case)) == expected, case


def test_spring_forward_is_skipped_and_fall_back_runs_once() -> None:
    spring = _truth("berlin-spring-forward")
    assert "2026-03-28T01:30:00Z" in spring and "2026-03-30T00:30:00Z" in spring
    assert not any(time.startswith("2026-03-29") for time in spring)  # 02:30 did not exist
    autumn = _truth("berlin-fall-back")
    # 02:00 and 02:30 happen twice on 2026-10-25 (CEST, then CET): EventBridge runs them once.
    on_the_day = [time for time in autumn if time.startswith("2026-10-25")]
    assert on_the_day == [
        "2026-10-25T00:00:00Z",  # 02:00 CEST
        "2026-10-25T00:30:00Z",  # 02:30 CEST
        "2026-10-25T02:00:00Z",  # 03:00 CET
        "2026-10-25T02:30:00Z",  # 03:30 CET
    ]


# --- Airflow: its own timetable, in a real DagBag --------------------------------------------

_TIMETABLE_HARNESS = """
import json, sys
from datetime import timezone
utc = timezone.utc
from pathlib import Path
from airflow.models import DagBag
from airflow.timetables.base import TimeRestriction
folder, count = sys.argv[1], int(sys.argv[2])
try:
    bag = DagBag(dag_folder=folder, include_examples=False)
except TypeError:
    bag = DagBag(dag_folder=folder)
found = {}
for dag in bag.dags.values():
    restriction = TimeRestriction(earliest=dag.start_date, latest=dag.end_date, catchup=True)
    last, times = None, []
    for _ in range(count):
        info = dag.timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        if info is None:
            break
        times.append(info.run_after.astimezone(utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        last = info.data_interval
    found[Path(dag.fileloc).stem] = {"times": times, "timetable": type(dag.timetable).__name__}
errors = {Path(k).name: str(v)[-800:] for k, v in bag.import_errors.items()}
print(json.dumps({"errors": errors, "dags": found}))
"""


def _airflow_python(version: str) -> str:
    if version == "3":
        require_module("airflow")
        return sys.executable
    path = os.environ.get("PIPEGLOT_AIRFLOW2_PYTHON", "")
    require(bool(path) and Path(path).exists(), "the Airflow 2 venv (PIPEGLOT_AIRFLOW2_PYTHON)")
    return path


def _airflow_times(version: str, folder: Path) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    environment.update(
        AIRFLOW_HOME=str(folder),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{folder}/airflow.db",
        AWS_DEFAULT_REGION="us-east-1",
    )
    harness = folder / "timetable_harness.py"
    harness.write_text(_TIMETABLE_HARNESS)
    dags = folder / "dags"
    result = subprocess.run(
        [_airflow_python(version), str(harness), str(dags), str(COUNT)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and lines, result.stderr[-4000:]
    found = json.loads(lines[-1])
    assert found["errors"] == {}
    return found["dags"]


@pytest.mark.parametrize("version", ["3", "2"])
def test_airflow_timetables_start_runs_when_eventbridge_would(version: str, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    ledgers = {}
    for case in CASES:
        text, ledgers[case] = _dump(case, "airflow", airflow_version=version)
        (dags / f"{case.replace('-', '_')}.py").write_text(text)
    if version == "3":  # two crons with the same zone and parameters: one timetable
        (dags / "two_crons.py").write_text(pipeglot.dump(_two_crons(), write="airflow"))
    found = _airflow_times(version, tmp_path)
    if version == "3":
        assert found["two_crons"]["timetable"] == "MultipleCronTriggerTimetable"
        assert found["two_crons"]["times"] == _two_crons_truth()
    differing = []
    for case in CASES:
        times = found[case.replace("-", "_")]["times"]
        if times != _truth(case):
            differing.append(case)
            assert _reported(ledgers[case], "airflow.schedule"), (case, times, _truth(case))
    # The daylight-saving cases do differ, and are reported: the comparison can fail.
    assert {"berlin-spring-forward", "berlin-fall-back"} <= set(differing)
    assert "airflow.schedule.daylight_saving" in _reported(
        ledgers["berlin-spring-forward"], "airflow"
    )
    # Everything else, ? L W # and years included, is the same on Airflow.
    assert set(differing) <= {"berlin-spring-forward", "berlin-fall-back"}, differing
    if version == "3":
        assert found["nearest_weekday"]["timetable"] == "EventsTimetable"
        assert found["last_day_of_month"]["timetable"] == "CronTriggerTimetable"


def _two_crons() -> Workflow:
    items = [
        {"ScheduleExpression": expression, "ScheduleExpressionTimezone": "Asia/Kolkata"}
        for expression in ("cron(0 6 ? * MON-FRI *)", "cron(30 10 ? * SAT *)")
    ]
    given = tuple(triggers.from_json(item, where="two", origin="two") for item in items)
    return triggers.with_triggers(pipeglot.load(DEFINITION, name="two-crons"), given)


def _two_crons_truth() -> list[str]:
    after = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) - dt.timedelta(hours=6)  # the DAG's start
    times = sorted(
        moment
        for schedule in _two_crons().triggers
        for moment in schedule.fire_times(after=after, count=COUNT)  # type: ignore[union-attr]
    )
    return [_utc(moment) for moment in times[:COUNT]]


# --- Step Functions and SageMaker: the Scheduler schedule in the template -------------------


def _scheduler_times(template: dict[str, Any]) -> list[str]:
    """The template's one Scheduler schedule, read back and evaluated as EventBridge does."""
    (schedule,) = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Scheduler::Schedule"
    ]
    item = {
        key: schedule[key]
        for key in ("ScheduleExpression", "ScheduleExpressionTimezone", "StartDate", "EndDate")
        if key in schedule
    }
    read = triggers.from_json(item, where="template", origin="template")
    assert isinstance(read, triggers.Schedule) and read.start is not None
    after = read.start - dt.timedelta(microseconds=1)
    return [_utc(moment) for moment in read.fire_times(after=after, count=COUNT)]


@pytest.mark.parametrize("fmt", ["asl-cloudformation", "sagemaker-cloudformation"])
def test_the_generated_scheduler_schedule_fires_at_the_same_times(fmt: str) -> None:
    for case in CASES:
        text, _ = _dump(case, fmt)
        assert _scheduler_times(json.loads(text)) == _truth(case), case


# --- Kubeflow: the recurring run's cron, as KFP's scheduler reads it --------------------------


def _recurring_runs(text: str) -> list[dict[str, Any]]:
    namespace: dict[str, Any] = {}
    start = text.index("RECURRING_RUNS = ")
    end = text.index("\n\n\n", start)
    exec(text[start:end], namespace)  # the data literal only, not the pipeline
    return namespace["RECURRING_RUNS"]


def _kfp_times(run: dict[str, Any]) -> list[str]:
    croniter = require_module("croniter").croniter  # type: ignore[attr-defined]
    start = dt.datetime.fromisoformat(run["start_time"].replace("Z", "+00:00"))
    end = run.get("end_time") and dt.datetime.fromisoformat(run["end_time"].replace("Z", "+00:00"))
    if "interval_second" in run:  # a periodic schedule: every interval from the start time
        step = dt.timedelta(seconds=run["interval_second"])
        times = [start + index * step for index in range(COUNT)]
    else:
        # KFP's scheduler evaluates the cron in UTC unless its cronScheduleTimezone is set.
        walker = croniter(
            run["cron_expression"],
            start.replace(tzinfo=None) - dt.timedelta(seconds=1),
            second_at_beginning=True,
        )
        times = [walker.get_next(dt.datetime).replace(tzinfo=dt.UTC) for _ in range(COUNT)]
    return [_utc(moment) for moment in times if not end or moment <= end]


def test_kfp_recurring_runs_start_when_eventbridge_would_or_are_reported() -> None:
    written = []
    for case in CASES:
        text, ledger = _dump(case, "kfp")
        runs = _recurring_runs(text) if "RECURRING_RUNS = " in text else []
        if not runs:
            reported = _reported(ledger, "kfp.schedule")
            assert {"kfp.schedule.cron", "kfp.schedule.one_time"} & set(reported), case
            continue
        (run,) = runs
        assert run["params"] == {"Epochs": 7}
        written.append(case)
        if _kfp_times(run) != _truth(case):
            assert _reported(ledger, "kfp.schedule"), case
        elif CASES[case][1] == "UTC":
            assert not _reported(ledger, "kfp.schedule"), case
    # A zone without daylight saving is written in UTC, which KFP uses: the same times.
    (tokyo,) = _recurring_runs(_dump("tokyo-weekdays", "kfp")[0])
    assert tokyo["cron_expression"] == "0 0 0 * * 1-5"
    assert _kfp_times(tokyo) == _truth("tokyo-weekdays")
    # L, W and # have no KFP form; the rest is written.
    assert set(CASES) - set(written) == {
        "last-day-of-month",
        "nearest-weekday",
        "last-weekday",
        "last-friday-tokyo",
        "first-monday-london",
        "years-with-gaps",
        "one-time",
    }
