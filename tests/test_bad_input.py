"""Bad input: one clear message naming the place and the fix, exit code 2, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeglot.cli import main


def _pipeline(*steps: dict, parameters: list | None = None) -> str:
    return json.dumps(
        {"Version": "2020-12-01", "Parameters": parameters or [], "Steps": list(steps)}
    )


def _processing(name: str, **extra: object) -> dict:
    return {"Name": name, "Type": "Processing", "Arguments": {"RoleArn": "arn"}, **extra}


def _condition(name: str, if_steps: list, else_steps: list | None = None) -> dict:
    return {
        "Name": name,
        "Type": "Condition",
        "Arguments": {
            "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}],
            "IfSteps": if_steps,
            "ElseSteps": else_steps or [],
        },
    }


def _ref(step: str) -> dict:
    return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}


# (id, input bytes, fragments the one-line message must contain)
CASES = [
    ("empty-file", b"", ["the input is empty"]),
    ("whitespace-only", b"  \n\t", ["the input is empty"]),
    ("invalid-utf8", b'{"Steps": ["\xff\xfe"]}', ["not UTF-8", "offset 12"]),
    ("malformed-json", b'{"Steps": [}', ["not valid JSON", "line 1, column 12"]),
    ("nan", b'{"Steps": [], "X": NaN}', ["not valid JSON", "NaN"]),
    ("root-is-a-list", b"[]", ["/: ", "must be a JSON object", "not a list"]),
    ("no-steps", b'{"Version": "2020-12-01"}', ['no "Steps" list']),
    ("steps-not-a-list", b'{"Steps": {"Name": "x"}}', ["/Steps:", "a list of steps"]),
    ("step-not-an-object", b'{"Steps": [42]}', ["/Steps/0:", "a step (a JSON object)"]),
    ("step-without-name", _pipeline({"Type": "Processing"}).encode(), ["/Steps/0:", '"Name"']),
    ("step-without-type", _pipeline({"Name": "A"}).encode(), ["/Steps/0:", '"Type"']),
    ("unknown-version", b'{"Version": "2099-01-01", "Steps": []}', ["/Version", "2099-01-01"]),
    (
        "duplicate-names",
        _pipeline(_processing("A"), _processing("A")).encode(),
        ["/Steps/1/Name", "second step is named 'A'", "/Steps/0"],
    ),
    (
        "duplicate-name-in-a-branch",
        _pipeline(_processing("A"), _condition("C", [_processing("A")])).encode(),
        ["/Steps/1/Arguments/IfSteps/0/Name", "second step is named 'A'"],
    ),
    (
        "depends-on-a-fail-step",
        _pipeline(
            {"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "no"}},
            _processing("A", DependsOn=["Stop"]),
        ).encode(),
        ["/Steps/1/DependsOn (step 'A')", "the Fail step 'Stop'", "could never run"],
    ),
    (
        "depends-on-unknown-step",
        _pipeline(_processing("A", DependsOn=["Nope"])).encode(),
        ["/Steps/0/DependsOn (step 'A')", "'Nope'"],
    ),
    (
        "reference-to-unknown-step",
        _pipeline(_processing("A", Arguments={"In": [_ref("Ghost")]})).encode(),
        ["/Steps/0/Arguments/In/0 (step 'A')", "step 'Ghost'"],
    ),
    (
        "undeclared-parameter",
        _pipeline(_processing("A", Arguments={"N": {"Get": "Parameters.Count"}})).encode(),
        ["/Steps/0/Arguments/N (step 'A')", "add 'Count' to Parameters"],
    ),
    (
        "unknown-get-namespace",
        _pipeline(_processing("A", Arguments={"N": {"Get": "Pipeline.Name"}})).encode(),
        ["/Steps/0/Arguments/N", "unknown namespace 'Pipeline'"],
    ),
    (
        "get-of-a-number",
        _pipeline(_processing("A", Arguments={"N": {"Get": 5}})).encode(),
        ["/Steps/0/Arguments/N", '"Get" takes a string'],
    ),
    (
        "unknown-execution-variable",
        _pipeline(_processing("A", Arguments={"N": {"Get": "Execution.Nope"}})).encode(),
        ["/Steps/0/Arguments/N", "unknown execution variable 'Nope'"],
    ),
    (
        "cycle-through-depends-on",
        _pipeline(_processing("A", DependsOn=["B"]), _processing("B", DependsOn=["A"])).encode(),
        ["cycle", "'A' -> 'B' (DependsOn)", "'B' -> 'A' (DependsOn)"],
    ),
    (
        "cycle-through-data",
        _pipeline(
            _processing("A", Arguments={"In": _ref("B")}),
            _processing("B", Arguments={"In": _ref("A")}),
        ).encode(),
        ["cycle", "(data reference)"],
    ),
    (
        "depends-on-itself",
        _pipeline(_processing("A", DependsOn=["A"])).encode(),
        ["step 'A' depends on itself"],
    ),
    (
        "unknown-condition-type",
        _pipeline(
            {
                "Name": "C",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [{"Type": "NotEquals"}],
                    "IfSteps": [],
                    "ElseSteps": [],
                },
            }
        ).encode(),
        ["/Steps/0/Arguments/Conditions/0", "unknown condition type 'NotEquals'"],
    ),
    (
        "default-of-the-wrong-type",
        _pipeline(parameters=[{"Name": "N", "Type": "Integer", "DefaultValue": "one"}]).encode(),
        ["/Parameters/0/DefaultValue", "Integer"],
    ),
    (
        "undeclared-property-file",
        _pipeline(
            _processing("Eval"),
            _condition("C", [])
            | {
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "LessThan",
                            "LeftValue": {
                                "Std:JsonGet": {
                                    "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
                                    "Path": "mse",
                                }
                            },
                            "RightValue": 1,
                        }
                    ],
                    "IfSteps": [],
                    "ElseSteps": [],
                }
            },
        ).encode(),
        ["/Steps/1/Arguments/Conditions/0/LeftValue", "does not declare"],
    ),
    (
        "property-file-outside-json-get",
        _pipeline(
            _processing(
                "Eval",
                PropertyFiles=[{"PropertyFileName": "R", "OutputName": "o", "FilePath": "r.json"}],
            ),
            _processing("Use", Arguments={"Report": {"Get": "Steps.Eval.PropertyFiles.R"}}),
        ).encode(),
        ["/Steps/1/Arguments/Report (step 'Use')", 'only inside "Std:JsonGet"'],
    ),
    ("deep-nesting", b"[" * 200_000 + b"]" * 200_000, ["nested too deeply"]),
    # Issue 12: what no writer may meet is refused by the reader, with its place.
    (
        "lone-surrogate",
        _pipeline(_processing("A", Arguments={"x": "\ud800"})).encode(),
        ["/Steps/0/Arguments/x", "lone surrogate"],
    ),
    (
        "number-beyond-a-float",
        _pipeline(_processing("A", Arguments={"x": 0})).replace('"x": 0', '"x": 1e309').encode(),
        ["/Steps/0/Arguments/x", "beyond the range of a 64-bit float"],
    ),
    (
        "lambda-without-function-arn",
        _pipeline({"Name": "L", "Type": "Lambda", "Arguments": {}}).encode(),
        ["/Steps/0 (step 'L')", '"FunctionArn"'],
    ),
    ("empty-steps", b'{"Version": "2020-12-01", "Steps": []}', ["/Steps:", "nothing to translate"]),
    (
        "get-namespace-names-the-step",
        _pipeline(_processing("A", Arguments={"N": {"Get": "Pipeline.Name"}})).encode(),
        ["/Steps/0/Arguments/N (step 'A')", "unknown namespace"],
    ),
]


@pytest.mark.parametrize(("data", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gives_one_message_exit_2_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, fragments: list[str]
) -> None:
    source = tmp_path / "pipeline.json"
    source.write_bytes(data)
    output = tmp_path / "out" / "pipeline.json"
    code = main(["translate", str(source), "--to", "sagemaker", "-o", str(output)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"pipeglot: error: {source}: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert not output.exists()
    assert not output.parent.exists() or not any(output.parent.iterdir())


def test_the_real_command_prints_no_traceback(tmp_path: Path) -> None:
    source = tmp_path / "bad.json"
    source.write_bytes(b"[" * 100_000)
    result = subprocess.run(
        [sys.executable, "-m", "pipeglot", "validate", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("pipeglot: error: ")


def test_a_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    assert main(["validate", str(missing)]) == 2
    assert capsys.readouterr().err == f"pipeglot: error: {missing}: no such file; check the path\n"


def test_an_invalid_file_in_a_folder_stops_every_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_text(_pipeline(_processing("A")))
    (tmp_path / "in" / "b.json").write_text("{")
    code = main(
        ["translate", str(tmp_path / "in"), "--to", "sagemaker", "-o", str(tmp_path / "out")]
    )
    assert code == 2
    assert "b.json" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
