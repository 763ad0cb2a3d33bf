"""The backend contract, tested for every registered writer over every project fixture.

A new writer gets these tests by registering in ``pipeglot.formats.WRITERS``; the one thing it
adds here is how its real target loads its output (``TARGETS`` below), so that "the output is
valid" always means "the real tool accepted it", never a structural imitation.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, FIXTURES, PIPEGLOT, ROOT, require, require_executable, require_module

import pipeglot
from pipeglot.backend import SOURCE_COMMAND, options, translated_kinds, unsupported_kinds
from pipeglot.diagnostics import Fidelity
from pipeglot.errors import UsageError
from pipeglot.formats import WRITERS, writer
from pipeglot.ir.model import StepKind, Workflow

FIXTURE_FILES = [EXAMPLES / "abalone.json", FIXTURES / "every-step-type.json"]


def _outputs(fmt: str) -> list[tuple[Workflow, str]]:
    """Every fixture translated to ``fmt`` (placeholders where a kind is unsupported)."""
    return [
        (workflow, pipeglot.dump(workflow, write=fmt, unsupported="ignore"))
        for workflow in (pipeglot.load(path.read_bytes(), name=path.stem) for path in FIXTURE_FILES)
    ]


# --- how each real target loads an output, and which step names it shows -------------------


def _load_sagemaker(outputs: list[tuple[Workflow, str]]) -> list[set[str]]:
    names = []
    for workflow, text in outputs:
        again = pipeglot.load(text, name=workflow.name)
        assert again == workflow  # lossless
        names.append({step.name for step in again.steps})
    return names


def _state_names(states: dict[str, Any]) -> set[str]:
    found = set(states)
    for state in states.values():
        for branch in state.get("Branches", ()):
            found |= _state_names(branch["States"])
        if "ItemProcessor" in state:
            found |= _state_names(state["ItemProcessor"]["States"])
    return found


def _machines(text: str, fmt: str) -> list[dict[str, Any]]:
    """The state machine definitions in an asl or asl-cloudformation output."""
    document = json.loads(text)
    if fmt == "asl":
        return (
            [document] if "States" in document else list(document.get("StateMachines", {}).values())
        )
    found = []
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            definition = resource["Properties"].get("Definition")
            found.append(definition or json.loads(resource["Properties"]["DefinitionString"]))
    return found


def _load_asl(fmt: str) -> Callable[[list[tuple[Workflow, str]]], list[set[str]]]:
    def load(outputs: list[tuple[Workflow, str]]) -> list[set[str]]:
        linter = require_module("statelint.linter").Linter  # type: ignore[attr-defined]
        names = []
        for _, text in outputs:
            machines = _machines(text, fmt)
            assert machines
            found: set[str] = set()
            for machine in machines:
                assert linter.validate(machine) == []
                found |= _state_names(machine["States"])
            names.append(found)
        return names

    return load


def _load_airflow(outputs: list[tuple[Workflow, str]]) -> list[set[str]]:
    with tempfile.TemporaryDirectory() as home:
        dags = Path(home) / "dags"
        dags.mkdir()
        for number, (_, text) in enumerate(outputs):
            (dags / f"dag{number}.py").write_text(text, encoding="utf-8")
        environment = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        harness = ROOT / "tests" / "fixtures" / "airflow" / "harness.py"
        result = subprocess.run(
            [sys.executable, str(harness), "load", str(dags)],
            capture_output=True,
            text=True,
            env=environment,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["import_errors"] == {}
    by_file = {dag["file"]: set(dag["tasks"]) for dag in loaded["dags"].values()}
    return [by_file[f"dag{number}.py"] for number in range(len(outputs))]


def _task_names(spec: dict[str, Any]) -> set[str]:
    """Display names of every task of a compiled KFP spec, nested DAGs included."""
    found = set()
    for component in [spec.get("root", {}), *spec.get("components", {}).values()]:
        for task in component.get("dag", {}).get("tasks", {}).values():
            found.add(task["taskInfo"]["name"])
    return found


def _load_kfp_yaml(outputs: list[tuple[Workflow, str]]) -> list[set[str]]:
    components = require_module("kfp.components")
    yaml = require_module("yaml")
    names = []
    for _, text in outputs:
        components.load_component_from_text(text)  # type: ignore[attr-defined]
        spec = next(doc for doc in yaml.safe_load_all(text) if "root" in doc)  # type: ignore[attr-defined]
        names.append(_task_names(spec))
    return names


def _load_kfp(outputs: list[tuple[Workflow, str]]) -> list[set[str]]:
    from pipeglot.backends.kfp.compiled import compile_source

    require_module("kfp")
    return _load_kfp_yaml([(workflow, compile_source(text)) for workflow, text in outputs])


def _load_mermaid(outputs: list[tuple[Workflow, str]]) -> list[set[str]]:
    """Rendered by the real mermaid library in headless Chromium; names from the SVG labels."""
    browser = require_executable("chromium")
    library = ROOT / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
    require(library.is_file(), "the npm package mermaid (npm ci)")
    names = []
    with tempfile.TemporaryDirectory() as folder:
        for number, (workflow, text) in enumerate(outputs):
            page = Path(folder) / f"graph{number}.html"
            page.write_text(_mermaid_page(library, text), encoding="utf-8")
            dom = subprocess.run(
                [
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--allow-file-access-from-files",
                    "--virtual-time-budget=20000",
                    "--dump-dom",
                    page.as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
            assert 'data-result="ok"' in dom, dom[-2000:]
            names.append({step.name for step in workflow.steps if _in_svg(step.name, dom)})
    return names


def _mermaid_page(library: Path, text: str) -> str:
    return f"""<!doctype html><html><body>
