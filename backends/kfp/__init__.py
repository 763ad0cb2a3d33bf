"""Backend for Kubeflow Pipelines v2: a standalone kfp Python pipeline file (``--to kfp``).

Each SageMaker step becomes one lightweight Python component and one task with the step's name
as display name. Job steps create their SageMaker resource with boto3 from the source request,
under a fresh unique name, wait for it and fail when it fails; they return the properties later
steps read. Request bodies travel as data (``REQUESTS``), with SageMaker's expressions left in
place and evaluated inside the component (see ``runtime.py``, which every generated file
carries). Conditions are evaluated by a task of their own and open ``dsl.If``/``dsl.Else``
blocks (see ``layout.py``). ``compiled.py`` turns this file into the compiled pipeline spec.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeglot.backends.kfp import source
from pipeglot.backends.kfp.layout import Block, Branches, Layout, layout
from pipeglot.backends.kfp.source import INDENT, Namer, call, code_dict, code_list, literal, string
from pipeglot.diagnostics import Diagnostics
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
from pipeglot.ir.graph import EdgeOrigin, build_graph, topological_order
from pipeglot.ir.model import (
    MISSING,
    Parameter,
    ParameterType,
    RetryPolicy,
    Step,
    StepKind,
    Workflow,
)

EXTENSION = ".py"
DEFAULT_BASE_IMAGE = "python:3.11-slim"

# --- What each step kind becomes ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kind:
    """How one step kind is translated: the runtime function its component calls, the extra
    (literal) arguments it passes, and the runtime functions the component carries."""

    runtime: str
    runtime_list: str
    sagemaker_kind: str | None = None


_JOB = "JOB_RUNTIME"
HANDLED: dict[StepKind, Kind] = {
    StepKind.PROCESSING: Kind("run_sagemaker_step", _JOB, "Processing"),
    StepKind.TRAINING: Kind("run_sagemaker_step", _JOB, "Training"),
    StepKind.FUNCTION: Kind("run_sagemaker_step", _JOB, "Training"),
    StepKind.NOTEBOOK_JOB: Kind("run_sagemaker_step", _JOB, "Training"),
    StepKind.TRANSFORM: Kind("run_sagemaker_step", _JOB, "Transform"),
    StepKind.TUNING: Kind("run_sagemaker_step", _JOB, "Tuning"),
    StepKind.AUTOML: Kind("run_sagemaker_step", _JOB, "AutoML"),
    StepKind.MODEL: Kind("run_sagemaker_step", _JOB, "Model"),
    StepKind.REGISTER_MODEL: Kind("run_sagemaker_step", _JOB, "RegisterModel"),
    StepKind.ENDPOINT_CONFIG: Kind("run_sagemaker_step", _JOB, "EndpointConfig"),
    StepKind.ENDPOINT: Kind("run_sagemaker_step", _JOB, "Endpoint"),
    StepKind.INFERENCE_COMPONENT: Kind("run_sagemaker_step", _JOB, "InferenceComponent"),
    StepKind.QUALITY_CHECK: Kind("run_sagemaker_step", _JOB, "QualityCheck"),
    StepKind.CLARIFY_CHECK: Kind("run_sagemaker_step", _JOB, "ClarifyCheck"),
    StepKind.LAMBDA: Kind("run_lambda_step", "LAMBDA_RUNTIME"),
    StepKind.EMR: Kind("run_emr_step", "EMR_RUNTIME"),
    StepKind.EMR_SERVERLESS: Kind("run_emr_serverless_step", "EMR_SERVERLESS_RUNTIME"),
    StepKind.CONDITION: Kind("evaluate_conditions", "CONDITION_RUNTIME"),
    StepKind.FAIL: Kind("fail_step", "FAIL_RUNTIME"),
}

# Kinds with no Kubeflow equivalent: a placeholder task fails the run when it is reached.
UNSUPPORTED: dict[StepKind, str] = {
    StepKind.CALLBACK: (
        "a Callback step waits for SendPipelineExecutionStepSuccess, a SageMaker Pipelines API "
        "that no Kubeflow task can receive; replace it with a component that runs or polls the "
        "external work itself"
    ),
    StepKind.LINEAGE: (
        "Lineage steps are internal to SageMaker's evaluation pipelines and have no public API "
        "request to replay; record lineage with the SageMaker Lineage APIs in a component"
    ),
    StepKind.UNKNOWN: ("pipeglot does not know this step type; write a component for it by hand"),
}

# Runtime functions each runtime list carries (see runtime.py), in file order.
_BASE = (
    "aws_client",
    "build_context",
    "resolve",
    "join_text",
    "resolve_get",
    "json_get",
    "walk",
    "step_properties",
)
RUNTIME_LISTS: dict[str, tuple[str, ...]] = {
    _JOB: (*_BASE, "unique_name", "wait_for", "run_sagemaker_step", "check_baselines"),
    "LAMBDA_RUNTIME": (*_BASE, "run_lambda_step"),
    "EMR_RUNTIME": (*_BASE, "unique_name", "wait_for", "run_emr_step"),
    "EMR_SERVERLESS_RUNTIME": (*_BASE, "unique_name", "wait_for", "run_emr_serverless_step"),
    "CONDITION_RUNTIME": (*_BASE, "evaluate_conditions"),
    "FAIL_RUNTIME": (*_BASE, "fail_step"),
    "UNSUPPORTED_RUNTIME": ("unsupported_step",),
}

_PYTHON_TYPES = {
    ParameterType.STRING: "str",
    ParameterType.INTEGER: "int",
    ParameterType.FLOAT: "float",
    ParameterType.BOOLEAN: "bool",
}

# Execution variables that KFP supplies as whole-value placeholders: (input name, placeholder).
_EXECUTION_INPUTS = {
    "PipelineExecutionId": ("execution_id", "dsl.PIPELINE_JOB_ID_PLACEHOLDER"),
    "StartDateTime": ("start_time", "dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER"),
    "PipelineExecutionArn": ("execution_arn", "dsl.PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER"),
}
_EXECUTION_NOTES = {
    "PipelineExecutionId": "Execution.PipelineExecutionId is the KFP run's UUID",
    "StartDateTime": "Execution.StartDateTime is the KFP run's creation time (UTC, RFC 3339)",
    "PipelineExecutionArn": (
        "Execution.PipelineExecutionArn has no KFP equivalent; it is the run's resource name"
    ),
    "PipelineArn": "Execution.PipelineArn has no KFP equivalent; it is the pipeline's name",
}

# Names the generated module defines or imports; no parameter, component or task takes them.
_MODULE_NAMES = (
    "json",
    "sys",
    "dsl",
    "compiler",
    "pipeline",
    "PIPELINE_NAME",
    "BASE_IMAGE",
    "PACKAGES",
    "REQUESTS",
    *RUNTIME_LISTS,
)


def export(
    workflow: Workflow,
    *,
    diagnostics: Diagnostics | None = None,
    base_image: str = DEFAULT_BASE_IMAGE,
    **options: Any,
) -> str:
    """Render ``workflow`` as a kfp v2 pipeline file; ``base_image`` runs the components."""
    ledger = Diagnostics() if diagnostics is None else diagnostics
    return _Writer(workflow, ledger, base_image).write()


# --- Runtime source -------------------------------------------------------------------------


@functools.cache
def runtime_sources() -> dict[str, str]:
    """Each function of runtime.py by name, as it is written there (file order)."""
    text = Path(__file__).with_name("runtime.py").read_text(encoding="utf-8")
    tree = ast.parse(text)
    return {
        node.name: ast.get_source_segment(text, node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


# --- Reading what a step refers to ----------------------------------------------------------


@dataclass(slots=True)
class _References:
    parameters: dict[str, None] = field(default_factory=dict)
    steps: dict[str, None] = field(default_factory=dict)
    execution: dict[str, None] = field(default_factory=dict)
    property_files: dict[tuple[str, str], None] = field(default_factory=dict)


def _references(values: list[Value]) -> _References:
    found = _References()
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


def _property_key(path: tuple[Any, ...]) -> str:
    """How a property path is spelled in a step's outputs: ``ModelArtifacts.S3ModelArtifacts``."""
    return format_path(path).removeprefix(".")


