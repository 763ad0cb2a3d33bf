"""A mutation fuzzing campaign: hostile variants of real definitions through every writer.

Each example takes one definition from the corpus or ``tests/fixtures/``, applies a few
mutations of the kinds a hostile user (or a broken generator) produces, and sends the mutant
through ``pipeglot.load`` and every registered writer. The only acceptable outcomes are a
translation whose output is valid for its target, or pipeglot's own ``InputError`` /
``UnsupportedError``; any other exception, an ``InternalError``, or an invalid output fails.

``make test`` runs a fixed small budget; ``make fuzz`` sets ``PIPEGLOT_FUZZ_EXAMPLES`` for a
long campaign (each example is one mutant times every writer). Mutations are drawn by
Hypothesis, so a failure shrinks to a small mutant and is replayed from the database.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from conftest import corpus_files, fixture_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statelint.linter import Linter

import pipeglot
from pipeglot.cli import main
from pipeglot.errors import InputError, InternalError, UnsupportedError
from pipeglot.formats import WRITERS

# Big enough to hit every mutation kind on many bases, small enough for `make test` (~25 s
# of CPU: a mutant costs about 0.3 s through all writers).
EXAMPLES = int(os.environ.get("PIPEGLOT_FUZZ_EXAMPLES", "80"))
LONG = "PIPEGLOT_FUZZ_EXAMPLES" in os.environ
FAILURES: list[str] = []
STATS = {"mutants": 0, "pairs": 0, "rejected": 0, "unsupported": 0, "translated": 0, "cli": 0}
CLI_EVERY = 10  # one mutant in CLI_EVERY also goes through the CLI, with one writer


def _bases() -> list[tuple[str, str]]:
    """Every SageMaker definition we have: the corpus, tests/fixtures/ (at any depth), examples."""
    fixtures = sorted(Path(__file__).parent.glob("fixtures/**/*.json"))
    bases = []
    for path in dict.fromkeys([*fixture_files(), *fixtures, *corpus_files()]):
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        if text.lstrip().startswith("{") and '"Steps"' in text and _is_definition(text):
            bases.append((path.name, text))
    return bases


def _is_definition(text: str) -> bool:
    document = json.loads(text)
    return isinstance(document, dict) and isinstance(document.get("Steps"), list)


BASES = _bases()

# --- mutations ------------------------------------------------------------------------------
# A mutant is built as Python data, then written as JSON text; the few values JSON text can
# hold but Python's json cannot write (1e309, 5000-digit integers) travel as marker strings
# that are replaced in the text.

_RAW = {
    "\x00huge-float": "1e309",
    "\x00negative-huge-float": "-1e400",
    "\x00tiny-float": "1e-400",
    "\x00long-integer": "9" * 5000,
    "\x00wide-integer": str(2**70),
}
_OTHER_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 10**30, 1e308, "", "x", [], {}, [1, "a"], {"k": "v"},
    "\ud800", "a\udfffb", *_RAW,
]  # fmt: skip
_BROKEN_GETS = [
    "", ".", "Steps", "Steps.", "Steps.A", "Steps..X", "Steps.A[", "Steps.A['x", "Steps.A[\u0661]",
    "Steps.A.PropertyFiles.", "Parameters.", "Parameters.Nope", "Execution.Nope",
    "PipelineExperimentConfig.Nope", "Pipeline.Name", "Steps.-.X", "Steps.$.Y",
    "Steps.A.Properties['a\\'b']", "Parameters.\ud800", "Steps.Ghost.ModelArtifacts.S3Uri",
]  # fmt: skip
_ODD_NAMES = [
    "-", "$", "a'b", 'a"b', "a\\b", "{{ x }}", "${x}", "1abc", "class", "None", "a b", "é",
    "日本", "🚀", "a\nb", "\ud800", "x" * 300, "a.b", "a[0]", "_", "__init__", "True", "-a-",
    "A", "Steps",
]  # fmt: skip
_STEP_TYPES = [
    "Processing", "Training", "Transform", "Tuning", "Model", "RegisterModel", "Condition",
    "Fail", "Lambda", "Callback", "EMR", "EMRServerless", "QualityCheck", "ClarifyCheck",
    "AutoML", "EndpointConfig", "Endpoint", "Lineage", "Bogus",
]  # fmt: skip


def _nodes(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in ``document``, breadth first, iteratively."""
    found: list[tuple[Any, Any]] = []
    queue = [document]
    while queue:
        item = queue.pop(0)
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, value in pairs:
            found.append((item, key))
            if isinstance(value, dict | list):
                queue.append(value)
    return found


def _steps(document: Any) -> list[dict[str, Any]]:
    return [
        value
        for container, key in _nodes(document)
        if isinstance(value := container[key], dict) and "Type" in value and "Name" in value
    ]


