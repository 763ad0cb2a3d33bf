"""The dispatch table: the reusable component each step kind becomes, and the runtime it runs.

Every kind pipeglot translates has one component per generated file (defined once, used by
every task of that kind); SageMaker job kinds share ``run_sagemaker_job`` and differ only in
the API facts their component passes it, read from ``pipeglot.ir.sagemaker``. Unknown step types
become a placeholder task that fails the run when it is reached, with the reason given here.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pipeglot.backends._python import string_literal
from pipeglot.ir.expressions import NAME_KEYED_LISTS
from pipeglot.ir.model import StepKind


@dataclass(frozen=True, slots=True)
class Component:
    """One reusable component: its function name, the runtime function it calls, and the
    first line of its docstring."""

    name: str
    entry: str
    summary: str


def _job(name: str, what: str) -> Component:
    return Component(name, "run_sagemaker_job", what)


_HANDLED: dict[StepKind, Component] = {
    StepKind.PROCESSING: _job("processing_job", "A SageMaker processing job."),
    StepKind.TRAINING: _job("training_job", "A SageMaker training job."),
    StepKind.TRANSFORM: _job("transform_job", "A SageMaker batch transform job."),
    StepKind.TUNING: _job("tuning_job", "A SageMaker hyperparameter tuning job."),
    StepKind.AUTOML: _job("automl_job", "A SageMaker AutoML job."),
    StepKind.MODEL: _job("model", "A SageMaker model."),
    StepKind.REGISTER_MODEL: _job("model_package", "A model package in the model registry."),
    StepKind.ENDPOINT_CONFIG: _job("endpoint_config", "A SageMaker endpoint configuration."),
    StepKind.ENDPOINT: _job("endpoint", "A SageMaker endpoint, waited for until in service."),
    StepKind.INFERENCE_COMPONENT: _job(
        "inference_component", "A SageMaker inference component, waited for until in service."
    ),
    StepKind.QUALITY_CHECK: _job(
        "quality_check", "A QualityCheck step's processing job and its baselines."
    ),
    StepKind.CLARIFY_CHECK: _job(
        "clarify_check", "A ClarifyCheck step's processing job and its baselines."
    ),
    StepKind.LAMBDA: Component("lambda_function", "run_lambda_step", "A Lambda function call."),
    StepKind.CALLBACK: Component(
        "callback",
        "run_callback_step",
        "A Callback step: send its SQS message, wait for the answer.",
    ),
    StepKind.EMR: Component("emr_step", "run_emr_step", "An EMR step, on a cluster or a new one."),
    StepKind.EMR_SERVERLESS: Component(
        "emr_serverless_job", "run_emr_serverless_step", "An EMR Serverless job run."
    ),
    StepKind.LINEAGE: Component("lineage", "run_lineage_step", "SageMaker lineage entities."),
    # Not "condition": kfp names its dsl.If groups condition-1, condition-2..., and a second
    # task of a component called "condition" would be named condition-2 too (IndexError).
    StepKind.CONDITION: Component(
        "condition_step", "evaluate_conditions", "A Condition step: which branch runs."
    ),
    StepKind.FAIL: Component("fail", "fail_run", "A Fail step: end the run as failed."),
}
# A Function step and a Notebook job step run SageMaker training jobs.
_HANDLED[StepKind.FUNCTION] = _HANDLED[StepKind.TRAINING]
_HANDLED[StepKind.NOTEBOOK_JOB] = _HANDLED[StepKind.TRAINING]
HANDLED: Mapping[StepKind, Component] = MappingProxyType(_HANDLED)

UNTRANSLATED = Component(
    "untranslated_step", "untranslated", "A step pipeglot cannot translate: fails when reached."
)

# Kinds with no Kubeflow equivalent: a placeholder task fails the run when it is reached.
UNSUPPORTED: Mapping[StepKind, str] = MappingProxyType(
    {StepKind.UNKNOWN: "pipeglot does not know this step type; write a component for it by hand"}
)


def component_of(kind: StepKind) -> Component:
    return HANDLED.get(kind, UNTRANSLATED)


# The files whose functions run inside the components, in the order the generated file
# carries them.
RUNTIME_FILES = ("runtime.py", "runtime_services.py")


@functools.cache
def runtime_sources() -> dict[str, str]:
    """Each runtime function by name, as it is written in its file (in file order), then the
    one written from the IR's table: ``list_name_fields``."""
    sources = {}
    for file in RUNTIME_FILES:
        text = Path(__file__).with_name(file).read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef):
                sources[node.name] = ast.get_source_segment(text, node) or ""
    sources["list_name_fields"] = _list_name_fields()
    return sources


@functools.cache
def shipped_sources() -> dict[str, str]:
    """Each runtime function as the generated file writes it: its docstring becomes comment
    lines above it. kfp copies a component's functions into the spec once per task (from
    ``def`` on), so code that is not run stays out of every task's copy."""
    shipped = {}
    for name, source in runtime_sources().items():
        function = ast.parse(source).body[0]
        assert isinstance(function, ast.FunctionDef)
        docstring = ast.get_docstring(function)
        if docstring is None:
            shipped[name] = source
            continue
        first = function.body[0]
        lines = source.split("\n")
        body = lines[first.end_lineno :]
        if body and not body[0].strip():
            body = body[1:]
        comment = "\n".join(_comment(docstring.split("\n\n")[0]))
        shipped[name] = "\n".join([comment, *lines[: first.lineno - 1], *body])
    return shipped


def _comment(text: str) -> list[str]:
    """``text`` as ``#`` lines of at most 100 columns."""
    lines, line = [], "#"
    for word in text.split():
        if len(line) + 1 + len(word) > 100:
            lines.append(line)
            line = "#"
        line += " " + word
    return [*lines, line]


def _list_name_fields() -> str:
    entries = "".join(
        f"        {string_literal(name)}: {string_literal(field)},\n"
        for name, field in NAME_KEYED_LISTS.items()
    )
    return (
        "def list_name_fields():\n"
        '    """The lists of step properties that SageMaker indexes by a name field\n'
        '    (``Outputs[\'train\']`` is the output whose OutputName is train)."""\n'
        f"    return {{\n{entries}    }}"
    )


@functools.cache
def _calls() -> dict[str, tuple[str, ...]]:
    """The runtime functions each runtime function names, in file order."""
    sources = runtime_sources()
    calls = {}
    for name, code in sources.items():
        named = {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}
        calls[name] = tuple(other for other in sources if other in named and other != name)
    return calls


# Calls only some components make: (caller, callee) -> the feature that makes them happen.
DATA_CALLS: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("resolve", "json_get"): "json_get",
        ("run_sagemaker_job", "check_baselines"): "check",
        ("run_sagemaker_job", "tuning_summaries"): "tuning",
        ("run_sagemaker_job", "automl_reports"): "automl",
    }
)


def carried(roots: tuple[str, ...], features: frozenset[str]) -> tuple[str, ...]:
    """The runtime functions that ``roots`` can call, given ``features``, in file order."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for callee in _calls()[name]:
            feature = DATA_CALLS.get((name, callee))
            if feature is None or feature in features:
                stack.append(callee)
    return tuple(name for name in runtime_sources() if name in seen)
