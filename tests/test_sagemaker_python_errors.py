"""The sagemaker-python frontend when things go wrong, and the sandbox scripts run in.

Most scripts here fail or report before they import the SDK, so these tests are fast. The
reports come back as the script's own exception message, which makes the child's environment
visible without any SDK at all.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, require_module

import pipeglot
from pipeglot.cli import main
from pipeglot.errors import InputError, UsageError
from pipeglot.formats import infer_reader
from pipeglot.frontends.sagemaker_python import Reference, parse_reference


def _script(tmp_path: Path, body: str, name: str = "pipeline.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def _report(tmp_path: Path, **options: Any) -> dict[str, Any]:
    """What the child process sees, raised by the script and read back from the error."""
    script = _script(
        tmp_path,
        """
        import json, os, socket
        import boto3

        def get_pipeline():
            facts = {k: os.environ.get(k) for k in (
                "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_EC2_METADATA_DISABLED",
                "SAGEMAKER_VALIDATE_ROLE", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID")}
            facts["identity"] = boto3.client("sts").get_caller_identity()["Arn"]
            try:
                socket.create_connection(("example.com", 80), timeout=5)
                facts["network"] = "open"
            except OSError as error:
                facts["network"] = str(error)
            raise RuntimeError("FACTS" + json.dumps(facts))
        """,
    )
    with pytest.raises(InputError) as raised:
        pipeglot.load(str(script), read="sagemaker-python", **options)
    message = str(raised.value)
    return json.loads(message.split("FACTS", 1)[1].splitlines()[0])


def test_offline_run_is_sandboxed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_module("moto")
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    facts = _report(tmp_path)
    assert facts["AWS_PROFILE"] is None and facts["AWS_ENDPOINT_URL"] is None
    assert facts["AWS_EC2_METADATA_DISABLED"] == "true"
    assert facts["SAGEMAKER_VALIDATE_ROLE"] == "false"
    assert facts["AWS_DEFAULT_REGION"] == "eu-west-1"  # the user's region is kept
    # get_execution_role() finds this role, as in a SageMaker notebook
    assert facts["identity"].startswith(
        "arn:aws:sts::123456789012:assumed-role/SageMakerExecutionRole/"
    )
    assert "refused a connection to example.com" in facts["network"]


def test_online_run_keeps_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--online: the script sees the user's own credentials (and nothing is mocked)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "the-users-key")
    script = _script(
        tmp_path,
        """
        import os, sys
        def get_pipeline():
            key = os.environ["AWS_ACCESS_KEY_ID"]
            raise RuntimeError(f"KEY={key} moto={'moto' in sys.modules}")
        """,
    )
    with pytest.raises(InputError, match="KEY=the-users-key moto=False"):
        pipeglot.load(str(script), read="sagemaker-python", online=True)


def test_script_error_shows_its_traceback(tmp_path: Path, capsys: Any) -> None:
    script = _script(
        tmp_path,
        """
        def helper(threshold):
            raise ValueError(f"threshold {threshold} is out of range")

        def get_pipeline(threshold=2):
            return helper(threshold)
        """,
    )
    assert main(["translate", str(script), "--to", "sagemaker"]) == 2
    err = capsys.readouterr().err
    assert "the script failed: ValueError: threshold 2 is out of range" in err
    assert "Traceback (most recent call last):" in err
    assert f'File "{script}", line 6, in get_pipeline' in err
    assert f'File "{script}", line 3, in helper' in err
    assert "_sdk_runner.py" not in err  # pipeglot's own frames are not the user's concern


def test_error_at_import_names_the_line(tmp_path: Path) -> None:
    script = _script(tmp_path, "x = 1\nundefined_name\n")
    with pytest.raises(InputError, match="NameError: name 'undefined_name'") as raised:
        pipeglot.load(str(script), read="sagemaker-python")
    assert f'File "{script}", line 2, in <module>' in str(raised.value)


def test_sys_exit_is_reported(tmp_path: Path) -> None:
    script = _script(tmp_path, "import sys\nsys.exit(4)\n")
    with pytest.raises(InputError, match=r"called sys.exit\(4\)"):
        pipeglot.load(str(script), read="sagemaker-python")


def test_a_crashed_process_is_reported(tmp_path: Path) -> None:
    script = _script(tmp_path, "import os, sys\nprint('dying', file=sys.stderr)\nos._exit(9)\n")
    with pytest.raises(InputError, match=r"(?s)exit code 9.*dying"):
        pipeglot.load(str(script), read="sagemaker-python")


def test_timeout_stops_the_script(tmp_path: Path) -> None:
    script = _script(tmp_path, "import time\ntime.sleep(60)\n")
    with pytest.raises(InputError, match="within 1 seconds"):
        pipeglot.load(str(script), read="sagemaker-python", timeout=1)


def test_no_pipeline_lists_what_the_module_has(tmp_path: Path) -> None:
    script = _script(tmp_path, "def build():\n    pass\n\ndef other():\n    pass\n")
    with pytest.raises(InputError, match=r"no get_pipeline.*:NAME \(it defines build, other\)"):
        pipeglot.load(str(script), read="sagemaker-python")


def test_unknown_attribute(tmp_path: Path) -> None:
    script = _script(tmp_path, "def build():\n    pass\n")
    with pytest.raises(InputError, match="no attribute 'missing'; it defines build"):
        pipeglot.load(f"{script}:missing", read="sagemaker-python")


def test_function_that_returns_no_pipeline(tmp_path: Path) -> None:
    script = _script(tmp_path, "def get_pipeline():\n    return {'Steps': []}\n")
    with pytest.raises(InputError, match=r"returned a builtins\.dict, not a SageMaker Pipeline"):
        pipeglot.load(str(script), read="sagemaker-python")


def test_kwargs_that_do_not_fit(tmp_path: Path) -> None:
    script = _script(tmp_path, "def get_pipeline(role):\n    pass\n")
    with pytest.raises(InputError, match=r"cannot be called with --kwargs \{\"rol\": 1\}"):
        pipeglot.load(str(script), read="sagemaker-python", kwargs={"rol": 1})


def test_v2_script_under_v3_says_which_sdk_it_needs() -> None:
    require_module("moto")
    script = FIXTURES / "sdk" / "v2" / "kitchen_sink.py"
    with pytest.raises(InputError, match=r"written for SageMaker SDK v2 \(sagemaker<3\)"):
        pipeglot.load(str(script), read="sagemaker-python")


def test_missing_python_is_a_usage_error(tmp_path: Path) -> None:
    script = _script(tmp_path, "pass\n")
    with pytest.raises(UsageError, match="cannot run the Python at"):
        pipeglot.load(str(script), read="sagemaker-python", python=tmp_path / "nope" / "python")


def test_in_memory_object_must_be_a_pipeline() -> None:
    with pytest.raises(UsageError, match=r"got a builtins\.dict"):
        pipeglot.load({"Steps": []}, read="sagemaker-python")


# --- references and format inference ------------------------------------------------------


def test_parse_reference(tmp_path: Path) -> None:
    script = _script(tmp_path, "pass\n")
    assert parse_reference(str(script)) == Reference(str(script), None, None)
    assert parse_reference(f"{script}:build") == Reference(str(script), None, "build")
    assert parse_reference("pipelines.abalone.pipeline") == Reference(
        None, "pipelines.abalone.pipeline", None
    )
    assert parse_reference("pkg.mod:factory.make") == Reference(None, "pkg.mod", "factory.make")
    with pytest.raises(InputError, match="does not exist"):
        parse_reference(str(tmp_path / "absent.py"))
    with pytest.raises(InputError, match="is a folder"):
        parse_reference(f"{tmp_path}/")
    with pytest.raises(UsageError, match="neither a Python file nor a module reference"):
        parse_reference("not a module!")


@pytest.mark.parametrize(
    ("source", "reader"),
    [
        ("pipelines/abalone/pipeline.py", "sagemaker-python"),
        ("pipeline.py:get_pipeline", "sagemaker-python"),
        ("pipelines.abalone.pipeline", "sagemaker-python"),
        ("pipelines.abalone.pipeline:get_pipeline", "sagemaker-python"),
        ("sagemaker://my-pipeline", "sagemaker-service"),
        ("sagemaker://my-pipeline@abc123", "sagemaker-service"),
        ("arn:aws:sagemaker:us-east-1:123456789012:pipeline/my-pipeline", "sagemaker-service"),
        ("definition.json", "sagemaker"),
        ("-", "sagemaker"),
    ],
)
def test_infer_reader(source: str, reader: str) -> None:
    assert infer_reader(source) == reader


def test_script_options_on_a_json_input_are_a_usage_error(capsys: Any) -> None:
    definition = FIXTURES / "every-step-type.json"
    code = main(["translate", str(definition), "--to", "sagemaker", "--kwargs", '{"a": 1}'])
    assert code == 2
    assert "--kwargs applies to sagemaker-python inputs only" in capsys.readouterr().err


def test_kwargs_must_be_a_json_object(capsys: Any) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["translate", "x.py", "--to", "sagemaker", "--kwargs", "[1]"])
    assert raised.value.code == 2
    assert "give a JSON object" in capsys.readouterr().err
