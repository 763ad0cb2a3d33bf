"""Frontend for SageMaker Python SDK scripts (v2 and v3): ``path/to/file.py[:NAME]``,
``package.module[:NAME]``, or a Pipeline object in memory.

A script is not parsed: it is run, because only the SDK knows what its objects mean. The script
runs in a child process (``_sdk_runner.py``, started with the interpreter that has the SDK) with
a time limit, its ``pipeline.definition()`` comes back as JSON, and the ``sagemaker`` frontend
reads that, so a script and its definition always give the same workflow.

Offline by default: AWS calls are answered by moto, under dummy credentials and a placeholder
execution role, with telemetry, role validation and instance-metadata lookups off, and the run
is reproducible (a frozen clock, seeded randomness: see ``_sdk_runner``; the project seen at one
path on every machine: see ``_sdk_project``), so the same script, kwargs and pipeglot give the
same bytes in any checkout. Schedules the script attaches to its pipeline (``put_triggers``)
become the workflow's triggers. Whatever the script uploaded or created offline is
listed in the ledger; ``assets`` writes the uploaded files out in the layout of their S3 keys,
and ``bucket`` points the SDK at the user's bucket, so that syncing them there makes the
translation deployable. ``online`` lets the SDK use the real account (the environment's
credentials) instead.
"""

from __future__ import annotations

import dataclasses
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

from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import InputError, OutputError, UsageError
from pipeglot.frontends import _sdk_project, _sdk_runner, sagemaker
from pipeglot.ir import triggers
from pipeglot.ir.model import Workflow

READS_TEXT = False  # the CLI hands this frontend the INPUT string: a path or a module reference
RECORDS_DIAGNOSTICS = True  # what ran offline only goes into the translation's ledger
# What the CLI may pass besides the source; ``pending_files`` is a dict that the CLI writes
# (or, with --check, compares) together with the translation.
OPTIONS = ("kwargs", "online", "python", "timeout", "cwd", "assets", "bucket", "pending_files")

DEFAULT_TIMEOUT = 300.0  # seconds; importing SDK v3 alone takes a few
DEFAULT_REGION = "us-east-1"
OFFLINE_ACCOUNT = "123456789012"  # moto's
_RUNNER = Path(_sdk_runner.__file__).resolve()
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
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
    cwd: str | os.PathLike[str] | None = None,
    assets: str | os.PathLike[str] | None = None,
    bucket: str | None = None,
    diagnostics: Diagnostics | None = None,
    pending_files: dict[Path, bytes] | None = None,
) -> Workflow:
    """Read a SageMaker SDK pipeline into a validated Workflow.

    Args:
        source: ``path/to/file.py[:NAME]`` or ``package.module[:NAME]`` (NAME names a Pipeline
            or a function returning one; without it, ``get_pipeline`` or else the one
            module-level Pipeline), or a Pipeline object, or a function returning one.
        name: the pipeline's name; by default the Pipeline's own.
        kwargs: keyword arguments for the function that builds the pipeline. A ``role`` also
            becomes the role of ``@step`` functions (the SDK configuration's RemoteFunction
            RoleArn); the builder gets it only if it takes it.
        online: let the SDK call AWS with the environment's credentials (scripts only).
        python: the interpreter that runs the script (default: this one); it needs the SDK.
        timeout: seconds the script may take.
        cwd: the script's working directory (default: a file's own folder; for a module
            reference, the current one). Offline, a folder inside the project root is seen in
            pipeglot's copy of the project, like the script.
        assets: a folder to write the files the script uploaded to, as ``ASSETS/KEY`` for
            each object of the output's bucket.
        bucket: the S3 bucket the SDK uses by default (and the builder's ``default_bucket``
            when it takes one), so that the output points at it.
        diagnostics: the ledger that receives what ran offline only (uploads, resources,
            calls answered for moto).
        pending_files: when given, the asset files go here (path to bytes) for the caller to
            write or compare, instead of being written.

    Raises:
        InputError: the script failed (the message holds its traceback), or builds no Pipeline.
        UsageError: the reference is malformed, or ``python`` does not exist.
    """
    arguments = dict(kwargs or {})
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        return _load_object(source, name=name, kwargs=arguments)
    if bucket is not None and not _BUCKET.fullmatch(bucket):
        raise UsageError(
            f"--bucket {bucket!r} is not an S3 bucket name: 3 to 63 lowercase letters, digits, "
            "dots and hyphens"
        )
    if assets is not None and online:
        raise UsageError(
            "--assets writes what a script uploaded offline; with --online the script uploads "
            "to your account itself, so leave out one of them"
        )
    reference = parse_reference(source)
    run = _Run(reference, arguments, online, bucket, _working_folder(reference, cwd))
    root = _sdk_project.project_root(run.script)
    with (
        tempfile.TemporaryDirectory(prefix="pipeglot-") as folder,
        _sdk_project.placed(root, online=online, wait=timeout) as place,
    ):
        result = run.execute(Path(folder), python, timeout, place)
        workflow = sagemaker.load(result["definition"], name=name or result.get("name"))
        files = _assets(result, Path(folder) / "objects", assets, run.bucket)
    workflow = _with_schedules(workflow, result, reference)
    ledger = diagnostics if diagnostics is not None else Diagnostics()
    _record(ledger, result, run, assets, files)
    if place.in_place_because is not None:
        ledger.approximated(
            "sagemaker-python.checkout-path",
            f"the script ran in place, not at {_sdk_project.PROJECT} "
            f"({place.in_place_because}), so the output may hold paths of this checkout "
            "and differ when translated in another one",
        )
    if pending_files is not None:
        pending_files.update(files)
    else:
        write_files(files)
    return workflow


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


