"""``pipeglot compare``: one pipeline translated to every target, side by side.

For each target: the ledger (what is exact, approximated and how, dropped, unsupported), the
figures that decide a choice (states or tasks, helpers, output size against the target's
limits, the critical path of the generated structure against the pipeline's own with unit
step durations), the Callback steps whose worker must change, and what runs each step there.
Rendered as JSON here, as text by ``compare_text`` and as one self-contained HTML page by
``compare_html``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeglot import shapes, shapes_asl
from pipeglot.api import dump
from pipeglot.diagnostics import Diagnostic, Diagnostics, Fidelity, UnsupportedLevel
from pipeglot.errors import UsageError
from pipeglot.formats import WRITERS, writer
from pipeglot.ir.graph import build_graph, edges
from pipeglot.ir.model import StepKind, Workflow

# Worst first is last: a cell shows the worst fidelity of its entries.
FIDELITY_RANK = {fidelity: rank for rank, fidelity in enumerate(Fidelity)}

# Step Functions quotas (docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html):
# a definition is at most 1 MB; an execution's history at most 25,000 events.
ASL_DEFINITION_BYTES = 1_048_576
ASL_HISTORY_EVENTS = 25_000
# The ledger code of the Step Functions lowering in which every step waits for its own
# dependencies only (--dag-lowering exact): its schedule is the pipeline's critical path.
EXACT_SCHEDULE = "asl.schedule.exact"
# Writers that draw a pipeline rather than run it: compared only when named with --to.
NOT_ORCHESTRATORS = frozenset({"mermaid"})


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    value: int
    limit: int
    unit: str
    note: str = ""

    @property
    def share(self) -> float:
        return self.value / self.limit


@dataclass(frozen=True, slots=True)
class TargetReport:
    """One target's translation. ``error`` is set when it could not be translated at all
    (a missing optional dependency); then only the error is reported."""

    target: str
    description: str
    size: int = 0
    entries: tuple[Diagnostic, ...] = ()
    shape: shapes.Shape | None = None
    shape_note: str = ""
    limits: tuple[Limit, ...] = ()
    error: str | None = None

    def count(self, fidelity: Fidelity) -> int:
        return sum(1 for entry in self.entries if entry.fidelity is fidelity)

    def steps_with_entries(self) -> int:
        return len(
            {
                e.step
                for e in self.entries
                if e.step is not None and e.fidelity is not Fidelity.EXACT
            }
        )

    def step_status(self) -> dict[str, str]:
        """Each step with a ledger entry -> its worst fidelity's name."""
        return _worst_by_step(self.entries)


@dataclass(frozen=True, slots=True)
class Report:
    workflow: Workflow
    source: str
    targets: tuple[TargetReport, ...]
    critical_path: int  # the pipeline's own, unit step durations
    edge_count: int

    def callback_steps(self) -> list[str]:
        return [s.name for s in self.workflow.steps if s.kind is StepKind.CALLBACK]


def parse_targets(text: str | None) -> tuple[str, ...]:
    """``--to a,b``; every output format when not given. Unknown names are a UsageError."""
    if text is None:
        return tuple(name for name in WRITERS if name not in NOT_ORCHESTRATORS)
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names:
        raise UsageError("--to needs at least one format, e.g. --to asl,airflow")
    for name in names:
        if name not in WRITERS:
            writer(name)  # raises the UsageError that lists the known formats
    return names


def compare(
    workflow: Workflow,
    targets: Iterable[str],
    *,
    source: str = "",
    options: dict[str, dict[str, Any]] | None = None,
) -> Report:
    """Translate ``workflow`` to each target, with placeholders for unsupported constructs
    (``--unsupported warn``), and gather what the report shows. ``options`` holds each
    target's writer options (``{"asl": {"dag_lowering": "exact"}}``)."""
    texts: dict[str, str] = {}
    given = options or {}
    reports = [_translate(workflow, t, texts, given.get(t, {})) for t in targets]
    steps = frozenset(step.name for step in workflow.steps)
    graph = build_graph(workflow)
    critical = shapes.longest_chain(graph, dict.fromkeys(graph.nodes, 1))
    context = _Context(workflow, steps, texts, given, critical)
    reports = [_with_shape(report, context) for report in reports]
    return Report(workflow, source, tuple(reports), critical, len(edges(workflow)))


def _translate(
    workflow: Workflow, target: str, texts: dict[str, str], options: dict[str, Any]
) -> TargetReport:
    description = WRITERS[target].description
    ledger = Diagnostics()
    try:
        text = dump(
            workflow,
            write=target,
            unsupported=UnsupportedLevel.WARN,
            diagnostics=ledger,
            **options,
        )
    except UsageError as error:  # e.g. kfp-yaml without kfp installed; a bug still raises
        return TargetReport(target, description, error=str(error))
    texts[target] = text
    return TargetReport(target, description, size=len(text.encode("utf-8")), entries=tuple(ledger))


