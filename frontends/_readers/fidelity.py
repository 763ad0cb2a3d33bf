"""How far a workflow read back from a target differs from its source, field by field.

``sagemaker -> X -> sagemaker`` should give the source back (issue 15, item 2). This module
says, for two Workflows, which fields differ and where: the tests assert it and
``benchmarks/read_roundtrip.py`` prints it per target. Job names that SageMaker generates (the
``name_field`` of a step's resource whose name is only a prefix, per ``ir/sagemaker.py``) are
set aside: no target keeps them and SageMaker would replace them anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pipeglot.ir.model import Step, Workflow
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


def differences(source: Workflow, back: Workflow) -> list[Difference]:
    """Every field of ``back`` that differs from ``source``; [] when the round trip is exact."""
    found = list(_workflow_differences(source, back))
    for step in source.steps:
        if back.has_step(step.name):
            found.extend(_step_differences(step, back.step(step.name)))
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


def _step_differences(source: Step, back: Step) -> Iterator[Difference]:
    for name in STEP_FIELDS:
        read = _NORMALISED.get(name, getattr)
        mine, theirs = read(source, name), read(back, name)
        if mine != theirs:
            yield Difference(name, source.name, mine, theirs)


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
