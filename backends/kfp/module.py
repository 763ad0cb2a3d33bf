"""Assembling the generated file: header, constants, runtime functions, components, pipeline
and the ``__main__`` block that compiles it."""

from __future__ import annotations

from collections.abc import Callable

from pipeglot.backends._python import file_header, mark_long_lines, render, string_literal
from pipeglot.backends.kfp.components import component, runtime_functions, runtime_list_name
from pipeglot.backends.kfp.hoist import Constants, shared_constants
from pipeglot.backends.kfp.kinds import runtime_sources
from pipeglot.backends.kfp.pipeline import pipeline
from pipeglot.backends.kfp.plan import MODULE_NAMES, Plan

TITLE = "Kubeflow Pipelines v2 pipeline translated by pipeglot from a SageMaker pipeline."
FALLBACK_COMMAND = "pipeglot translate SOURCE --to kfp -o THIS_FILE.py"
MODULE_CONSTANTS = ("PIPELINE_NAME", "BASE_IMAGE", "PACKAGES")
_ABOUT = """\
# Each SageMaker step is one task whose display name is the step's name, made from the
# reusable component of its kind below. Job components create the SageMaker resource from the
# task's request under a new name per attempt and wait for it. The pods need AWS credentials
# (for example IRSA on the run's service account) and AWS_DEFAULT_REGION.
# Run `python THIS_FILE.py [OUTPUT.yaml]` to compile it."""

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
    defined = [name for name in runtime_sources() if any(name in f for f in functions.values())]
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
    if constants.bodies:
        parts.append(_constant_block(constants))
    parts.append("# --- Runs inside the components (standard library and boto3 only) ---")
    parts.extend(runtime_sources()[name] for name in defined)
    lists = [render_list(runtime_list_name(use), functions[use.component.name]) for use in uses]
    parts.append("\n".join(lists))
    parts.append("# --- One reusable component per kind of step ---")
    parts.extend(component(plan, use) for use in uses)
    parts.append(pipeline(plan, constants))
    parts.extend(part for extension in EXTENSIONS if (part := extension(plan)) is not None)
    parts.append(_MAIN)
    # One blank line after the docstring and after the imports, two between the rest.
    head = "\n\n".join(parts[:3])
    return mark_long_lines(head + "\n\n\n" + "\n\n\n".join(parts[3:]) + "\n")


def render_list(name: str, items: tuple[str, ...]) -> str:
    from pipeglot.backends._python import Atom, Group

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
    requests = [
        (name, value)
        for name, task in plan.tasks.items()
        for value in (task.request, task.check)
        if value is not None
    ]
    taken = (*MODULE_NAMES, *MODULE_CONSTANTS, *(f"{u.upper()}_RUNTIME" for u in plan.uses))
    return shared_constants(requests, taken)


def _constant_block(constants: Constants) -> str:
    lines = ["# --- Values several steps share ---"]
    for name, value in constants.bodies.items():
        head = f"{name} = "
        lines.append(head + render(constants.doc(value, inline=True), 0, len(head)))
    return "\n".join(lines)