@dataclass(frozen=True, slots=True)
class _Context:
    """What drawing a target needs besides its own output."""

    workflow: Workflow
    steps: frozenset[str]
    texts: dict[str, str]  # each translated target's output
    options: dict[str, dict[str, Any]]  # each target's writer options
    critical_path: int  # the pipeline's own, unit durations


def _with_shape(report: TargetReport, context: _Context) -> TargetReport:
    if report.error is not None:
        return report
    shape, note = _shape(report.target, context, report.step_status())
    if shape is not None and any(e.code == EXACT_SCHEDULE for e in report.entries):
        # Runner executions started per step are not in the static structure; the backend
        # records that every step starts when its own dependencies are done.
        shape = dataclasses.replace(shape, critical_path=context.critical_path)
        note = f"critical path as the backend records it ({EXACT_SCHEDULE})"
    return dataclasses.replace(report, shape=shape, shape_note=note, limits=_limits(report, shape))


def _shape(
    target: str, context: _Context, status: dict[str, str]
) -> tuple[shapes.Shape | None, str]:
    """The target's structure drawn from its own output (a KFP pipeline from its compiled
    spec), or None for a target that has no structure of its own to draw."""
    text = context.texts[target]
    steps = context.steps
    if target in ("asl", "asl-cloudformation"):
        machines = shapes_asl.asl_machines(text)
        if not machines:
            return None, "the template holds no inline state machine definition to draw"
        return shapes_asl.asl_shape(machines, steps, status), ""
    if target == "airflow":
        return shapes.airflow_shape(text, steps, status), ""
    if target.startswith("sagemaker"):
        return shapes.workflow_shape(context.workflow), "the pipeline itself, as SageMaker runs it"
    if target == "kfp-yaml":
        return shapes.kfp_shape(text, steps, status), ""
    if target == "kfp":
        options = context.options.get("kfp", {})
        same = "kfp-yaml" in context.texts and options == context.options.get("kfp-yaml", {})
        spec = context.texts["kfp-yaml"] if same else _compiled_kfp(context.workflow, options)
        if spec is None:
            return None, "drawing the KFP pipeline needs kfp installed (to compile it)"
        return shapes.kfp_shape(spec, steps, status), "drawn from the spec kfp compiles it to"
    return None, ""


def _compiled_kfp(workflow: Workflow, options: dict[str, Any]) -> str | None:
    """The kfp Python file compiled by kfp (the kfp-yaml writer does exactly that)."""
    try:
        return dump(workflow, write="kfp-yaml", unsupported=UnsupportedLevel.IGNORE, **options)
    except UsageError:  # kfp is not installed
        return None


def _limits(report: TargetReport, shape: shapes.Shape | None) -> tuple[Limit, ...]:
    """Step Functions quotas, measured on each state machine of the output."""
    if shape is None or shape.largest_definition is None or shape.history_events is None:
        return ()
    machine, size = shape.largest_definition
    where = f"state machine {machine}, the largest; " if machine else ""
    return (
        Limit("definition size", size, ASL_DEFINITION_BYTES, "bytes", f"{where}compact JSON"),
        Limit(
            "history events per execution (estimate)",
            shape.history_events,
            ASL_HISTORY_EVENTS,
            "events",
            "every state once, no retries or polling rounds",
        ),
    )


def _worst_by_step(entries: Iterable[Diagnostic]) -> dict[str, str]:
    worst: dict[str, Fidelity] = {}
    for entry in entries:
        if entry.step is None:
            continue
        known = worst.get(entry.step)
        if known is None or FIDELITY_RANK[entry.fidelity] > FIDELITY_RANK[known]:
            worst[entry.step] = entry.fidelity
    return {step: fidelity.value for step, fidelity in worst.items()}


def worst(fidelities: Iterable[Fidelity]) -> Fidelity:
    return max(fidelities, key=FIDELITY_RANK.__getitem__, default=Fidelity.EXACT)


NOT_EXACT = (Fidelity.APPROXIMATED, Fidelity.DROPPED, Fidelity.UNSUPPORTED)
SUMMARY_COLUMNS = (
    "target",
    "structure",
    "critical path",
    "size",
    "steps exact",
    "approximated",
    "dropped",
    "unsupported",
)


# --- Tables the renderers share -------------------------------------------------------------


def construct(code: str) -> str:
    """A ledger code without its target prefix, so that targets line up: ``asl.fail`` and
    ``airflow.fail`` are both ``fail``."""
    _, _, rest = code.partition(".")
    return (rest or code).replace("_", "-")


