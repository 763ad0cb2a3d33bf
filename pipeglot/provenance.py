"""The provenance block: what a target cannot hold, so that reading pipeglot's output back
gives the source pipeline exactly (``sagemaker -> X -> sagemaker``, issue 15).

A Step Functions machine, an Airflow DAG file or a compiled Kubeflow spec runs the pipeline
but cannot say everything its SageMaker definition said: a QualityCheck step runs as a
processing job, a parameter's enum values become a check, an experiment config has no place.
When ``asl``, ``airflow`` or ``kfp-yaml`` writes a file, it reads the file straight back with
pipeglot's own reader of that format and compares the result with the source. What differs is
the block, and only that:

- ``definition``: each top-level key of the definition that reads back differently
  (``Parameters``, ``Metadata``, ``PipelineExperimentConfig``...), with its source value;
- ``steps``: for each step that reads back differently, the keys of its SageMaker step object
  to set or remove (nested objects such as ``Arguments`` as the same kind of patch; a
  Condition's ``IfSteps``/``ElseSteps`` hold step names);
- ``add``: a step the reader does not find, whole; ``remove``: a step the reader finds but
  the source does not have (a helper state read as a step); ``order``: the steps' order
  (branch steps included) when it differs.

Every patch carries the fingerprint of what the reader gave when the file was written (the
first 12 hex digits of the SHA-256 of its canonical JSON). A reader applies a patch only when
it still reads that: a step someone edited in the generated file is read as it now is, and the
ledger says so (``read.<format>.provenance-stale``). Without the block the readers work as
before. The writers' option ``provenance`` (default on; ``--no-provenance``) leaves it out; the
forward ledger then names, step by step, what reading the file back loses
(``<format>.read-back``).

Encoding: the block's JSON (keys in a fixed order, ASCII) in base64, between the markers
``pipeglot-provenance v1 begin`` and ``pipeglot-provenance end``. Each writer puts it in one
idiomatic place: the ASL machine's top-level ``Comment``; a comment block at the end of the DAG
file and of the compiled spec (at the end, so that the line numbers the readers report are
those of the file without it). Base64 needs no escaping in any of them, wraps at any column (the
DAG file stays within ruff's line length) and is read back by keeping only its alphabet between
the markers. The output stays deterministic: the block is a function of the
workflow and of the text it describes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from pipeglot.backend import Option
from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import InputError, PipeglotError
from pipeglot.ir.model import Workflow

PROVENANCE = Option(
    "provenance",
    bool,
    True,
    "embed a small block with what the target cannot hold (check steps, enum values, "
    "experiment config...), so that reading the file back with pipeglot gives the pipeline "
    "exactly; --no-provenance leaves it out and the ledger names what reading back loses",
)

BEGIN = "pipeglot-provenance v1 begin"
END = "pipeglot-provenance end"
_BLOCK = re.compile(re.escape(BEGIN) + r"(.*?)" + re.escape(END), re.DOTALL)
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")
_WIDTH = 76
_STEP_LISTS = ("IfSteps", "ElseSteps")
_ABSENT = object()  # a definition key that is not there (fingerprinted as null)


# --- writing ------------------------------------------------------------------------------


def attach(
    workflow: Workflow,
    text: str,
    *,
    write: str,
    diagnostics: Diagnostics,
    enabled: bool = True,
) -> str:
    """``text`` (the output of writer ``write``) with the provenance block embedded, when
    reading it back loses anything; with ``enabled`` False, ``text`` unchanged and the losses
    named in ``diagnostics``."""
    try:
        back = _read(text, write, workflow.name, Diagnostics())
    except PipeglotError as error:
        diagnostics.dropped(
            f"{write}.read-back",
            f"pipeglot's {write} reader cannot read this output back ({error}); it holds no "
            "provenance block",
        )
        return text
    block = difference(workflow, back)
    if block is None:
        return text
    if not enabled:
        _report_losses(block, write, diagnostics)
        return text
    return _EMBED[write](text, encode(block))


def difference(source: Workflow, back: Workflow) -> dict[str, Any] | None:
    """The block that turns ``back`` into ``source``, or None when they are the same."""
    mine, theirs = _document(source), _document(back)
    # What the reader gave as a whole: a file that still reads so is unedited, and reads
    # back as exactly the source.
    block: dict[str, Any] = {"read": _fingerprint(theirs)}
    top = _top_level_patches(mine, theirs)
    if top:
        block["definition"] = top
    mine_steps, their_steps = _flat_steps(mine), _flat_steps(theirs)
    patches, added = {}, {}
    for name, step in mine_steps.items():
        if name not in their_steps:
            added[name] = step
        elif _canonical(step) != _canonical(their_steps[name]):
            patches[name] = {
                "read": _fingerprint(their_steps[name]),
                **_patch(their_steps[name], step),
            }
    removed = {
        name: _fingerprint(step) for name, step in their_steps.items() if name not in mine_steps
    }
    for key, value in (("steps", patches), ("add", added), ("remove", removed)):
        if value:
            block[key] = value
    kept = [name for name in their_steps if name in mine_steps] + list(added)
    if kept != list(mine_steps):
        block["order"] = list(mine_steps)
    return block if len(block) > 1 else None


def encode(block: dict[str, Any]) -> list[str]:
    """The block as lines: the begin marker, base64 lines, the end marker."""
    data = json.dumps(block, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    payload = base64.b64encode(data).decode("ascii")
    return [BEGIN, *textwrap.wrap(payload, _WIDTH, break_on_hyphens=False), END]


def _top_level_patches(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    patches = {}
    for key in [*mine, *(key for key in theirs if key not in mine)]:
        if key == "Steps":
            continue
        wanted, found = mine.get(key, _ABSENT), theirs.get(key, _ABSENT)
        if _canonical(wanted) != _canonical(found):
            patches[key] = {"read": _fingerprint(found)}
            if wanted is not _ABSENT:  # no "value": the source has no such key
                patches[key]["value"] = wanted
    return patches


def _patch(found: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """What turns object ``found`` into ``wanted``: keys to set, keys to remove, and nested
    patches for objects on both sides."""
    values, nested = {}, {}
    for key, value in wanted.items():
        if key in found and _canonical(found[key]) == _canonical(value):
            continue
        if isinstance(value, dict) and isinstance(found.get(key), dict):
            nested[key] = _patch(found[key], value)
        else:
            values[key] = value
    patch: dict[str, Any] = {}
    if values:
        patch["set"] = values
    unset = [key for key in found if key not in wanted]
    if unset:
        patch["unset"] = unset
    if nested:
        patch["in"] = nested
    return patch


def _report_losses(block: dict[str, Any], write: str, diagnostics: Diagnostics) -> None:
    code = f"{write}.read-back"
    for key in block.get("definition", {}):
        diagnostics.dropped(code, f"reading the file back does not give the definition's {key}")
    for name, patch in block.get("steps", {}).items():
        lost = ", ".join(_patched_keys(patch, "set", "in"))
        added = ", ".join(_patched_keys(patch, "unset", "in"))
        if lost:
            diagnostics.dropped(code, f"reading the file back does not give its {lost}", name)
        if added:
            diagnostics.dropped(
                code, f"reading the file back gives it {added}, which the pipeline does not", name
            )
    for name in block.get("add", {}):
        diagnostics.dropped(code, "reading the file back does not find this step", name)
    for name in block.get("remove", {}):
        diagnostics.dropped(
            code, "reading the file back finds this step, which the pipeline does not have", name
        )
    if "order" in block:
        diagnostics.dropped(code, "reading the file back gives the steps in another order")


def _patched_keys(patch: dict[str, Any], kind: str, nested: str, prefix: str = "") -> Iterator[str]:
    """The dotted keys of ``patch`` that it sets (``kind`` "set") or removes ("unset")."""
    for key in patch.get(kind, ()):
        yield prefix + key
    for key, inner in patch.get(nested, {}).items():
        yield from _patched_keys(inner, kind, nested, f"{prefix}{key}.")


# --- embedding (one idiomatic place per target) -------------------------------------------


def _in_asl_comment(text: str, lines: list[str]) -> str:
    from pipeglot.backends import _json

    document = json.loads(text)
    comment = document.get("Comment")
    block = " ".join(lines)
    document["Comment"] = f"{comment}\n{block}" if comment else block
    return _json.dumps(_comment_first(document))


def _comment_first(document: dict[str, Any]) -> dict[str, Any]:
    return {"Comment": document["Comment"], **document}


def _in_trailing_comment(text: str, lines: list[str]) -> str:
    """A comment block at the end: a DAG file's and a YAML spec's line numbers (which the
    readers name in what they report) stay those of the file without the block."""
    return text.rstrip("\n") + "\n" + "".join(f"# {line}\n" for line in lines)


_EMBED: dict[str, Callable[[str, list[str]], str]] = {
    "asl": _in_asl_comment,
    "airflow": _in_trailing_comment,
    "kfp-yaml": _in_trailing_comment,
}


# --- reading ------------------------------------------------------------------------------


def read(
    text: str,
    read_file: Callable[[Diagnostics], Workflow],
    *,
    reader: str,
    diagnostics: Diagnostics | None,
) -> Workflow:
    """The workflow reader ``reader`` reads from ``text`` (``read_file`` reads it into the
    ledger it is given), with the file's provenance block applied when it has one.

    The reader's own entries about steps the block restores are superseded and left out.
    """
    ledger = Diagnostics() if diagnostics is None else diagnostics
    block = find(text, reader, ledger)
    if block is None:
        return read_file(ledger)
    scratch = Diagnostics()
    back = read_file(scratch)
    workflow, restored = apply(back, block, reader=reader, diagnostics=ledger)
    if restored is ALL:  # the source exactly: nothing the reader reported is left
        return workflow
    for entry in scratch:
        if entry.step is None or entry.step not in restored:
            ledger.record(entry.code, entry.fidelity, entry.message, entry.step)
    return workflow


def find(text: str, reader: str, diagnostics: Diagnostics) -> dict[str, Any] | None:
    """The block in ``text`` (the last one), or None; a damaged block is reported and
    ignored."""
    matches = list(_BLOCK.finditer(text))
    if not matches:
        return None
    found = matches[-1]
    try:
        block = json.loads(base64.b64decode(_NOT_BASE64.sub("", found.group(1)), validate=True))
    except (binascii.Error, ValueError):
        block = None
    if not isinstance(block, dict):
        diagnostics.approximated(
            f"read.{reader}.provenance-damaged",
            "the file's pipeglot provenance block is damaged, so it is not used: the workflow "
            "is read from the file alone; regenerate the file to restore it",
        )
        return None
    return block


class _All(frozenset[str]):
    """Every step: the file reads as when it was written, so the block gives the source."""

    def __contains__(self, name: object) -> bool:
        return True


ALL = _All()


def apply(
    back: Workflow, block: dict[str, Any], *, reader: str, diagnostics: Diagnostics
) -> tuple[Workflow, set[str]]:
    """``back`` with ``block`` applied, and the names of the steps it restored. A patch whose
    fingerprint no longer matches (the file was edited there) is not applied, and reported."""
    document = _document(back)
    unedited = _fingerprint(document) == block.get("read")
    steps = _flat_steps(document)
    stale: list[str] = []
    for key, patch in _items(block.get("definition")):
        if _fingerprint(document.get(key, _ABSENT)) != patch.get("read"):
            stale.append(f"the definition's {key}")
        elif "value" not in patch:
            document.pop(key, None)
        else:
            document[key] = patch.get("value")
    restored: set[str] = set()
    for name, patch in _items(block.get("steps")):
        if name in steps and _fingerprint(steps[name]) == patch.get("read"):
            steps[name] = _patched(steps[name], patch)
            restored.add(name)
        else:
            stale.append(f"step {name!r}")
    for name, fingerprint in _items(block.get("remove")):
        if name in steps and _fingerprint(steps[name]) == fingerprint:
            del steps[name]
            restored.add(name)
        else:
            stale.append(f"step {name!r}")
    for name, step in _items(block.get("add")):
        if name not in steps and isinstance(step, dict):
            steps[name] = step
            restored.add(name)
    order = block.get("order")
    if isinstance(order, list) and sorted(order) == sorted(steps):
        steps = {name: steps[name] for name in order}
    workflow = _rebuilt(document, steps, back, reader, diagnostics)
    if workflow is back:
        return back, set()
    _report(reader, diagnostics, restored, stale)
    return workflow, ALL if unedited else restored


def _report(reader: str, diagnostics: Diagnostics, restored: set[str], stale: list[str]) -> None:
    diagnostics.exact(
        f"read.{reader}.provenance",
        f"the file's provenance block restored {len(restored)} step(s) to their SageMaker "
        "definition (what the target cannot hold)",
    )
    for place in stale:
        diagnostics.approximated(
            f"read.{reader}.provenance-stale",
            f"{place} differs from what pipeglot wrote (the file was edited), so the provenance "
            "block is not applied to it: it is read from the file as it is",
        )


def _rebuilt(
    document: dict[str, Any],
    steps: dict[str, Any],
    back: Workflow,
    reader: str,
    diagnostics: Diagnostics,
) -> Workflow:
    from pipeglot.frontends import sagemaker

    document["Steps"] = _nested(steps)
    try:
        workflow = sagemaker.load(json.dumps(document), name=back.name)
    except InputError as error:
        diagnostics.approximated(
            f"read.{reader}.provenance-stale",
            f"the file's provenance block does not fit the file any more ({error}), so it is "
            "not used: the workflow is read from the file alone",
        )
        return back
    return replace(workflow, triggers=back.triggers)


def _patched(found: Any, patch: dict[str, Any]) -> Any:
    if not isinstance(found, dict):
        found = {}
    result = {key: value for key, value in found.items() if key not in patch.get("unset", ())}
    for key, inner in _items(patch.get("in")):
        result[key] = _patched(result.get(key), inner)
    result.update(patch.get("set", {}))
    return result


def _items(value: Any) -> list[tuple[str, Any]]:
    return list(value.items()) if isinstance(value, dict) else []


# --- the definition as plain JSON, with branch steps flattened ---------------------------


def _document(workflow: Workflow) -> dict[str, Any]:
    from pipeglot.backends import sagemaker

    document: dict[str, Any] = json.loads(sagemaker.export(workflow))
    return document


def _flat_steps(document: dict[str, Any]) -> dict[str, Any]:
    """Every step object by name, in document order (a Condition before its branches), each
    Condition's branch lists holding names."""
    flat: dict[str, Any] = {}

    def visit(step: dict[str, Any]) -> None:
        step = dict(step)
        flat[step["Name"]] = step
        arguments = step.get("Arguments")
        if step.get("Type") != "Condition" or not isinstance(arguments, dict):
            return
        arguments = step["Arguments"] = dict(arguments)
        children = []
        for key in _STEP_LISTS:
            if isinstance(arguments.get(key), list):
                children.extend(arguments[key])
                arguments[key] = [child["Name"] for child in arguments[key]]
        for child in children:
            visit(child)

    for step in document.get("Steps", []):
        visit(step)
    return flat


