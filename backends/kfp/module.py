"""Assembling the generated file: header, constants, runtime functions, components, pipeline
and the ``__main__`` block that compiles it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeglot.backends._python import (
    Atom,
    Group,
    file_header,
    mark_long_lines,
    render,
    string_literal,
)
from pipeglot.backends.kfp.components import component, runtime_functions, runtime_list_name
from pipeglot.backends.kfp.hoist import Constants, reference_doc, shared_constants
from pipeglot.backends.kfp.kinds import DATA_CALLS, carried, shipped_sources
from pipeglot.backends.kfp.pipeline import builder_json, pipeline
from pipeglot.backends.kfp.plan import MODULE_NAMES, Plan
from pipeglot.backends.kfp.values import RequestWriter

TITLE = "Kubeflow Pipelines v2 pipeline translated by pipeglot from a SageMaker pipeline."
FALLBACK_COMMAND = "pipeglot translate SOURCE --to kfp -o THIS_FILE.py"
MODULE_CONSTANTS = ("PIPELINE_NAME", "BASE_IMAGE", "PACKAGES")
LINE_LENGTH = 100
_ABOUT = """\
# Each SageMaker step is one task whose display name is the step's name, made from the
# reusable component of its kind below. Job components create the SageMaker resource from the
# task's request under a new name per attempt and wait for it. The pods need AWS credentials
# (for example IRSA on the run's service account) and AWS_DEFAULT_REGION.
# Run `python THIS_FILE.py [OUTPUT.yaml]` to compile it."""

EXPRESSIONS = '''# --- SageMaker's expressions in the requests (the components evaluate them) ---


def Get(reference):
    """``{"Get": reference}``: a pipeline parameter, execution variable or step property."""
    return {"Get": reference}


def Join(on, values):
    """``Std:Join``: the values as text, joined by ``on``."""
    return {"Std:Join": {"On": on, "Values": values}}


def JsonGet(s3_uri, path):
    """``Std:JsonGet``: the value at ``path`` in the JSON file at ``s3_uri``."""
    return {"Std:JsonGet": {"S3Uri": s3_uri, "Path": path}}'''

_MAIN = """if __name__ == "__main__":
    output = sys.argv[1] if len(sys.argv) > 1 else __file__.removesuffix(".py") + ".yaml"
    compiler.Compiler().compile(pipeline, output)"""

# Writes more files beside the pipeline (a recurring run, ...): (plan) -> extra module parts.
EXTENSIONS: list[Callable[[Plan], str | None]] = []


def module(plan: Plan, source_command: str | None) -> str:
    """The whole generated file, with over-long literal lines marked for ruff."""
    constants = _constants(plan)
    uses = list(plan.uses.values())
    functions = {name: runtime_functions(use) for name, use in plan.uses.items()}
    # The file defines every function its components' functions name, also those that no
    # component here calls (a check step's baselines in a file without check steps), so it is
    # whole and ruff-clean; each component carries only what it can call.
    roots = tuple(name for carried_names in functions.values() for name in carried_names)
    defined = carried(roots, frozenset(DATA_CALLS.values()))
    header = file_header(
        TITLE,
        plan.workflow.name or plan.pipeline_name,
        source_command or FALLBACK_COMMAND,
        FALLBACK_COMMAND,
        future_annotations=False,
    )
    imports = (
        "import json\nimport sys\nfrom typing import NamedTuple\n\nfrom kfp import compiler, dsl"
    )
    if not any(use.component.entry == "evaluate_conditions" for use in uses):
        imports = imports.replace("from typing import NamedTuple\n", "")
    parts = [header, imports, _settings(plan) + "\n\n" + _ABOUT]
    parts.append(EXPRESSIONS)
    if constants.bodies:
        parts.append(_constant_block(constants))
    if constants.references:
        parts.append(_reference_block(constants))
    parts.append("# --- Runs inside the components (standard library and boto3 only) ---")
    parts.extend(shipped_sources()[name] for name in defined)
    lists = [render_list(runtime_list_name(use), functions[use.component.name]) for use in uses]
    parts.append("\n".join(lists))
    parts.append("# --- One reusable component per kind of step ---")
    parts.extend(component(plan, use) for use in uses)
    builders = _builders(plan, constants)
    if builders:
        parts.append(builders)
    parts.append(pipeline(plan, constants))
    parts.extend(part for extension in EXTENSIONS if (part := extension(plan)) is not None)
    parts.append(_MAIN)
    # One blank line after the docstring and after the imports, two between the rest.
    head = "\n\n".join(parts[:3])
    return mark_long_lines(head + "\n\n\n" + "\n\n\n".join(parts[3:]) + "\n")


