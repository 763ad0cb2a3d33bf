"""``pipeglot compare --format text``: the report as aligned tables for a terminal."""

from __future__ import annotations

from typing import Any

from pipeglot.compare import (
    NOT_EXACT,
    SUMMARY_COLUMNS,
    Report,
    TargetReport,
    callback_rows,
    construct_rows,
    runs_columns,
    step_type_rows,
    structure_text,
)
from pipeglot.diagnostics import Fidelity


def to_text(report: Report) -> str:
    workflow = report.workflow
    lines = [
        f"pipeline {workflow.name or '(unnamed)'} ({report.source}): {len(workflow.steps)} "
        f"steps, {report.edge_count} edges, critical path {report.critical_path} steps",
        "",
        _table(
            list(SUMMARY_COLUMNS),
            [_summary_row(report, target) for target in report.targets],
        ),
    ]
    lines += _limit_lines(report)
    lines += ["", "step types (worst per target; steps affected):"]
    names = [t.target for t in report.targets if t.error is None]
    rows = []
    for row in step_type_rows(report):
        cells = [_cell(row["targets"].get(name)) for name in names]
        rows.append([f"{row['type']} ({row['count']})", *cells])
    lines.append(_table(["step type", *names], rows))
    constructs = construct_rows(report)
    if constructs:
        lines += ["", "constructs that differ:"]
        rows = []
        for row in constructs:
            cells = [_construct_cell(row["targets"].get(name)) for name in names]
            rows.append([row["construct"], *cells])
        lines.append(_table(["construct", *names], rows))
    lines += _callback_lines(report)
    lines += _runs_lines(report)
    lines += _ledger_lines(report)
    return "\n".join(lines) + "\n"


def _summary_row(report: Report, target: TargetReport) -> list[str]:
    if target.error is not None:
        return [target.target, f"not translated: {target.error}", "", "", "", "", "", ""]
    shape = target.shape
    structure = structure_text(shape) if shape is not None else "-"
    critical = f"{shape.critical_path} (pipeline {report.critical_path})" if shape else "-"
    return [
        target.target,
        structure,
        critical,
        _size(target.size),
        f"{len(report.workflow.steps) - target.steps_with_entries()}/{len(report.workflow.steps)}",
        *(str(target.count(f)) for f in NOT_EXACT),
    ]


def _limit_lines(report: Report) -> list[str]:
    lines = []
    for target in report.targets:
        for limit in target.limits:
            note = f" ({limit.note})" if limit.note else ""
            lines.append(
                f"{target.target}: {limit.name} {limit.value:,} of {limit.limit:,} {limit.unit} "
                f"({limit.share:.1%}){note}"
            )
    return ["", *lines] if lines else []


def _callback_lines(report: Report) -> list[str]:
    rows = callback_rows(report)
    if not rows:
        return ["", "callback steps: none (no worker changes needed)"]
    lines = ["", "callback steps (their worker must change):"]
    for row in rows:
        lines.append(f"  {row['step']}:")
        for target, notes in row["targets"].items():
            lines += [f"    {target}: {note}" for note in notes] or [f"    {target}: no entry"]
    return lines


def _runs_lines(report: Report) -> list[str]:
    columns = runs_columns(report)
    if not columns:
        return []
    rows = [
        [step.name, *(runs.get(step.name, "-") for _, runs, _ in columns)]
        for step in report.workflow.steps
    ]
    header = ["step", *(names for names, _, _ in columns)]
    return ["", "what runs each step:", _table(header, rows)]


def _ledger_lines(report: Report) -> list[str]:
    lines = ["", "ledger:"]
    for target in report.targets:
        if target.error is not None:
            continue
        entries = [e for e in target.entries if e.fidelity is not Fidelity.EXACT]
        lines.append(f"  {target.target}: {len(entries) or 'nothing'} to note")
        lines += [f"    {entry.format()}" for entry in entries]
    return lines


def _cell(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "-"
    if cell["fidelity"] == Fidelity.EXACT.value:
        return "exact"
    return f"{cell['fidelity']} ({cell['steps']})" if cell["steps"] else cell["fidelity"]


def _construct_cell(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return ""
    steps = len(set(cell["steps"]))
    return f"{cell['fidelity']} ({steps})" if steps else cell["fidelity"]


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size >= 1024 else f"{size} B"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        out.append(
            "  "
            + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return "\n".join(out)
