"""Triggers move with the pipeline: read from SageMaker (moto's EventBridge Scheduler and
EventBridge), or given on the command line, and written for every target.

Done when a scheduled pipeline read from the service, or given ``--schedule``, keeps its schedule
on every target with the same fire times (see also test_schedule_fire_times.py), and an
event-triggered one keeps its trigger on Step Functions and is reported elsewhere.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, require_module
from test_schedule_fire_times import (
    COUNT,
    _airflow_times,
    _kfp_times,
    _recurring_runs,
    _scheduler_times,
    _utc,
)

import pipeglot
from pipeglot.cli import main
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.ir import triggers

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
DEFINITION = (FIXTURES / "every-step-type.json").read_text()
SMALL = json.dumps(
    {
        "Version": "2020-12-01",
        "Parameters": [
            {"Name": "InputData", "Type": "String", "DefaultValue": "s3://bucket/in"},
            {"Name": "Epochs", "Type": "Integer", "DefaultValue": 1},
        ],
        "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}],
    }
)
START = dt.datetime(dt.datetime.now(dt.UTC).year + 1, 1, 1, tzinfo=dt.UTC)
S3_PATTERN = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"bucket": {"name": ["landing"]}, "object": {"key": [{"prefix": "in/"}]}},
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    moto = require_module("moto")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with moto.mock_aws():
        import boto3

        yield boto3.session.Session(region_name=REGION)


def _nightly_pipeline(session: Any, name: str = "nightly-train") -> str:
    """A pipeline started by a Scheduler schedule, a scheduled rule and an S3 event rule."""
    arn = session.client("sagemaker").create_pipeline(
        PipelineName=name, PipelineDefinition=SMALL, RoleArn=ROLE
    )["PipelineArn"]
    target = {"Arn": arn, "RoleArn": ROLE}
    scheduler = session.client("scheduler")
    scheduler.create_schedule(
        Name="nightly",
        ScheduleExpression="cron(0 2 * * ? *)",
        ScheduleExpressionTimezone="Europe/Paris",
        StartDate=START,  # moto, like AWS, wants it in the future
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            **target,
            "SageMakerPipelineParameters": {
                "PipelineParameterList": [{"Name": "Epochs", "Value": "10"}]
            },
        },
    )
    scheduler.create_schedule(  # another pipeline's: not read
        Name="other",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn + "-other", "RoleArn": ROLE},
    )
    events = session.client("events")
    events.put_rule(Name="weekly", ScheduleExpression="cron(0 6 ? * MON *)", State="DISABLED")
    events.put_targets(Rule="weekly", Targets=[{"Id": "p", **target}])
    events.put_rule(Name="on-upload", EventPattern=json.dumps(S3_PATTERN))
    events.put_targets(
        Rule="on-upload",
        Targets=[
            {
                "Id": "p",
                **target,
                "SageMakerPipelineParameters": {
                    "PipelineParameterList": [{"Name": "InputData", "Value": "s3://landing/in"}]
                },
            }
        ],
    )
    return arn


# --- Reading from the service ------------------------------------------------------------------


def test_the_service_brings_the_schedules_and_rules_that_start_the_pipeline(aws: Any) -> None:
    _nightly_pipeline(aws)
    workflow = pipeglot.load("sagemaker://nightly-train", read="sagemaker-service")
    nightly, upload, weekly = workflow.triggers  # schedules first, then rules by name
    assert isinstance(nightly, triggers.Schedule)
    assert (nightly.name, nightly.expression.expression, nightly.timezone) == (
        "nightly",
        "cron(0 2 * * ? *)",
        "Europe/Paris",
    )
    assert nightly.start == START
    assert nightly.parameters == (("Epochs", "10"),)
    assert nightly.origin == "EventBridge Scheduler schedule default/nightly"
    assert isinstance(weekly, triggers.Schedule)
    assert (weekly.timezone, weekly.enabled, weekly.parameters) == ("UTC", False, ())
    assert isinstance(upload, triggers.EventTrigger)
    assert json.loads(upload.pattern) == S3_PATTERN
    assert upload.parameters == (("InputData", "s3://landing/in"),)
    # The definition itself is exactly what the JSON gives.
    plain = pipeglot.load(SMALL, name="nightly-train")
    assert workflow.steps == plain.steps and workflow.parameters == plain.parameters


def test_an_execution_brings_only_its_definition(aws: Any) -> None:
    _nightly_pipeline(aws)
    client = aws.client("sagemaker")
    execution = client.start_pipeline_execution(PipelineName="nightly-train")
    workflow = pipeglot.load(
        f"sagemaker://nightly-train@{execution['PipelineExecutionArn']}", read="sagemaker-service"
    )
    assert workflow.triggers == ()


def test_a_pipeline_read_from_the_service_keeps_its_schedule_on_every_target(
    aws: Any, tmp_path: Path
) -> None:
    _nightly_pipeline(aws)
    workflow = pipeglot.load("sagemaker://nightly-train", read="sagemaker-service")
    nightly = workflow.triggers[0]
    assert isinstance(nightly, triggers.Schedule)
    truth = [
        _utc(moment)
        for moment in nightly.fire_times(after=nightly.start - dt.timedelta(seconds=1), count=20)
    ]
    only_nightly = triggers.with_triggers(pipeglot.load(SMALL, name="nightly-train"), (nightly,))
    for fmt in ("asl-cloudformation", "sagemaker-cloudformation"):
        template = json.loads(pipeglot.dump(only_nightly, write=fmt))
        assert _scheduler_times(template) == truth
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "nightly.py").write_text(pipeglot.dump(only_nightly, write="airflow"))
    assert _airflow_times("3", tmp_path)["nightly"]["times"] == truth
    ledger = Diagnostics()
    (run,) = _recurring_runs(pipeglot.dump(only_nightly, write="kfp", diagnostics=ledger))
    assert run["params"] == {"Epochs": 10}
    # KFP evaluates crons in its scheduler's zone (UTC unless configured): said, and true.
    assert _kfp_times(run) != truth
    assert "kfp.schedule.timezone" in [entry.code for entry in ledger]
    assert len(truth) == COUNT


# --- Writing ---------------------------------------------------------------------------------


def _service_workflow(aws: Any) -> Any:
    _nightly_pipeline(aws)
    return pipeglot.load("sagemaker://nightly-train", read="sagemaker-service")


def test_step_functions_keeps_schedules_and_the_event_rule_exactly(aws: Any) -> None:
    workflow = _service_workflow(aws)
    ledger = Diagnostics()
    template = json.loads(pipeglot.dump(workflow, write="asl-cloudformation", diagnostics=ledger))
    resources = template["Resources"]
    schedule = resources["ScheduleNightly"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert schedule["StartDate"] == f"{START.year}-01-01T00:00:00Z"
    assert schedule["Target"]["Arn"] == {"Ref": "StateMachine"}
    assert json.loads(schedule["Target"]["Input"]) == {"Epochs": 10}  # typed, as the machine reads
    assert resources["ScheduleWeekly"]["Properties"]["State"] == "DISABLED"
    rule = resources["EventRuleOnUpload"]["Properties"]
    assert rule["EventPattern"] == S3_PATTERN
    assert json.loads(rule["Targets"][0]["Input"]) == {"InputData": "s3://landing/in"}
    role = resources["TriggerRole"]["Properties"]
    principals = {s["Principal"]["Service"] for s in role["AssumeRolePolicyDocument"]["Statement"]}
    assert principals == {"scheduler.amazonaws.com", "events.amazonaws.com"}
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": "states:StartExecution",
        "Resource": {"Ref": "StateMachine"},
    }
    assert not [
        entry
        for entry in ledger
        if entry.code.endswith("trigger") and entry.fidelity is not Fidelity.EXACT
    ]
    _cfn_lint(template)


def test_sagemaker_cloudformation_deploys_the_pipeline_with_its_triggers(aws: Any) -> None:
    workflow = _service_workflow(aws)
    template = json.loads(pipeglot.dump(workflow, write="sagemaker-cloudformation"))
    pipeline = template["Resources"]["Pipeline"]["Properties"]
    body = pipeline["PipelineDefinition"]["PipelineDefinitionBody"]
    assert pipeglot.load(body, name="nightly-train") == pipeglot.load(SMALL, name="nightly-train")
    target = template["Resources"]["ScheduleNightly"]["Properties"]["Target"]
    assert target["SageMakerPipelineParameters"] == {
        "PipelineParameterList": [{"Name": "Epochs", "Value": "10"}]
    }
    assert template["Resources"]["ScheduleNightly"]["DependsOn"] == "Pipeline"
    (statement,) = template["Resources"]["TriggerRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    assert statement["Action"] == "sagemaker:StartPipelineExecution"
    _cfn_lint(template)
    # What CloudFormation would create, created through the APIs (moto has no CloudFormation
    # support for these types): read back from the service, the triggers are the same.
    _create_from_template(aws, template, "migrated")
    again = pipeglot.load("sagemaker://migrated", read="sagemaker-service")
    # (the scheduled rule comes back as a Scheduler schedule, so they are listed in another order)
    assert sorted(map(repr, map(_meaning, again.triggers))) == sorted(
        map(repr, map(_meaning, workflow.triggers))
    )


def _create_from_template(session: Any, template: dict[str, Any], name: str) -> None:
    resources = template["Resources"]
    arn = session.client("sagemaker").create_pipeline(
        PipelineName=name,
        PipelineDefinition=resources["Pipeline"]["Properties"]["PipelineDefinition"][
            "PipelineDefinitionBody"
        ],
        RoleArn=ROLE,
    )["PipelineArn"]
    for logical, resource in resources.items():
        properties = dict(resource.get("Properties", {}))
        if resource["Type"] == "AWS::Scheduler::Schedule":
            properties.pop("Description")
            target = {**properties.pop("Target"), "Arn": arn, "RoleArn": ROLE}
            session.client("scheduler").create_schedule(
                Name=f"{name}-{logical}", Target=target, **properties
            )
        elif resource["Type"] == "AWS::Events::Rule":
            events = session.client("events")
            targets = [{**t, "Arn": arn, "RoleArn": ROLE} for t in properties.pop("Targets")]
            pattern = json.dumps(properties.pop("EventPattern"))
            properties.pop("Description")
            events.put_rule(Name=f"{name}-{logical}", EventPattern=pattern, **properties)
            events.put_targets(Rule=f"{name}-{logical}", Targets=targets)


def _meaning(trigger: triggers.Trigger) -> Any:
    """A trigger without where it came from."""
    if isinstance(trigger, triggers.Schedule):
        return (trigger.expression, trigger.timezone, trigger.start, trigger.end,
                trigger.flexible_window_minutes, trigger.parameters, trigger.enabled)  # fmt: skip
    return (json.loads(trigger.pattern), trigger.event_bus, trigger.parameters, trigger.enabled)


def _cfn_lint(template: dict[str, Any]) -> None:
    lint_all = require_module("cfnlint.api").lint_all  # type: ignore[attr-defined]
    problems = [str(m) for m in lint_all(json.dumps(template)) if m.rule.id[0] in "EW"]
    assert problems == []


def test_airflow_and_kfp_report_the_event_rule_and_keep_the_schedule(aws: Any) -> None:
    workflow = _service_workflow(aws)
    for fmt in ("airflow", "kfp"):
        ledger = Diagnostics()
        text = pipeglot.dump(workflow, write=fmt, diagnostics=ledger)
        dropped = [entry for entry in ledger if entry.fidelity is Fidelity.DROPPED]
        assert any(
            entry.code.endswith("event_pattern") and "on-upload" in entry.message
            for entry in dropped
        ), fmt
        assert "cron(0 2 * * ? *)" not in text or fmt == "kfp"
    airflow = pipeglot.dump(workflow, write="airflow")
    assert 'CronTriggerTimetable("0 2 * * *", timezone="Europe/Paris")' in airflow
    assert '"Epochs": Param(10, type="integer")' in airflow


def test_a_disabled_schedule_stays_off(tmp_path: Path) -> None:
    workflow = _with(SMALL, {"ScheduleExpression": "rate(5 minutes)", "State": "DISABLED"})
    assert "is_paused_upon_creation=True" in pipeglot.dump(workflow, write="airflow")
    (run,) = _recurring_runs(pipeglot.dump(workflow, write="kfp"))
    assert run["enabled"] is False and run["interval_second"] == 300


def _with(definition: str, *items: dict[str, Any]) -> Any:
    workflow = pipeglot.load(definition, name="small")
    given = tuple(triggers.from_json(item, where="test", origin="test") for item in items)
    return triggers.with_triggers(workflow, given)


def test_kfp_recurring_runs_are_what_the_kfp_client_and_cli_take(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kfp = require_module("kfp")
    from kfp.cli.recurring_run import create

    workflow = _with(
        SMALL,
        {
            "Name": "nightly",
            "ScheduleExpression": "cron(0 2 ? * MON-FRI 2026-2027)",
            "PipelineParameters": {"Epochs": 3, "InputData": "s3://b/k"},
        },
    )
    ledger = Diagnostics()
    text = pipeglot.dump(workflow, write="kfp", diagnostics=ledger)
    (run,) = _recurring_runs(text)
    assert run["cron_expression"] == "0 0 2 * * 1-5"
    assert (run["start_time"], run["end_time"]) == ("2026-01-01T00:00:00Z", "2027-12-31T23:59:59Z")
    signature = inspect.signature(kfp.Client.create_recurring_run)  # type: ignore[attr-defined]
    signature.bind(None, experiment_id="e", pipeline_package_path="p.yaml", **run)
    (entry,) = [e for e in ledger if e.code == "kfp.schedule.recurring_run"]
    words = shlex.split(entry.message.partition(", or: ")[2])
    # The file compiles with the real kfp compiler; the command takes the compiled YAML.
    from pipeglot.backends.kfp.compiled import compile_source

    monkeypatch.chdir(tmp_path)
    Path("PIPELINE.yaml").write_text(compile_source(text))
    assert words[:3] == ["kfp", "recurring-run", "create"]
    context = create.make_context("create", words[3:])
    assert context.params["cron_expression"] == "0 0 2 * * 1-5"
    assert context.params["catchup"] is False
    assert dict(arg.split("=", 1) for arg in context.params["args"]) == {
        "Epochs": "3",
        "InputData": "s3://b/k",
    }


def test_the_sagemaker_definition_is_unchanged_and_says_what_it_leaves_out() -> None:
    workflow = _with(SMALL, {"ScheduleExpression": "cron(0 6 * * ? *)"})
    ledger = Diagnostics()
    text = pipeglot.dump(workflow, write="sagemaker", diagnostics=ledger)
    assert text == pipeglot.dump(pipeglot.load(SMALL, name="small"), write="sagemaker")
    assert [entry.code for entry in ledger] == ["sagemaker.trigger"]
    asl_ledger = Diagnostics()
    pipeglot.dump(workflow, write="asl", diagnostics=asl_ledger)
    assert "asl.trigger" in [entry.code for entry in asl_ledger]


@pytest.mark.parametrize(
    "fmt", ["airflow", "kfp", "asl-cloudformation", "sagemaker-cloudformation"]
)
def test_outputs_with_triggers_are_deterministic(fmt: str) -> None:
    items = (
        {"Name": "a", "ScheduleExpression": "cron(0 9 15W * ? *)", "StartDate": "2026-01-01"},
        {"Name": "b", "EventPattern": S3_PATTERN},
    )
    first = pipeglot.dump(_with(SMALL, *items), write=fmt, unsupported="warn")
    assert first == pipeglot.dump(_with(SMALL, *items), write=fmt, unsupported="warn")


# --- The command line ------------------------------------------------------------------------


def _run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.json"
    path.write_text(SMALL)
    return path


def test_cli_schedule_flags(capsys: Any, small: Path, tmp_path: Path) -> None:
    out = tmp_path / "dag.py"
    code, _, err = _run(
        capsys,
        "translate",
        str(small),
        "--to",
        "airflow",
        "-o",
        str(out),
        "--schedule",
        "cron(0 6 ? * MON-FRI *)",
        "--schedule-timezone",
        "America/New_York",
        "--schedule-parameters",
        '{"Epochs": 4}',
    )
    assert code == 0, err
    text = out.read_text()
    assert 'CronTriggerTimetable("0 6 * * 1-5", timezone="America/New_York")' in text
    assert 'ZoneInfo("America/New_York")' in text
    assert "catchup=False" in text


def test_cli_triggers_file(capsys: Any, small: Path, tmp_path: Path) -> None:
    file = tmp_path / "triggers.json"
    file.write_text(
        json.dumps(
            {
                "Triggers": [
                    {"Name": "n", "ScheduleExpression": "rate(1 day)", "StartDate": "2026-01-01"},
                    {"Name": "s3", "EventPattern": S3_PATTERN},
                ]
            }
        )
    )
    out = tmp_path / "stack.json"
    code, _, err = _run(
        capsys, "translate", str(small), "--to", "asl-cloudformation", "-o", str(out),
        "--triggers", str(file),
    )  # fmt: skip
    assert code == 0, err
    kinds = sorted(r["Type"] for r in json.loads(out.read_text())["Resources"].values())
    assert "AWS::Scheduler::Schedule" in kinds and "AWS::Events::Rule" in kinds


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--schedule", "cron(0 6 * * *)"], "--schedule/ScheduleExpression: cron(0 6 * * *) has 5"),
        (["--schedule", "cron(0 6 ? * 9 *)"], "the Day-of-week field '9' is out of range"),
        (
            ["--schedule", "rate(1 day)", "--schedule-parameters", '{"Nope": "1"}'],
            "passes parameter 'Nope', which the pipeline does not declare",
        ),
        (
            ["--schedule", "rate(1 day)", "--schedule-parameters", '{"Epochs": "ten"}'],
            "passes 'ten' for Integer parameter 'Epochs'; give a number",
        ),
        (
            ["--schedule", "rate(1 day)", "--schedule-timezone", "Moon/Base"],
            "'Moon/Base' is not an IANA time zone",
        ),
        (["--schedule-timezone", "UTC"], "--schedule-timezone describe --schedule"),
        (["--schedule", "rate(1 day)", "--schedule-parameters", "[1]"], "is a JSON object"),
        (
            ["--schedule", "rate(1 day)", "--schedule-start", "yesterday"],
            "StartDate 'yesterday' is not an ISO 8601 time",
        ),
    ],
)
def test_cli_bad_schedule_is_exit_2_and_writes_nothing(
    capsys: Any, small: Path, tmp_path: Path, arguments: list[str], message: str
) -> None:
    out = tmp_path / "out.py"
    code, _, err = _run(
        capsys, "translate", str(small), "--to", "airflow", "-o", str(out), *arguments
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err and not out.exists()
    assert err.count("pipeglot: error:") == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON (Expecting property name enclosed in double quotes at line 1"),
        ('{"Triggers": {}}', 'a triggers file is {"Triggers": [...]}'),
        ('{"Triggers": [{"Name": "x"}]}', "/Triggers/0: give exactly one of ScheduleExpression"),
        (
            '{"Triggers": [{"ScheduleExpression": "cron(0 6 * * ? *)", '
            '"FlexibleTimeWindow": {"Mode": "FLEXIBLE"}}]}',
            "/Triggers/0/FlexibleTimeWindow: a FLEXIBLE window needs MaximumWindowInMinutes",
        ),
        (
            '{"Triggers": [{"EventPattern": "nope"}]}',
            "/Triggers/0/EventPattern: the event pattern is not JSON",
        ),
        ('{"Triggers": [{"EventPattern": {}}]}', "an event pattern is a non-empty JSON object"),
    ],
)
def test_cli_bad_triggers_file_names_the_file_and_place(
    capsys: Any, small: Path, tmp_path: Path, content: str, message: str
) -> None:
    file = tmp_path / "triggers.json"
    file.write_text(content)
    code, _, err = _run(
        capsys, "translate", str(small), "--to", "asl-cloudformation", "--triggers", str(file)
    )
    assert code == 2
    assert f"{file}: " in err and message in err, err
    assert "Traceback" not in err


def test_cli_missing_triggers_file(capsys: Any, small: Path, tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    code, _, err = _run(capsys, "translate", str(small), "--to", "asl", "--triggers", str(missing))
    assert code == 2 and f"{missing}: no such triggers file" in err


def test_inspect_lists_the_triggers(capsys: Any, small: Path, tmp_path: Path) -> None:
    file = tmp_path / "triggers.json"
    file.write_text(
        json.dumps(
            {
                "Triggers": [
                    {
                        "Name": "nightly",
                        "ScheduleExpression": "cron(0 2 * * ? *)",
                        "ScheduleExpressionTimezone": "Europe/Paris",
                        "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
                        "PipelineParameters": [{"Name": "Epochs", "Value": "3"}],
                    },
                    {"Name": "s3", "EventPattern": S3_PATTERN, "State": "DISABLED"},
                ]
            }
        )
    )
    code, out, _ = _run(capsys, "inspect", str(small), "--triggers", str(file))
    assert code == 0
    assert '  nightly: cron(0 2 * * ? *) in Europe/Paris, passes {"Epochs": "3"}' in out
    assert '  s3: {"detail": ' in out and "(disabled)" in out
    code, out, _ = _run(capsys, "inspect", str(small), "--triggers", str(file), "--format", "json")
    nightly = json.loads(out)["triggers"][0]
    assert nightly["flexible_window_minutes"] == 15 and nightly["parameters"] == {"Epochs": "3"}
    code, out, _ = _run(capsys, "inspect", str(small))
    assert "triggers" not in out  # nothing new for a pipeline without any


def test_a_flexible_window_is_kept_on_step_functions_and_reported_elsewhere() -> None:
    window = {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    workflow = _with(SMALL, {"ScheduleExpression": "rate(1 hour)", "FlexibleTimeWindow": window})
    template = json.loads(pipeglot.dump(workflow, write="asl-cloudformation"))
    (schedule,) = [r for r in template["Resources"].values() if r["Type"].endswith("Schedule")]
    assert schedule["Properties"]["FlexibleTimeWindow"] == window
    for fmt, code in (("airflow", "airflow.schedule"), ("kfp", "kfp.schedule")):
        ledger = Diagnostics()
        pipeglot.dump(workflow, write=fmt, diagnostics=ledger)
        assert f"{code}.flexible_window" in [entry.code for entry in ledger], fmt


def test_the_scheduled_input_is_what_the_state_machine_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """moto's Step Functions engine runs the template's machine with the schedule's Input."""
    moto = require_module("moto")
    definition = json.loads(SMALL)
    definition["Steps"][0]["Arguments"]["ErrorMessage"] = {
        "Std:Join": {
            "On": " ",
            "Values": [{"Get": "Parameters.InputData"}, {"Get": "Parameters.Epochs"}],
        }
    }
    workflow = _with(
        json.dumps(definition),
        {"ScheduleExpression": "rate(1 day)", "PipelineParameters": {"Epochs": "12"}},
    )
    template = json.loads(pipeglot.dump(workflow, write="asl-cloudformation"))
    machine = template["Resources"]["StateMachine"]["Properties"]["Definition"]
    (schedule,) = [r for r in template["Resources"].values() if r["Type"].endswith("Schedule")]
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        import boto3

        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="scheduled", definition=json.dumps(machine), roleArn=ROLE
        )["stateMachineArn"]
        execution = sfn.start_execution(
            stateMachineArn=arn, input=schedule["Properties"]["Target"]["Input"]
        )["executionArn"]
        for _ in range(200):
            result = sfn.describe_execution(executionArn=execution)
            if result["status"] != "RUNNING":
                break
            time.sleep(0.05)
    # The scheduled value (typed: 12, not "12") and the default of the one it does not pass.
    assert (result["status"], result.get("cause")) == ("FAILED", "s3://bucket/in 12")


