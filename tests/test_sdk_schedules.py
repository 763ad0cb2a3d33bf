"""SDK scripts that schedule their pipeline, and where offline runs see their project.

``tests/fixtures/sdk/v*/scheduled/pipeline.py`` creates its pipeline (``upsert``) and attaches
two EventBridge Scheduler schedules with ``put_triggers``; offline, they reach moto's Scheduler
and come back as the workflow's triggers, on to the Airflow DAG's timetable (stepped by a real
Airflow) and ``asl-cloudformation``'s schedules. Each SDK run costs seconds: one per SDK.

Where a run sees its project (``_sdk_project``) is told by a script that needs no SDK: it
reports its paths hex-encoded, so that the frontend's mapping of the child's paths back to the
real ones (in messages) leaves them as the child saw them.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, require, require_module
from test_schedule_fire_times import COUNT, _airflow_times, _utc

import pipeglot
from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import InputError
from pipeglot.frontends import _sdk_project
from pipeglot.ir import triggers

SCRIPTS = {
    "v3": FIXTURES / "sdk/v3/scheduled/pipeline.py",
    "v2": FIXTURES / "sdk/v2/scheduled/pipeline.py",
}
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # the scripts' start_date


def _python(version: str) -> str | None:
    if version == "v3":  # found, not imported: the script imports it in its own process
        require(importlib.util.find_spec("sagemaker") is not None, "the SageMaker SDK v3")
        return None
    path = os.environ.get("PIPEGLOT_SAGEMAKER2_PYTHON", "")
    require(bool(path) and Path(path).is_file(), "the SDK v2 venv (PIPEGLOT_SAGEMAKER2_PYTHON)")
    return path


@pytest.fixture(scope="module")
def scheduled() -> dict[str, tuple[Any, Diagnostics]]:
    """Each SDK's workflow and ledger, from one offline run of its script."""
    found = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for version, script in SCRIPTS.items():
            ledger = Diagnostics()
            workflow = pipeglot.load(
                str(script), read="sagemaker-python", python=_python(version), diagnostics=ledger
            )
            found[version] = (workflow, ledger)
    return found


@pytest.mark.parametrize("version", ["v3", "v2"])
def test_put_triggers_become_the_workflows_schedules(
    scheduled: dict[str, tuple[Any, Diagnostics]], version: str
) -> None:
    workflow, ledger = scheduled[version]
    nightly, hourly = workflow.triggers  # in the order the script attached them
    assert isinstance(nightly, triggers.Schedule) and isinstance(hourly, triggers.Schedule)
    assert (nightly.name, nightly.expression.expression, nightly.timezone) == (
        "nightly",
        "cron(30 2 ? * MON-FRI *)",
        "UTC",
    )
    assert nightly.start == START and nightly.enabled and nightly.parameters == ()
    assert nightly.origin == "the script's put_triggers"
    assert (hourly.name, hourly.expression.expression, hourly.enabled) == (
        "hourly",
        "rate(6 hours)",
        False,
    )
    # The SDK's default StartDate is "now", offline the frozen clock: not the user's; left out.
    assert hourly.start is None
    # The schedules and the pipeline are in the translation, not resources left to create.
    assert not [e for e in ledger if e.code == "sagemaker-python.offline-resource"]


def test_the_schedule_is_the_airflow_dags_timetable(
    scheduled: dict[str, tuple[Any, Diagnostics]], tmp_path: Path
) -> None:
    """A DAG has one schedule: the first one the script attached, stepped by Airflow 3."""
    dags = tmp_path / "dags"
    dags.mkdir()
    truth = {}
    for version, (workflow, _) in scheduled.items():
        nightly = workflow.triggers[0]
        truth[f"nightly_{version}"] = [
            _utc(moment) for moment in nightly.fire_times(after=START, count=COUNT)
        ]
        text = pipeglot.dump(workflow, write="airflow")
        assert 'CronTriggerTimetable("30 2 * * 1-5", timezone="UTC")' in text
        (dags / f"nightly_{version}.py").write_text(text)
    found = _airflow_times("3", tmp_path)
    assert {name: found[name]["times"] for name in truth} == truth
    assert truth["nightly_v3"][:2] == ["2026-01-01T02:30:00Z", "2026-01-02T02:30:00Z"]


