"""Backend for Kubeflow Pipelines v2: a standalone kfp Python pipeline file (``--to kfp``).

Each SageMaker step becomes one lightweight Python component and one task with the step's name
as display name. Job steps create their SageMaker resource with boto3 from the source request,
under a fresh unique name, wait for it and fail when it fails; they return the properties later
steps read. Request bodies travel as data (``REQUESTS``), with SageMaker's expressions left in
place and evaluated inside the component.

The package, in the order a translation uses it:

- ``kinds.py``: the dispatch table (what each step kind becomes, or why it is unsupported);
- ``plan.py``: one task per step, its names, inputs and read properties (``values.py`` reads
  expressions, ``layout.py`` places tasks in ``dsl.If``/``dsl.Else`` blocks, ``notes.py``
  records every difference in the ledger);
- ``module.py``: writes the file, with ``components.py`` (one component per step),
  ``pipeline.py`` (the pipeline function, with ``task_settings.py`` for caching and retries)
  and ``source.py`` (the one literal serialiser and identifier sanitiser);
- ``runtime.py``: the code that runs inside the components, copied into every file;
- ``compiled.py``: ``--to kfp-yaml``, this file compiled by the real kfp compiler.
"""

from __future__ import annotations

from typing import Any

from pipeglot.backend import SOURCE_COMMAND, Option
from pipeglot.backends.kfp import schedule, source
from pipeglot.backends.kfp.kinds import HANDLED, RUNTIME_LISTS, UNSUPPORTED, Kind, runtime_sources
from pipeglot.backends.kfp.module import module
from pipeglot.backends.kfp.plan import plan
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.model import Workflow

__all__ = [
    "DEFAULT_BASE_IMAGE",
    "EXTENSION",
    "HANDLED",
    "OPTIONS",
    "RUNTIME_LISTS",
    "UNSUPPORTED",
    "Kind",
    "export",
    "runtime_sources",
    "source",
]

EXTENSION = ".py"
DEFAULT_BASE_IMAGE = "python:3.11-slim"
OPTIONS = (
    Option(
        "base_image",
        str,
        DEFAULT_BASE_IMAGE,
        "the container image the components run in (it needs Python 3 and pip)",
    ),
    SOURCE_COMMAND,
)


def export(
    workflow: Workflow,
    *,
    diagnostics: Diagnostics | None = None,
    base_image: str = DEFAULT_BASE_IMAGE,
    **options: Any,
) -> str:
    """Render ``workflow`` as a kfp v2 pipeline file; ``base_image`` runs the components."""
    ledger = Diagnostics() if diagnostics is None else diagnostics
    planned = plan(workflow, ledger, base_image)
    schedule.report(planned, ledger)  # the pipeline's triggers, if any
    return module(planned)