def test_retries_and_dead_letters_of_the_target_are_kept_or_reported(aws: Any) -> None:
    arn = aws.client("sagemaker").create_pipeline(
        PipelineName="retried", PipelineDefinition=SMALL, RoleArn=ROLE
    )["PipelineArn"]
    scheduler = aws.client("scheduler")
    scheduler.create_schedule_group(Name="ml")
    settings = {
        "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
        "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dead"},
    }
    scheduler.create_schedule(
        Name="hourly",
        GroupName="ml",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, **settings},
    )
    workflow = pipeglot.load("sagemaker://retried", read="sagemaker-service")
    (schedule,) = workflow.triggers
    assert triggers.target_settings(schedule) == settings
    ledger = Diagnostics()
    template = json.loads(pipeglot.dump(workflow, write="asl-cloudformation", diagnostics=ledger))
    target = template["Resources"]["ScheduleHourly"]["Properties"]["Target"]
    assert {key: target[key] for key in settings} == settings
    codes = [entry.code for entry in ledger if entry.fidelity is Fidelity.DROPPED]
    assert codes == ["asl-cloudformation.trigger_settings"]  # the group, not the retries
    _cfn_lint(template)
    for fmt in ("airflow", "kfp"):
        ledger = Diagnostics()
        pipeglot.dump(workflow, write=fmt, diagnostics=ledger)
        codes = [entry.code for entry in ledger if entry.fidelity is Fidelity.DROPPED]
        assert f"{fmt}.schedule.target_settings" in codes, fmt
    # The defaults moto and AWS report for every target are no setting of the user's.
    _nightly_pipeline(aws)
    nightly = pipeglot.load("sagemaker://nightly-train", read="sagemaker-service").triggers[0]
    assert triggers.target_settings(nightly) == {} and nightly.unmodeled == ()