@dataclass(frozen=True, slots=True)
class _Run:
    """One run of a script: what the child is asked, and the environment it gets."""

    reference: Reference
    kwargs: dict[str, Any]
    online: bool
    bucket: str | None  # the one the SDK is told to use
    cwd: Path

    @property
    def script(self) -> Path | None:
        path = self.reference.path
        return Path(path).resolve() if path is not None else None

    def execute(
        self,
        folder: Path,
        python: str | os.PathLike[str] | None,
        timeout: float,
        place: _sdk_project.Placement,
    ) -> dict[str, Any]:
        """The child's result, with the paths it saw (``place``) turned back into real ones."""
        request_path, result_path = folder / "request.json", folder / "result.json"
        (folder / "objects").mkdir()
        (folder / "tmp").mkdir()
        try:
            request_path.write_text(json.dumps(self._request(folder, place)), encoding="utf-8")
        except TypeError:
            raise UsageError("--kwargs must hold JSON values only") from None
        interpreter = os.fspath(python) if python is not None else sys.executable
        if os.sep in interpreter or "/" in interpreter:
            # The child runs in another folder. No resolve(): a venv's python is a symlink.
            interpreter = os.path.abspath(interpreter)
        command = [interpreter, str(_RUNNER), str(request_path), str(result_path)]
        environment = _environment(self.online, folder, self._sdk_config())
        returncode, stderr = _run(
            command, environment, timeout, self.reference, place.inside(self.cwd)
        )
        if not result_path.is_file():
            message = _crash_message(returncode, place.back(stderr))
            raise InputError(message, source=self.reference.label)
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        if result.get("error") == "script":
            raise InputError(
                place.back(
                    f"the script failed: {result['message']}\n{result['traceback']}"
                ).rstrip(),
                source=self.reference.label,
            )
        if result.get("error"):
            raise InputError(place.back(result["message"]), source=self.reference.label)
        return _restored(result, place)

    def _request(self, folder: Path, place: _sdk_project.Placement) -> dict[str, Any]:
        script = self.script
        return {
            "path": str(place.inside(script)) if script is not None else None,
            "module": self.reference.module,
            "root": str(place.inside(Path.cwd())),
            "attribute": self.reference.attribute,
            "kwargs": self.kwargs,
            "online": self.online,
            "bucket": self.bucket,
            "objects": str(folder / "objects"),
            "sdk_config": self._sdk_config() is not None,
        }

    def _sdk_config(self) -> dict[str, Any] | None:
        """SDK defaults (its config file's keys) for the @step role and the bucket."""
        modules: dict[str, Any] = {}
        role = self.kwargs.get("role")
        if isinstance(role, str) and role:
            modules["RemoteFunction"] = {"RoleArn": role}
        if self.bucket is not None:
            modules["Session"] = {"DefaultS3Bucket": self.bucket}
        if not modules:
            return None  # a config file costs the SDK a schema validation on every lookup
        return {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": modules}}}


def _with_schedules(workflow: Workflow, result: dict[str, Any], reference: Reference) -> Workflow:
    """``workflow`` with the Scheduler schedules the script attached to it (``put_triggers``),
    read as the service's schedules are (``GetSchedule`` answers of the offline account)."""
    found = []
    for schedule in result.get("schedules", []):
        group, name = schedule.get("GroupName") or "default", schedule.get("Name")
        try:
            trigger = triggers.from_scheduler(schedule, where=f"the script's schedule {name}")
        except InputError as error:
            raise error.with_source(reference.label) from None
        origin = (
            "the script's put_triggers"
            if group == "default"
            else f"the script's put_triggers, group {group}"
        )
        found.append(dataclasses.replace(trigger, origin=origin))
    return triggers.with_triggers(workflow, tuple(found)) if found else workflow


def _restored(result: dict[str, Any], place: _sdk_project.Placement) -> dict[str, Any]:
    """The local paths in what the child reports, as they are on this machine."""
    for item in (*result.get("objects", []), *result.get("resources", [])):
        local = item.get("local")
        if isinstance(local, str):
            item["local"] = place.back(local)
        elif isinstance(local, list):
            item["local"] = [place.back(path) for path in local]
    for note in result.get("notes", []):
        note["message"] = place.back(note["message"])
    return result


def _working_folder(reference: Reference, cwd: str | os.PathLike[str] | None) -> Path:
    if cwd is not None:
        folder = Path(cwd)
        if not folder.is_dir():
            raise UsageError(f"--cwd {folder} is not a folder")
        return folder.resolve()
    if reference.path is not None:
        return Path(reference.path).resolve().parent  # where `cd pkg && python script.py` runs
    return Path.cwd()  # a module reference runs from here, as `python -m` does


def _run(
    command: list[str],
    environment: dict[str, str],
    timeout: float,
    reference: Reference,
    cwd: Path,
) -> tuple[int, str]:
    """Run the child in its own process group, so that a timeout ends whatever it started."""
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
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


def _environment(online: bool, folder: Path, sdk_config: dict[str, Any] | None) -> dict[str, str]:
    """The child's environment: offline, no way to reach an AWS account, and no telemetry;
    and reproducible: UTC, fixed hash seed, its own temporary folder (tempfile names are
    seeded, so they must not meet another run's)."""
    environment = dict(os.environ)
    if sdk_config is not None:
        _use_sdk_config(environment, folder, sdk_config)
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
        TZ="UTC",
        PYTHONHASHSEED="0",
        TMPDIR=str(folder / "tmp"),
    )
    return environment


