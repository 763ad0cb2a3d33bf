"""The CLI as users run it: translate, --check, folders, stdin, inspect, validate, formats."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLES, PIPEGLOT

import pipeglot
from pipeglot.cli import main
from pipeglot.formats import WRITERS, Format

ABALONE = EXAMPLES / "abalone.json"


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*PIPEGLOT, *args], input=stdin, capture_output=True, check=False)


def test_translate_to_stdout_matches_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", str(ABALONE), "--to", "sagemaker"]) == 0
    expected = pipeglot.translate(ABALONE.read_text(), read="sagemaker", write="sagemaker")
    assert capsys.readouterr().out == expected


def test_stdin_and_python_dash_m() -> None:
    result = _run("translate", "-", "--to", "sagemaker", stdin=ABALONE.read_bytes())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(ABALONE.read_bytes())


def test_output_file_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "deep" / "abalone.json"
    assert main(["translate", str(ABALONE), "--to", "sagemaker", "-o", str(output)]) == 0
    assert json.loads(output.read_text()) == json.loads(ABALONE.read_text())
    assert [p.name for p in output.parent.iterdir()] == ["abalone.json"]  # no temporary left
    check = ["translate", str(ABALONE), "--to", "sagemaker", "-o", str(output), "--check"]
    assert main(check) == 0

    output.write_text(output.read_text().replace("AbaloneTrain", "Renamed", 1))
    stale = output.read_text()
    capsys.readouterr()
    assert main(check) == 1
    assert f"{output} is out of date" in capsys.readouterr().err
    assert output.read_text() == stale  # --check never writes

    output.unlink()
    assert main(check) == 1
    assert not output.exists()


def test_output_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    output = tmp_path / "out.json"
    output.write_text("old")
    output.chmod(0o640)
    assert main(["translate", str(ABALONE), "--to", "sagemaker", "-o", str(output)]) == 0
    assert output.stat().st_mode & 0o777 == 0o640


def test_check_needs_an_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", str(ABALONE), "--to", "sagemaker", "--check"]) == 2
    assert "pass -o OUTPUT" in capsys.readouterr().err


def test_unknown_format_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", str(ABALONE), "--to", "sagemakr"]) == 2
    err = capsys.readouterr().err
    assert "unknown output format 'sagemakr'" in err
    assert "sagemaker" in err and "Did you mean 'sagemaker'?" in err
    with pytest.raises(pipeglot.UsageError, match="unknown input format 'yaml'"):
        pipeglot.load("{}", read="yaml")


def test_format_is_inferred_or_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / "pipeline.definition"
    odd.write_bytes(ABALONE.read_bytes())
    assert main(["validate", str(odd)]) == 2
    assert "pass --from" in capsys.readouterr().err
    assert main(["validate", str(odd), "--from", "sagemaker"]) == 0
    assert "valid sagemaker workflow: 8 steps, 11 edges, 6 parameters" in capsys.readouterr().out


def test_folder_mode_translates_every_file_and_checks_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "pipelines"
    source.mkdir()
    (source / "one.json").write_bytes(ABALONE.read_bytes())
    (source / "two.json").write_bytes(ABALONE.read_bytes())
    (source / "notes.txt").write_text("not a pipeline")
    out = tmp_path / "out"
    assert main(["translate", str(source), "--to", "sagemaker", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["one.json", "two.json"]
    assert main(["translate", str(source), "--to", "sagemaker", "-o", str(out), "--check"]) == 0
    (source / "two.json").write_text(
        ABALONE.read_text().replace('"ml.m5.xlarge"', '"ml.c5.xlarge"')
    )
    capsys.readouterr()
    assert main(["translate", str(source), "--to", "sagemaker", "-o", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "two.json is out of date" in err and "one.json" not in err


def test_inspect_json_lists_steps_edges_and_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(ABALONE), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["name"] == "abalone"
    steps = {s["name"]: s for s in summary["steps"]}
    assert steps["AbaloneTrain"] == {"name": "AbaloneTrain", "type": "Training", "kind": "training"}
    assert steps["AbaloneMSEFail"]["branch_of"] == "AbaloneMSECond"
    assert [s["name"] for s in summary["steps"]][:4] == [
        "AbaloneProcess",
        "AbaloneTrain",
        "AbaloneEval",
        "AbaloneMSECond",
    ]
    assert {"source": "AbaloneMSECond", "target": "AbaloneMSEFail", "origin": "else_branch"} in (
        summary["edges"]
    )
    assert {"source": "AbaloneProcess", "target": "AbaloneTrain", "origin": "data"} in (
        summary["edges"]
    )
    threshold = next(p for p in summary["parameters"] if p["name"] == "MseThreshold")
    assert threshold == {"name": "MseThreshold", "type": "Float", "required": False, "default": 6.0}


def test_inspect_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(ABALONE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pipeline abalone: 8 steps, 11 edges, 6 parameters\n")
    assert "  AbaloneMSEFail: Fail (fail)  [branch of AbaloneMSECond]\n" in out
    assert "  AbaloneTrain -> AbaloneEval (data)\n" in out


def test_formats_lists_readers_and_writers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    for name in WRITERS:
        assert f"  {name} " in out


@pytest.fixture
def placeholder_writer(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(
        WRITERS, "test-placeholder", Format("test-placeholder", "placeholder_backend", "test")
    )
    return "test-placeholder"


def test_unsupported_fails_by_default_listing_each_construct(
    placeholder_writer: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.txt"
    assert main(["translate", str(ABALONE), "--to", placeholder_writer, "-o", str(output)]) == 3
    err = capsys.readouterr().err
    assert "1 construct(s) cannot be translated" in err
    assert "unsupported [test.fail] step 'AbaloneMSEFail'" in err
    assert "approximated [test.condition] step 'AbaloneMSECond': evaluated eagerly" in err
    assert not output.exists()


def test_unsupported_warn_writes_placeholders_and_reports(
    placeholder_writer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["translate", str(ABALONE), "--to", placeholder_writer, "--unsupported", "warn"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "PLACEHOLDER AbaloneMSEFail" in captured.out
    assert "pipeglot: error: " in captured.err and "[test.fail]" in captured.err
    assert "pipeglot: warning: " in captured.err and "[test.condition]" in captured.err


def test_unsupported_ignore_hides_only_unsupported(
    placeholder_writer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["translate", str(ABALONE), "--to", placeholder_writer, "--unsupported", "ignore"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "[test.fail]" not in err
    assert "[test.condition]" in err


def test_api_ledger_and_levels(placeholder_writer: str) -> None:
    ledger = pipeglot.Diagnostics()
    with pytest.raises(pipeglot.UnsupportedError) as raised:
        pipeglot.translate(ABALONE.read_text(), write=placeholder_writer, diagnostics=ledger)
    assert [d.code for d in raised.value.diagnostics] == ["test.fail"]
    assert raised.value.exit_code == 3
    assert {d.fidelity for d in ledger} == {
        pipeglot.Fidelity.UNSUPPORTED,
        pipeglot.Fidelity.APPROXIMATED,
    }
    text = pipeglot.translate(ABALONE.read_text(), write=placeholder_writer, unsupported="warn")
    assert "PLACEHOLDER" in text


def test_deterministic_bytes_across_processes(tmp_path: Path) -> None:
    for fmt in WRITERS:
        outputs = []
        for seed in ("1", "2"):
            env = {**os.environ, "PYTHONHASHSEED": seed}
            result = subprocess.run(
                [*PIPEGLOT, "translate", str(ABALONE), "--to", fmt, "--unsupported", "warn"],
                capture_output=True,
                env=env,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            outputs.append(result.stdout)
        assert outputs[0] == outputs[1], fmt
