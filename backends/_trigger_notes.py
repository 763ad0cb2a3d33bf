"""Ledger entries for the trigger settings a writer does not carry, shared by the writers."""

from __future__ import annotations

from pipeglot.diagnostics import Diagnostics
from pipeglot.ir import triggers


def report_settings(
    trigger: triggers.Trigger, diagnostics: Diagnostics, code: str, *, carries_target: bool
) -> None:
    """``unmodeled`` settings are dropped everywhere; the target's retry policy and dead-letter
    queue too, unless the writer ``carries_target`` (an EventBridge resource of its own)."""
    settings = triggers.target_settings(trigger)
    if settings and not carries_target:
        diagnostics.dropped(
            f"{code}.target_settings",
            f"{triggers.label(trigger)}: {' and '.join(sorted(settings))} (how EventBridge "
            "retries starting the pipeline, where it sends what it could not start) have no "
            "equivalent here",
        )
    if trigger.unmodeled:
        diagnostics.dropped(
            f"{code}.trigger_settings",
            f"{triggers.label(trigger)}: {', '.join(trigger.unmodeled)} are not translated",
        )