def _deep(value: Any, depth: int, kind: int) -> Any:
    for _ in range(depth):
        value = [value] if kind == 0 else {"k": value}
    return value


def _join(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = {"Std:Join": {"On": "-", "Values": [value, "x"]}}
    return value


def _nots(depth: int) -> Any:
    condition: Any = {"Type": "Equals", "LeftValue": 1, "RightValue": 1}
    for _ in range(depth):
        condition = {"Type": "Not", "Condition": condition}
    return condition


def _nested_conditions(step: dict[str, Any], depth: int) -> dict[str, Any]:
    for level in range(depth):
        step = {
            "Name": f"Nest{level}",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [{"Type": "Equals", "LeftValue": level, "RightValue": 1}],
                "IfSteps": [step],
                "ElseSteps": [],
            },
        }
    return step


def _list_at(document: dict[str, Any], key: str) -> list[Any]:
    """``document[key]`` when it is a list; else a list nobody reads (an earlier mutation
    replaced it by another type, and the mutant stays as that mutation made it)."""
    value = document.get(key)
    return value if isinstance(value, list) else []


def _mutate(document: Any, kind: str, pick: int, choice: int) -> None:
    """Apply one mutation in place; ``pick`` chooses the place, ``choice`` the variant."""
    nodes = _nodes(document)
    if not nodes:
        return
    container, key = nodes[pick % len(nodes)]
    steps = _steps(document)
    step = steps[pick % len(steps)] if steps else None
    sizes = (5, 30, 120, 400, 900)
    if kind == "delete" and isinstance(container, dict):
        del container[key]
    elif kind == "delete":
        container.pop(key)
    elif kind == "replace":
        container[key] = _OTHER_VALUES[choice % len(_OTHER_VALUES)]
    elif kind == "broken-get":
        container[key] = {"Get": _BROKEN_GETS[choice % len(_BROKEN_GETS)]}
    elif kind == "deep":
        container[key] = _deep(container[key], sizes[choice % len(sizes)], choice % 2)
    elif kind == "join":
        container[key] = _join(container[key], sizes[choice % len(sizes)])
    elif kind == "wide-join":
        container[key] = {"Std:Join": {"On": ",", "Values": ["v"] * (10 ** (1 + choice % 4))}}
    elif kind == "not" and step is not None:
        step.update(Type="Condition", Arguments={"Conditions": [_nots(sizes[choice % 5])]})
        step["Arguments"].update(IfSteps=[], ElseSteps=[])
    elif kind == "nest-conditions" and step is not None:
        inner = {"Name": f"Leaf{pick}", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}
        _list_at(document, "Steps").append(_nested_conditions(inner, (3, 21, 25, 40)[choice % 4]))
    elif kind == "rename" and step is not None:
        step["Name"] = _ODD_NAMES[choice % len(_ODD_NAMES)]
    elif kind == "parameter":
        name = _ODD_NAMES[choice % len(_ODD_NAMES)]
        default = _OTHER_VALUES[pick % len(_OTHER_VALUES)]
        parameter = {"Name": name, "Type": ["String", "Integer", "Float", "Boolean"][pick % 4]}
        _list_at(document, "Parameters").append({**parameter, "DefaultValue": default})
        if isinstance(container[key], str):
            container[key] = {"Get": f"Parameters.{name}"}
    elif kind == "retype" and step is not None:
        step["Type"] = _STEP_TYPES[choice % len(_STEP_TYPES)]
    elif kind == "huge-string":
        container[key] = "x" * (10 ** (3 + choice % 3))


MUTATIONS = (
    "delete", "replace", "broken-get", "deep", "join", "wide-join", "not", "nest-conditions",
    "rename", "parameter", "retype", "huge-string",
)  # fmt: skip


def mutant_text(base: str, mutations: list[tuple[str, int, int]]) -> str:
    document = json.loads(base)
    for kind, pick, choice in mutations:
        _mutate(document, kind, pick, choice)
    text = _dumps_deep(document)
    for marker, raw in _RAW.items():
        text = text.replace(json.dumps(marker), raw)
    return text


def _dumps_deep(document: Any) -> str:
    # Stacked nesting mutations can exceed the default limit of the encoder (not of pipeglot).
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        return json.dumps(document)
    finally:
        sys.setrecursionlimit(limit)


# --- output checks --------------------------------------------------------------------------


def _check_json(text: str, _: Any) -> None:
    text.encode("utf-8")
    json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> None:
    raise AssertionError(f"the output holds {name}, which is not JSON")


def _check_asl(text: str, workflow: Any) -> None:
    _check_json(text, workflow)
    document = json.loads(text)
    # A machine too large for one state machine comes as a parent and its children.
    for machine in document.get("StateMachines", {"Main": document}).values():
        problems = Linter.validate(_plain_brackets(machine))
        assert problems == [], problems


