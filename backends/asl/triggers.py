"""The workflow's triggers on Step Functions: EventBridge resources in ``asl-cloudformation``
(see ``pipeglot.backends._eventbridge_cfn``), a ledger entry in plain ``asl``, which is only
the state machine definition and has no place for them."""

from __future__ import annotations

from typing import Any

from pipeglot.backends import _eventbridge_cfn
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir import triggers
from pipeglot.ir.model import Workflow

# The template's state machine resource; Ref gives its ARN.
_STATE_MACHINE = {"Ref": "StateMachine"}


def add_triggers(
    template: dict[str, Any], workflow: Workflow, diagnostics: Diagnostics
) -> dict[str, Any]:
    """``template`` with a Scheduler schedule or an EventBridge rule per trigger, each
    starting the state machine with the trigger's parameters as the execution input."""
    target = _eventbridge_cfn.Target("states", _STATE_MACHINE, "asl-cloudformation")
    return _eventbridge_cfn.add_triggers(template, workflow, diagnostics, target)


def report_not_carried(workflow: Workflow, diagnostics: Diagnostics) -> None:
    """A state machine definition holds no trigger: say so, and where they are kept."""
    for trigger in workflow.triggers:
        diagnostics.dropped(
            "asl.trigger",
            f"{triggers.label(trigger)} is not part of a state machine definition; use "
            "--to asl-cloudformation to get it as an EventBridge resource starting the machine",
        )
