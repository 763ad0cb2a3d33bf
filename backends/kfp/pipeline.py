"""Writing the ``@dsl.pipeline`` function: typed inputs, one task per step, and the
``dsl.If``/``dsl.Else`` blocks that ``layout.py`` placed them in.

Each task calls its kind's component with the step's name and request (shared values by the
name of their constant), the parameters and upstream results it reads, then sets its display
name (the step's name), caching, retries and ``.after()``.
"""

from __future__ import annotations

from typing import Any

from pipeglot.backends._python import Atom, Doc, Entry, Group, literal, render, string_literal
from pipeglot.backends._python.sharing import Hole, ItemCall
from pipeglot.backends.kfp.components import PYTHON_TYPES, upstream_inputs
from pipeglot.backends.kfp.hoist import Constants
from pipeglot.backends.kfp.kinds import UNSUPPORTED
from pipeglot.backends.kfp.layout import Block, Branches
from pipeglot.backends.kfp.plan import EXECUTION_INPUTS, Plan, Task
from pipeglot.backends.kfp.task_settings import caching, retry
from pipeglot.backends.kfp.values import KFP_PLACEHOLDER, RequestWriter
from pipeglot.ir.model import Parameter, ParameterType, StepKind

INDENT = "    "
LINE_LENGTH = 100


def pipeline(plan: Plan, constants: Constants) -> str:
    # Python wants parameters without defaults first.
    parameters = sorted(plan.workflow.parameter_list, key=lambda p: not p.required)
    decorator = "@dsl.pipeline(name=PIPELINE_NAME)"
    head = "def pipeline("
    items = [_parameter(plan, p) for p in parameters]
    one_line = f"{head}{', '.join(items)}):"
    if len(one_line) <= LINE_LENGTH:
        signature = one_line
    else:
        signature = "\n".join([head, *(f"{INDENT}{item}," for item in items), "):"])
    body = _block(plan, constants, plan.placed.body, 1) or [f"{INDENT}pass"]
    return f"{decorator}\n{signature}\n" + "\n".join(body)


def _parameter(plan: Plan, parameter: Parameter) -> str:
    ident = plan.parameters[parameter.name]
    annotation = PYTHON_TYPES[parameter.type]
    if parameter.required:
        return f"{ident}: {annotation}"
    default = parameter.default
    if parameter.type is ParameterType.FLOAT and type(default) is int:
        default = float(default)  # kfp rejects an int default for a float input
    return f"{ident}: {annotation} = {render(literal(default), 1)}"


def _block(plan: Plan, constants: Constants, block: Block, level: int) -> list[str]:
    lines: list[str] = []
    for item in block.items:
        if isinstance(item, str):
            lines.extend(task_lines(plan, constants, plan.tasks[item], level))
        else:
            lines.extend(_branches(plan, constants, item, level))
    return lines


def _branches(plan: Plan, constants: Constants, branches: Branches, level: int) -> list[str]:
    outcome = f'{plan.tasks[branches.condition].variable}.outputs["branch"]'
    lines = []
    if branches.when_true is not None:
        lines.append(_with_if(outcome, "IfSteps", level))
        lines.extend(_block(plan, constants, branches.when_true, level + 1))
        if branches.when_false is not None:
            lines.append(f"{INDENT * level}with dsl.Else():")
            lines.extend(_block(plan, constants, branches.when_false, level + 1))
    elif branches.when_false is not None:
        lines.append(_with_if(outcome, "ElseSteps", level))
        lines.extend(_block(plan, constants, branches.when_false, level + 1))
    return lines


def _with_if(outcome: str, branch: str, level: int) -> str:
    indent = INDENT * level
    line = f'{indent}with dsl.If({outcome} == "{branch}"):'
    if len(line) <= LINE_LENGTH:
        return line
    return f'{indent}with dsl.If(\n{indent}{INDENT}{outcome} == "{branch}",\n{indent}):'


