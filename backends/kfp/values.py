"""Reading the values of a step: what they refer to, and how they travel to the component.

Request bodies reach the components as plain JSON with SageMaker's own expressions left in
place (``runtime.resolve`` evaluates them), so the writer only needs to know which parameters,
steps, execution variables and property files each step reads, and which properties of each
step are read at all (a step returns only those).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeglot.ir.expressions import (
    Comparison,
    ExecutionVariable,
    ExperimentConfigRef,
    In,
    Join,
    JsonGet,
    Not,
    Or,
    ParameterRef,
    PropertyFileRef,
    StepProperty,
    Value,
    condition_to_json,
    expression_to_json,
    format_path,
    iter_condition_values,
    iter_expressions,
)
from pipeglot.ir.model import MISSING, Workflow


@dataclass(slots=True)
class References:
    """What a step's values read, each in order of first appearance (dicts used as sets)."""

    parameters: dict[str, None] = field(default_factory=dict)
    steps: dict[str, None] = field(default_factory=dict)
    execution: dict[str, None] = field(default_factory=dict)
    property_files: dict[tuple[str, str], None] = field(default_factory=dict)


def references(values: list[Value]) -> References:
    found = References()
    for value in values:
        for node in iter_expressions(value):
            if isinstance(node, ParameterRef):
                found.parameters[node.name] = None
            elif isinstance(node, ExecutionVariable):
                found.execution[node.name] = None
            elif isinstance(node, StepProperty):
                found.steps[node.step] = None
            elif isinstance(node, PropertyFileRef):
                found.steps[node.step] = None
                found.property_files[(node.step, node.name)] = None
    return found


def property_key(path: tuple[Any, ...]) -> str:
    """How a property path is spelled in a step's outputs: ``ModelArtifacts.S3ModelArtifacts``."""
    return format_path(path).removeprefix(".")


def output_key(output_name: str) -> str:
    """The property a property file is read through: the S3 URI of the processing output."""
    return f"ProcessingOutputConfig.Outputs['{output_name}'].S3Output.S3Uri"


def to_json(value: Value) -> Value:
    """``value`` as plain JSON, expressions written as SageMaker writes them."""
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, (Comparison, In, Not, Or)):
        return to_json(condition_to_json(value))
    if isinstance(value, (ParameterRef, ExecutionVariable, StepProperty, PropertyFileRef)):
        return expression_to_json(value)
    if isinstance(value, (Join, JsonGet)):
        return to_json(expression_to_json(value))
    return value


def or_empty(value: Value) -> Value:
    """A step's arguments, ``{}`` when the step has none."""
    return {} if value is MISSING or value is None else value


def condition_operands(conditions: Iterable[Value]) -> list[Value]:
    """The values that ``conditions`` (a Condition step's list) compare."""
    return [value for c in conditions for value in iter_condition_values(c)]


class Expander:
    """Replaces PipelineExperimentConfig references by what they stand for.

    Components have no experiment config to read at run time, so ``ExperimentName`` and
    ``TrialName`` are written out: the configured value, or SageMaker's default (the pipeline
    name and the execution id).
    """

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow

    def __call__(self, value: Value) -> Value:
        if isinstance(value, dict):
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(item) for item in value]
        if isinstance(value, ExperimentConfigRef):
            return self(self._experiment_value(value.name))
        if isinstance(value, Join):
            return Join(value.on, tuple(self(item) for item in value.values))
        if isinstance(value, JsonGet) and value.property_file is None:
            return JsonGet(value.path, s3_uri=self(value.s3_uri))
        if isinstance(value, Comparison):
            return Comparison(value.operator, self(value.left), self(value.right))
        if isinstance(value, In):
            return In(self(value.query), tuple(self(v) for v in value.values))
        if isinstance(value, Not):
            return Not(self(value.condition))
        if isinstance(value, Or):
            return Or(tuple(self(inner) for inner in value.conditions))
        return value

    def _experiment_value(self, name: str) -> Value:
        config = self.workflow.experiment_config
        configured = MISSING
        if config is not None:
            configured = config.experiment_name if name == "ExperimentName" else config.trial_name
        if configured is not MISSING:
            return configured
        default = "PipelineName" if name == "ExperimentName" else "PipelineExecutionId"
        return ExecutionVariable(default)
