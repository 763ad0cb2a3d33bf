"""Backend for Kubeflow Pipelines v2: a standalone kfp Python pipeline file (``--to kfp``).

Each SageMaker step kind the pipeline uses becomes one reusable lightweight Python component
(processing job, training job, model, Lambda function, Condition...), and each step one task of
its kind's component, with the step's name as display name, passing the step's request.
Job components create their SageMaker resource with boto3 from the request, under a fresh
unique name per attempt, wait for it, fail when it fails, and return its Describe* answer: the
step's properties, which later tasks receive as inputs. Requests keep SageMaker's expressions
(evaluated inside the component); values several steps share become named constants.

The package, in the order a translation uses it:

- ``kinds.py``: the dispatch table (the component of each step kind);
- ``plan.py``: one task per step, what it reads, and what each component needs (``values.py``
  writes requests, ``layout.py`` places tasks in ``dsl.If``/``dsl.Else`` blocks, ``notes.py``
  records every difference in the ledger);
- ``module.py``: writes the file, with ``hoist.py`` (shared constants, and one named constant
  per step property the requests read), ``components.py``
  (one component per kind), ``pipeline.py`` (the pipeline function, with
  ``task_settings.py`` for caching and retries), through ``pipeglot.backends._python``;
- ``runtime.py`` and ``runtime_services.py``: the code that runs inside the components,
  copied into every file;
- ``compiled.py``: ``--to kfp-yaml``, this file compiled by the real kfp compiler.
"""

from __future__ import annotations

from typing import Any

from pipeglot.backend import SOURCE_COMMAND, Option
from pipeglot.backends.kfp import schedule
from pipeglot.backends.kfp.kinds import HANDLED, UNSUPPORTED, Component, runtime_sources
from pipeglot.backends.kfp.module import EXTENSIONS, module
from pipeglot.backends.kfp.plan import plan
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.model import Workflow

__all__ = [
    "DEFAULT_BASE_IMAGE",
    "EXTENSION",
    "HANDLED",
    "OPTIONS",
    "TRANSLATES",
    "UNSUPPORTED",
    "Component",
    "export",
    "runtime_sources",
]

EXTENSION = ".py"
DEFAULT_BASE_IMAGE = "python:3.11-slim"
OPTIONS = (
    Option("base_image", str, DEFAULT_BASE_IMAGE, "the container image the components run in"),
    SOURCE_COMMAND,
)
TRANSLATES = frozenset(HANDLED)
if schedule.section not in EXTENSIONS:  # the recurring runs of a scheduled pipeline
    EXTENSIONS.append(schedule.section)


def export(
    workflow: Workflow,
    *,
    diagnostics: Diagnostics | None = None,
    base_image: str | None = None,
    source_command: str | None = None,
    **options: Any,
) -> str:
    """Render ``workflow`` as a kfp v2 pipeline file; ``base_image`` runs the components."""
    ledger = Diagnostics() if diagnostics is None else diagnostics
    planned = plan(workflow, ledger, base_image or DEFAULT_BASE_IMAGE)
    schedule.report(planned, ledger)  # the pipeline's triggers, if any
    return module(planned, source_command)
