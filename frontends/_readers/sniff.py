"""Tell the readers' formats apart by a file's content where its ending is shared.

A state machine, a SageMaker definition and a CloudFormation template are all ``.json``; a DAG
file and an SDK script are both ``.py``; a compiled KFP spec and a SAM template are both YAML.
Only the first few kilobytes are looked at, so inference stays cheap for large definitions.
"""

from __future__ import annotations

import re
from pathlib import Path

_HEAD_BYTES = 64 * 1024
_ASL_SUFFIXES = (".asl.json", ".asl.yaml", ".asl.yml")
_AIRFLOW = re.compile(r"^\s*(from airflow[\s.]|import airflow\b)", re.MULTILINE)
_STEPFUNCTIONS = re.compile(r"^\s*(from stepfunctions[\s.]|import stepfunctions\b)", re.MULTILINE)
_STATE_MACHINE = re.compile(r"AWS::(StepFunctions|Serverless)::StateMachine")


def sniff(source: str) -> str | None:
    """The reader for ``source`` when its name or first bytes decide it, else None."""
    if source.endswith(_ASL_SUFFIXES):
        return "asl"
    head = _head(source)
    if head is None:
        return None
    if source.endswith(".py"):
        if _STEPFUNCTIONS.search(head):
            return "stepfunctions-python"
        return "airflow" if _AIRFLOW.search(head) else None
    if source.endswith((".yaml", ".yml")):
        if "pipelineInfo:" in head and ("deploymentSpec:" in head or "root:" in head):
            return "kfp-yaml"
        return "asl" if _STATE_MACHINE.search(head) or '"StartAt"' in head else None
    if source.endswith(".json"):
        if _STATE_MACHINE.search(head):
            return "asl"
        if re.search(r'"StartAt"\s*:', head) and re.search(r'"States"\s*:', head):
            return None if re.search(r'"Steps"\s*:', head) else "asl"
    return None


def _head(source: str) -> str | None:
    try:
        with Path(source).open("rb") as file:
            return file.read(_HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