def render_list(name: str, items: tuple[str, ...]) -> str:
    return f"{name} = " + render(
        Group("[", tuple(Atom(item) for item in items), "]"), 0, len(name) + 3
    )


def _settings(plan: Plan) -> str:
    return "\n".join(
        [
            f"PIPELINE_NAME = {string_literal(plan.pipeline_name)}",
            f"BASE_IMAGE = {string_literal(plan.base_image)}",
            'PACKAGES = ["boto3"]',
        ]
    )


def _constants(plan: Plan) -> Constants:
    """The shared values of everything the file writes as data: requests, and for steps of a
    family, their builder's body and their own arguments to it."""
    writer = RequestWriter(plan.workflow)
    bodies: dict[str, Any] = {}
    arguments: dict[str, dict[str, Any]] = {}
    values: list[Any] = []
    for name, task in plan.tasks.items():
        family = plan.families.get(name)
        if family is None:
            values.extend(value for value in (task.request, task.check) if value)
            continue
        if task.check:
            values.append(task.check)
        for item in (*family.items, family):
            if item.function not in bodies:
                bodies[item.function] = builder_json(writer, item.body)
                values.append(bodies[item.function])
        arguments[name] = {
            key: builder_json(writer, value) for key, value in family.arguments[name].items()
        }
        values.append(list(arguments[name].values()))
    # Pipeline inputs too: one called like a constant would hide it in the pipeline function.
    taken = (
        *MODULE_NAMES,
        *MODULE_CONSTANTS,
        *(f"{u.upper()}_RUNTIME" for u in plan.uses),
        *plan.parameters.values(),
    )
    variables = {name: task.variable for name, task in plan.tasks.items()}
    constants = shared_constants(values, taken, variables)
    constants.bodies_of_builders, constants.builder_arguments = bodies, arguments
    return constants


def _builders(plan: Plan, constants: Constants) -> str:
    """The request builders of the step families: what their requests share, written once;
    each task passes its own values (see ``pipeglot.backends._python.sharing``)."""
    written: list[str] = []
    seen: set[str] = set()
    for name in plan.tasks:
        family = plan.families.get(name)
        if family is None or family.function in seen:
            continue
        seen.add(family.function)
        functions = [(item.function, item.parameters, False) for item in family.items]
        functions.append((family.function, family.parameters, True))
        for function, parameters, as_text in functions:
            doc = constants.doc(constants.bodies_of_builders[function], inline=True)
            if as_text:  # a request travels as JSON text
                doc = Group("json.dumps(", (doc,), ")")
            head = f"def {function}({', '.join(parameters)}):"
            if len(head) > LINE_LENGTH:
                head = "\n".join([f"def {function}(", *(f"    {p}," for p in parameters), "):"])
            written.append(f"{head}\n    return " + render(doc, 1, len("return ")))
    if not written:
        return ""
    return "# --- Request builders: what a family of steps' requests share ---\n\n\n" + (
        "\n\n\n".join(written)
    )


def _reference_block(constants: Constants) -> str:
    """The step properties the requests read, each named once (the components resolve them
    from the results of the steps their tasks receive)."""
    lines = ["# --- What the tasks read from earlier steps' results ---"]
    for reference, name in constants.references.items():
        head = f"{name} = "
        lines.append(head + render(reference_doc(reference), 0, len(head)))
    return "\n".join(lines)


def _constant_block(constants: Constants) -> str:
    lines = ["# --- Values several steps share ---"]
    for name, value in constants.bodies.items():
        head = f"{name} = "
        text = render(constants.doc(value, inline=True), 0, len(head))
        if len(head) + len(text) > LINE_LENGTH and "\n" not in text and len(text) <= 96:
            text = f"(\n    {text}\n)"  # as ruff writes a long string that fits wrapped
        lines.append(head + text)
    return "\n".join(lines)
