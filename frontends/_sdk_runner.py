"""Runs a user's SageMaker SDK script in a child process and writes its pipeline definition.

    python _sdk_runner.py REQUEST.json RESULT.json

The ``sagemaker-python`` frontend starts this file by path, with whichever interpreter has the
SDK, so it imports only the standard library at module level: pipeglot itself need not be
installed there. REQUEST names the script, the attribute to use, the keyword arguments and
whether to run offline; RESULT receives ``{"definition", "name"}`` or ``{"error", ...}``.

Offline, every AWS call the script makes is answered by moto, under an IAM role that moto
creates, so ``get_execution_role()`` works as it does in a SageMaker notebook, and no other
connection leaves the machine (so neither does the SDK's telemetry).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

# Started by path, Python put this folder first on sys.path; it holds a module named
# ``sagemaker`` (pipeglot's JSON frontend) that would shadow the SDK.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or os.getcwd()) == _HERE:
    del sys.path[0]

OFFLINE_ROLE_NAME = "SageMakerExecutionRole"
_ASSUME_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


class ScriptError(Exception):
    """The user's code raised; carries the formatted traceback of the script's frames."""


class UsageProblem(Exception):
    """The request cannot be served (no such attribute, not a Pipeline); a plain message."""


def main(request_path: str, result_path: str) -> int:
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    try:
        result = _run(request)
    except UsageProblem as problem:
        result = {"error": "usage", "message": str(problem)}
    except ScriptError as error:
        result = {"error": "script", "message": error.args[0], "traceback": error.args[1]}
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


def _run(request: dict[str, Any]) -> dict[str, Any]:
    if importlib.util.find_spec("sagemaker") is None:
        raise UsageProblem(
            f"the SageMaker Python SDK is not installed for {sys.executable}; install it "
            "(pip install 'pipeglot[sagemaker]' for v3, or 'sagemaker<3' for v2)"
        )
    if not request["online"]:
        with _offline():
            return _definition(request)
    return _definition(request)


@contextlib.contextmanager
def _offline():
    """Answer AWS locally with moto, as a placeholder role, with every other connection refused."""
    try:
        from moto import mock_aws
    except ImportError:
        raise UsageProblem(
            f"offline translation answers AWS calls with moto, which is not installed for "
            f"{sys.executable}; install it (pip install 'pipeglot[sagemaker]'), or pass "
            "--online to let the SDK use your AWS account"
        ) from None
    _refuse_network()
    with mock_aws():
        _assume_placeholder_role()
        yield


def _refuse_network() -> None:
    """Offline means offline: no DNS lookup or connection leaves this machine.

    moto answers AWS inside the process, so the only traffic left is what no translation
    needs: the SDK's telemetry (sent in the background; it fails quietly) and whatever the
    script fetches itself, which then fails with this message.
    """
    import socket

    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def refuse(where: object) -> OSError:
        return OSError(
            f"pipeglot runs SageMaker scripts offline and refused a connection to {where}; "
            "pass --online to let the script use the network and your AWS account"
        )

    def local_connect(self: socket.socket, address: Any) -> Any:
        if self.family == getattr(socket, "AF_UNIX", None) or _is_loopback(address[0]):
            return connect(self, address)
        raise refuse(address)

    def local_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is None or _is_loopback(host):
            return getaddrinfo(host, *args, **kwargs)
        raise refuse(host)

    socket.socket.connect = local_connect  # type: ignore[method-assign]
    socket.getaddrinfo = local_getaddrinfo


def _is_loopback(host: Any) -> bool:
    import ipaddress

    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _assume_placeholder_role() -> None:
    import boto3

    # A private session: boto3's default one would keep moto's first credentials for the script.
    session = boto3.session.Session()
    iam = session.client("iam")
    role = iam.create_role(RoleName=OFFLINE_ROLE_NAME, AssumeRolePolicyDocument=_ASSUME_ROLE_POLICY)
    credentials = session.client("sts").assume_role(
        RoleArn=role["Role"]["Arn"], RoleSessionName="pipeglot"
    )["Credentials"]
    os.environ["AWS_ACCESS_KEY_ID"] = credentials["AccessKeyId"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = credentials["SecretAccessKey"]
    os.environ["AWS_SESSION_TOKEN"] = credentials["SessionToken"]


# --- finding and building the pipeline ----------------------------------------------------------


def _definition(request: dict[str, Any]) -> dict[str, Any]:
    with _user_code():
        module = _import(request)
    target = _attribute(module, request)
    with _user_code():
        pipeline = _call(target, request) if not is_pipeline(target) else target
    if not is_pipeline(pipeline):
        raise UsageProblem(
            f"{_describe_target(request)} returned {describe_type(pipeline)}, "
            "not a SageMaker Pipeline"
        )
    with _user_code():
        definition = pipeline.definition()
    return {"definition": definition, "name": getattr(pipeline, "name", None) or None}


def _import(request: dict[str, Any]) -> Any:
    if request["module"] is not None:
        sys.path.insert(0, os.getcwd())  # as `python -m` does
        return importlib.import_module(request["module"])
    path = Path(request["path"]).resolve()
    package_root, dotted = _package_name(path)
    if dotted is not None:  # inside a package: import by name so relative imports work
        sys.path.insert(0, str(package_root))
        return importlib.import_module(dotted)
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _package_name(path: Path) -> tuple[Path, str | None]:
    """The folder to put on sys.path and the dotted name, when ``path`` sits in a package."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        folder = folder.parent
    if len(parts) == 1:
        return folder, None
    return folder, ".".join(parts)