<script src="{library.as_uri()}"></script>
<script>
mermaid.initialize({{startOnLoad: false}});
mermaid.render("graph", {json.dumps(text)}).then(
  (result) => {{ document.body.insertAdjacentHTML("beforeend", result.svg);
                document.body.setAttribute("data-result", "ok"); }},
  (error) => {{ document.body.setAttribute("data-result", "error: " + error.message); }});
</script></body></html>"""


def _in_svg(name: str, dom: str) -> bool:
    from html import escape

    return escape(name, quote=False) in dom


def _load_sagemaker_cloudformation(outputs: list[tuple[Workflow, str]]) -> list[set[str]]:
    """cfn-lint accepts the template; its PipelineDefinitionBody reads back to the workflow."""
    from cfnlint.api import lint_all

    bodies = []
    for workflow, text in outputs:
        problems = [str(match) for match in lint_all(text) if match.rule.id[0] in "EW"]
        assert problems == []  # errors and warnings (informational notes are not problems)
        pipeline = json.loads(text)["Resources"]["Pipeline"]["Properties"]
        bodies.append((workflow, pipeline["PipelineDefinition"]["PipelineDefinitionBody"]))
    return _load_sagemaker(bodies)


TARGETS: dict[str, Callable[[list[tuple[Workflow, str]]], list[set[str]]]] = {
    "sagemaker": _load_sagemaker,
    "asl": _load_asl("asl"),
    "asl-cloudformation": _load_asl("asl-cloudformation"),
    "sagemaker-cloudformation": _load_sagemaker_cloudformation,
    "airflow": _load_airflow,
    "kfp": _load_kfp,
    "kfp-yaml": _load_kfp_yaml,
    "mermaid": _load_mermaid,
}


# --- the suite --------------------------------------------------------------------------------


def test_every_writer_has_a_real_target_check() -> None:
    assert set(TARGETS) == set(WRITERS)


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_output_loads_in_its_target_and_keeps_the_naming_contract(fmt: str) -> None:
    outputs = _outputs(fmt)
    shown = TARGETS[fmt](outputs)
    for (workflow, _), names in zip(outputs, shown, strict=True):
        missing = {step.name for step in workflow.steps} - names
        assert not missing, f"{fmt}: steps without an element of the same name: {missing}"


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_output_is_deterministic(fmt: str) -> None:
    source = (FIXTURES / "every-step-type.json").read_bytes()
    first = pipeglot.translate(source, write=fmt, unsupported="ignore")
    second = pipeglot.translate(source, write=fmt, unsupported="ignore")
    assert first == second


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_every_step_kind_is_translated_or_declared_unsupported(fmt: str) -> None:
    module = writer(fmt)
    translated, unsupported = translated_kinds(module), set(unsupported_kinds(module))
    assert translated | unsupported == set(StepKind)
    assert not translated & unsupported
    assert all(reason.strip() for reason in unsupported_kinds(module).values())


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_unsupported_kinds_are_reported_and_only_those(fmt: str) -> None:
    """Translating every step type reports an ``unsupported`` entry for each step of a kind the
    writer declares unsupported, and for no other step."""
    workflow = pipeglot.load((FIXTURES / "every-step-type.json").read_bytes())
    ledger = pipeglot.Diagnostics()
    pipeglot.dump(workflow, write=fmt, unsupported="ignore", diagnostics=ledger)
    declared = set(unsupported_kinds(writer(fmt)))
    expected = {step.name for step in workflow.steps if step.kind in declared}
    reported = {entry.step for entry in ledger.of(Fidelity.UNSUPPORTED)}
    assert expected <= reported
    assert reported <= expected | {None}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_unknown_option_is_a_usage_error_through_api_and_cli(fmt: str) -> None:
    source = (EXAMPLES / "abalone.json").read_bytes()
    with pytest.raises(UsageError, match="no option 'no_such_option'; its options are"):
        pipeglot.translate(source, write=fmt, no_such_option=1)
    result = subprocess.run(
        [
            *PIPEGLOT,
            "translate",
            str(EXAMPLES / "abalone.json"),
            "--to",
            fmt,
            "--no-such-option",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_a_flag_of_another_writer_is_a_usage_error() -> None:
    shared = {option.name for fmt in WRITERS for option in options(writer(fmt))}
    for fmt in WRITERS:
        foreign = [
            option
            for other in WRITERS
            for option in options(writer(other))
            if option.name not in {o.name for o in options(writer(fmt))}
            and option.name != SOURCE_COMMAND.name
            and option.choices is None
        ]
        if not foreign:
            continue
        result = subprocess.run(
            [
                *PIPEGLOT,
                "translate",
                str(EXAMPLES / "abalone.json"),
                "--to",
                fmt,
                foreign[0].flag,
                *([] if foreign[0].type is bool else ["x"]),  # a bool flag takes no value
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2, (fmt, foreign[0].flag)
        assert f"{foreign[0].flag} applies to --to" in result.stderr
    assert shared  # at least one writer declares an option


def test_formats_lists_every_writer_with_its_options() -> None:
    result = subprocess.run([*PIPEGLOT, "formats"], capture_output=True, text=True, check=True)
    for fmt in WRITERS:
        assert f"  {fmt} " in result.stdout
        for option in options(writer(fmt)):
            if option.name != SOURCE_COMMAND.name:
                assert option.flag in result.stdout


def test_generated_python_headers_show_the_command_that_was_run(tmp_path: Path) -> None:
    """The regenerate line is the user's own command, relative paths and flags as typed."""
    for fmt in ("airflow", "kfp"):
        if SOURCE_COMMAND not in options(writer(fmt)):
            continue
        out = tmp_path / f"{fmt}.py"
        command = ["translate", "abalone.json", "--to", fmt, "-o", str(out)]
        subprocess.run([*PIPEGLOT, *command], cwd=EXAMPLES, check=True, capture_output=True)
        docstring = ast.get_docstring(ast.parse(out.read_text())) or ""
        unwrapped = " ".join(docstring.replace("\\\n", " ").split())  # shell line continuations
        assert f"pipeglot translate abalone.json --to {fmt} -o {out}" in unwrapped, docstring
