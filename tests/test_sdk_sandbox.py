"""How a script runs in the sagemaker-python frontend's child process: where, how reproducibly,
and what the offline account answers. The scripts here need no SDK (only boto3 and moto), so
each run costs a second or two; they report what they saw as the message of the error they
raise, which the frontend hands back with the script's traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, require_module

import pipeglot
from pipeglot.errors import InputError
from pipeglot.frontends import _sdk_runner

SANDBOX = FIXTURES / "sdk" / "sandbox"
LAYOUT = SANDBOX / "layout"
DEMO = LAYOUT / "pipelines" / "demo"
# 2025-01-01T00:00:00.001Z, the documented instant (README, _sdk_runner.FROZEN_INSTANT)
FROZEN = 1735689600.001


def _failure(source: str | Path, **options: Any) -> str:
    with pytest.raises(InputError) as raised:
        pipeglot.load(str(source), read="sagemaker-python", **options)
    return str(raised.value)


def _facts(source: str | Path, **options: Any) -> dict[str, Any]:
    message = _failure(source, **options)
    assert "FACTS" in message, message
    return json.loads(message.split("FACTS", 1)[1].splitlines()[0])


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


# --- run as `python pipelines/demo/pipeline.py` would ---------------------------------------


def test_script_runs_in_its_folder_with_siblings_and_relative_imports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_module("moto")
    monkeypatch.chdir(LAYOUT)
    facts = _facts("pipelines/demo/pipeline.py")
    assert facts["file"] == str(DEMO / "pipeline.py")
    assert facts["cwd"] == str(DEMO)  # the script's folder, by default
    assert facts["path0"] == str(DEMO)  # first on sys.path, as `python script.py` puts it
    assert facts["sibling"] == "found next to the script"
    assert facts["relative"] == "found through the package"
    assert facts["name"] == "pipelines.demo.pipeline"


def test_cwd_option_sets_the_working_directory(tmp_path: Path) -> None:
    require_module("moto")
    facts = _facts(DEMO / "pipeline.py", cwd=tmp_path)
    assert facts["cwd"] == str(tmp_path)
    assert facts["sibling"] == "found next to the script"


def test_traceback_shows_only_the_scripts_frames() -> None:
    require_module("moto")
    message = _failure(DEMO / "pipeline.py", kwargs={"threshold": 2})
    assert "the script failed: ValueError: threshold 2 is above 1" in message
    frames = re.findall(r'File "([^"]+)", line \d+, in (\w+)', message)
    assert frames == [
        (str(DEMO / "pipeline.py"), "get_pipeline"),
        (str(DEMO / "helper.py"), "check"),
    ]


# --- reproducible offline, real time online --------------------------------------------------


@pytest.fixture(scope="module")
def offline_clock() -> dict[str, Any]:
    require_module("moto")
    return _facts(SANDBOX / "clock.py")


def test_offline_runs_are_reproducible(offline_clock: dict[str, Any]) -> None:
    assert _facts(SANDBOX / "clock.py") == offline_clock
    assert offline_clock["time"] == FROZEN
    assert offline_clock["strftime"] == "2025-01-01 00:00:00"
    assert offline_clock["now"] == offline_clock["utcnow"] == "2025-01-01T00:00:00.001000"
    assert offline_clock["aware"] == "2025-01-01T00:00:00.001000+00:00"
    assert offline_clock["today"] == "2025-01-01"
    assert offline_clock["is_datetime"] is True  # real datetime objects pass isinstance checks
    assert re.fullmatch(r"sagemaker_requirements_\w+", offline_clock["temporary"])


def test_online_keeps_real_time_and_randomness(offline_clock: dict[str, Any]) -> None:
    online = _facts(SANDBOX / "clock.py", online=True)
    assert online["time"] > FROZEN + 86400
    for source in ("uuid4", "uuid1", "random", "instance", "secrets", "urandom", "temporary"):
        assert online[source] != offline_clock[source], source


def test_a_seed_of_ones_own_changes_the_randomness_not_the_clock(
    offline_clock: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPEGLOT_SEED", "a CI secret")
    seeded = _facts(SANDBOX / "clock.py")
    assert seeded["time"] == FROZEN
    assert seeded["uuid4"] != offline_clock["uuid4"]
    assert seeded["secrets"] != offline_clock["secrets"]


# --- what the offline account answers --------------------------------------------------------


def test_offline_account_answers_as_a_fresh_account() -> None:
    """Reads moto lacks are answered "not found" / empty; AWS managed policies exist."""
    require_module("moto")
    facts = _facts(SANDBOX / "offline_gaps.py")
    assert facts == {
        "describe": "ResourceNotFound",
        "list": [],
        "managed_policy": "AWSLambdaBasicExecutionRole",
    }


def test_an_unanswerable_call_is_one_clear_message() -> None:
    require_module("moto")
    message = _failure(SANDBOX / "offline_gaps.py", kwargs={"create": True})
    assert message == (
        f"{SANDBOX / 'offline_gaps.py'}: pipeglot's offline account cannot answer sagemaker "
        "CreateImageVersion: moto, which stands in for AWS offline, does not implement it, "
        f"called at {SANDBOX / 'offline_gaps.py'}:17 in get_pipeline; pass --online to build "
        "the pipeline against your AWS account instead"
    )


# --- the builder's session arguments ---------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "wanted"),
    [
        ("PipelineSession", True),
        ("sagemaker.workflow.pipeline_context.PipelineSession", True),
        ("Optional[Session]", True),
        ("PipelineSession | None", True),
        ("str", False),
        ("SessionFactory", False),
    ],
)
def test_session_annotations(annotation: str, wanted: bool) -> None:
    assert _sdk_runner._is_session_annotation(annotation) is wanted


# --- writing the assets ----------------------------------------------------------------------


def test_assets_are_written_once_and_a_file_in_the_way_is_one_error(tmp_path: Path) -> None:
    from pipeglot.errors import OutputError
    from pipeglot.frontends.sagemaker_python import stale_files, write_files

    asset = tmp_path / "assets" / "code" / "preprocess.py"
    assert stale_files({asset: b"print(1)\n"}) == [asset]
    write_files({asset: b"print(1)\n"})
    assert asset.read_bytes() == b"print(1)\n" and stale_files({asset: b"print(1)\n"}) == []
    with pytest.raises(OutputError, match=r"preprocess\.py/x: cannot write the script's upload"):
        write_files({asset / "x": b""})  # a key below another object's key
