"""Frontend for Step Functions Data Science SDK scripts (the ``stepfunctions`` package).

Teams that built SageMaker workflows with the Data Science SDK (no release since 2021) can move
them to SageMaker Pipelines, Airflow or Kubeflow. As with SageMaker SDK scripts, the script is
run, not parsed: ``_readers/sfn_runner.py`` runs it in a child process (the SDK needs
``sagemaker<3``, so pass ``--python`` with such an environment), offline by default, and the
workflow's Amazon States Language comes back and is read by the ``asl`` frontend.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import InputError, UsageError
from pipeglot.frontends import asl
from pipeglot.frontends._readers import sfn_runner
from pipeglot.frontends.sagemaker_python import parse_reference
from pipeglot.ir.model import Workflow

READS_TEXT = False  # the CLI hands this frontend the INPUT string: a path or a module reference
RECORDS_DIAGNOSTICS = True
OPTIONS = ("kwargs", "online", "python", "timeout")

DEFAULT_TIMEOUT = 300.0
DEFAULT_REGION = "us-east-1"
_RUNNER = Path(sfn_runner.__file__).resolve()


def load(
    source: Any,
    *,
    name: str | None = None,
    kwargs: Mapping[str, Any] | None = None,
    online: bool = False,
    python: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    diagnostics: Diagnostics | None = None,
) -> Workflow:
    """Run a Data Science SDK script and read its workflow's definition.

    Args:
        source: ``path/to/script.py[:NAME]`` or ``package.module[:NAME]``; NAME names a
            Workflow or a function returning one (default: ``get_workflow``, else the one
            module-level Workflow).
        kwargs: keyword arguments for that function.
        online: let the script use the network and the environment's AWS account.
        python: the interpreter with ``stepfunctions`` and ``sagemaker<3``.

    Raises:
        InputError: the script failed or defines no Workflow.
        UsageError: the reference is malformed, or ``python`` cannot be run.
    """
    reference = parse_reference(os.fspath(source))
    request = {
        "path": reference.path,
        "module": reference.module,
        "attribute": reference.attribute,
        "kwargs": dict(kwargs or {}),
        "online": online,
    }
    result = _run(request, python, online, timeout, reference.label)
    return asl.load(result["definition"], name=name or result.get("name"), diagnostics=diagnostics)


def _run(
    request: dict[str, Any],
    python: str | os.PathLike[str] | None,
    online: bool,
    timeout: float,
    label: str,
) -> dict[str, Any]:
    interpreter = os.fspath(python) if python is not None else sys.executable
    with tempfile.TemporaryDirectory(prefix="pipeglot-") as folder:
        request_path, result_path = Path(folder) / "request.json", Path(folder) / "result.json"
        try:
            request_path.write_text(json.dumps(request), encoding="utf-8")
        except TypeError:
            raise UsageError("--kwargs must hold JSON values only") from None
        command = [interpreter, str(_RUNNER), str(request_path), str(result_path)]
        returncode, stderr = _child(command, _environment(online), timeout, label)
        if not result_path.is_file():
            tail = "\n".join(stderr.strip().splitlines()[-20:])
            raise InputError(
                f"the script's Python process ended (exit code {returncode}) before it built a "
                "workflow" + (f"; its last output:\n{tail}" if tail else ""),
                source=label,
            )
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    if result.get("error") == "script":
        raise InputError(
            f"the script failed: {result['message']}\n{result['traceback']}".rstrip(), source=label
        )
    if result.get("error"):
        raise InputError(result["message"], source=label)
    return result


def _child(
    command: list[str], environment: dict[str, str], timeout: float, label: str
) -> tuple[int, str]:
    """The child in its own process group, so that a timeout ends whatever it started."""
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            start_new_session=True,
        )
    except OSError as error:
        raise UsageError(f"cannot run the Python at {command[0]}: {error.strerror}") from None
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise InputError(
            f"the script did not build its workflow within {timeout:g} seconds", source=label
        ) from None
    return process.returncode, stderr.decode("utf-8", errors="replace")


def _environment(online: bool) -> dict[str, str]:
    """Offline: dummy credentials and no profile, so nothing can reach an AWS account."""
    environment = dict(os.environ)
    if online:
        return environment
    region = environment.get("AWS_REGION") or environment.get("AWS_DEFAULT_REGION")
    for key in list(environment):
        if key.startswith(("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION", "AWS_ROLE")):
            del environment[key]
    environment.update(
        AWS_ACCESS_KEY_ID="pipeglot-offline",
        AWS_SECRET_ACCESS_KEY="pipeglot-offline",
        AWS_DEFAULT_REGION=region or DEFAULT_REGION,
        AWS_REGION=region or DEFAULT_REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        SAGEMAKER_SUPPRESS_V2_WARNING="1",
    )
    return environment
