"""A test-only writer that reports every Fail step as unsupported and every Condition as
approximated, to exercise the ledger and the --unsupported levels end to end through the CLI.
It stands in for no real tool; real backends are tested against their real targets."""

from __future__ import annotations

from pipeglot.diagnostics import Diagnostics
from pipeglot.ir import StepKind, Workflow

EXTENSION = ".txt"


def export(workflow: Workflow, *, diagnostics: Diagnostics) -> str:
    lines = []
    for step in workflow.steps:
        if step.kind is StepKind.FAIL:
            diagnostics.unsupported("test.fail", "Fail steps have no equivalent here", step.name)
            lines.append(f"PLACEHOLDER {step.name}")
        else:
            if step.kind is StepKind.CONDITION:
                diagnostics.approximated("test.condition", "evaluated eagerly", step.name)
            lines.append(step.name)
    return "\n".join(lines) + "\n"