def _attribute(module: Any, request: dict[str, Any]) -> Any:
    name = request["attribute"]
    if name is not None:
        target: Any = module
        for part in name.split("."):
            if not hasattr(target, part):
                raise UsageProblem(
                    f"the module has no attribute {name!r}; it defines "
                    f"{_candidates(module) or 'no functions or Pipeline objects'}"
                )
            target = getattr(target, part)
        return target
    if callable(getattr(module, "get_pipeline", None)):
        return module.get_pipeline
    pipelines = [key for key, value in vars(module).items() if is_pipeline(value)]
    if len(pipelines) == 1:
        return getattr(module, pipelines[0])
    if not pipelines:
        raise UsageProblem(
            "the module has no get_pipeline function and no module-level Pipeline object; "
            f"name the one to use as {_source(request)}:NAME (it defines "
            f"{_candidates(module) or 'no functions'})"
        )
    raise UsageProblem(
        f"the module has several Pipeline objects ({', '.join(pipelines)}); "
        f"choose one as {_source(request)}:NAME"
    )


def _call(target: Any, request: dict[str, Any]) -> Any:
    if not callable(target):
        raise UsageProblem(
            f"{_describe_target(request)} is {describe_type(target)}; name a Pipeline object or a "
            "function that returns one"
        )
    kwargs = dict(request["kwargs"])
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        _fill_region(signature, kwargs)
        try:
            signature.bind(**kwargs)
        except TypeError as error:
            raise UsageProblem(
                f"{_describe_target(request)}{signature} cannot be called with --kwargs "
                f"{json.dumps(request['kwargs'])}: {error}"
            ) from None
    return target(**kwargs)


def _fill_region(signature: inspect.Signature, kwargs: dict[str, Any]) -> None:
    """Project templates take ``get_pipeline(region, ...)``: pass the session's region."""
    parameter = signature.parameters.get("region")
    if parameter is None or parameter.default is not inspect.Parameter.empty:
        return
    import boto3

    region = boto3.session.Session().region_name
    if region is not None:
        kwargs.setdefault("region", region)


def is_pipeline(value: Any) -> bool:
    cls = type(value)
    return (
        cls.__name__ == "Pipeline"
        and cls.__module__.startswith("sagemaker.")
        and callable(getattr(value, "definition", None))
    )


def _candidates(module: Any) -> str:
    names = [
        key
        for key, value in vars(module).items()
        if not key.startswith("_")
        and (is_pipeline(value) or inspect.isfunction(value))
        and getattr(value, "__module__", module.__name__) == module.__name__
    ]
    return ", ".join(sorted(names))


def describe_type(value: Any) -> str:
    return f"a {type(value).__module__}.{type(value).__qualname__}"


def _source(request: dict[str, Any]) -> str:
    return request["module"] or request["path"]


def _describe_target(request: dict[str, Any]) -> str:
    return f"{_source(request)}:{request['attribute'] or 'get_pipeline'}"


# --- errors in user code ------------------------------------------------------------------------


@contextlib.contextmanager
def _user_code():
    """Turn an exception raised by the user's code into ScriptError with its own traceback."""
    try:
        yield
    except (UsageProblem, KeyboardInterrupt):
        raise
    except SystemExit as error:
        raise ScriptError(f"the script called sys.exit({error.code!r})", "") from None
    except BaseException as error:
        raise ScriptError(_summary(error), _script_traceback(error)) from None


def _summary(error: BaseException) -> str:
    summary = "".join(traceback.format_exception_only(type(error), error)).strip()
    hint = _sdk_generation_hint(error)
    return f"{summary}{hint}"


def _sdk_generation_hint(error: BaseException) -> str:
    if not isinstance(error, ModuleNotFoundError) or not (error.name or "").startswith("sagemaker"):
        return ""
    if error.name.startswith(("sagemaker.workflow", "sagemaker.estimator", "sagemaker.processing")):
        wanted = "v2 (sagemaker<3)"
    elif error.name.startswith(("sagemaker.core", "sagemaker.mlops", "sagemaker.train")):
        wanted = "v3"
    else:
        return ""
    return (
        f" (the script is written for SageMaker SDK {wanted}, which {sys.executable} does not "
        "have; run pipeglot with a Python that has it, or pass --python PATH)"
    )


def _script_traceback(error: BaseException) -> str:
    """The traceback (with its chained causes) without this runner's and importlib's frames."""
    report = traceback.TracebackException.from_exception(error)
    seen: set[int] = set()
    pending = [report]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.stack = traceback.StackSummary.from_list(
            [frame for frame in current.stack if not _is_machinery(frame.filename)]
        )
        pending += [link for link in (current.__cause__, current.__context__) if link]
    return "".join(report.format())


def _is_machinery(filename: str) -> bool:
    return os.path.abspath(filename) == os.path.abspath(__file__) or filename.startswith(
        "<frozen importlib"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
