"""Writing the ``@dsl.pipeline`` function: typed inputs, one task per step, and the
``dsl.If``/``dsl.Else`` blocks that ``layout.py`` placed them in."""

from __future__ import annotations

from pipeglot.backends.kfp import source
from pipeglot.backends.kfp.components import PYTHON_TYPES, inputs
from pipeglot.backends.kfp.layout import Block, Branches
from pipeglot.backends.kfp.plan import Plan, Task
from pipeglot.backends.kfp.source import INDENT, call, literal, string
from pipeglot.backends.kfp.task_settings import caching, retry
from pipeglot.ir.graph import EdgeOrigin
from pipeglot.ir.model import Parameter, ParameterType

_BRANCH_ORIGINS = {EdgeOrigin.IF_BRANCH, EdgeOrigin.ELSE_BRANCH}


def pipeline(plan: Plan) -> str:
    # Python wants parameters without defaults first.
    parameters = sorted(plan.workflow.parameter_list, key=lambda p: not p.required)
    decorator = call("@dsl.pipeline", ["name=PIPELINE_NAME"])
    signature = call("def pipeline", [_parameter(plan, p) for p in parameters], ":")
    body = _block(plan, plan.placed.body, 1)
    return f"{decorator}\n{signature}\n" + "\n".join(body)


def _parameter(plan: Plan, parameter: Parameter) -> str:
    ident = plan.parameters[parameter.name]
    annotation = PYTHON_TYPES[parameter.type]
    if parameter.required:
        return f"{ident}: {annotation}"
    default = parameter.default
    if parameter.type is ParameterType.FLOAT and type(default) is int:
        default = float(default)  # kfp rejects an int default for a float input
    return f"{ident}: {annotation} = {literal(default)}"


def _block(plan: Plan, block: Block, level: int) -> list[str]:
    lines: list[str] = []
    for item in block.items:
        if isinstance(item, str):
            lines.extend(_task_lines(plan, plan.tasks[item], level))
        else:
            lines.extend(_branches(plan, item, level))
    return lines


def _branches(plan: Plan, branches: Branches, level: int) -> list[str]:
    outcome = f"{plan.tasks[branches.condition].variable}.output"
    lines = []
    if branches.when_true is not None:
        lines.append(_with_if(outcome, "True", level))
        lines.extend(_block(plan, branches.when_true, level + 1))
        if branches.when_false is not None:
            lines.append(f"{INDENT * level}with dsl.Else():")
            lines.extend(_block(plan, branches.when_false, level + 1))
    elif branches.when_false is not None:
        lines.append(_with_if(outcome, "False", level))
        lines.extend(_block(plan, branches.when_false, level + 1))
    return lines


def _with_if(outcome: str, value: str, level: int) -> str:
    # `== True` is what dsl.If needs (a channel is not a bool), hence the noqa for ruff.
    indent = INDENT * level
    line = f"{indent}with dsl.If({outcome} == {value}):  # noqa: E712"
    if source.width(line) <= source.LINE_LENGTH:
        return line
    inner = INDENT * (level + 1)
    return f"{indent}with dsl.If(\n{inner}{outcome} == {value},  # noqa: E712\n{indent}):"


def _task_lines(plan: Plan, task: Task, level: int) -> list[str]:
    """The task's call, display name, caching, retries and ``.after()``."""
    found, _ = inputs(plan, task)
    step = task.step
    lines = [
        source.assign_call(
            task.variable,
            task.component,
            [f"{name}={value}" for name, _, value in found],
            level,
        ),
        call(f"{task.variable}.set_display_name", [string(step.name)], level=level),
        call(f"{task.variable}.set_caching_options", [str(caching(step))], level=level),
    ]
    settings = retry(step.retry_policies or ())
    if settings is not None:
        count, interval, factor = settings
        arguments = [
            f"num_retries={count}",
            f"backoff_duration={string(interval)}",
            f"backoff_factor={factor!r}",
        ]
        lines.append(call(f"{task.variable}.set_retry", arguments, level=level))
    after = _after(plan, task)
    if after:
        lines.append(call(f"{task.variable}.after", after, level=level))
    return lines


def _after(plan: Plan, task: Task) -> list[str]:
    """Tasks this one waits for without reading from them (DependsOn). Data references are
    wired by the inputs, and branch edges by the enclosing dsl.If."""
    wired = set(task.references.steps)
    return [
        plan.tasks[upstream].variable
        for upstream, _, data in plan.graph.in_edges(task.step.name, data=True)
        if upstream not in wired and not set(data["origins"]) <= _BRANCH_ORIGINS
    ]
