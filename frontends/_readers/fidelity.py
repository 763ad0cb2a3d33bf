"""How far a workflow read back from a target differs from its source, field by field.

``sagemaker -> X -> sagemaker`` should give the source back (issue 15, item 2). This module
says, for two Workflows, which fields differ and where: the tests assert it and
``benchmarks/read_roundtrip.py`` prints it per target. Job names that SageMaker generates (the
``name_field`` of a step's resource whose name is only a prefix, per ``ir/sagemaker.py``) are
set aside: no target keeps them and SageMaker would replace them anyway.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipeglot.ir.expressions import Condition, Expression, condition_to_json, expression_to_json
from pipeglot.ir.model import MISSING, Step, Workflow
from pipeglot.ir.sagemaker import resource_api

# Workflow fields compared, in this order; "steps" is the list of names in order.
WORKFLOW_FIELDS: tuple[str, ...] = (
    "parameters",
    "version",
    "metadata",
    "experiment_config",
    "mlflow_config",
    "extra",
    "steps",
)
# Step fields compared; "dependencies" is DependsOn, "arguments" the request with job names
# set aside.
STEP_FIELDS: tuple[str, ...] = (
    "kind",
    "type_name",
    "arguments",
    "depends_on",
    "display_name",
    "description",
    "cache_config",
    "retry_policies",
    "property_files",
    "function_arn",
    "sqs_queue_url",
    "output_parameters",
    "check",
    "conditions",
    "if_steps",
    "else_steps",
    "branch_keys",
    "extra",
)
FIELDS: tuple[str, ...] = (*WORKFLOW_FIELDS, *STEP_FIELDS)


@dataclass(frozen=True, slots=True)
class Difference:
    """One field that differs; ``step`` is None for a workflow field."""

    field: str
    step: str | None
    source: Any
    back: Any

    def format(self) -> str:
        where = f"step {self.step!r} " if self.step is not None else ""
        return f"{where}{self.field}: {_short(self.source)} != {_short(self.back)}"


def differences(source: Workflow, back: Workflow, *, join_text: bool = False) -> list[Difference]:
    """Every field of ``back`` that differs from ``source``; [] when the round trip is exact.

    With ``join_text``, a ``Std:Join`` counts as the text it gives: ``Join('/', ['s3:/', 'b',
    x])`` is ``Join('', ['s3://b/', x])`` (a Step Functions ``States.Format`` or an f-string
    keeps the text, not how the source split it), and a ``Std:JsonGet`` path ``A['b']`` is
    ``A.b``."""
    found = list(_workflow_differences(source, back))
    for step in source.steps:
        if back.has_step(step.name):
            found.extend(_step_differences(step, back.step(step.name), join_text))
    return found


def _workflow_differences(source: Workflow, back: Workflow) -> Iterator[Difference]:
    for name in WORKFLOW_FIELDS:
        if name == "steps":
            mine, theirs = _names(source), _names(back)
        else:
            mine, theirs = getattr(source, name), getattr(back, name)
        if mine != theirs:
            yield Difference(name, None, mine, theirs)


def _names(workflow: Workflow) -> tuple[str, ...]:
    return tuple(step.name for step in workflow.steps)


def _step_differences(source: Step, back: Step, join_text: bool) -> Iterator[Difference]:
    for name in STEP_FIELDS:
        read = _NORMALISED.get(name, getattr)
        mine, theirs = read(source, name), read(back, name)
        textual = join_text and name in _TEXT_FIELDS
        if mine != theirs and not (textual and _as_text(mine) == _as_text(theirs)):
            yield Difference(name, source.name, mine, theirs)


_TEXT_FIELDS = {"arguments", "conditions", "check"}
_BRACKETED = re.compile(r"\['([A-Za-z_][A-Za-z0-9_]*)'\]")


def _as_text(value: Any) -> Any:
    """``value`` as JSON with every Std:Join spelled as its pieces, adjacent texts merged."""
    data = json.loads(json.dumps(value, default=_json_default))
    return _joined(data)


def _json_default(value: Any) -> Any:
    if isinstance(value, Condition):
        return condition_to_json(value)
    if isinstance(value, Expression):
        return expression_to_json(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    if value is MISSING:
        return "<missing>"
    raise TypeError(f"not JSON: {type(value).__name__}")


def _joined(data: Any) -> Any:
    if isinstance(data, list):
        return [_joined(item) for item in data]
    if not isinstance(data, dict):
        return data
    body = data.get("Std:Join")
    if len(data) == 1 and isinstance(body, dict):
        return _pieces(body.get("On", ""), [_joined(item) for item in body.get("Values", [])])
    read = data.get("Std:JsonGet")
    if len(data) == 1 and isinstance(read, dict) and isinstance(read.get("Path"), str):
        # A.b and A['b'] read the same field of the file.
        read = {**read, "Path": _BRACKETED.sub(r".\1", read["Path"])}
        return {"Std:JsonGet": {key: _joined(item) for key, item in read.items()}}
    return {key: _joined(item) for key, item in data.items()}


def text_form(data: Any) -> Any:
    """JSON ``data`` with every Std:Join as the text it gives (its pieces, adjacent texts
    merged) and JsonGet paths ``a['b']`` as ``a.b``: what a target that writes values as
    text holds of them."""
    return _joined(data)


def _pieces(on: str, values: list[Any]) -> Any:
    pieces: list[Any] = []
    for index, value in enumerate(values):
        parts = value["Join"] if isinstance(value, dict) and set(value) == {"Join"} else [value]
        for part in ([on] if index and on else []) + parts:
            if isinstance(part, str) and pieces and isinstance(pieces[-1], str):
                pieces[-1] += part
            elif part != "":
                pieces.append(part if not isinstance(part, int | float) else str(part))
    return pieces[0] if len(pieces) == 1 else {"Join": pieces}


def without_job_name(step: Step) -> Any:
    """The step's arguments without the job name SageMaker generates for each execution."""
    api = resource_api(step.kind)
    arguments = step.arguments
    if api is None or not api.name_is_prefix or not isinstance(arguments, dict):
        return arguments
    return {key: value for key, value in arguments.items() if key != api.name_field}


_NORMALISED: dict[str, Callable[[Step, str], Any]] = {
    "arguments": lambda step, _: without_job_name(step),
}


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