def _output_key(output_name: str) -> str:
    return f"ProcessingOutputConfig.Outputs['{output_name}'].S3Output.S3Uri"


def _to_json(value: Value) -> Value:
    """``value`` as plain JSON, expressions written as SageMaker writes them."""
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if isinstance(value, (Comparison, In, Not, Or)):
        return _to_json(condition_to_json(value))
    if isinstance(value, (ParameterRef, ExecutionVariable, StepProperty, PropertyFileRef)):
        return expression_to_json(value)
    if isinstance(value, (Join, JsonGet)):
        return _to_json(expression_to_json(value))
    return value


# --- The writer -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Task:
    """One step's component and task, as the writer needs them."""

    step: Step
    kind: Kind | None  # None: an unsupported placeholder
    values: list[Value]  # the (expanded) values the component evaluates
    request: Value  # what REQUESTS holds for it
    references: _References = field(default_factory=_References)
    component: str = ""
    variable: str = ""


class _Writer:
    def __init__(self, workflow: Workflow, diagnostics: Diagnostics, base_image: str) -> None:
        self.workflow = workflow
        self.diagnostics = diagnostics
        self.base_image = base_image
        self.graph = build_graph(workflow)
        self.order = topological_order(workflow, self.graph)
        self.namer = Namer(_MODULE_NAMES + tuple(runtime_sources()))
        self.parameters = {
            p.name: self.namer.name(("parameter", p.name), p.name) for p in workflow.parameter_list
        }
        self.tasks: dict[str, _Task] = {}
        self.outputs: dict[str, dict[str, None]] = {name: {} for name in self.order}
        self.pipeline_name = _kfp_pipeline_name(workflow.name)

    # -- planning

    def write(self) -> str:
        self._note_workflow()
        for name in self.order:
            self.tasks[name] = self._plan(self.workflow.step(name))
        for task in self.tasks.values():
            self._collect_outputs(task)
        for name in self.order:
            task = self.tasks[name]
            task.component = self.namer.name(("component", name), name)
        for name in self.order:
            task = self.tasks[name]
            task.variable = self.namer.name(("task", name), f"{task.component}_task")
        placed = layout(self.workflow, self.graph, self.order)
        self._note_conflicts(placed)
        return source.mark_long_lines(self._module(placed))

    def _plan(self, step: Step) -> _Task:
        kind = HANDLED.get(step.kind)
        if kind is None:
            reason = UNSUPPORTED[step.kind]
            self.diagnostics.unsupported(
                "kfp.step_type",
                f"{step.type_name} step: {reason}. The generated task fails the run when reached.",
                step.name,
            )
            values = [step.arguments, *step.extra.values()]
            return _Task(step, None, [self._expand(v) for v in values], None)
        if step.kind is StepKind.CONDITION:
            conditions = [self._expand(condition) for condition in step.conditions]
            operands = [value for c in conditions for value in iter_condition_values(c)]
            task = _Task(step, kind, operands, _to_json(conditions))
        elif step.kind is StepKind.LAMBDA:
            arguments = self._expand(_or_empty(step.arguments))
            arn = self._expand(step.function_arn)
            task = _Task(step, kind, [arguments, arn], _to_json(arguments))
        else:
            arguments = self._expand(_or_empty(step.arguments))
            check = self._expand(dict(step.check))
            task = _Task(step, kind, [arguments, check], _to_json(arguments))
        self._note_step(step)
        return task

    def _expand(self, value: Value) -> Value:
        """``value`` with PipelineExperimentConfig references replaced by what they stand for."""
        if isinstance(value, dict):
            return {key: self._expand(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._expand(item) for item in value]
        if isinstance(value, ExperimentConfigRef):
            return self._expand(self._experiment_value(value.name))
        if isinstance(value, Join):
            return Join(value.on, tuple(self._expand(item) for item in value.values))
        if isinstance(value, JsonGet) and value.property_file is None:
            return JsonGet(value.path, s3_uri=self._expand(value.s3_uri))
        if isinstance(value, Comparison):
            return Comparison(value.operator, self._expand(value.left), self._expand(value.right))
        if isinstance(value, In):
            return In(self._expand(value.query), tuple(self._expand(v) for v in value.values))
        if isinstance(value, Not):
            return Not(self._expand(value.condition))
        if isinstance(value, Or):
            return Or(tuple(self._expand(inner) for inner in value.conditions))
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

    def _collect_outputs(self, task: _Task) -> None:
        task.references = _references(task.values)
        for value in task.values:
            for node in iter_expressions(value):
                if isinstance(node, StepProperty) and node.step in self.outputs:
                    self.outputs[node.step][_property_key(node.path)] = None
                elif isinstance(node, PropertyFileRef) and node.step in self.outputs:
                    output = self._property_file(node, task.step.name)
                    if output is not None:
                        self.outputs[node.step][_output_key(output[0])] = None

    def _property_file(self, node: PropertyFileRef, consumer: str) -> tuple[str, str] | None:
        producer = self.workflow.step(node.step)
        for file in producer.property_files or ():
            if file.name == node.name:
                return file.output_name, file.file_path
        self.diagnostics.unsupported(
            "kfp.property_file",
            f"Std:JsonGet reads property file {node.name!r} of step {node.step!r}, which does "
            "not declare it; declare it in the step's PropertyFiles",
            consumer,
        )
        return None

    # -- diagnostics

    def _note_workflow(self) -> None:
        for parameter in self.workflow.parameter_list:
            ident = self.parameters[parameter.name]
            if ident != parameter.name:
                self.diagnostics.approximated(
                    "kfp.parameter_name",
                    f"parameter {parameter.name!r} is the KFP pipeline input {ident!r} "
                    "(KFP input names are Python identifiers)",
                )
            if parameter.enum_values is not None:
                self.diagnostics.approximated(
                    "kfp.enum_values",
                    f"parameter {parameter.name!r} accepts only {list(parameter.enum_values)} in "
                    "SageMaker; KFP does not restrict the values of a pipeline input",
                )
        config = self.workflow.experiment_config
        if config is not None and config.enabled:
            self.diagnostics.dropped(
                "kfp.experiment_config",
                "PipelineExperimentConfig: SageMaker adds each job to the experiment and trial; "
                "the KFP tasks do not (add ExperimentConfig to the requests to keep that)",
            )
        seen = {
            node.name
            for step in self.workflow.steps
            for value in (step.arguments, step.function_arn, *self._operands(step))
            for node in iter_expressions(self._expand(value))
            if isinstance(node, ExecutionVariable)
        }
        for name in sorted(seen & set(_EXECUTION_NOTES)):
            self.diagnostics.approximated("kfp.execution_variable", _EXECUTION_NOTES[name])

    @staticmethod
    def _operands(step: Step) -> list[Value]:
        return [value for c in step.conditions for value in iter_condition_values(c)]

    def _note_step(self, step: Step) -> None:
        self._note_cache(step)
        self._note_retry(step)
        if step.kind in (StepKind.QUALITY_CHECK, StepKind.CLARIFY_CHECK):
            self.diagnostics.approximated(
                "kfp.check_step",
                "the check's processing job runs and its Calculated*/BaselineUsedForDriftCheck* "
                "properties are provided, but SageMaker's drift check itself (comparing with the "
                "supplied or registered baseline, SkipCheck, FailOnViolation, RegisterNewBaseline "
                "in the model registry) is not performed",
                step.name,
            )
        elif step.kind is StepKind.EMR:
            self.diagnostics.approximated(
                "kfp.emr_step",
                "the EMR step runs through AddJobFlowSteps (ActionOnFailure CONTINUE) or, with "
                "ClusterConfig, RunJobFlow on a cluster that ends with the step; SageMaker's own "
                "step name and log settings are not reproduced",
                step.name,
            )
        elif step.kind is StepKind.EMR_SERVERLESS and isinstance(step.arguments, dict):
            if "ApplicationId" not in step.arguments:
                self.diagnostics.unsupported(
                    "kfp.emr_serverless_application",
                    "an EMRServerless step that creates its own application (ApplicationConfig) "
                    "is not supported; create the application and pass its ApplicationId",
                    step.name,
                )
        elif step.kind is StepKind.LAMBDA:
            self.diagnostics.approximated(
                "kfp.lambda_outputs",
                "output parameters are the keys of the function's JSON answer as they are; "
                "OutputType is not enforced",
                step.name,
            )

    def _note_cache(self, step: Step) -> None:
        config = step.cache_config
        if config is None or config.enabled is False:
            return
        if config.enabled is not True:
            self.diagnostics.approximated(
                "kfp.cache",
                f"CacheConfig Enabled is {config.enabled!r}, not a boolean; caching is off",
                step.name,
            )
            return
        expiry = "" if config.expire_after is MISSING else f" (ExpireAfter {config.expire_after})"
        self.diagnostics.approximated(
            "kfp.cache",
            f"caching is on; KFP reuses results of the same component and inputs with no "
            f"expiry{expiry}",
            step.name,
        )

    def _note_retry(self, step: Step) -> None:
        retry = _retry(step.retry_policies or ())
        if retry is None:
            if step.retry_policies:
                self.diagnostics.dropped(
                    "kfp.retry", "RetryPolicies without numbers cannot be mapped", step.name
                )
            return
        types = sorted({t for p in step.retry_policies or () for t in p.exception_types})
        self.diagnostics.approximated(
            "kfp.retry",
            f"KFP retries the task up to {retry[0]} times after any failure, not only "
            f"{', '.join(types)}; a retry starts a new job under a new name",
            step.name,
        )

    def _note_conflicts(self, placed: Layout) -> None:
        for name, guards in placed.conflicts.items():
            branches = "; ".join(
                " and ".join(f"{c} is {'true' if b else 'false'}" for c, b in g) or "always"
                for g in guards
            )
            self.diagnostics.unsupported(
                "kfp.branch_join",
                f"the step reads from steps in different Condition branches ({branches}); "
                "a KFP task can only read from tasks in its own or enclosing dsl.If blocks",
                name,
            )

    # -- writing

    def _module(self, placed: Layout) -> str:
        used_lists = sorted(
            {
                task.kind.runtime_list if task.kind else "UNSUPPORTED_RUNTIME"
                for task in self.tasks.values()
            },
            key=list(RUNTIME_LISTS).index,
        )
        used_functions = {name for lst in used_lists for name in RUNTIME_LISTS[lst]}
        parts = [
            _HEADER,
            "import json\nimport sys\n\nfrom kfp import compiler, dsl",
            "\n".join(
                [
                    f"PIPELINE_NAME = {string(self.pipeline_name)}",
                    f"SOURCE_PIPELINE = {string(self.workflow.name or '')}",
                    f"BASE_IMAGE = {string(self.base_image)}",
                    'PACKAGES = ["boto3"]',
                ]
            ),
            "# --- Runs inside the components (standard library and boto3 only) ---",
        ]
        parts.extend(code for name, code in runtime_sources().items() if name in used_functions)
        parts.append("\n".join(f"{lst} = {code_list(RUNTIME_LISTS[lst])}" for lst in used_lists))
        parts.append(
            "# --- The request of each step, as SageMaker wrote it ---\n"
            + "REQUESTS = "
            + literal(
                {
                    name: task.request
                    for name, task in self.tasks.items()
                    if task.request is not None
                }
            )
        )
        parts.append("# --- One component per step ---")
        parts.extend(self._component(self.tasks[name]) for name in self.order)
        parts.append(self._pipeline(placed))
        parts.append(_MAIN)
        # One blank line after the docstring and after the imports, two between the rest.
        head = "\n\n".join(parts[:3])
        return head + "\n\n\n" + "\n\n\n".join(parts[3:]) + "\n"

    def _inputs(self, task: _Task) -> tuple[list[tuple[str, str, str]], Namer]:
        """The component's inputs: (name, annotation, the pipeline-side value)."""
        local = Namer(("request", "context", "Output", *runtime_sources()))
        inputs: list[tuple[str, str, str]] = []
        if task.request is not None:
            inputs.append(("request", "str", f"json.dumps(REQUESTS[{string(task.step.name)}])"))
        for name in task.references.parameters:
            parameter = self.workflow.parameter(name)
            annotation = _PYTHON_TYPES[parameter.type] if parameter else "str"
            ident = local.name(("parameter", name), self.parameters.get(name, name))
            inputs.append((ident, annotation, self.parameters.get(name, name)))
        for name in task.references.steps:
            producer = self.tasks[name]
            annotation = "bool" if producer.step.kind is StepKind.CONDITION else "str"
            ident = local.name(("step", name), producer.component)
            inputs.append((ident, annotation, f"{producer.variable}.output"))
        for name in task.references.execution:
            if name in _EXECUTION_INPUTS:
                ident, placeholder = _EXECUTION_INPUTS[name]
                inputs.append((local.name(("execution", name), ident), "str", placeholder))
        return inputs, local

    def _component(self, task: _Task) -> str:
        inputs, local = self._inputs(task)
        runtime_list = task.kind.runtime_list if task.kind else "UNSUPPORTED_RUNTIME"
        returns = "bool" if task.step.kind is StepKind.CONDITION else "str"
        decorator = call(
            "@dsl.component",
            [
                "base_image=BASE_IMAGE",
                "packages_to_install=PACKAGES",
                f"additional_funcs={runtime_list}",
            ],
        )
        signature = call(
            f"def {task.component}",
            [f"{name}: {annotation}" for name, annotation, _ in inputs],
            f" -> {returns}:",
        )
        body = self._body(task, local)
        return f"{decorator}\n{signature}\n{body}"

    def _body(self, task: _Task, local: Namer) -> str:
        step = task.step
        name = string(step.name)
        if task.kind is None:
            reason = UNSUPPORTED[step.kind]
            return call(
                "return unsupported_step",
                [name, string(step.type_name), string(reason)],
                level=1,
            )
        context = call("context = build_context", self._context(task, local), level=1)
        outputs = code_list([string(p) for p in self.outputs[step.name]], level=2)
        if step.kind in (StepKind.CONDITION, StepKind.FAIL):
            arguments = [name, "request", "context"]
        elif step.kind is StepKind.LAMBDA:
            arguments = [
                name,
                literal(_to_json(self._expand(step.function_arn)), 2),
                "request",
                "context",
                outputs,
            ]
        elif step.kind in (StepKind.EMR, StepKind.EMR_SERVERLESS):
            arguments = [name, "request", "context", outputs]
        else:
            arguments = [name, string(task.kind.sagemaker_kind or ""), "request", "context"]
            arguments.append(f"outputs={outputs}")
            if step.kind in (StepKind.QUALITY_CHECK, StepKind.CLARIFY_CHECK):
                arguments.append(f"check={literal(_to_json(self._expand(dict(step.check))), 2)}")
        result = call(f"return {task.kind.runtime}", arguments, level=1)
        return f"{context}\n{result}"

    def _context(self, task: _Task, local: Namer) -> list[str]:
        references = task.references
        out = []
        if references.parameters:
            entries = [
                (name, local.name(("parameter", name), self.parameters.get(name, name)))
                for name in references.parameters
            ]
            out.append(f"parameters={code_dict(entries, 2)}")
        if references.steps:
            entries = []
            for name in references.steps:
                ident = local.name(("step", name), self.tasks[name].component)
                producer = self.tasks[name].step
                code = (
                    ident
                    if producer.kind is not StepKind.CONDITION
                    else (code_dict([("Outcome", ident)], 3))
                )
                entries.append((name, code))
            out.append(f"steps={code_dict(entries, 2)}")
        execution = []
        for name in references.execution:
            if name in _EXECUTION_INPUTS:
                execution.append((name, local.name(("execution", name), "")))
            elif name in ("PipelineName", "PipelineArn"):
                execution.append((name, string(self.workflow.name or self.pipeline_name)))
        if execution:
            out.append(f"execution={code_dict(execution, 2)}")
        files = []
        for producer, file_name in references.property_files:
            found = self._property_file_quiet(producer, file_name)
            if found is not None:
                files.append((f"{producer}.{file_name}", literal(list(found), 3)))
        if files:
            out.append(f"property_files={code_dict(files, 2)}")
        return out

    def _property_file_quiet(self, producer: str, name: str) -> tuple[str, str] | None:
        for file in self.workflow.step(producer).property_files or ():
            if file.name == name:
                return file.output_name, file.file_path
        return None

    def _pipeline(self, placed: Layout) -> str:
        parameters = sorted(self.workflow.parameter_list, key=lambda p: not p.required)
        decorator = call("@dsl.pipeline", ["name=PIPELINE_NAME"])
        signature = call("def pipeline", [self._parameter(p) for p in parameters], ":")
        body = self._block(placed.body, 1)
        return f"{decorator}\n{signature}\n" + "\n".join(body)

    def _parameter(self, parameter: Parameter) -> str:
        ident = self.parameters[parameter.name]
        annotation = _PYTHON_TYPES[parameter.type]
        if parameter.required:
            return f"{ident}: {annotation}"
        default = parameter.default
        if parameter.type is ParameterType.FLOAT and type(default) is int:
            default = float(default)
        return f"{ident}: {annotation} = {literal(default)}"

    def _block(self, block: Block, level: int) -> list[str]:
        lines: list[str] = []
        for item in block.items:
            if isinstance(item, str):
                lines.extend(self._task_lines(self.tasks[item], level))
            else:
                lines.extend(self._branches(item, level))
        return lines

    def _branches(self, branches: Branches, level: int) -> list[str]:
        outcome = f"{self.tasks[branches.condition].variable}.output"
        lines = []
        if branches.when_true is not None:
            lines.append(_with_if(outcome, "True", level))
            lines.extend(self._block(branches.when_true, level + 1))
            if branches.when_false is not None:
                lines.append(f"{INDENT * level}with dsl.Else():")
                lines.extend(self._block(branches.when_false, level + 1))
        elif branches.when_false is not None:
            lines.append(_with_if(outcome, "False", level))
            lines.extend(self._block(branches.when_false, level + 1))
        return lines

    def _task_lines(self, task: _Task, level: int) -> list[str]:
        inputs, _ = self._inputs(task)
        step = task.step
        lines = [
            source.assign_call(
                task.variable,
                task.component,
                [f"{name}={value}" for name, _, value in inputs],
                level,
            ),
            call(f"{task.variable}.set_display_name", [string(step.name)], level=level),
            call(
                f"{task.variable}.set_caching_options",
                [str(_caching(step))],
                level=level,
            ),
        ]
        retry = _retry(step.retry_policies or ())
        if retry is not None:
            count, interval, factor = retry
            lines.append(
                call(
                    f"{task.variable}.set_retry",
                    [
                        f"num_retries={count}",
                        f"backoff_duration={string(interval)}",
                        f"backoff_factor={factor!r}",
                    ],
                    level=level,
                )
            )
        wired = set(task.references.steps)
        after = [
            self.tasks[source].variable
            for source, _, data in self.graph.in_edges(step.name, data=True)
            if source not in wired
            and not set(data["origins"]) <= {EdgeOrigin.IF_BRANCH, EdgeOrigin.ELSE_BRANCH}
        ]
        if after:
            lines.append(call(f"{task.variable}.after", after, level=level))
        return lines


def _with_if(outcome: str, value: str, level: int) -> str:
    indent = INDENT * level
    line = f"{indent}with dsl.If({outcome} == {value}):  # noqa: E712"
    if source.width(line) <= source.LINE_LENGTH:
        return line
    inner = INDENT * (level + 1)
    return f"{indent}with dsl.If(\n{inner}{outcome} == {value},  # noqa: E712\n{indent}):"


def _or_empty(value: Value) -> Value:
    return {} if value is MISSING or value is None else value


def _caching(step: Step) -> bool:
    # KFP caches by default and SageMaker does not: only an explicit CacheConfig turns it on.
    return step.cache_config is not None and step.cache_config.enabled is True


def _number(value: Value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _retry(policies: tuple[RetryPolicy, ...]) -> tuple[int, str, float] | None:
    """(retries, first backoff, backoff factor) for KFP's set_retry, from SageMaker's policies.

    MaxAttempts counts retries; ExpireAfterMin becomes the number of retries whose backoffs fit
    in that time. The most generous policy wins, since KFP cannot tell failures apart.
    """
    best: tuple[int, str, float] | None = None
    for policy in policies:
        interval = _number(policy.interval_seconds)
        interval = 1 if interval is None else interval
        factor = _number(policy.backoff_rate)
        factor = 2.0 if factor is None else float(factor)
        attempts = _number(policy.max_attempts)
        if attempts is None:
            minutes = _number(policy.expire_after_min)
            if minutes is None:
                continue
            attempts, waited, wait = 0, 0.0, float(interval)
            while waited + wait <= minutes * 60 and attempts < 20:
                attempts, waited, wait = attempts + 1, waited + wait, wait * factor
        seconds = int(interval) if float(interval).is_integer() else interval
        candidate = (int(attempts), f"{seconds}s", factor)
        if best is None or candidate[0] > best[0]:
            best = candidate
    return best


def _kfp_pipeline_name(name: str | None) -> str:
    """KFP pipeline names match ``[a-z0-9][a-z0-9-]{0,127}``."""
    text = re.sub(r"[^a-z0-9]+", "-", (name or "pipeline").lower()).strip("-")
    return (text or "pipeline")[:128].rstrip("-")


_HEADER = '''"""Kubeflow Pipelines v2 pipeline generated by pipeglot from a SageMaker pipeline.

Each SageMaker step is one task whose display name is the step's name. Job steps create their
SageMaker resource with boto3 from the request in REQUESTS, under a new unique name, and wait for
it. Run `python THIS_FILE.py [OUTPUT.yaml]` to compile it; the pods need AWS credentials
(for example IRSA on the run's service account) and AWS_DEFAULT_REGION.
Regenerate it with `pipeglot translate SOURCE --to kfp` rather than editing it.
"""'''

_MAIN = """if __name__ == "__main__":
    output = sys.argv[1] if len(sys.argv) > 1 else __file__.removesuffix(".py") + ".yaml"
    compiler.Compiler().compile(pipeline, output)"""