def task_lines(plan: Plan, constants: Constants, task: Task, level: int) -> list[str]:
    """The task's call, then its display name, caching, retries and ``.after()``."""
    indent = INDENT * level
    head = f"{task.variable} = "
    lines = [indent + head + render(_task_call(plan, constants, task), level, len(head))]
    settings = [
        f"set_display_name({string_literal(task.step.name)})",
        f"set_caching_options({caching(task.step)})",
    ]
    rule = retry(task.step)
    if rule is not None:
        count, interval, factor = rule
        settings.append(
            f'set_retry(num_retries={count}, backoff_duration="{interval}", '
            f"backoff_factor={factor!r})"
        )
    if task.after:
        settings.append(f"after({', '.join(plan.tasks[name].variable for name in task.after)})")
    chained = f"{indent}{task.variable}." + ".".join(settings)
    if len(chained) <= LINE_LENGTH:
        lines.append(chained)
    else:
        lines.extend(f"{indent}{task.variable}.{setting}" for setting in settings)
    return [_fit(line, level) for line in lines]


def _fit(line: str, level: int) -> str:
    """A settings line that is still too long goes through the layout (``.after`` of many)."""
    if len(line) <= LINE_LENGTH or "\n" in line:
        return line
    target, _, rest = line.strip().partition(".")
    method, _, arguments = rest.partition("(")
    items = tuple(Atom(a.strip()) for a in arguments.rstrip(")").split(","))
    return INDENT * level + render(Group(f"{target}.{method}(", items, ")"), level)


def _task_call(plan: Plan, constants: Constants, task: Task) -> Doc:
    use = plan.uses[task.component.name]
    arguments: list[Doc | Entry] = [Entry("step", "=", literal(task.step.name))]
    arguments.append(Entry("request", "=", _request(plan, task, constants)))
    if task.check is not None:
        arguments.append(
            Entry("check", "=", Group("json.dumps(", (constants.doc(task.check),), ")"))
        )
    for slot, name in zip(upstream_inputs(use.slots), task.reads.steps, strict=False):
        producer = plan.tasks[name]
        output = 'outputs["result"]' if producer.step.kind is StepKind.CONDITION else "output"
        arguments.append(Entry(slot, "=", Atom(f"{producer.variable}.{output}")))
    for name in task.reads.parameters:
        ident = plan.parameters.get(name, name)
        arguments.append(Entry(ident, "=", Atom(ident)))
    for name in task.reads.execution:
        if name in EXECUTION_INPUTS:
            ident, placeholder = EXECUTION_INPUTS[name]
            arguments.append(Entry(ident, "=", Atom(placeholder)))
    if task.guard is not None:
        condition, branch = task.guard
        outcome = f'{plan.tasks[condition].variable}.outputs["branch"]'
        arguments.append(Entry("guard", "=", Atom(outcome)))
        arguments.append(Entry("guard_branch", "=", literal("IfSteps" if branch else "ElseSteps")))
    return Group(f"{task.component.name}(", tuple(arguments), ")")


def _request(plan: Plan, task: Task, constants: Constants) -> Doc:
    family = plan.families.get(task.step.name)
    if family is not None:
        # The family's builder (it returns the request as JSON text), called with this step's
        # own values.
        arguments = constants.builder_arguments[task.step.name]
        entries = tuple(
            [Entry(name, "=", constants.doc(arguments[name])) for name in family.parameters]
        )
        return Group(f"{family.function}(", entries, ")")
    if task.request is None:  # an untranslated step: its type and why
        reason = UNSUPPORTED[task.step.kind]
        value = {"Type": task.step.type_name, "Reason": reason}
        return Group("json.dumps(", (literal(value),), ")")
    return Group("json.dumps(", (constants.doc(task.request),), ")")


def builder_json(writer: RequestWriter, value: Any) -> Any:
    """A builder's body or argument as request JSON; holes and item calls stay nodes."""
    kind = type(value)
    if kind is str:  # most values: as they are, unless KFP would take them for a placeholder
        return writer(value) if KFP_PLACEHOLDER in value else value
    if kind in _AS_THEY_ARE:
        return value
    if kind is ItemCall:
        arguments = tuple([(name, builder_json(writer, item)) for name, item in value.arguments])
        return ItemCall(value.function, arguments)
    if kind is dict:
        return {
            key: item
            if type(item) is str and KFP_PLACEHOLDER not in item
            else builder_json(writer, item)
            for key, item in value.items()
        }
    if kind is list or kind is tuple:
        return [
            item
            if type(item) is str and KFP_PLACEHOLDER not in item
            else builder_json(writer, item)
            for item in value
        ]
    return writer(value)


_AS_THEY_ARE = frozenset({int, float, bool, type(None), Hole})  # written by RequestWriter as is
