"""Backend for Apache Airflow: one standalone DAG file per pipeline.

Each SageMaker step ``X`` becomes the task ``task_id="X"``, built on the SageMaker operators of
apache-airflow-providers-amazon. Requests are written as module constants equal to the source's
``Arguments``; expressions inside them (``Get``, ``Std:Join``, ``Std:JsonGet``) are small
run-time objects that the task evaluates when it starts, through a callable in the templated
field (see ``runtime.py``), so literal text is never rendered as Jinja. Every edge of the source
graph (DependsOn, data references, Condition branches) is an explicit ``>>``; a Condition is a
branch task, so the branch not taken and everything that depends on it are skipped.

Two profiles: Airflow 3 (default) and Airflow 2.10/2.11 (``airflow_version="2"``), which differ
only in import paths and in how retry backoff is written (``profiles.py``).

The modules: ``dag_file`` assembles the file; ``emitter`` holds what one file accumulates
(imports, runtime sections, names) and writes values; ``dag_arguments`` writes the DAG's and
every task's common arguments; ``dispatch`` maps each step kind to its handler in
``steps_sagemaker``, ``steps_control``, ``steps_lambda``, ``steps_emr``,
``steps_emr_serverless`` or ``steps_lineage``; ``tasks`` holds the task shapes they share
(setup and teardown helpers included); ``results`` says which step results later tasks can
read; ``sections`` says which parts of ``runtime.py`` a file carries; the one literal serialiser
and identifier sanitiser is ``pipeglot.backends._python``, shared with the KFP backend.
"""

from __future__ import annotations

from typing import Any

from pipeglot import provenance
from pipeglot.backend import SOURCE_COMMAND, Option
from pipeglot.backends.airflow import schedule
from pipeglot.backends.airflow.dag_file import write_dag_file
from pipeglot.backends.airflow.dispatch import HANDLERS, UNSUPPORTED
from pipeglot.backends.airflow.emitter import Emitter
from pipeglot.backends.airflow.profiles import PROFILES, Profile, profile_for
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.model import Workflow

__all__ = ["EXTENSION", "HANDLERS", "OPTIONS", "PROFILES", "UNSUPPORTED", "Profile", "export"]

EXTENSION = ".py"
OPTIONS = (
    Option(
        "airflow_version",
        str,
        "3",
        "the Airflow major version the DAG is for (2 means Airflow 2.10/2.11)",
        choices=("2", "3"),
    ),
    SOURCE_COMMAND,
    provenance.PROVENANCE,
)


def export(
    workflow: Workflow,
    *,
    diagnostics: Diagnostics | None = None,
    airflow_version: str | int = "3",
    source_command: str | None = None,
    **options: Any,
) -> str:
    """Render ``workflow`` as an Airflow DAG file (Python source text)."""
    profile = profile_for(airflow_version)
    ledger = Diagnostics() if diagnostics is None else diagnostics
    scheduled = schedule.scheduled_workflow(workflow, ledger)
    emitter = Emitter(scheduled, ledger, profile)
    text = write_dag_file(scheduled, ledger, profile, source_command, emitter)
    embed = options.pop(provenance.PROVENANCE.name, True)
    # The provenance block's DependsOn reads the transitive reduction the emitter found: the
    # same steps (scheduling changes only parameter defaults), so the same edges.
    reduced = emitter.reduced if scheduled.steps is workflow.steps else None
    return provenance.attach(
        workflow, text, write="airflow", diagnostics=ledger, enabled=embed, reduced=reduced
    )
