"""Writing the reusable components: one ``@dsl.component`` per step kind the workflow uses.

Every task of a kind calls the same component with its own ``step`` name and ``request``
(JSON text). The other inputs are those its tasks need, united: the results of the steps a task
reads from (``upstream_1``...: each result names its step, so their order does not matter), the
pipeline parameters the requests read (typed, defaulting to the pipeline's defaults), and the
execution values KFP supplies as placeholders. A component returns the step's result (its
properties, as JSON text); a Condition also returns the branch it chose. What the component
needs to know about SageMaker (API names, name rules, statuses) comes from
``pipeglot.ir.sagemaker`` and is written into its body as data.
"""

from __future__ import annotations

from typing import Any

from pipeglot.backends._python import (
    Atom,
    Doc,
    Entry,
    Group,
    call,
    literal,
    render,
    string_literal,
)
from pipeglot.backends.kfp.kinds import carried
from pipeglot.backends.kfp.plan import EXECUTION_INPUTS, Plan, Use
from pipeglot.ir.model import MISSING, Parameter, ParameterType, StepKind
from pipeglot.ir.sagemaker import (
    AUTOML_REPORT_FIELD,
    AUTOML_REPORT_LOCATIONS,
    AUTOML_REPORT_PROPERTIES,
    BASELINE_FILES,
    DRIFT_CHECK_BASELINES,
    TUNING_SUMMARIES_FIELD,
    TUNING_SUMMARIES_LIMIT,
    resource_api,
)

INDENT = "    "
PYTHON_TYPES = {
    ParameterType.STRING: "str",
    ParameterType.INTEGER: "int",
    ParameterType.FLOAT: "float",
    ParameterType.BOOLEAN: "bool",
}
_ZERO = {
    ParameterType.STRING: "",
    ParameterType.INTEGER: 0,
    ParameterType.FLOAT: 0.0,
    ParameterType.BOOLEAN: False,
}
CONDITION_OUTPUTS = 'NamedTuple("Outputs", [("branch", str), ("result", str)])'


def upstream_inputs(count: int) -> list[str]:
    return [f"upstream_{number}" for number in range(1, count + 1)]


def runtime_functions(use: Use) -> tuple[str, ...]:
    """The runtime functions the component carries."""
    features = set(use.features)
    if StepKind.TUNING in use.kinds:
        features.add("tuning")
    if StepKind.AUTOML in use.kinds:
        features.add("automl")
    if use.check:
        features.add("check")
    roots = ("step_context", use.component.entry)
    if use.guarded:
        roots += ("skipped", "skipped_result")
    if use.slots:
        roots += ("list_name_fields",)
    return carried(roots, frozenset(features))


def runtime_list_name(use: Use) -> str:
    return f"{use.component.name.upper()}_RUNTIME"


def component(plan: Plan, use: Use) -> str:
    """The decorated component function of ``use``."""
    decorator = render(
        call(
            "@dsl.component",
            base_image=Atom("BASE_IMAGE"),
            packages_to_install=Atom("PACKAGES"),
            additional_funcs=Atom(runtime_list_name(use)),
        )
    )
    returns = CONDITION_OUTPUTS if StepKind.CONDITION in use.kinds else "str"
    signature = _signature(plan, use, returns)
    body = [f'{INDENT}"""{use.component.summary}"""']
    if use.guarded:
        body.append(f"{INDENT}if skipped(step, guard, guard_branch):")
        skipped = '"Skipped", skipped_result(step)' if returns != "str" else "skipped_result(step)"
        body.append(f"{INDENT * 2}return {skipped}")
    body.append(_statement("context", _context(plan, use)))
    body.extend(_call(use))
    return "\n".join([decorator, signature, *body])


