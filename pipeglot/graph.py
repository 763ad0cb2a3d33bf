"""Drawing graphs: a small neutral drawing model, its Graphviz dot text, and SVG laid out by dot.

``pipeglot graph`` draws a workflow's DAG with it; ``pipeglot compare`` draws each target's
own structure (ASL states, Airflow tasks, KFP tasks) with the same model, so that every drawing
reads the same way: pipeline steps in solid boxes, helpers a target adds in grey dashed ones,
and steps whose translation differs filled in the colour of their worst ledger entry.

Layout is Graphviz's (``dot``), through the ``graphviz`` binding; the dot text written here is
deterministic, and so is the SVG once the version comment dot writes is removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeglot.errors import UsageError
from pipeglot.ir.graph import EdgeOrigin, build_graph
from pipeglot.ir.model import StepKind, Workflow


@dataclass(frozen=True, slots=True)
class Node:
    """One box. ``step`` names the pipeline step it stands for (None for a helper)."""

    id: str
    label: str
    step: str | None = None
    shape: str = "box"
    cluster: str | None = None
    status: str = "exact"  # the worst ledger fidelity of the step; see STATUS_STYLE
    tooltip: str = ""


@dataclass(frozen=True, slots=True)
class Cluster:
    """A box around nodes (a Condition branch, a Parallel branch, a KFP sub-DAG)."""

    id: str
    label: str
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class Line:
    """An arrow; ``kind`` picks its style from LINE_STYLE."""

    source: str
    target: str
    kind: str = "data"
    label: str = ""


@dataclass(frozen=True, slots=True)
class Drawing:
    title: str
    nodes: tuple[Node, ...]
    lines: tuple[Line, ...]
    clusters: tuple[Cluster, ...] = ()

    def step_nodes(self) -> tuple[Node, ...]:
        return tuple(node for node in self.nodes if node.step is not None)


# fill, border, border style
STATUS_STYLE: dict[str, tuple[str, str, str]] = {
    "exact": ("#ffffff", "#37474f", "solid"),
    "approximated": ("#fff3c4", "#b58900", "solid"),
    "dropped": ("#ffe0c2", "#cb4b16", "solid"),
    "unsupported": ("#ffd6d6", "#dc322f", "bold"),
    "helper": ("#f1f3f4", "#9aa0a6", "dashed"),
}
# colour, style, arrowhead
LINE_STYLE: dict[str, tuple[str, str, str]] = {
    "data": ("#455a64", "solid", "normal"),
    "depends_on": ("#455a64", "dashed", "normal"),
    "if": ("#2e7d32", "solid", "normal"),
    "else": ("#c62828", "solid", "normal"),
    "catch": ("#c62828", "dotted", "normal"),
    "helper": ("#9aa0a6", "solid", "normal"),
}
_ORIGIN_KIND = {
    EdgeOrigin.IF_BRANCH: "if",
    EdgeOrigin.ELSE_BRANCH: "else",
    EdgeOrigin.DATA: "data",
    EdgeOrigin.DEPENDS_ON: "depends_on",
}
_KIND_SHAPE = {StepKind.CONDITION: "diamond", StepKind.FAIL: "octagon"}


# --- The workflow's own DAG -----------------------------------------------------------------


def workflow_drawing(workflow: Workflow) -> Drawing:
    """The pipeline's DAG: a box per step, an arrow per edge, Condition branches as clusters.

    A pair of steps joined for several reasons (a data reference and DependsOn) gets one
    arrow, styled by the strongest reason: branch, then data, then DependsOn.
    """
    graph = build_graph(workflow)
    branch_cluster = _branch_clusters(workflow)
    nodes = tuple(
        Node(
            id=step.name,
            label=f"{step.name}\n{step.type_name}",
            step=step.name,
            shape=_KIND_SHAPE.get(step.kind, "box"),
            cluster=branch_cluster.get(step.name),
            tooltip=f"{step.name} ({step.type_name})",
        )
        for step in workflow.steps
    )
    lines = tuple(
        Line(source, target, _strongest(origins))
        for source, target, origins in graph.edges(data="origins")
    )
    clusters = tuple(
        Cluster(cluster_id, label, None) for cluster_id, label in _cluster_labels(workflow)
    )
    return Drawing(workflow.name or "pipeline", nodes, lines, clusters)


def _strongest(origins: tuple[EdgeOrigin, ...]) -> str:
    for origin in (EdgeOrigin.IF_BRANCH, EdgeOrigin.ELSE_BRANCH, EdgeOrigin.DATA):
        if origin in origins:
            return _ORIGIN_KIND[origin]
    return "depends_on"


def _branch_clusters(workflow: Workflow) -> dict[str, str]:
    """Each step nested in a Condition branch -> the id of that branch's cluster."""
    found = {}
    for step in workflow.steps:
        for child in step.if_steps:
            found[child] = f"{step.name}/if"
        for child in step.else_steps:
            found[child] = f"{step.name}/else"
    return found