def _nested(steps: dict[str, Any]) -> list[Any]:
    """The top-level step list of a definition from flattened steps."""
    owned = {
        child
        for step in steps.values()
        if step.get("Type") == "Condition" and isinstance(step.get("Arguments"), dict)
        for key in _STEP_LISTS
        for child in step["Arguments"].get(key, ())
    }

    def whole(step: dict[str, Any]) -> dict[str, Any]:
        arguments = step.get("Arguments")
        if step.get("Type") != "Condition" or not isinstance(arguments, dict):
            return step
        arguments = dict(arguments)
        for key in _STEP_LISTS:
            if isinstance(arguments.get(key), list):
                arguments[key] = [whole(steps[n]) for n in arguments[key] if n in steps]
        return {**step, "Arguments": arguments}

    return [whole(step) for name, step in steps.items() if name not in owned]


def _canonical(value: Any) -> str:
    """JSON text that tells 1 from 1.0 and True, and ignores key order."""
    if value is _ABSENT:
        return "absent"
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(_canonical(value).encode("ascii")).hexdigest()[:12]


def _read(text: str, write: str, name: str | None, diagnostics: Diagnostics) -> Workflow:
    from pipeglot import api

    return api.load(text, read=write, name=name, unsupported="ignore", diagnostics=diagnostics)
