"""The airflow reader's DagBag mode: the operators' configs as Airflow builds them.

A DAG file may build its configs with code (a loop, a helper module, ``Variable.get``), which
reading the file cannot follow. When the user asks (``load_with_dagbag=True``), the file is
loaded in a real Airflow's ``DagBag`` in a child process (``dagbag_probe.py``, in the Python
given as ``python``, this one by default) and each operator's ``config`` comes back as data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeglot.errors import InputError, UsageError

PROBE = Path(__file__).with_name("dagbag_probe.py")
OPAQUE = "__pipeglot_opaque__"  # dagbag_probe's marker of a value JSON cannot hold
TIMEOUT_SECONDS = 300
_FILE_NAME = "dag.py"


def loaded_configs(text: str, python: str | None = None) -> dict[str, Any]:
    """task_id -> the ``config`` Airflow holds for it, after importing ``text`` as a DAG file.

    Raises:
        UsageError: the Python cannot be started or has no Airflow.
        InputError: Airflow cannot import the file, or it defines no DAG; names the line.
    """
    interpreter = python or sys.executable
    with tempfile.TemporaryDirectory(prefix="pipeglot-dagbag-") as folder:
        Path(folder, _FILE_NAME).write_text(text, encoding="utf-8")
        answer = _run_probe(interpreter, folder)
    if "no_airflow" in answer:
        raise UsageError(
            f"load_with_dagbag needs Airflow in {interpreter} ({answer['no_airflow']}): install "
            "apache-airflow and its Amazon provider there, or pass the Python that has them"
        )
    for message in answer["import_errors"].values():
        raise InputError(
            f"Airflow cannot import the DAG file: {_last_line(message)}; fix the file, or read "
            "it without load_with_dagbag",
            location=_line_of(message),
        )
    if not answer["dags"]:
        raise InputError("Airflow loads no DAG from the file; define one at module level")
    configs: dict[str, Any] = answer["configs"]
    return configs


def holds_opaque(value: Any) -> bool:
    """Whether a loaded config holds a value JSON could not (an XComArg, an object)."""
    if isinstance(value, dict):
        return OPAQUE in value or any(holds_opaque(item) for item in value.values())
    if isinstance(value, list):
        return any(holds_opaque(item) for item in value)
    return False


def _run_probe(interpreter: str, folder: str) -> dict[str, Any]:
    environment = dict(os.environ, AIRFLOW__CORE__LOAD_EXAMPLES="False")
    # Without a home of the user's, Airflow would create ~/airflow: keep its files in the
    # temporary folder instead.
    environment.setdefault("AIRFLOW_HOME", str(Path(folder, "airflow-home")))
    try:
        result = subprocess.run(
            [interpreter, str(PROBE), folder],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            env=environment,
            cwd=folder,
            check=False,
        )
    except OSError as error:
        raise UsageError(f"cannot start {interpreter} to load the DAG: {error}") from None
    except subprocess.TimeoutExpired:
        raise InputError(
            f"loading the DAG file in Airflow took over {TIMEOUT_SECONDS} s; read it without "
            "load_with_dagbag"
        ) from None
    lines = result.stdout.strip().splitlines()
    try:
        answer: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise InputError(
            f"Airflow (in {interpreter}) failed while loading the DAG file: "
            f"{_last_line(result.stderr) or 'no answer'}"
        ) from None
    return answer


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _line_of(message: str) -> str | None:
    """The last ``line N`` of the DAG file itself in an import error's traceback."""
    found = re.findall(rf'{re.escape(_FILE_NAME)}", line (\d+)', message)
    return f"line {found[-1]}" if found else None
