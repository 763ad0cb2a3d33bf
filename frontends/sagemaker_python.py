"""Frontend for SageMaker Python SDK scripts (v2 and v3): ``path/to/file.py[:NAME]``,
``package.module[:NAME]``, or a Pipeline object in memory.

A script is not parsed: it is run, because only the SDK knows what its objects mean. The script
runs in a child process (``_sdk_runner.py``, started with the interpreter that has the SDK) with
a time limit, its ``pipeline.definition()`` comes back as JSON, and the ``sagemaker`` frontend
reads that, so a script and its definition always give the same workflow.

Offline by default: AWS calls are answered by moto, under dummy credentials and a placeholder
execution role, with telemetry, role validation and instance-metadata lookups off. ``online``
lets the SDK use the real account (the environment's credentials) instead.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeglot.errors import InputError, UsageError
from pipeglot.frontends import _sdk_runner, sagemaker
from pipeglot.ir.model import Workflow

READS_TEXT = False  # the CLI hands this frontend the INPUT string: a path or a module reference
OPTIONS = ("kwargs", "online", "python", "timeout")  # what the CLI may pass besides the source

DEFAULT_TIMEOUT = 300.0  # seconds; importing SDK v3 alone takes a few
DEFAULT_REGION = "us-east-1"
_RUNNER = Path(_sdk_runner.__file__).resolve()
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"{_IDENTIFIER}(?:\.{_IDENTIFIER})*")
# Where botocore looks for credentials, endpoints and profiles: offline, none of them may apply.
_ACCOUNT_SOURCES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


@dataclass(frozen=True, slots=True)
class Reference:
    """Where the pipeline is: a file or an importable module, and the attribute to use."""

    path: str | None
    module: str | None
    attribute: str | None  # None: get_pipeline, or else the one module-level Pipeline

    @property
    def label(self) -> str:
        where = self.path or self.module
        return f"{where}:{self.attribute}" if self.attribute else str(where)


def load(
    source: Any,
    *,
    name: str | None = None,
    kwargs: Mapping[str, Any] | None = None,
    online: bool = False,
    python: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Workflow:
    """Read a SageMaker SDK pipeline into a validated Workflow.

    Args:
        source: ``path/to/file.py[:NAME]`` or ``package.module[:NAME]`` (NAME names a Pipeline
            or a function returning one; without it, ``get_pipeline`` or else the one
            module-level Pipeline), or a Pipeline object, or a function returning one.
        name: the pipeline's name; by default the Pipeline's own.
        kwargs: keyword arguments for the function that builds the pipeline.
        online: let the SDK call AWS with the environment's credentials (scripts only).
        python: the interpreter that runs the script (default: this one); it needs the SDK.
        timeout: seconds the script may take.

    Raises:
        InputError: the script failed (the message holds its traceback), or builds no Pipeline.
        UsageError: the reference is malformed, or ``python`` does not exist.
    """
    arguments = dict(kwargs or {})
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        return _load_object(source, name=name, kwargs=arguments)
    reference = parse_reference(source)
    result = _run_script(reference, arguments, online, python, timeout)
    return sagemaker.load(result["definition"], name=name or result.get("name"))


def parse_reference(text: str) -> Reference:
    """Split ``file.py[:NAME]`` or ``package.module[:NAME]``; a UsageError says what is wrong."""
    target, attribute = text, None
    head, colon, tail = text.rpartition(":")
    if colon and _DOTTED.fullmatch(tail):
        target, attribute = head, tail
    if target.endswith(".py") or os.sep in target or "/" in target:
        path = Path(target)
        if not path.is_file():
            problem = "is a folder" if path.is_dir() else "does not exist"
            raise InputError(f"{target} {problem}; name a Python file (path/to/pipeline.py)")
        return Reference(path=target, module=None, attribute=attribute)
    if _DOTTED.fullmatch(target):
        return Reference(path=None, module=target, attribute=attribute)
    raise UsageError(
        f"{text!r} is neither a Python file nor a module reference; use path/to/file.py[:NAME] "
        "or package.module[:NAME]"
    )


def looks_like_reference(text: str) -> bool:
    """Whether ``text`` reads as a Python source for this frontend (used to infer --from)."""
    head, colon, tail = text.rpartition(":")
    target = head if colon and _DOTTED.fullmatch(tail) else text
    if target.endswith(".py"):
        return True
    return bool(_DOTTED.fullmatch(target)) and (bool(colon) or not Path(text).exists())


# --- a script, in a child process ---------------------------------------------------------------


def _run_script(
    reference: Reference,
    kwargs: dict[str, Any],
    online: bool,
    python: str | os.PathLike[str] | None,
    timeout: float,
) -> dict[str, Any]:
    request = {
        "path": reference.path,
        "module": reference.module,
        "attribute": reference.attribute,
        "kwargs": kwargs,
        "online": online,
    }
    interpreter = os.fspath(python) if python is not None else sys.executable
    with tempfile.TemporaryDirectory(prefix="pipeglot-") as folder:
        request_path = Path(folder) / "request.json"
        result_path = Path(folder) / "result.json"
        try:
            request_path.write_text(json.dumps(request), encoding="utf-8")
        except TypeError:
            raise UsageError("--kwargs must hold JSON values only") from None
        command = [interpreter, str(_RUNNER), str(request_path), str(result_path)]
        returncode, stderr = _run(command, _environment(online), timeout, reference)
        if not result_path.is_file():
            raise InputError(_crash_message(returncode, stderr), source=reference.label)
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    if result.get("error") == "script":
        raise InputError(
            f"the script failed: {result['message']}\n{result['traceback']}".rstrip(),
            source=reference.label,
        )
    if result.get("error"):
        raise InputError(result["message"], source=reference.label)
    return result


def _run(
    command: list[str], environment: dict[str, str], timeout: float, reference: Reference
) -> tuple[int, str]:
    """Run the child in its own process group, so that a timeout ends whatever it started."""
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,  # the script's prints must not mix with translated output
            stderr=subprocess.PIPE,
            env=environment,
            start_new_session=True,
        )
    except OSError as error:
        raise UsageError(f"cannot run the Python at {command[0]}: {error.strerror}") from None
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise InputError(
            f"the script did not build its pipeline within {timeout:g} seconds; "
            "check it for blocking calls (a job run or wait, input())",
            source=reference.label,
        ) from None
    return process.returncode, stderr.decode("utf-8", errors="replace")


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (AttributeError, ProcessLookupError):  # no process groups (Windows), or gone
        process.kill()
    process.communicate()


def _crash_message(returncode: int, stderr: str) -> str:
    tail = "\n".join(stderr.strip().splitlines()[-20:])
    return (
        f"the script's Python process ended (exit code {returncode}) before it built a "
        "pipeline" + (f"; its last output:\n{tail}" if tail else "")
    )


def _environment(online: bool) -> dict[str, str]:
    """The child's environment: offline, no way to reach an AWS account, and no telemetry."""
    environment = dict(os.environ)
    if online:
        return environment
    region = environment.get("AWS_REGION") or environment.get("AWS_DEFAULT_REGION")
    region = region or DEFAULT_REGION
    for key in list(environment):
        if key in _ACCOUNT_SOURCES or key.startswith("AWS_ENDPOINT_URL"):
            del environment[key]
    environment.update(
        AWS_ACCESS_KEY_ID="pipeglot-offline",
        AWS_SECRET_ACCESS_KEY="pipeglot-offline",
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        SAGEMAKER_VALIDATE_ROLE="false",
    )
    return environment


# --- an object, in this process -----------------------------------------------------------------


def _load_object(source: Any, *, name: str | None, kwargs: dict[str, Any]) -> Workflow:
    """A Pipeline (or a function returning one) built by the caller: its definition, here."""
    pipeline = source
    if not _sdk_runner.is_pipeline(pipeline) and callable(pipeline):
        pipeline = pipeline(**kwargs)
    if not _sdk_runner.is_pipeline(pipeline):
        raise UsageError(
            f"sagemaker-python reads a SageMaker Pipeline, a function returning one, or a "
            f"reference (path/to/file.py[:NAME]); got {_sdk_runner.describe_type(pipeline)}"
        )
    return sagemaker.load(pipeline.definition(), name=name or getattr(pipeline, "name", None))
