"""Backend for Amazon States Language: a STANDARD Step Functions state machine (JSONPath).

Each SageMaker step ``X`` becomes the state ``X`` (jobs as optimized ``.sync`` SageMaker
integrations, Conditions as Choice states, Fail steps as Fail states...); helper states start
with ``pipeglot.``. The DAG becomes nested Parallel states (``structure``), parameters come from
the execution input merged with their defaults (``machine``), and every difference from
SageMaker Pipelines is recorded in the diagnostics ledger.

JSONPath rather than JSONata: it is what moto's Step Functions engine executes, so the tests
run the generated machines, and statelint and asl-validator both check it fully.
"""

from __future__ import annotations

import json
from typing import Any

from pipeglot import provenance
from pipeglot.backend import SOURCE_COMMAND, Option
from pipeglot.backends import _json
from pipeglot.backends.asl import triggers as asl_triggers
from pipeglot.backends.asl.machine import build_definition
from pipeglot.backends.asl.steps import UNSUPPORTED as STEPS_UNSUPPORTED
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.model import Workflow

EXTENSION = ".json"
OPTIONS: tuple[Option, ...] = (
    Option(
        "dag_lowering",
        str,
        "series-parallel",
        "how a DAG that is not series-parallel becomes states: 'series-parallel' (nested "
        "Parallel states, one machine; some steps also wait for steps they do not depend on) "
        "or 'exact' (each step in its own execution of a runner machine, started as soon as "
        "its dependencies are done; see the README)",
        choices=("series-parallel", "exact"),
    ),
    SOURCE_COMMAND,
    provenance.PROVENANCE,
)
UNSUPPORTED = {kind: "no Step Functions state can run it" for kind in STEPS_UNSUPPORTED}


def export(workflow: Workflow, *, diagnostics: Diagnostics | None = None, **options: Any) -> str:
    """The state machine definition of ``workflow``, as pretty-printed JSON text."""
    ledger = Diagnostics() if diagnostics is None else diagnostics
    asl_triggers.report_not_carried(workflow, ledger)
    embed = options.pop(provenance.PROVENANCE.name, True)
    text = _json.dumps(definition(workflow, ledger, **options))
    return provenance.attach(workflow, text, write="asl", diagnostics=ledger, enabled=embed)


def files(text: str) -> list[tuple[str, str]]:
    """``-o DIR``: the output as files, one per state machine. A split pipeline (see the
    README) gives ``<machine>.json`` for each of its machines, in deploy order; one machine
    gives ``Main.json``."""
    document = json.loads(text)
    machines = document.get("StateMachines", {"Main": document})
    return [(f"{key}{EXTENSION}", _json.dumps(machine)) for key, machine in machines.items()]


def definition(workflow: Workflow, diagnostics: Diagnostics, **options: Any) -> dict[str, Any]:
    """The state machine definition as a dict."""
    dag_lowering = options.pop("dag_lowering", "series-parallel")
    source_command = options.pop(SOURCE_COMMAND.name, None)
    if options:
        raise TypeError(f"unknown asl options: {', '.join(sorted(options))}")
    return build_definition(workflow, diagnostics, OPTIONS[0].convert(dag_lowering), source_command)