# statelint's JSONPath grammar is narrower than Step Functions': it takes only names that
# begin with a letter, after a dot or inside ['...']. The service follows JSONPath's ABNF
# (member-name-shorthand may begin with "_") and takes any member in brackets ("you must use
# bracket notation" for other characters: the developer guide, "Using JSONPath paths"). Such
# members become a plain name before linting; the rest of every path is still checked.
_BRACKET_MEMBER = re.compile(r"\['[^']*'\]|\._[A-Za-z0-9_]*")


def _plain_brackets(document: Any) -> Any:
    if isinstance(document, dict):
        return {key: _plain_brackets(value) for key, value in document.items()}
    if isinstance(document, list):
        return [_plain_brackets(value) for value in document]
    if isinstance(document, str) and document.startswith("$"):
        return _BRACKET_MEMBER.sub(".member", document)
    return document


def _check_text(text: str, _: Any) -> None:
    text.encode("utf-8")
    assert text.endswith("\n")


def _check_python(text: str, _: Any) -> None:
    text.encode("utf-8")
    compile(text, "<generated>", "exec", dont_inherit=True)


def _check_yaml(text: str, _: Any) -> None:
    text.encode("utf-8")
    yaml.safe_load(text)


def _check_sagemaker(text: str, workflow: Any) -> None:
    _check_json(text, workflow)
    assert pipeglot.load(text, name=workflow.name) == workflow, "the round trip is not exact"


CHECKS: dict[str, Callable[[str, Any], None]] = {
    "sagemaker": _check_sagemaker,
    "asl": _check_asl,
    "asl-cloudformation": _check_json,
    "sagemaker-cloudformation": _check_json,
    "mermaid": _check_text,
    "airflow": _check_python,
    "kfp": _check_python,
    "kfp-yaml": _check_yaml,
}


def test_every_writer_has_a_check() -> None:
    assert set(CHECKS) == set(WRITERS)


def run_mutant(text: str) -> None:
    """Translate ``text`` with every writer; raise AssertionError on a crash or bad output."""
    STATS["mutants"] += 1
    try:
        workflow = pipeglot.load(text, name="fuzz")
    except InputError as error:
        _check_message(str(error))
        STATS["rejected"] += 1
        STATS["pairs"] += len(CHECKS)
        return
    for write, check in CHECKS.items():
        STATS["pairs"] += 1
        try:
            output = pipeglot.dump(workflow, write=write, unsupported="warn")
        except UnsupportedError as error:
            _check_message(str(error))
            STATS["unsupported"] += 1
            continue
        except InputError as error:
            _check_message(str(error))
            STATS["rejected"] += 1
            continue
        check(output, workflow)
        STATS["translated"] += 1


def run_cli(text: str, write: str) -> None:
    """The same mutant through the command line: exit 0 with the output, or 2/3 without."""
    STATS["cli"] += 1
    with tempfile.TemporaryDirectory(prefix="pipeglot-fuzz-") as folder:
        source, output = Path(folder, "mutant.json"), Path(folder, "out", "result")
        source.write_text(text, encoding="utf-8", errors="surrogatepass")
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors):
            code = main(["translate", str(source), "--to", write, "-o", str(output)])
        assert code in (0, 2, 3), f"exit code {code}: {errors.getvalue()}"
        assert "Traceback" not in errors.getvalue()
        assert output.exists() == (code == 0)
        assert not list(Path(folder).rglob("*.tmp"))


def _check_message(message: str) -> None:
    assert len(message) < 4000, f"a {len(message)}-character message"
    message.encode("utf-8")


_mutation = st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 10_000), st.integers(0, 1_000))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not LONG,
)
@given(base=st.sampled_from(BASES), mutations=st.lists(_mutation, min_size=1, max_size=3))
def test_mutants_translate_or_fail_cleanly(
    base: tuple[str, str], mutations: list[tuple[str, int, int]]
) -> None:
    text = mutant_text(base[1], mutations)
    try:
        run_mutant(text)
        if STATS["mutants"] % CLI_EVERY == 0:
            run_cli(text, sorted(CHECKS)[STATS["mutants"] // CLI_EVERY % len(CHECKS)])
    except (AssertionError, InternalError) as error:
        if not LONG:
            raise  # shrunk by Hypothesis to a small mutant
        # A long campaign goes on, to count every class of failure; the report fails it.
        FAILURES.append(f"{base[0]} {mutations}: {type(error).__name__}: {error}"[:400])


def test_zz_report_campaign_size() -> None:
    """Printed with -s (make fuzz); the campaign must have run what it claims."""
    print(f"\nfuzz campaign: {STATS}, {len(FAILURES)} failures")
    for failure in FAILURES:
        print("  " + failure.replace("\n", " "))
    if LONG:
        assert STATS["mutants"] >= EXAMPLES * 0.9
        assert not FAILURES
