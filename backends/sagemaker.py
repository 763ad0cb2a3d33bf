"""Backend for SageMaker pipeline definitions: the JSON that CreatePipeline accepts.

The IR keeps everything the definition holds, so this backend is the frontend's exact
inverse: ``load(export(w)) == w``, and a corpus definition comes back as an equal document.
Keys are written in the order the SageMaker SDK writes them.
"""

from __future__ import annotations

from typing import Any

from pipeglot.backend import Option
from pipeglot.backends import _json
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.expressions import EXPRESSION_TYPES, Value, condition_to_json, expression_to_json
from pipeglot.ir.model import (
    CHECK_KEYS,
    MISSING,
    CacheConfig,
    ExperimentConfig,
    OutputParameter,
    Parameter,
    PropertyFile,
    RetryPolicy,
    Step,
    StepKind,
    Workflow,
)
from pipeglot.ir.triggers import label

EXTENSION = ".json"
# Every step kind is written back as it was read (unknown types verbatim).
OPTIONS: tuple[Option, ...] = ()
UNSUPPORTED: dict[StepKind, str] = {}


def export(workflow: Workflow, *, diagnostics: Diagnostics | None = None) -> str:
    """Render ``workflow`` as a pretty-printed pipeline definition (JSON text)."""
    for trigger in workflow.triggers:  # EventBridge resources, not part of a definition
        if diagnostics is not None:
            diagnostics.dropped(
                "sagemaker.trigger",
                f"{label(trigger)} is not part of a pipeline definition; use --to "
                "sagemaker-cloudformation to deploy it with the pipeline",
            )
    return _json.dumps(definition(workflow), default=_expression_json)


def definition(workflow: Workflow) -> dict[str, Value]:
    """The definition as a JSON-able dict (expression nodes still inside; see ``export``)."""
    document: dict[str, Value] = {}
    _put(document, "Version", workflow.version if workflow.version is not None else MISSING)
    _put(document, "Metadata", workflow.metadata)
    if workflow.parameters is not None:
        document["Parameters"] = [_parameter(p) for p in workflow.parameters]
    if workflow.experiment_config is not None:
        document["PipelineExperimentConfig"] = _experiment_config(workflow.experiment_config)
    _put(document, "MlflowConfig", workflow.mlflow_config)
    document["Steps"] = [_step(step, workflow) for step in workflow.top_level_steps()]
    document.update(workflow.extra)
    return document


def _expression_json(value: Any) -> Any:
    if isinstance(value, EXPRESSION_TYPES):
        return expression_to_json(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _put(target: dict[str, Value], key: str, value: Value) -> None:
    if value is not MISSING:
        target[key] = value


def _parameter(parameter: Parameter) -> dict[str, Value]:
    out: dict[str, Value] = {"Name": parameter.name}
    if parameter.type_declared:
        out["Type"] = parameter.type.value
    _put(out, "DefaultValue", parameter.default)
    if parameter.enum_values is not None:
        out["EnumValues"] = list(parameter.enum_values)
    out.update(parameter.extra)
    return out


def _experiment_config(config: ExperimentConfig) -> Value:
    if not config.enabled:
        return None
    out: dict[str, Value] = {}
    _put(out, "ExperimentName", config.experiment_name)
    _put(out, "TrialName", config.trial_name)
    out.update(config.extra)
    return out


def _step(step: Step, workflow: Workflow) -> dict[str, Value]:
    out: dict[str, Value] = {"Name": step.name, "Type": step.type_name}
    if step.kind is StepKind.CONDITION:
        out["Arguments"] = _condition_arguments(step, workflow)
    else:
        _put(out, "Arguments", step.arguments)
    if step.depends_on is not None:
        out["DependsOn"] = list(step.depends_on)
    _put(out, "DisplayName", step.display_name)
    _put(out, "Description", step.description)
    if step.cache_config is not None:
        out["CacheConfig"] = _cache_config(step.cache_config)
    _put_list(out, "RetryPolicies", step.retry_policies, _retry_policy)
    _put_list(out, "PropertyFiles", step.property_files, _property_file)
    _put(out, "FunctionArn", step.function_arn)
    _put(out, "SqsQueueUrl", step.sqs_queue_url)
    _put_list(out, "OutputParameters", step.output_parameters, _output_parameter)
    out.update((key, step.check[key]) for key in CHECK_KEYS if key in step.check)
    out.update(step.extra)
    return out


def _put_list(out: dict[str, Value], key: str, items: tuple[Any, ...] | None, render: Any) -> None:
    if items is not None:
        out[key] = [render(item) for item in items]


def _condition_arguments(step: Step, workflow: Workflow) -> dict[str, Value]:
    arguments: dict[str, Value] = {
        "Conditions": [condition_to_json(condition) for condition in step.conditions],
        "IfSteps": [_step(workflow.step(name), workflow) for name in step.if_steps],
        "ElseSteps": [_step(workflow.step(name), workflow) for name in step.else_steps],
    }
    for key in ("IfSteps", "ElseSteps"):
        if key not in step.branch_keys:  # the source left it out; so does the copy
            del arguments[key]
    if isinstance(step.arguments, dict):
        arguments.update(step.arguments)
    return arguments


def _cache_config(config: CacheConfig) -> dict[str, Value]:
    out: dict[str, Value] = {"Enabled": config.enabled}
    _put(out, "ExpireAfter", config.expire_after)
    out.update(config.extra)
    return out


def _retry_policy(policy: RetryPolicy) -> dict[str, Value]:
    out: dict[str, Value] = {}
    _put(out, "BackoffRate", policy.backoff_rate)
    _put(out, "IntervalSeconds", policy.interval_seconds)
    _put(out, "MaxAttempts", policy.max_attempts)
    _put(out, "ExpireAfterMin", policy.expire_after_min)
    out["ExceptionType"] = list(policy.exception_types)
    out.update(policy.extra)
    return out


def _property_file(file: PropertyFile) -> dict[str, Value]:
    out: dict[str, Value] = {
        "PropertyFileName": file.name,
        "OutputName": file.output_name,
        "FilePath": file.file_path,
    }
    out.update(file.extra)
    return out


def _output_parameter(parameter: OutputParameter) -> dict[str, Value]:
    out: dict[str, Value] = {"OutputName": parameter.name}
    _put(out, "OutputType", parameter.type)
    out.update(parameter.extra)
    return out