@pytest.mark.parametrize("version", ["v3", "v2"])
def test_both_schedules_start_the_state_machine(
    scheduled: dict[str, tuple[Any, Diagnostics]], version: str
) -> None:
    workflow, _ = scheduled[version]
    resources = json.loads(pipeglot.dump(workflow, write="asl-cloudformation"))["Resources"]
    nightly = resources["ScheduleNightly"]["Properties"]
    hourly = resources["ScheduleHourly"]["Properties"]
    assert nightly["ScheduleExpression"] == "cron(30 2 ? * MON-FRI *)"
    assert nightly["StartDate"] == "2026-01-01T00:00:00Z" and nightly["State"] == "ENABLED"
    assert (hourly["ScheduleExpression"], hourly["State"]) == ("rate(6 hours)", "DISABLED")
    assert "StartDate" not in hourly
    for schedule in (nightly, hourly):
        assert schedule["Target"]["Arn"] == {"Ref": "StateMachine"}
        assert schedule["Target"]["RoleArn"] == {"Fn::GetAtt": ["TriggerRole", "Arn"]}


# --- where an offline run sees its project ---------------------------------------------------

_REPORTER = '''
"""Reports, hex-encoded, the paths it sees."""
import json
import os
import sys

from .helper import HELPER


def get_pipeline():
    facts = {
        "file": os.path.realpath(__file__),
        "cwd": os.getcwd(),
        "path0": sys.path[0],
        "helper": HELPER,
        "git": os.path.exists(os.path.join(os.path.dirname(HELPER), "..", "..", ".git")),
    }
    raise RuntimeError("FACTS" + json.dumps(facts).encode().hex() + " in " + __file__)
'''


def _project(folder: Path) -> Path:
    package = folder / "pipelines" / "nightly"
    package.mkdir(parents=True)
    (folder / "pipelines" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text("import os\nHELPER = os.path.abspath(__file__)\n")
    (package / "pipeline.py").write_text(textwrap.dedent(_REPORTER).lstrip())
    (folder / ".git").mkdir()  # not copied: not the project's code
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return package / "pipeline.py"


def _seen(script: Path, **options: Any) -> tuple[dict[str, str], str]:
    with pytest.raises(InputError) as raised:
        pipeglot.load(str(script), read="sagemaker-python", **options)
    message = str(raised.value)
    assert "FACTS" in message, message
    hexed = message.split("FACTS", 1)[1].split()[0]
    return json.loads(bytes.fromhex(hexed)), message


def test_offline_the_project_is_seen_at_one_path_and_messages_name_the_real_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_module("moto")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    script = _project(tmp_path / "checkout")
    seen, message = _seen(script)
    package = _sdk_project.PROJECT / "pipelines" / "nightly"
    assert seen == {
        "file": str(package / "pipeline.py"),  # realpath too: a copy, not a symlink
        "cwd": str(package),
        "path0": str(package),
        "helper": str(package / "helper.py"),
        "git": False,
    }
    # The traceback and message name the file the user has.
    assert f" in {script}" in message and f'File "{script}"' in message
    assert str(_sdk_project.PROJECT) not in message
    assert not _sdk_project.PROJECT.exists()  # removed after the run


def test_online_the_script_runs_where_it_is(tmp_path: Path) -> None:
    script = _project(tmp_path / "checkout")
    seen, _ = _seen(script, online=True)
    assert seen["file"] == str(script) and seen["cwd"] == str(script.parent)
    assert seen["git"] is True


def test_placement_maps_paths_both_ways(tmp_path: Path) -> None:
    place = _sdk_project.Placement(tmp_path, _sdk_project.PROJECT)
    inside = place.inside(tmp_path / "pipelines" / "x.py")
    assert inside == _sdk_project.PROJECT / "pipelines" / "x.py"
    assert place.inside(Path("/elsewhere/x.py")) == Path("/elsewhere/x.py")
    text = f'File "{inside}", line 3; {_sdk_project.PROJECT}-other stays'
    assert place.back(text) == (
        f'File "{tmp_path}/pipelines/x.py", line 3; {_sdk_project.PROJECT}-other stays'
    )
    assert _sdk_project.project_root(tmp_path / "x.py") == tmp_path  # no package: its folder


def test_a_run_waits_for_another_runs_copy_and_then_says_so(tmp_path: Path) -> None:
    import fcntl

    from pipeglot.errors import UsageError

    _sdk_project.ROOT.mkdir(mode=0o700, exist_ok=True)
    with open(_sdk_project.ROOT / "lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as another pipeglot's run holds it
        with (
            pytest.raises(UsageError, match=r"another pipeglot run has held /tmp/pipeglot/lock"),
            _sdk_project.placed(tmp_path, online=False, wait=0.2),
        ):
            pass
    with _sdk_project.placed(tmp_path, online=False, wait=0.2) as place:
        assert place.seen == _sdk_project.PROJECT and place.in_place_because is None
