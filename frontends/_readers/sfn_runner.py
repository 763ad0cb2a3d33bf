"""Runs a Step Functions Data Science SDK script in a child process and writes its workflow.

    python sfn_runner.py REQUEST.json RESULT.json

The ``stepfunctions-python`` frontend starts this file by path with the interpreter that has
the ``stepfunctions`` package (it needs ``sagemaker<3``), so only the standard library is
imported at module level. REQUEST names the script, the attribute, keyword arguments and
whether to run offline; RESULT receives ``{"definition", "name"}`` (the workflow's ASL) or
``{"error", "message"[, "traceback"]}``.

Offline, the SageMaker SDK runner's network guard (``_sdk_runner._refuse_network``) refuses
every connection that leaves the machine and moto answers AWS, as for SageMaker SDK scripts.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

# Started by path, Python put this folder first on sys.path; nothing here may shadow the SDK.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0] or os.getcwd()) == _HERE:
    del sys.path[0]
_SDK_RUNNER = Path(_HERE).parent / "_sdk_runner.py"


class _Problem(Exception):
    """The request cannot be served; a plain message."""


class _ScriptError(Exception):
    """The user's code raised: (message, traceback)."""


def main(request_path: str, result_path: str) -> int:
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    try:
        result = _run(request)
    except _Problem as problem:
        result = {"error": "usage", "message": str(problem)}
    except _ScriptError as error:
        result = {"error": "script", "message": error.args[0], "traceback": error.args[1]}
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


def _run(request: dict[str, Any]) -> dict[str, Any]:
    if importlib.util.find_spec("stepfunctions") is None:
        raise _Problem(
            f"the Step Functions Data Science SDK is not installed for {sys.executable}; pass "
            "--python with a Python that has it (pip install stepfunctions 'sagemaker<3')"
        )
    with _offline(request["online"]):
        return _definition(request)


@contextlib.contextmanager
def _offline(online: bool):  # type: ignore[no-untyped-def]
    if online:
        yield
        return
    _sdk_runner().__dict__["_refuse_network"]()
    try:
        from moto import mock_aws
    except ImportError:  # the SDK builds definitions without calling AWS; moto is a safety net
        yield
        return
    with mock_aws():
        yield


def _sdk_runner() -> Any:
    """The SageMaker SDK runner, loaded by path as a plain module (pipeglot is not installed
    in the child's Python necessarily)."""
    spec = importlib.util.spec_from_file_location("_pipeglot_sdk_runner", _SDK_RUNNER)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _definition(request: dict[str, Any]) -> dict[str, Any]:
    from stepfunctions.workflow import Workflow

    module = _user_code(lambda: _import(request))
    target = _target(module, request, Workflow)
    workflow = (
        target if isinstance(target, Workflow) else _user_code(lambda: target(**request["kwargs"]))
    )
    if not isinstance(workflow, Workflow):
        raise _Problem(
            f"{request['attribute'] or 'the function'} returned "
            f"{type(workflow).__module__}.{type(workflow).__qualname__}, not a "
            "stepfunctions.workflow.Workflow"
        )
    definition = _user_code(lambda: workflow.definition.to_json())
    return {"definition": definition, "name": workflow.name}


def _import(request: dict[str, Any]) -> Any:
    if request["module"] is not None:
        sys.path.insert(0, os.getcwd())
        return importlib.import_module(request["module"])
    path = Path(request["path"]).resolve()
    sys.path.insert(0, str(path.parent))  # as `python path/to/script.py` does
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _target(module: Any, request: dict[str, Any], workflow_type: type) -> Any:
    """NAME, else ``get_workflow``, else the one module-level Workflow."""
    name = request["attribute"]
    if name is not None:
        target: Any = module
        for part in name.split("."):
            if not hasattr(target, part):
                raise _Problem(f"{request['path'] or request['module']} has no {name!r}")
            target = getattr(target, part)
        return target
    if callable(getattr(module, "get_workflow", None)):
        return module.get_workflow
    found = [key for key, value in vars(module).items() if isinstance(value, workflow_type)]
    if len(found) != 1:
        raise _Problem(
            f"the script defines {len(found)} Workflow objects at module level "
            f"({', '.join(found) or 'none'}); name one with path/to/script.py:NAME"
        )
    return getattr(module, found[0])


def _user_code(action: Any) -> Any:
    try:
        return action()
    except (_Problem, _ScriptError):
        raise
    except BaseException as error:  # the user's code: report it, with its own frames
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if "site-packages" not in frame.filename and not frame.filename.startswith(_HERE)
        ]
        text = "".join(traceback.format_list(frames)) + "".join(
            traceback.format_exception_only(type(error), error)
        )
        raise _ScriptError(f"{type(error).__name__}: {error}", text) from None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
