"""Tasks as step handlers return them, and the task shapes several step families share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeglot.backends._python import Atom, Doc, Entry, Group, call, literal
from pipeglot.backends.airflow.sections import SAGEMAKER_OPERATORS
from pipeglot.ir.expressions import Value
from pipeglot.ir.model import Step

if TYPE_CHECKING:
    from pipeglot.backends.airflow.emitter import Emitter


@dataclass(frozen=True, slots=True)
class HelperRef:
    """A helper task that a step adds (task id ``pipeglot.<role>.<step task id>``)."""

    task_id: str
    variable: str


@dataclass(slots=True)
class HelperTask:
    """A helper task's operator and arguments (its task_id is added when it is written)."""

    ref: HelperRef
    operator: str
    arguments: dict[str, Doc]


@dataclass(slots=True)
class Task:
    """One task: the operator and its arguments (task_id and common arguments come first), and
    the module constants it reads, each as (suffix of the constant's name, value).

    ``setup`` runs before the step's task and receives the step's incoming edges; ``teardown``
    runs after it whatever happens (Airflow's setup/teardown), as SageMaker releases what a
    step created (an EMR cluster, an EMR Serverless application) also when the step fails."""

    operator: str
    arguments: dict[str, Doc]
    constants: list[tuple[str, Doc]] = field(default_factory=list)
    setup: HelperTask | None = None
    teardown: HelperTask | None = None


def step_arguments(step: Step) -> dict[str, Value]:
    """The step's Arguments as a dict (an absent or malformed body reads as empty)."""
    return step.arguments if isinstance(step.arguments, dict) else {}


def config_operator_task(
    emitter: Emitter, operator: str, step: Step, name_key: str | None, max_length: int = 63
) -> Task:
    """A provider SageMaker operator that takes the step's request as ``config``: from its
    family's request builder, with the step's own values, or from its REQUEST constant."""
    emitter.use(f"{SAGEMAKER_OPERATORS}.{operator}")
    family = emitter.families.get(step.name)
    if family is not None:
        section = "resolved" if name_key is None else "job_name"
        if section not in emitter.sections:
            emitter.need(section)
        family.name_key, family.max_length, family.used = name_key, max_length, True
        write = emitter.value
        own = tuple(
            [Entry(name, "=", write(value)) for name, value in family.arguments[step.name].items()]
        )
        return Task(operator, {"config": Group(f"{family.function}(", own, ")")})
    return Task(
        operator,
        {"config": request_callable(emitter, step, name_key, max_length)},
        constants=[("REQUEST", emitter.value(step_arguments(step)))],
    )


def request_callable(
    emitter: Emitter, step: Step, name_key: str | None, max_length: int = 63
) -> Doc:
    """The callable that builds the step's request (its REQUEST constant) at run time, with a
    job name unique per run and try under ``name_key`` when the request needs one."""
    constant = Atom(emitter.constant(step.name, "REQUEST"))
    if name_key is None:
        emitter.need("resolved")
        return call("resolved", constant)
    emitter.need("job_name")
    extra = {"max_length": Atom(str(max_length))} if max_length != 63 else {}
    return call("request_with_job_name", constant, literal(name_key), **extra)


def placeholder_task(emitter: Emitter, step: Step, reason: str) -> Task:
    """A visible stand-in for a step that cannot be translated: reported as unsupported, and
    failing with ``reason`` if it ever runs (the caller decides whether to fail the export)."""
    emitter.diagnostics.unsupported(
        f"airflow.{step.kind.value}",
        f"{reason}; the DAG has a placeholder task that fails when it runs",
        step.name,
    )
    emitter.need("unsupported")
    emitter.use_python_operator()
    return Task(
        "PythonOperator",
        {"python_callable": call("untranslated", literal(step.type_name), literal(reason))},
    )
