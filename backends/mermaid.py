"""Backend for Mermaid: the pipeline's steps and edges as a flowchart, for READMEs and reviews.

The smallest complete writer, and the example ``docs/contributing-backends.md`` walks through.
It draws the transitive reduction of the step graph (``ir.graph.reduced_edges``), so an edge
that another path already implies is not drawn. Conditions are diamonds whose outgoing edges say
``if`` or ``else``; Fail steps are drawn as end points. Node ids are generated (``s1``, ``s2``...)
and every label is quoted and escaped, so no step name can break the diagram.
"""

from __future__ import annotations

from pipeglot.backend import Option
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.graph import EdgeOrigin, reduced_edges
from pipeglot.ir.model import Step, StepKind, Workflow

EXTENSION = ".mmd"
OPTIONS = (
    Option(
        "direction",
        str,
        "TD",
        "the flowchart's direction: top-down (TD) or left-right (LR)",
        choices=("TD", "LR"),
    ),
)
# Every step is a node: nothing is unsupported, unknown step types included.
UNSUPPORTED: dict[StepKind, str] = {}

# Node shapes by kind: (opening, closing) brackets of Mermaid's flowchart syntax.
_SHAPES: dict[StepKind, tuple[str, str]] = {
    StepKind.CONDITION: ("{", "}"),
    StepKind.FAIL: ("([", "])"),
}
_DEFAULT_SHAPE = ("[", "]")
_EDGE_LABELS = {EdgeOrigin.IF_BRANCH: "if", EdgeOrigin.ELSE_BRANCH: "else"}


def export(
    workflow: Workflow, *, diagnostics: Diagnostics | None = None, direction: str = "TD"
) -> str:
    """The flowchart of ``workflow`` (Mermaid text)."""
    ids = {step.name: f"s{number}" for number, step in enumerate(workflow.steps, start=1)}
    lines = [f"flowchart {direction}"]
    lines += [f"    {ids[step.name]}{_node(step)}" for step in workflow.steps]
    for edge in reduced_edges(workflow):
        label = _EDGE_LABELS.get(edge.origin)
        arrow = f"-->|{label}|" if label else "-->"
        lines.append(f"    {ids[edge.source]} {arrow} {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _node(step: Step) -> str:
    opening, closing = _SHAPES.get(step.kind, _DEFAULT_SHAPE)
    label = f"{_escape(step.name)}<br/><i>{_escape(step.type_name or step.kind.value)}</i>"
    return f'{opening}"{label}"{closing}'


def _escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label: quotes, markup and newlines as entity codes."""
    return "".join(_ENTITIES.get(char, char) for char in text)


_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "\n": "#10;"}
