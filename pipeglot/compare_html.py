"""``pipeglot compare --format html``: one self-contained page for a migration decision.

No network access is needed to open it: styles, the few lines of script (zoom, find a step)
and every drawing (inline SVG laid out by Graphviz) are in the file. Every value from the
pipeline goes through ``html.escape``; the SVG text comes from Graphviz, which escapes labels.

Large pipelines stay readable: drawings scale to the page width and can be shown at full size
in a scrolling frame, long tables fold into ``<details>``, and ledger entries with the same code
are grouped with the steps they concern.
"""

from __future__ import annotations

import html
import re
from typing import Any

from pipeglot.compare import (
    NOT_EXACT,
    SUMMARY_COLUMNS,
    Report,
    TargetReport,
    callback_rows,
    construct_rows,
    missing_steps,
    runs_columns,
    step_type_rows,
    structure_text,
)
from pipeglot.diagnostics import Diagnostic, Fidelity
from pipeglot.graph import STATUS_STYLE, to_svg
from pipeglot.shapes import Shape

# Construct cells show this much of the message; hovering shows all of it.
MESSAGE_PREVIEW = 140
# Tables longer than this start folded.
FOLD_ROWS = 30
# Drawings with more nodes than this start at page width rather than full size.
LARGE_DRAWING = 60
_SVG_ID = re.compile(r'\bid="')