def _use_sdk_config(environment: dict[str, str], folder: Path, config: dict[str, Any]) -> None:
    """pipeglot's defaults as the administrator's SDK config: the user's own still wins."""
    path = folder / "sagemaker-config.yaml"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")  # JSON is YAML
    for variable in ("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", "SAGEMAKER_USER_CONFIG_OVERRIDE"):
        if not environment.get(variable):
            environment[variable] = str(path)
            return
    raise UsageError(
        "both SAGEMAKER_ADMIN_CONFIG_OVERRIDE and SAGEMAKER_USER_CONFIG_OVERRIDE are set, so "
        "pipeglot has no SDK config file left for --bucket and the @step role; unset one"
    )


# --- what the script left in the offline account ----------------------------------------------


def _assets(
    result: dict[str, Any], objects: Path, assets: str | os.PathLike[str] | None, bucket: str | None
) -> dict[Path, bytes]:
    """The files --assets writes: ASSETS/KEY for each object of the output's bucket."""
    if assets is None or "objects" not in result:
        return {}
    folder = Path(assets)
    chosen = bucket or _main_bucket(result)
    return {
        folder / item["key"]: (objects / item["file"]).read_bytes()
        for item in result["objects"]
        if item["bucket"] == chosen and item["file"] is not None
    }