def _signature(plan: Plan, use: Use, returns: str) -> str:
    inputs = ["step: str", "request: str"]
    if use.check:
        inputs.append('check: str = "{}"')
    inputs.extend(f'{name}: str = ""' for name in upstream_inputs(use.slots))
    for name in use.parameters:
        parameter = plan.workflow.parameter(name)
        inputs.append(_parameter_input(plan.parameters.get(name, name), parameter))
    for name in use.execution:
        if name in EXECUTION_INPUTS:
            inputs.append(f'{EXECUTION_INPUTS[name][0]}: str = ""')
    if use.guarded:
        inputs.extend(['guard: str = ""', 'guard_branch: str = ""'])
    head = f"def {use.component.name}("
    lines = [head, *(f"{INDENT}{item}," for item in inputs), f") -> {returns}:"]
    one_line = f"{head}{', '.join(inputs)}) -> {returns}:"
    return one_line if len(one_line) <= 100 else "\n".join(lines)


def _parameter_input(ident: str, parameter: Parameter | None) -> str:
    if parameter is None:
        return f'{ident}: str = ""'
    default = parameter.default if parameter.default is not MISSING else _ZERO[parameter.type]
    if parameter.type is ParameterType.FLOAT and type(default) is int:
        default = float(default)  # kfp rejects an int default for a float input
    return f"{ident}: {PYTHON_TYPES[parameter.type]} = {render(literal(default), 1)}"


def _context(plan: Plan, use: Use) -> Doc:
    arguments: list[Doc | Entry] = []
    if use.slots:
        slots = Group("[", tuple(Atom(name) for name in upstream_inputs(use.slots)), "]")
        arguments.append(Entry("upstream", "=", slots))
    if use.parameters:
        entries = tuple(
            Entry(string_literal(name), ": ", Atom(plan.parameters.get(name, name)))
            for name in use.parameters
        )
        arguments.append(Entry("parameters", "=", Group("{", entries, "}")))
    execution = _execution(plan, use)
    if execution:
        arguments.append(Entry("execution", "=", Group("{", tuple(execution), "}")))
    if use.slots:
        arguments.append(Entry("name_fields", "=", Atom("list_name_fields()")))
    return Group("step_context(", tuple(arguments), ")")


def _execution(plan: Plan, use: Use) -> list[Entry]:
    entries = []
    for name in use.execution:
        if name in EXECUTION_INPUTS:
            entries.append(Entry(string_literal(name), ": ", Atom(EXECUTION_INPUTS[name][0])))
        elif name in ("PipelineName", "PipelineArn"):
            value = plan.workflow.name or plan.pipeline_name
            entries.append(Entry(string_literal(name), ": ", literal(value)))
    return entries


def _call(use: Use) -> list[str]:
    entry = use.component.entry
    if entry != "run_sagemaker_job":
        return [f"{INDENT}return {entry}(step, request, context)"]
    arguments = "step, api, request, context, check" if use.check else "step, api, request, context"
    return [_statement("api", literal(_api(use))), f"{INDENT}return {entry}({arguments})"]


def _api(use: Use) -> dict[str, Any]:
    """The facts ``run_sagemaker_job`` needs, from the IR's table."""
    kind = next(iter(use.kinds))
    api = resource_api(kind)
    assert api is not None
    facts: dict[str, Any] = {
        "resource": api.resource,
        "name_field": api.name_field,
        "name_limit": api.name_limit,
        "name_is_prefix": api.name_is_prefix,
        "unnamed_with": api.unnamed_with,
        "arn_field": api.arn_field,
        "status_field": api.status_field,
        "succeeded": list(api.succeeded),
        "failed": list(api.failed),
        "failure_reason_field": api.failure_reason_field,
    }
    if kind is StepKind.AUTOML:
        facts["automl_reports"] = {
            "field": AUTOML_REPORT_FIELD,
            "locations": list(AUTOML_REPORT_LOCATIONS),
            "names": dict(AUTOML_REPORT_PROPERTIES),
        }
    if kind is StepKind.TUNING:
        facts["tuning_summaries"] = {
            "field": TUNING_SUMMARIES_FIELD,
            "limit": TUNING_SUMMARIES_LIMIT,
        }
    if use.check:
        facts["baselines"] = {
            "calculated": {
                name: file
                for (check_kind, name), file in BASELINE_FILES.items()
                if check_kind is kind
            },
            "drift": {used: list(keys) for used, keys in DRIFT_CHECK_BASELINES.items()},
        }
    return facts


def _statement(target: str, doc: Doc) -> str:
    head = f"{target} = "
    return INDENT + head + render(doc, 1, len(head))