def step_type_rows(report: Report) -> list[dict[str, Any]]:
    """Per step type: how many steps, and per target the worst fidelity and steps affected."""
    by_type: dict[str, list[str]] = {}
    for step in report.workflow.steps:
        by_type.setdefault(step.type_name, []).append(step.name)
    rows = []
    for type_name in sorted(by_type):
        names = set(by_type[type_name])
        cells = {}
        for target in report.targets:
            if target.error is not None:
                continue
            hits = [e for e in target.entries if e.step in names]
            cells[target.target] = {
                "fidelity": worst(e.fidelity for e in hits).value,
                "steps": len({e.step for e in hits}),
                "codes": sorted({e.code for e in hits}),
            }
        rows.append({"type": type_name, "count": len(names), "targets": cells})
    return rows


def construct_rows(report: Report) -> list[dict[str, Any]]:
    """Per construct (ledger code without its target prefix), per target: worst fidelity,
    the steps it concerns and one message."""
    rows: dict[str, dict[str, Any]] = {}
    for target in report.targets:
        for entry in target.entries:
            if entry.fidelity is Fidelity.EXACT:
                continue
            row = rows.setdefault(construct(entry.code), {})
            cell = row.setdefault(
                target.target,
                {"fidelity": entry.fidelity, "steps": [], "message": entry.message},
            )
            if FIDELITY_RANK[entry.fidelity] > FIDELITY_RANK[cell["fidelity"]]:
                cell["fidelity"], cell["message"] = entry.fidelity, entry.message
            if entry.step is not None:
                cell["steps"].append(entry.step)
    return [
        {
            "construct": name,
            "targets": {
                target: {**cell, "fidelity": cell["fidelity"].value}
                for target, cell in rows[name].items()
            },
        }
        for name in sorted(rows)
    ]


def callback_rows(report: Report) -> list[dict[str, Any]]:
    """Each Callback step and, per target, what its worker must do differently there."""
    rows = []
    for step in report.callback_steps():
        cells = {}
        for target in report.targets:
            notes = [e.message for e in target.entries if e.step == step]
            cells[target.target] = notes
        rows.append({"step": step, "targets": cells})
    return rows


def missing_steps(report: Report, target: TargetReport) -> list[str]:
    """Steps with no node of their name in the target's drawing (the naming contract)."""
    if target.shape is None:
        return []
    drawn = {node.step for node in target.shape.drawing.step_nodes()}
    return [step.name for step in report.workflow.steps if step.name not in drawn]


def to_json(report: Report) -> dict[str, Any]:
    workflow = report.workflow
    return {
        "pipeline": {
            "name": workflow.name,
            "source": report.source,
            "steps": len(workflow.steps),
            "edges": report.edge_count,
            "parameters": len(workflow.parameter_list),
            "critical_path": report.critical_path,
        },
        "targets": [_target_json(report, target) for target in report.targets],
        "step_types": step_type_rows(report),
        "constructs": construct_rows(report),
        "callback_steps": callback_rows(report),
    }


def _target_json(report: Report, target: TargetReport) -> dict[str, Any]:
    out: dict[str, Any] = {"target": target.target, "description": target.description}
    if target.error is not None:
        out["error"] = target.error
        return out
    out["size_bytes"] = target.size
    out["ledger"] = {f.value: target.count(f) for f in Fidelity}
    if target.shape is not None:
        shape = target.shape
        out["structure"] = {
            "unit": shape.unit,
            "total": shape.total,
            "steps": shape.total - shape.helpers,
            "helpers": shape.helpers,
            "critical_path": shape.critical_path,
            "pipeline_critical_path": report.critical_path,
        }
        if shape.note:
            out["structure"]["note"] = shape.note
        out["runs"] = dict(sorted(shape.runs.items()))
        out["missing_steps"] = missing_steps(report, target)
    if target.shape_note:
        out["structure_note"] = target.shape_note
    out["limits"] = [
        {"name": x.name, "value": x.value, "limit": x.limit, "unit": x.unit, "note": x.note}
        for x in target.limits
    ]
    out["entries"] = [
        {"fidelity": e.fidelity.value, "code": e.code, "step": e.step, "message": e.message}
        for e in target.entries
    ]
    return out


def structure_text(shape: shapes.Shape) -> str:
    text = f"{shape.total} {shape.unit} ({shape.helpers} helpers)"
    return f"{text}; {shape.note}" if shape.note else text


def runs_columns(report: Report) -> list[tuple[str, dict[str, str], TargetReport]]:
    """What runs each step, one column per distinct answer: targets that run every step the
    same way (asl and asl-cloudformation) share a column, headed by all their names."""
    columns: dict[tuple[tuple[str, str], ...], list[TargetReport]] = {}
    for target in report.targets:
        if target.shape is not None:
            key = tuple(sorted(target.shape.runs.items()))
            columns.setdefault(key, []).append(target)
    return [
        (", ".join(t.target for t in group), dict(key), group[0]) for key, group in columns.items()
    ]


def render(report: Report, fmt: str) -> str:
    """The report as ``text``, ``json`` or ``html``."""
    if fmt == "json":
        import json

        return json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        from pipeglot.compare_html import to_html

        return to_html(report)
    from pipeglot.compare_text import to_text

    return to_text(report)