def _main_bucket(result: dict[str, Any]) -> str | None:
    """Without --bucket: the one bucket that holds objects, or else the SDK's default one."""
    buckets = sorted({item["bucket"] for item in result["objects"]})
    if len(buckets) == 1:
        return buckets[0]
    default = f"sagemaker-{result.get('region', DEFAULT_REGION)}-{OFFLINE_ACCOUNT}"
    return default if default in buckets else None


def _record(
    ledger: Diagnostics,
    result: dict[str, Any],
    run: _Run,
    assets: str | os.PathLike[str] | None,
    files: dict[Path, bytes],
) -> None:
    for note in result.get("notes", []):
        ledger.approximated(note["code"], note["message"])
    chosen = (run.bucket or _main_bucket(result)) if "objects" in result else None
    written = {(chosen, Path(path).relative_to(assets).as_posix()) for path in files if assets}
    for item in result.get("objects", []):
        ledger.approximated("sagemaker-python.asset", _object_message(item, assets, written, run))
    for resource in result.get("resources", []):
        source = f" (from {', '.join(map(_shown, resource['local']))})" if resource["local"] else ""
        ledger.approximated(
            "sagemaker-python.offline-resource",
            f"{resource['kind']} {resource['id']}{source} was created in pipeglot's offline "
            "account only; create it in your account before running the translation, or "
            "translate with --online",
        )
    definition = result.get("definition") or ""
    role = f"arn:aws:iam::{OFFLINE_ACCOUNT}:role/{_sdk_runner.OFFLINE_ROLE_NAME}"
    if not run.online and role in definition:
        ledger.approximated(
            "sagemaker-python.offline-role",
            f"the translation runs as the offline placeholder role {role}; pass your role as "
            '--kwargs \'{"role": "arn:aws:iam::ACCOUNT:role/NAME"}\'',
        )


def _object_message(
    item: dict[str, Any],
    assets: str | os.PathLike[str] | None,
    written: set[tuple[str | None, str]],
    run: _Run,
) -> str:
    uri = f"s3://{item['bucket']}/{item['key']}"
    origin = f"from {_shown(item['local'])}" if item["local"] else "made by the SDK"
    head = f"uploaded object {uri} ({origin}, {item['size']} bytes)"
    if (item["bucket"], item["key"]) in written and assets is not None:
        target = Path(assets) / item["key"]
        return (
            f"{head} is written to {target}; upload it with "
            f"`aws s3 sync {Path(assets)} s3://{item['bucket']}` before running the translation"
        )
    if run.online:
        return f"{head} was uploaded to your account"
    hint = (
        "pass --assets DIR to write it out"
        if assets is None
        else "--assets writes only the output bucket's objects: upload this one yourself"
    )
    bucket_hint = "" if run.bucket else " and --bucket NAME to use your bucket"
    return f"{head} exists in pipeglot's offline account only; {hint}{bucket_hint}"


def _shown(path: str) -> str:
    """A local path as the user would type it: relative to the current folder when inside it."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    except ValueError:  # another drive (Windows)
        return path


def write_files(files: Mapping[Path, bytes]) -> None:
    """Write each file atomically (a temporary file in its folder, then a rename)."""
    for path, data in sorted(files.items()):
        if _holds(path, data):
            continue  # unchanged: keep its time stamp, so that a sync sends nothing
        try:
            _write_file(path, data)
        except OSError as error:
            raise OutputError(
                f"{path}: cannot write the script's upload there ({error.strerror or error}); "
                "pass --assets a folder you can write to"
            ) from None


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as open() would make it, not mkstemp's 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def stale_files(files: Mapping[Path, bytes]) -> list[Path]:
    """The files that are missing or differ from what would be written."""
    return sorted(path for path, data in files.items() if not _holds(path, data))


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


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
