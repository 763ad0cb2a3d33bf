"""Lineage steps: a Python task that creates the step's lineage entities with the provider's
SageMakerHook (boto3), then adds its associations, and returns the ARNs for later steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeglot.backends._python import call
from pipeglot.backends.airflow.tasks import Task, request_callable, step_arguments
from pipeglot.ir.model import Step

if TYPE_CHECKING:
    from pipeglot.backends.airflow.emitter import Emitter

_LISTS = ("Actions", "Artifacts", "Contexts", "Associations")


def lineage(emitter: Emitter, step: Step) -> Task:
    emitter.need("lineage")
    emitter.use_python_operator()
    arguments = step_arguments(step)
    request = {key: value for key, value in arguments.items() if key in _LISTS}
    others = [key for key in arguments if key not in _LISTS]
    if others:
        emitter.diagnostics.dropped(
            "airflow.lineage",
            f"Lineage arguments {', '.join(others)} are not translated",
            step.name,
        )
    emitter.diagnostics.approximated(
        "airflow.lineage",
        "Lineage: an Action or Context whose name already exists is reused (its create call "
        "fails, and the task reads it by name); a {Name, Type} association end must name an "
        "entity of the same step; a task retry creates the Artifacts again",
        step.name,
    )
    return Task(
        "PythonOperator",
        {"python_callable": call("lineage", request_callable(emitter, step, None))},
        constants=[("REQUEST", emitter.value(request))],
    )