def to_html(report: Report) -> str:
    workflow = report.workflow
    title = f"pipeglot compare: {workflow.name or 'pipeline'}"
    body = [
        _header(report),
        _summary(report),
        _legend(),
        _matrices(report),
        _callbacks(report),
        _runs(report),
        *(_target_section(report, index, t) for index, t in enumerate(report.targets)),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>\n{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>\n{_SCRIPT}</script>\n</body>\n</html>\n"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


# --- Header and summary ---------------------------------------------------------------------


def _header(report: Report) -> str:
    workflow = report.workflow
    facts = [
        f"{len(workflow.steps)} steps",
        f"{report.edge_count} edges",
        f"{len(workflow.parameter_list)} parameters",
        f"critical path {report.critical_path} steps (unit durations)",
    ]
    targets = ", ".join(t.target for t in report.targets)
    return (
        f"<header><h1>{_e(workflow.name or 'pipeline')}</h1>"
        f"<p class=sub>Source <code>{_e(report.source)}</code> · {_e(' · '.join(facts))}</p>"
        f"<p class=sub>Translated to {_e(targets)} with <code>--unsupported warn</code>: "
        "an unsupported construct becomes a visible placeholder and is listed here.</p>"
        '<nav><a href="#summary">Summary</a> <a href="#constructs">Constructs</a> '
        '<a href="#callbacks">Callback steps</a> <a href="#runs">What runs where</a> '
        + " ".join(
            f'<a href="#target-{i}">{_e(t.target)}</a>' for i, t in enumerate(report.targets)
        )
        + "</nav></header>"
    )


def _summary(report: Report) -> str:
    rows = [_summary_row(report, target) for target in report.targets]
    head = "".join(f"<th>{_e(c)}</th>" for c in (*SUMMARY_COLUMNS, "limits"))
    return (
        '<section id="summary"><h2>Summary</h2>'
        "<p class=note>Structure: the nodes each target runs (helpers are states or tasks the "
        "translation adds). Critical path: the longest chain of steps in the generated "
        "structure, every step taking one unit, against the pipeline's own; more means the "
        "target waits where SageMaker would not.</p>"
        f"<table class=summary><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></section>"
    )


def _summary_row(report: Report, target: TargetReport) -> str:
    name = f'<td><a href="#target-{report.targets.index(target)}">{_e(target.target)}</a></td>'
    if target.error is not None:
        error = _e(f"not translated: {target.error}")
        return f"<tr>{name}<td colspan=8 class=unsupported>{error}</td></tr>"
    shape = target.shape
    steps = len(report.workflow.steps)
    exact = steps - target.steps_with_entries()
    cells = [
        _e(structure_text(shape)) if shape else "&ndash;",
        _critical_cell(shape, report.critical_path),
        _e(_size(target.size)),
        _pill("exact" if exact == steps else "approximated", f"{exact}/{steps}"),
        *(_count_pill(target.count(f), f) for f in NOT_EXACT),
        _limits_cell(target),
    ]
    return f"<tr>{name}{''.join(f'<td>{cell}</td>' for cell in cells)}</tr>"


def _critical_cell(shape: Shape | None, pipeline: int) -> str:
    if shape is None:
        return "&ndash;"
    ratio = shape.critical_path / pipeline if pipeline else 1.0
    status = "exact" if shape.critical_path <= pipeline else "approximated"
    return (
        f'<span class="{status} pill" title="pipeline: {pipeline}">{shape.critical_path} '
        f"vs {pipeline}</span>" + (f" <small>({ratio:.2f}&times;)</small>" if ratio != 1 else "")
    )


def _pill(status: str, text: str) -> str:
    return f'<span class="{status} pill">{_e(text)}</span>'


def _count_pill(count: int, fidelity: Fidelity) -> str:
    status = fidelity.value if count else "exact"
    return f'<span class="{status} pill">{count}</span>'


def _limits_cell(target: TargetReport) -> str:
    if not target.limits:
        return "<small>no hard size limit checked</small>"
    parts = []
    for limit in target.limits:
        width = max(1.0, min(100.0, limit.share * 100))
        status = (
            "exact" if limit.share < 0.5 else "approximated" if limit.share < 1 else "unsupported"
        )
        parts.append(
            f'<div class=limit title="{_e(limit.note)}">{_e(limit.name)}: '
            f"{limit.value:,} / {limit.limit:,} {_e(limit.unit)} ({limit.share:.1%})"
            f'<div class=bar><div class="{status}" style="width:{width:.1f}%"></div></div></div>'
        )
    return "".join(parts)


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size >= 1024 else f"{size} B"


def _legend() -> str:
    items = [
        ("exact", "step translated exactly"),
        ("approximated", "translated with a difference"),
        ("dropped", "something of it has no effect"),
        ("unsupported", "placeholder: cannot be expressed"),
        ("helper", "helper the target adds"),
    ]
    swatches = "".join(
        f'<span class="swatch {status}"></span>{_e(text)} ' for status, text in items
    )
    return f'<p class="legend">{swatches}</p>'


# --- Construct matrices ---------------------------------------------------------------------


def _matrices(report: Report) -> str:
    names = [t.target for t in report.targets if t.error is None]
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    type_rows = []
    for row in step_type_rows(report):
        cells = "".join(_type_cell(row["targets"].get(n)) for n in names)
        type_rows.append(
            f"<tr><th>{_e(row['type'])} <small>&times;{row['count']}</small></th>{cells}</tr>"
        )
    construct_html = []
    for row in construct_rows(report):
        cells = "".join(_construct_cell(row["targets"].get(n)) for n in names)
        construct_html.append(f"<tr><th><code>{_e(row['construct'])}</code></th>{cells}</tr>")
    constructs = (
        f"<table class=matrix><thead><tr><th>construct</th>{head}</tr></thead><tbody>"
        + "".join(construct_html)
        + "</tbody></table>"
        if construct_html
        else "<p>Every construct is translated exactly by every target.</p>"
    )
    return (
        '<section id="constructs"><h2>Per construct and target</h2>'
        "<h3>Step types</h3><p class=note>The worst ledger entry of the steps of each type, "
        "and how many steps it concerns. Hover a cell for the codes.</p>"
        f"<table class=matrix><thead><tr><th>step type</th>{head}</tr></thead><tbody>"
        + "".join(type_rows)
        + "</tbody></table><h3>Constructs that differ</h3><p class=note>Ledger codes without "
        "their target prefix, so that targets line up, with what each target does differently "
        "(hover a cell for the whole message).</p>"
        + _fold(constructs, len(construct_html), "constructs")
        + "</section>"
    )


def _type_cell(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "<td>&ndash;</td>"
    fidelity = cell["fidelity"]
    text = fidelity if not cell["steps"] else f"{fidelity} ({cell['steps']})"
    return f'<td class="{fidelity}" title="{_e(", ".join(cell["codes"]))}">{_e(text)}</td>'


def _construct_cell(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return '<td class=none title="no entry">&ndash;</td>'
    steps = len(set(cell["steps"]))
    text = cell["fidelity"] + (f" ({steps} steps)" if steps else "")
    message = cell["message"]
    short = message if len(message) <= MESSAGE_PREVIEW else message[: MESSAGE_PREVIEW - 1] + "…"
    return (
        f'<td class="{cell["fidelity"]}" title="{_e(message)}"><b>{_e(text)}</b>'
        f"<br><small>{_e(short)}</small></td>"
    )


def _callbacks(report: Report) -> str:
    rows = callback_rows(report)
    if not rows:
        body = "<p>None: no step waits for an outside worker, so no worker needs to change.</p>"
    else:
        items = []
        for row in rows:
            notes = "".join(
                f"<li><b>{_e(target)}</b>: {_e('; '.join(notes) or 'no ledger entry')}</li>"
                for target, notes in row["targets"].items()
            )
            items.append(f"<li><code>{_e(row['step'])}</code><ul>{notes}</ul></li>")
        body = (
            "<p class=note>A Callback step sends a message and waits for a worker to report "
            "back; each target has its own way to report, so the worker must change.</p>"
            f"<ul>{''.join(items)}</ul>"
        )
    return f'<section id="callbacks"><h2>Callback steps</h2>{body}</section>'


def _runs(report: Report) -> str:
    columns = runs_columns(report)
    head = "".join(f"<th>{_e(names)}</th>" for names, _, _ in columns)
    statuses = [target.step_status() for _, _, target in columns]
    rows = []
    for step in report.workflow.steps:
        cells = []
        for (_, runs, _), status in zip(columns, statuses, strict=True):
            where = runs.get(step.name, "not found")
            cells.append(f'<td class="{status.get(step.name, "exact")}">{_e(where)}</td>')
        rows.append(
            f"<tr><th><code>{_e(step.name)}</code> <small>{_e(step.type_name)}</small></th>"
            f"{''.join(cells)}</tr>"
        )
    table = (
        f"<table class=matrix><thead><tr><th>step</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return (
        '<section id="runs"><h2>What runs where</h2><p class=note>The service integration, '
        "operator or container that executes each step in each target (targets that run "
        "every step the same way share a column).</p>"
        + _fold(table, len(rows), "steps")
        + "</section>"
    )


def _fold(content: str, rows: int, noun: str) -> str:
    if rows <= FOLD_ROWS:
        return content
    return f"<details><summary>{rows} {_e(noun)}: show all</summary>{content}</details>"


# --- One section per target -----------------------------------------------------------------


def _target_section(report: Report, index: int, target: TargetReport) -> str:
    head = f'<section class=target id="target-{index}"><h2>{_e(target.target)}</h2>'
    head += f"<p class=sub>{_e(target.description)}</p>"
    if target.error is not None:
        return (
            head + f'<p class="unsupported pill">not translated: {_e(target.error)}</p></section>'
        )
    return (
        head
        + '<div class="pair"><div class="drawing-frame">'
        + _drawing(report, index, target)
        + '</div><aside class="ledger">'
        + _ledger(target.entries)
        + "</aside></div></section>"
    )


def _drawing(report: Report, index: int, target: TargetReport) -> str:
    shape = target.shape
    if shape is None:
        return (
            f"<p class=note>{_e(target.shape_note or 'No structure to draw for this target.')}</p>"
        )
    svg = _SVG_ID.sub(f'id="t{index}-', to_svg(shape.drawing))
    missing = missing_steps(report, target)
    notes = []
    if target.shape_note:
        notes.append(_e(target.shape_note))
    if shape.note:
        notes.append(_e(shape.note))
    if missing:
        notes.append(
            f'<span class="unsupported pill">{len(missing)} steps not found by name</span> '
            + _e(", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""))
        )
    size = "fit" if len(shape.drawing.nodes) > LARGE_DRAWING else "natural"
    return (
        f'<div class="toolbar"><b>{shape.total} {_e(shape.unit)}</b>, {shape.helpers} helpers · '
        f"critical path {shape.critical_path} (pipeline {report.critical_path}) "
        '<button type="button" data-zoom="fit">fit width</button>'
        '<button type="button" data-zoom="full">full size</button>'
        '<input type="search" placeholder="find a step" aria-label="find a step"></div>'
        + (f"<p class=note>{' · '.join(notes)}</p>" if notes else "")
        + f'<div class="drawing {size}">{svg}</div>'
    )


def _ledger(entries: tuple[Diagnostic, ...]) -> str:
    groups: dict[tuple[str, str], list[Diagnostic]] = {}
    for entry in entries:
        if entry.fidelity is not Fidelity.EXACT:
            groups.setdefault((entry.fidelity.value, entry.code), []).append(entry)
    exact = [e for e in entries if e.fidelity is Fidelity.EXACT]
    notes = _exact_notes(exact)
    if not groups:
        return (
            "<h3>Ledger</h3><p>Nothing to note: every construct is translated exactly.</p>" + notes
        )
    rank = {f.value: i for i, f in enumerate(Fidelity)}
    parts = [f"<h3>Ledger <small>{sum(map(len, groups.values()))} entries</small></h3>"]
    for fidelity, code in sorted(groups, key=lambda key: (-rank[key[0]], key[1])):
        items = groups[(fidelity, code)]
        steps = sorted({e.step for e in items if e.step is not None})
        messages = list(dict.fromkeys(e.message for e in items))
        where = f" · {len(steps)} step{'s' if len(steps) != 1 else ''}" if steps else ""
        body = "".join(f"<p>{_e(m)}</p>" for m in messages[:5])
        if len(messages) > 5:
            body += f"<p class=note>… and {len(messages) - 5} more messages like these</p>"
        if steps:
            body += _step_list(steps)
        open_attribute = " open" if len(groups) <= 8 else ""
        parts.append(
            f'<details class="entry {fidelity}"{open_attribute}><summary><span class="{fidelity} '
            f'pill">{_e(fidelity)}</span> <code>{_e(code)}</code>{_e(where)}</summary>{body}'
            "</details>"
        )
    return "".join(parts) + notes


def _step_list(steps: list[str]) -> str:
    """The steps an entry concerns; past FOLD_ROWS they fold, so 400 names do not bury the
    next entry."""
    names = ", ".join(f"<code>{_e(step)}</code>" for step in steps)
    if len(steps) <= FOLD_ROWS:
        return f"<p class=steps>{names}</p>"
    return f"<details class=steps><summary>{len(steps)} steps</summary>{names}</details>"


def _exact_notes(entries: list[Diagnostic]) -> str:
    """Exact entries say how a construct was kept (a guard, the schedule): folded, at the end."""
    if not entries:
        return ""
    items = "".join(
        f"<li><code>{_e(e.code)}</code>{_e(f' {e.step}' if e.step else '')}: {_e(e.message)}</li>"
        for e in entries
    )
    summary = f"<summary>{len(entries)} exact notes</summary>"
    return f"<details class=exact-notes>{summary}<ul>{items}</ul></details>"


def _status_css() -> str:
    rules = []
    for status, (fill, border, _) in STATUS_STYLE.items():
        rules.append(f".{status}{{background:{fill};}} .pill.{status}{{border-color:{border};}}")
        rules.append(f".swatch.{status}{{background:{fill};border-color:{border};}}")
        rules.append(f".bar .{status}{{background:{border};}}")
        rules.append(f"details.entry.{status}{{border-left-color:{border};}}")
    return "\n".join(rules) + "\n"


_CSS = """body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
margin:0;color:#202124;background:#fafafa}
header{background:#263238;color:#eceff1;padding:16px 24px}
header h1{margin:0 0 4px;font-size:22px}
header .sub{margin:2px 0;color:#b0bec5}
header code{color:#fff}
nav{margin-top:8px}
nav a{color:#80cbc4;margin-right:12px;text-decoration:none}
section{padding:8px 24px 16px;border-bottom:1px solid #e0e0e0;background:#fff;margin-bottom:8px}
h2{font-size:18px;margin:12px 0 4px}
h3{font-size:15px;margin:12px 0 4px}
.sub{color:#5f6368;margin:0 0 8px}
.note{color:#5f6368;font-size:13px;margin:4px 0 8px}
table{border-collapse:collapse;margin:6px 0}
th,td{border:1px solid #dadce0;padding:4px 8px;text-align:left;vertical-align:top}
thead th{background:#eceff1;font-weight:600}
tbody th{font-weight:500;background:#fafafa}
td.none{color:#9aa0a6}
table.matrix td small{display:block;max-width:260px;color:#3c4043}
.pill{display:inline-block;border:1px solid #dadce0;border-radius:10px;padding:0 8px}
.limit{font-size:12px;margin-bottom:4px}
.bar{height:6px;background:#eceff1;border-radius:3px;width:220px}
.bar div{height:6px;border-radius:3px}
.legend{padding:0 24px;color:#5f6368}
.swatch{display:inline-block;width:14px;height:14px;border:1px solid;margin:0 4px -2px 12px}
.pair{display:grid;grid-template-columns:minmax(0,3fr) minmax(280px,2fr);gap:16px}
.drawing-frame{min-width:0}
.drawing{overflow:auto;max-height:80vh;border:1px solid #e0e0e0;background:#fff}
.drawing.fit svg{width:100%;height:auto}
.drawing.natural svg{max-width:100%;height:auto}
.drawing.full svg{max-width:none}
.toolbar{margin:4px 0;font-size:13px}
.toolbar button{margin-left:6px;font-size:12px}
.toolbar input{margin-left:6px;font-size:12px;width:140px}
svg .found polygon,svg .found ellipse,svg .found path{stroke:#1a73e8;stroke-width:4}
.ledger{font-size:13px;max-height:85vh;overflow:auto}
details.entry{border-left:4px solid #dadce0;padding:2px 8px;margin:6px 0;background:#fff}
details.entry p{margin:4px 0}
.steps code{font-size:12px}
summary{cursor:pointer}
@media (max-width:900px){.pair{grid-template-columns:1fr}}
""" + _status_css()

# Zoom buttons and "find a step": plain DOM, no libraries; every handler checks its elements.
_SCRIPT = """document.querySelectorAll(".toolbar").forEach(function (bar) {
  var drawing = bar.parentNode.querySelector(".drawing");
  if (!drawing) { return; }
  bar.querySelectorAll("button[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      drawing.classList.remove("fit", "natural", "full");
      drawing.classList.add(button.getAttribute("data-zoom"));
    });
  });
  var search = bar.querySelector("input");
  search.addEventListener("input", function () {
    var text = search.value.trim().toLowerCase();
    var first = null;
    drawing.querySelectorAll("g.node").forEach(function (node) {
      // its id (<title>) and its label (<text>): KFP task ids are not the step names
      var hit = text !== "" && node.textContent.toLowerCase().indexOf(text) >= 0;
      node.classList.toggle("found", hit);
      if (hit && !first) { first = node; }
    });
    if (first) { first.scrollIntoView({block: "center", inline: "center"}); }
  });
});
// report.html#find=NAME opens the page with NAME found in every drawing.
if (location.hash.indexOf("#find=") === 0) {
  var wanted = decodeURIComponent(location.hash.slice(6));
  document.querySelectorAll(".toolbar input").forEach(function (search) {
    search.value = wanted;
    search.dispatchEvent(new Event("input"));
  });
}
document.body.setAttribute("data-ready", "yes");
"""