def _cluster_labels(workflow: Workflow) -> list[tuple[str, str]]:
    labels = []
    for step in workflow.steps:
        if step.if_steps:
            labels.append((f"{step.name}/if", f"{step.name}: if true"))
        if step.else_steps:
            labels.append((f"{step.name}/else", f"{step.name}: else"))
    return labels


# --- dot ------------------------------------------------------------------------------------


def to_dot(drawing: Drawing, *, rankdir: str = "TB") -> str:
    """Graphviz dot text for ``drawing``; the same drawing always gives the same bytes."""
    out = [
        f"digraph {quote(drawing.title)} {{",
        f'  graph [rankdir={rankdir}, fontname="Helvetica", fontsize=11, nodesep=0.3, '
        'ranksep=0.35, tooltip=" "];',
        '  node [fontname="Helvetica", fontsize=10, style="filled,rounded", margin="0.12,0.04", '
        "height=0.3];",
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.6];',
    ]
    children: dict[str | None, list[Cluster]] = {}
    for cluster in drawing.clusters:
        children.setdefault(cluster.parent, []).append(cluster)
    members: dict[str | None, list[Node]] = {}
    for node in drawing.nodes:
        members.setdefault(node.cluster, []).append(node)
    out += _dot_scope(None, children, members, depth=1)
    out += [f"  {_dot_line(line)}" for line in drawing.lines]
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_scope(
    scope: str | None,
    children: dict[str | None, list[Cluster]],
    members: dict[str | None, list[Node]],
    depth: int,
) -> list[str]:
    pad = "  " * depth
    out = [pad + _dot_node(node) for node in members.get(scope, [])]
    for index, cluster in enumerate(children.get(scope, [])):
        out.append(f"{pad}subgraph {quote(f'cluster_{depth}_{index}_{cluster.id}')} {{")
        out.append(
            f'{pad}  graph [label={quote(cluster.label)}, style="rounded,dashed", '
            f'color="#90a4ae", fontcolor="#546e7a", tooltip={quote(cluster.label)}];'
        )
        out += _dot_scope(cluster.id, children, members, depth + 1)
        out.append(f"{pad}}}")
    return out


def _dot_node(node: Node) -> str:
    status = "helper" if node.step is None else node.status
    fill, border, border_style = STATUS_STYLE[status]
    style = "filled,rounded" if node.shape == "box" else "filled"
    if border_style != "solid":
        style += f",{border_style}"
    attributes = {
        "label": node.label,
        "shape": node.shape,
        "fillcolor": fill,
        "color": border,
        "style": style,
        "tooltip": node.tooltip or node.label,
    }
    if node.step is None:
        attributes["fontcolor"] = "#5f6368"
        attributes["fontsize"] = "9"
    return f"{quote(node.id)} [{_attributes(attributes)}];"


def _dot_line(line: Line) -> str:
    color, style, head = LINE_STYLE[line.kind]
    attributes = {"color": color, "style": style, "arrowhead": head}
    if line.label:
        attributes["label"] = line.label
        attributes["fontcolor"] = color
    return f"{quote(line.source)} -> {quote(line.target)} [{_attributes(attributes)}];"


def _attributes(attributes: dict[str, str]) -> str:
    return ", ".join(f"{key}={quote(value)}" for key, value in attributes.items())


def quote(text: str) -> str:
    """A dot double-quoted string; newlines become dot's centred line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


# --- SVG ------------------------------------------------------------------------------------

_XML_PROLOGUE = re.compile(r"<\?xml[^>]*>\s*|<!DOCTYPE[^>]*>\s*|<!-- Generated by [^>]*-->\s*")


def to_svg(drawing: Drawing, *, rankdir: str = "TB") -> str:
    """The drawing as an SVG document, laid out by Graphviz's dot.

    The prologue and dot's version comment are removed, so the text can be inlined in HTML
    and is the same on every machine with the same Graphviz.
    """
    return dot_to_svg(to_dot(drawing, rankdir=rankdir))


def dot_to_svg(dot_text: str) -> str:
    graphviz = _graphviz()
    try:
        svg = graphviz.Source(dot_text).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise UsageError(
            "drawing SVG needs Graphviz's dot program; install it (Debian: apt-get install "
            "graphviz, or `make system-tools`), or use --format dot or mermaid"
        ) from None
    return _XML_PROLOGUE.sub("", svg).strip() + "\n"


def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError:
        raise UsageError(
            "drawing SVG needs the graphviz Python package; pip install 'pipeglot[graph]'"
        ) from None
    return graphviz
