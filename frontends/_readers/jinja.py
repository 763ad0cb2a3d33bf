"""The Jinja that Airflow DAG authors put in SageMaker operator configs, read into IR values.

Airflow renders templated fields when a task starts. Most templates in SageMaker DAGs only
read a DAG parameter (``{{ params.bucket }}``), a run value (``{{ run_id }}``) or an earlier
task's XCom (``{{ ti.xcom_pull(task_ids='train')['Training']['ModelArtifacts'][...] }}``); each
of those has a SageMaker expression. Any other template (filters, macros, statements) is
reported by the reader with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_STATEMENT = re.compile(r"\{%|\{#")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_QUOTED = r"""'([^']*)'|"([^"]*)\""""
_PARAM = re.compile(rf"^(?:params|dag_run\.conf)(?:\.({_NAME})|\[(?:{_QUOTED})\])$")
_XCOM = re.compile(
    rf"^\(?\s*(?:ti|task_instance)\.xcom_pull\(\s*(?:task_ids\s*=\s*)?\[?\s*(?:{_QUOTED})\s*\]?"
    rf"\s*(?:,\s*key\s*=\s*(?:'return_value'|\"return_value\"))?\s*\)"
    r"\s*(?:\|\s*fromjson\s*)?\)?"
)
_ACCESS = re.compile(rf"\.({_NAME})|\[\s*(?:{_QUOTED}|(-?\d+))\s*\]")
# Run values with a SageMaker execution variable that means nearly the same.
RUN_VALUES = {
    "run_id": "PipelineExecutionId",
    "dag_run.run_id": "PipelineExecutionId",
    "dag.dag_id": "PipelineName",
    "dag_run.dag_id": "PipelineName",
    "ts": "StartDateTime",
    "ts_nodash": "StartDateTime",
    "ds": "StartDateTime",
    "ds_nodash": "StartDateTime",
    "logical_date": "StartDateTime",
    "dag_run.logical_date": "StartDateTime",
    "dag_run.start_date": "StartDateTime",
}


class TemplateError(ValueError):
    """A template that has no SageMaker expression; the message quotes it."""


@dataclass(frozen=True, slots=True)
class ParamRead:
    name: str


@dataclass(frozen=True, slots=True)
class XComRead:
    task_id: str
    path: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class RunRead:
    variable: str
    spelled: str


def has_template(text: str) -> bool:
    return "{{" in text or _STATEMENT.search(text) is not None


def pieces(text: str) -> list[Any]:
    """``text`` as literal strings and reads (ParamRead, XComRead, RunRead), in order."""
    if _STATEMENT.search(text):
        raise TemplateError(f"the template {text!r} has Jinja statements or comments")
    out: list[Any] = []
    position = 0
    for match in _EXPRESSION.finditer(text):
        if match.start() > position:
            out.append(text[position : match.start()])
        out.append(read(match.group(1).strip()))
        position = match.end()
    if position < len(text):
        out.append(text[position:])
    return out


def read(expression: str) -> Any:
    """One ``{{ expression }}``."""
    match = _PARAM.match(expression)
    if match:
        return ParamRead(next(group for group in match.groups() if group is not None))
    if expression in RUN_VALUES:
        return RunRead(RUN_VALUES[expression], expression)
    match = _XCOM.match(expression)
    if match:
        task_id = match.group(1) if match.group(1) is not None else match.group(2)
        return XComRead(task_id, _accesses(expression[match.end() :], expression))
    raise TemplateError(f"{{{{ {expression} }}}} has no SageMaker equivalent")


def _accesses(text: str, expression: str) -> tuple[str | int, ...]:
    path: list[str | int] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _ACCESS.match(text, position)
        if match is None:
            raise TemplateError(
                f"{{{{ {expression} }}}}: only ['key'], [index] and .name after xcom_pull "
                "have a SageMaker equivalent"
            )
        name, single, double, index = match.groups()
        if index is not None:
            path.append(int(index))
        else:
            path.append(name if name is not None else (single if single is not None else double))
        position = match.end()
    return tuple(path)
