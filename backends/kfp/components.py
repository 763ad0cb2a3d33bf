"""Writing one step's component: a ``@dsl.component`` function that calls the runtime.

The component receives the step's request as JSON text and, as typed inputs, the pipeline
parameters, upstream step outputs and execution values its expressions read; its body builds
the context ``runtime.resolve`` evaluates against and calls the kind's runtime function.
"""

from __future__ import annotations

from pipeglot.backends.kfp.kinds import SAGEMAKER_APIS, UNSUPPORTED, runtime_sources
from pipeglot.backends.kfp.plan import Plan, Task
from pipeglot.backends.kfp.source import (
    Namer,
    call,
    code_dict,
    code_list,
    code_tuple,
    literal,
    string,
)
from pipeglot.backends.kfp.values import to_json
from pipeglot.ir.model import ParameterType, StepKind

PYTHON_TYPES = {
    ParameterType.STRING: "str",
    ParameterType.INTEGER: "int",
    ParameterType.FLOAT: "float",
    ParameterType.BOOLEAN: "bool",
}

# Execution variables that KFP supplies as whole-value placeholders: (input name, placeholder).
EXECUTION_INPUTS = {
    "PipelineExecutionId": ("execution_id", "dsl.PIPELINE_JOB_ID_PLACEHOLDER"),
    "StartDateTime": ("start_time", "dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER"),
    "PipelineExecutionArn": ("execution_arn", "dsl.PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER"),
}

# (name, annotation, the pipeline-side value) of one component input
Input = tuple[str, str, str]


def inputs(plan: Plan, task: Task) -> tuple[list[Input], Namer]:
    """The component's inputs, and the namer that gave them their (component-local) names."""
    local = Namer(("request", "context", "Output", *runtime_sources()))
    found: list[Input] = []
    if task.request is not None:
        found.append(("request", "str", f"json.dumps(REQUESTS[{string(task.step.name)}])"))
    for name in task.references.parameters:
        parameter = plan.workflow.parameter(name)
        annotation = PYTHON_TYPES[parameter.type] if parameter else "str"
        ident = local.name(("parameter", name), plan.parameters.get(name, name))
        found.append((ident, annotation, plan.parameters.get(name, name)))
    for name in task.references.steps:
        producer = plan.tasks[name]
        ident = local.name(("step", name), producer.component)
        found.append((ident, _output_type(producer), f"{producer.variable}.output"))
    for name in task.references.execution:
        if name in EXECUTION_INPUTS:
            ident, placeholder = EXECUTION_INPUTS[name]
            found.append((local.name(("execution", name), ident), "str", placeholder))
    return found, local


def component(plan: Plan, task: Task) -> str:
    """The decorated component function of ``task``."""
    found, local = inputs(plan, task)
    decorator = call(
        "@dsl.component",
        [
            "base_image=BASE_IMAGE",
            "packages_to_install=PACKAGES",
            f"additional_funcs={task.runtime_list}",
        ],
    )
    signature = call(
        f"def {task.component}",
        [f"{name}: {annotation}" for name, annotation, _ in found],
        f" -> {_output_type(task)}:",
    )
    return f"{decorator}\n{signature}\n{_body(plan, task, local)}"


def _output_type(task: Task) -> str:
    # A Condition's output is its outcome; every other step returns its properties as JSON.
    return "bool" if task.step.kind is StepKind.CONDITION else "str"


def _body(plan: Plan, task: Task, local: Namer) -> str:
    step = task.step
    name = string(step.name)
    if task.kind is None:
        reason = UNSUPPORTED[step.kind]
        return call(
            "return unsupported_step",
            [name, string(step.type_name), string(reason)],
            level=1,
        )
    context = call("context = build_context", _context(plan, task, local), level=1)
    outputs = code_list([string(p) for p in plan.outputs[step.name]], level=2)
    if step.kind in (StepKind.CONDITION, StepKind.FAIL):
        arguments = [name, "request", "context"]
    elif step.kind is StepKind.LAMBDA:
        arn = literal(to_json(plan.expand(step.function_arn)), 2)
        arguments = [name, arn, "request", "context", outputs]
    elif step.kind in (StepKind.EMR, StepKind.EMR_SERVERLESS, StepKind.LINEAGE):
        arguments = [name, "request", "context", outputs]
    else:
        job = task.kind.sagemaker_kind or ""
        api = code_tuple([literal(part) for part in SAGEMAKER_APIS[job]], 2)
        arguments = [name, string(job), api, "request", "context"]
        arguments.append(f"outputs={outputs}")
        if step.kind in (StepKind.QUALITY_CHECK, StepKind.CLARIFY_CHECK):
            arguments.append(f"check={literal(to_json(plan.expand(dict(step.check))), 2)}")
    result = call(f"return {task.kind.runtime}", arguments, level=1)
    return f"{context}\n{result}"


def _context(plan: Plan, task: Task, local: Namer) -> list[str]:
    """The keyword arguments of ``build_context``: what the step's expressions read."""
    found = task.references
    out = []
    if found.parameters:
        entries = [
            (name, local.name(("parameter", name), plan.parameters.get(name, name)))
            for name in found.parameters
        ]
        out.append(f"parameters={code_dict(entries, 2)}")
    if found.steps:
        entries = [(name, _step_value(plan, name, local)) for name in found.steps]
        out.append(f"steps={code_dict(entries, 2)}")
    execution = []
    for name in found.execution:
        if name in EXECUTION_INPUTS:
            execution.append((name, local.name(("execution", name), "")))
        elif name in ("PipelineName", "PipelineArn"):
            execution.append((name, string(plan.workflow.name or plan.pipeline_name)))
    if execution:
        out.append(f"execution={code_dict(execution, 2)}")
    files = []
    for producer, file_name in found.property_files:
        declared = plan.property_file(producer, file_name)
        if declared is not None:
            files.append((f"{producer}.{file_name}", literal(list(declared), 3)))
    if files:
        out.append(f"property_files={code_dict(files, 2)}")
    return out


def _step_value(plan: Plan, name: str, local: Namer) -> str:
    """What the context holds for upstream step ``name``: its properties (JSON text), or for a
    Condition ``{"Outcome": outcome}``, since its task returns the bare outcome."""
    ident = local.name(("step", name), plan.tasks[name].component)
    if plan.tasks[name].step.kind is not StepKind.CONDITION:
        return ident
    return code_dict([("Outcome", ident)], 3)
