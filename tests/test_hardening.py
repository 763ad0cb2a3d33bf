"""Regression tests for each crash class of issue 12, through the public API and the CLI.

Every input is translated into valid output, or rejected with pipeglot's own error (exit 2,
one message naming the place), or reported unsupported (exit 3); never a traceback, never
exit 1 (which only ``--check`` uses, for "stale"). Outputs are checked with the same checks as
the fuzzing campaign (``test_fuzz.CHECKS``: JSON parses, Python compiles, statelint...).
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import PIPEGLOT
from test_fuzz import CHECKS, _deep, _join, _nested_conditions, _nots

import pipeglot
from pipeglot.cli import main
from pipeglot.errors import MESSAGE_LIMIT, InputError, InternalError, UnsupportedError
from pipeglot.files import MEGABYTE
from pipeglot.ir.validate import MAX_NESTING

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def processing(name: str, arguments: dict[str, Any] | None = None, **keys: Any) -> dict:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "RoleArn": ROLE,
            "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/i"},
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 30,
                }
            },
            **(arguments or {}),
        },
        **keys,
    }


def definition(*steps: dict, parameters: list[dict] | None = None, **top: Any) -> str:
    document = {"Version": "2020-12-01", "Parameters": parameters or [], **top}
    document["Steps"] = list(steps)
    return json.dumps(document)


def fail_step(name: str = "Leaf") -> dict:
    return {"Name": name, "Type": "Fail", "Arguments": {"ErrorMessage": "stop"}}


def condition(name: str, conditions: list[dict], if_steps: list[dict] | None = None) -> dict:
    arguments = {"Conditions": conditions, "IfSteps": if_steps or [], "ElseSteps": []}
    return {"Name": name, "Type": "Condition", "Arguments": arguments}


def every_writer_succeeds_or_reports(text: str) -> dict[str, str]:
    """Translate with every writer; each output passes its check. Returns what happened."""
    workflow = pipeglot.load(text, name="hardening")
    outcomes = {}
    for write, check in CHECKS.items():
        try:
            output = pipeglot.dump(workflow, write=write, unsupported="warn")
        except UnsupportedError:
            outcomes[write] = "unsupported"
            continue
        check(output, workflow)
        outcomes[write] = "translated"
    return outcomes


def rejected(text: str | bytes) -> InputError:
    with pytest.raises(InputError) as caught:
        pipeglot.load(text)
    assert len(str(caught.value)) <= MESSAGE_LIMIT + 200
    return caught.value


# --- recursion: one depth limit at the reader, and every writer handles that depth -----------


def depth(text: str) -> int:
    """How deeply the JSON ``text`` nests lists and objects (the root counts as 1)."""
    deepest, stack = 0, [(json.loads(text), 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, level + 1) for child in children)
    return deepest


def deepest_accepted(build: Any) -> str:
    """``build(n)`` for the largest ``n`` whose document is at most MAX_NESTING deep."""
    n = 1
    while depth(build(n + 1)) <= MAX_NESTING:
        n += 1
    return str(build(n))


def in_arguments(value: Any) -> str:
    return definition(processing("A", {"x": value}))


AT_THE_LIMIT = {
    "lists": lambda n: in_arguments(_deep("v", n, 0)),
    "objects": lambda n: in_arguments(_deep("v", n, 1)),
    "joins": lambda n: in_arguments(_join("v", n)),
    "nots": lambda n: definition(processing("A"), condition("C", [_nots(n)])),
    "nested-conditions": lambda n: definition(_nested_conditions(fail_step(), n)),
}


@pytest.mark.parametrize("build", AT_THE_LIMIT.values(), ids=AT_THE_LIMIT.keys())
def test_every_writer_handles_the_deepest_accepted_nesting(build: Any) -> None:
    text = deepest_accepted(build)
    assert depth(text) > MAX_NESTING - 3  # nested conditions grow 3 levels at a time
    outcomes = every_writer_succeeds_or_reports(text)
    assert outcomes["sagemaker"] == "translated"


def _at_depth(value_depth: int, build: Any) -> str:
    return in_arguments(build(value_depth))


BEYOND_THE_LIMIT = {
    "a list 400 deep in Arguments": _at_depth(400, lambda n: _deep("v", n, 0)),
    "Std:Join nested 250 deep": _at_depth(800, lambda n: _join("v", 250)),
    "300 nested Not conditions": definition(processing("A"), condition("C", [_nots(300)])),
    "just past the limit": _at_depth(MAX_NESTING - 3, lambda n: _deep("v", n, 0)),
    "a broken Get deep inside": _at_depth(600, lambda n: _deep({"Get": "Nope.X"}, n, 1)),
}


@pytest.mark.parametrize("text", BEYOND_THE_LIMIT.values(), ids=BEYOND_THE_LIMIT.keys())
def test_deeper_nesting_is_one_clear_error(text: str) -> None:
    error = rejected(text)
    assert "nested too deeply" in str(error)
    assert f"more than {MAX_NESTING} levels" in str(error)
    assert "line 1, column" in str(error)


def test_the_depth_check_ignores_brackets_inside_strings() -> None:
    text = definition(processing("A", {"x": "[" * 5000 + "{" * 5000 + '\\"[[['}))
    assert pipeglot.load(text).step("A").arguments["x"].startswith("[[[")


def test_the_depth_check_without_escaped_quotes_keeps_strings_apart() -> None:
    # Without an escaped quote the check reads quotes and brackets alone: empty strings next
    # to strings that hold brackets must not move a bracket in or out of a string.
    value = ["", "[" * 300, "", "", "{" * 300 + "]" * 300, ""]
    text = definition(processing("A", {"": "", "x": value}))
    assert pipeglot.load(text).step("A").arguments["x"] == value
    deep = definition(processing("A", {"x": ["", "]" * 300, "", _deep("v", MAX_NESTING, 0)]}))
    assert "nested too deeply" in str(rejected(deep))


def test_a_message_about_a_deep_value_is_short() -> None:
    deep_default = _deep(1, MAX_NESTING - 5, 0)
    error = rejected(
        definition(processing("A"), parameters=[{"Name": "P", "DefaultValue": deep_default}])
    )
    assert "/Parameters/0/DefaultValue" in str(error)
    assert len(str(error)) < 400


# --- an internal placeholder never reaches a writer ------------------------------------------


@pytest.mark.parametrize(
    ("step", "key"),
    [
        ({"Name": "Notify", "Type": "Lambda", "Arguments": {}}, "FunctionArn"),
        ({"Name": "Approve", "Type": "Callback", "Arguments": {}}, "SqsQueueUrl"),
    ],
)
def test_a_step_without_its_required_key_is_rejected(step: dict, key: str) -> None:
    error = rejected(definition(step))
    assert f'needs "{key}"' in str(error)
    assert f"/Steps/0 (step {step['Name']!r})" in str(error)


def test_a_step_written_without_arguments_reaches_every_writer() -> None:
    """A job step with no "Arguments" key (the fuzzer deleted it) is read as written; the
    ASL writer's provenance once serialised the missing value and crashed (exit 4)."""
    step = {"Name": "Evaluate", "Type": "Processing"}
    text = definition(step, processing("Train", DependsOn=["Evaluate"]))
    assert set(every_writer_succeeds_or_reports(text).values()) == {"translated"}


# --- Unicode ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        (
            '{"Steps": [{"Name": "A", "Type": "Processing", "Arguments": {"x": "\\ud800"}}]}',
            "/Steps/0/Arguments/x",
        ),
        ('{"Steps": [{"Name": "A\\udfff", "Type": "Processing"}]}', "/Steps/0/Name"),
        (
            '{"Steps": [{"Name": "A", "Type": "Processing", "Arguments": {"\\ud83d": 1}}]}',
            "/Steps/0/Arguments/\ud83d",
        ),
    ],
    ids=["value", "step-name", "key"],
)
def test_a_lone_surrogate_is_rejected_with_its_place(text: str, pointer: str) -> None:
    error = rejected(text)
    assert "lone surrogate" in error.message
    assert error.location == pointer


def test_a_surrogate_pair_is_a_character_and_every_output_is_utf8() -> None:
    text = definition(processing("Rocket \\ud83d\\ude80", {"x": "\\ud83d\\ude80 é 日本"}))
    text = text.replace("\\\\ud83d\\\\ude80", "\\ud83d\\ude80")
    workflow = pipeglot.load(text)
    assert workflow.steps[0].name == "Rocket 🚀"
    every_writer_succeeds_or_reports(text)


# --- internal exceptions that escaped --------------------------------------------------------


def test_names_kfp_and_step_functions_refuse_are_translated() -> None:
    parameters = [
        {"Name": "$", "Type": "String", "DefaultValue": "dollar"},
        {"Name": "a'b", "Type": "String", "DefaultValue": "quote"},
        {"Name": "_x", "Type": "Integer", "DefaultValue": 1},
    ]
    uses = {
        "D": {"Get": "Parameters.$"},
        "Q": {"Get": "Parameters.a'b"},
        "U": {"Get": "Parameters._x"},
    }
    text = definition(
        processing("-", uses), processing("$", DependsOn=["-"]), parameters=parameters
    )
    outcomes = every_writer_succeeds_or_reports(text)
    assert outcomes["kfp-yaml"] == outcomes["asl"] == "translated"


def test_an_s3_output_that_is_a_string_reaches_no_writer_as_a_crash() -> None:
    producer = processing(
        "Eval",
        {"ProcessingOutputConfig": {"Outputs": [{"OutputName": "report", "S3Output": "s3://b/k"}]}},
        PropertyFiles=[{"PropertyFileName": "R", "OutputName": "report", "FilePath": "r.json"}],
    )
    read = {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Eval.PropertyFiles.R"}, "Path": "mse"}}
    check = condition(
        "Check", [{"Type": "LessThan", "LeftValue": read, "RightValue": 1}], [fail_step()]
    )
    every_writer_succeeds_or_reports(definition(producer, check))


@pytest.mark.parametrize("number", ["1e309", "-1e400", "1E+999"])
def test_a_number_beyond_a_float_is_rejected_not_turned_into_infinity(number: str) -> None:
    text = definition(
        processing("A"), parameters=[{"Name": "F", "Type": "Float", "DefaultValue": 0}]
    )
    error = rejected(text.replace('"DefaultValue": 0', f'"DefaultValue": {number}'))
    assert error.location == "/Parameters/0/DefaultValue"
    assert "beyond the range of a 64-bit float" in error.message


@pytest.mark.parametrize(
    "before", [{}, {"Broken": {"Get": "Nope.X"}}], ids=["alone", "after-a-bad-get"]
)
def test_an_integer_too_long_to_read_is_rejected_with_its_place(before: dict) -> None:
    # Found by the long campaign: behind a first error, the second pass met the digit limit.
    text = definition(processing("A", {**before, "Long": 0})).replace(
        '"Long": 0', '"Long": ' + "9" * 5000
    )
    error = rejected(text)
    assert error.location.startswith("/Steps/0/Arguments/")
    assert "digits" in error.message or "unknown namespace" in error.message


def test_the_largest_float_and_wide_integers_survive_every_writer() -> None:
    parameters = [{"Name": "F", "Type": "Float", "DefaultValue": 1.7976931348623157e308}]
    arguments = {"Wide": 2**70, "Negative": -(2**80), "F": {"Get": "Parameters.F"}}
    every_writer_succeeds_or_reports(definition(processing("A", arguments), parameters=parameters))


def test_a_huge_retry_interval_is_translated() -> None:
    retry = {"ExceptionType": ["Step.SERVICE_FAULT"], "IntervalSeconds": 10**12, "MaxAttempts": 3}
    every_writer_succeeds_or_reports(definition(processing("A", RetryPolicies=[retry])))


@pytest.mark.parametrize("depth", [2, 22, 31])
def test_nested_conditions_compile_for_kfp(depth: int) -> None:
    # 31 is how deep the Amazon provider's own system test nests; 22 broke Python's block limit.
    outcomes = every_writer_succeeds_or_reports(definition(_nested_conditions(fail_step(), depth)))
    assert outcomes["kfp"] in ("translated", "unsupported")


# --- quadratic work --------------------------------------------------------------------------


def _calls(action: Any) -> int:
    profile = cProfile.Profile()
    profile.runcall(action)
    return pstats.Stats(profile).total_calls  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("write", ["asl", "sagemaker", "airflow", "kfp"])
def test_a_wide_join_costs_linear_work(write: str) -> None:
    """Python calls (noise-free, unlike time) grow with the values, not with their square."""

    def translate(count: int) -> Any:
        join = {"Std:Join": {"On": ",", "Values": [{"Get": "Parameters.P"}, "v"] * count}}
        parameters = [{"Name": "P", "DefaultValue": "p"}]
        text = definition(processing("A", {"x": join}), parameters=parameters)
        return lambda: pipeglot.translate(text, write=write, unsupported="warn")

    small, large = _calls(translate(2_000)), _calls(translate(8_000))
    assert large < small * 4 * 1.3, (small, large)


# --- lossless and strict reading -------------------------------------------------------------


def test_a_condition_without_branch_lists_round_trips_as_written() -> None:
    step = {
        "Name": "C",
        "Type": "Condition",
        "Arguments": {"Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}]},
    }
    text = definition(step)
    assert json.loads(pipeglot.translate(text, write="sagemaker")) == json.loads(text)


def test_a_non_ascii_digit_is_not_an_index() -> None:
    use = {"x": {"Get": "Steps.P.ProcessingOutputConfig.Outputs[\u0661].S3Output.S3Uri"}}
    error = rejected(definition(processing("P"), processing("U", use)))
    assert "cannot read the property path" in error.message
    assert "(step 'U')" in str(error)


def test_an_empty_steps_list_is_rejected() -> None:
    error = rejected(definition())
    assert error.location == "/Steps"


@pytest.mark.parametrize(
    ("get", "fragment"),
    [
        ("Parameters.Nope", "not declared"),
        ("Steps.Ghost.ProcessingJobArn", "not in this pipeline"),
        ("Steps.A.ProcessingJobArn", "before any step runs"),
    ],
)
def test_gets_in_the_experiment_config_are_checked(get: str, fragment: str) -> None:
    config = {"ExperimentName": {"Get": get}, "TrialName": {"Get": "Execution.PipelineExecutionId"}}
    error = rejected(definition(processing("A"), PipelineExperimentConfig=config))
    assert error.location == "/PipelineExperimentConfig/ExperimentName"
    assert fragment in error.message


def test_a_huge_bad_value_gives_a_short_message() -> None:
    parameters = [{"Name": "N", "Type": "Integer", "DefaultValue": "x" * 1_000_000}]
    error = rejected(definition(processing("A"), parameters=parameters))
    assert len(str(error)) < 400
    assert "(1000002 characters)" in str(error)


def test_a_huge_bad_name_gives_a_short_message() -> None:
    error = rejected(definition(processing("A", {"x": {"Get": "Parameters." + "n" * 1_000_000}})))
    assert len(str(error)) <= MESSAGE_LIMIT + 200


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        (processing("A", {"x": {"Get": "Pipeline.Name"}}), "/Steps/0/Arguments/x (step 'A')"),
        (
            {**condition("C", []), "Arguments": {"Conditions": [], "IfSteps": 5}},
            "/Steps/0/Arguments/IfSteps (step 'C')",
        ),
    ],
    ids=["unknown-namespace", "if-steps-not-a-list"],
)
def test_messages_name_the_step_and_the_pointer(step: dict, fragment: str) -> None:
    assert fragment in str(rejected(definition(step)))


# --- the command line: exit codes, I/O and signals -------------------------------------------


def run(
    *arguments: str, stdin: Any = subprocess.DEVNULL, **options: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PIPEGLOT, *arguments],
        stdin=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        **options,
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.json"
    path.write_text(definition(processing("A")))
    return path


def one_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pipeglot: error: ")
    return lines[0]


def test_dev_zero_is_refused_at_the_size_limit() -> None:
    line = one_error(run("validate", "/dev/zero", "--from", "sagemaker", "--max-input-mb", "2"))
    assert "larger than 2 MB" in line and "--max-input-mb" in line


def test_the_size_limit_can_be_raised(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    padding = "x" * (3 * MEGABYTE)
    big.write_text(definition(processing("A", {"Environment": {"PAD": padding}})))
    assert "larger than 1 MB" in one_error(run("validate", str(big), "--max-input-mb", "1"))
    assert run("validate", str(big), "--max-input-mb", "4").returncode == 0


def test_a_closed_stdin_is_one_message() -> None:
    line = one_error(run("validate", "-", stdin=None, preexec_fn=lambda: os.close(0)))
    assert "standard input is closed" in line


def test_stdin_is_read() -> None:
    result = run(
        "translate", "-", "--to", "sagemaker", input=definition(processing("A")), stdin=None
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Steps"][0]["Name"] == "A"


def test_an_output_folder_nobody_may_write_is_one_message(source: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes anywhere on a normal file system; sysfs refuses
        target = Path("/sys/pipeglot-hardening.json")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        target = locked / "out.json"
    line = one_error(run("translate", str(source), "--to", "sagemaker", "-o", str(target)))
    assert f"{target}: cannot write it" in line
    assert not target.exists()


def test_an_output_under_a_file_is_one_message(source: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "sub" / "out.json"
    line = one_error(run("translate", str(source), "--to", "sagemaker", "-o", str(target)))
    assert "a file is in the way" in line and str(tmp_path / "file") in line


def test_an_output_through_a_symlink_loop_is_one_message(source: Path, tmp_path: Path) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    line = one_error(run("translate", str(source), "--to", "sagemaker", "-o", str(loop)))
    assert "loops" in line
    assert loop.is_symlink()


def test_an_output_symlink_is_written_through_and_checked_through(
    source: Path, tmp_path: Path
) -> None:
    target = tmp_path / "real" / "out.json"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert run("translate", str(source), "--to", "sagemaker", "-o", str(link)).returncode == 0
    assert link.is_symlink() and link.resolve() == target
    assert json.loads(target.read_text())["Steps"][0]["Name"] == "A"
    assert (
        run("translate", str(source), "--to", "sagemaker", "-o", str(link), "--check").returncode
        == 0
    )
    assert not list(tmp_path.rglob("*.tmp"))


def test_check_against_a_non_utf8_output_is_stale(source: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.json"
    output.write_bytes(b"\xff\xfe not text")
    result = run("translate", str(source), "--to", "sagemaker", "-o", str(output), "--check")
    assert result.returncode == 1, result.stderr
    assert "is out of date" in result.stderr


def test_check_against_an_unreadable_output_is_an_error_not_stale(
    source: Path, tmp_path: Path
) -> None:
    if os.geteuid() == 0:  # root reads any mode; this file exists and cannot be read
        output = Path("/proc/self/mem")
    else:
        output = tmp_path / "out.json"
        output.write_text("{}")
        output.chmod(0)
    line = one_error(
        run("translate", str(source), "--to", "sagemaker", "-o", str(output), "--check")
    )
    assert "cannot read it to compare" in line


def test_a_folder_is_all_or_nothing_when_a_write_fails(tmp_path: Path) -> None:
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    for name in ("a", "b"):
        (inputs / f"{name}.json").write_text(definition(processing(name.upper())))
    (outputs / "b.json").mkdir()  # the second output cannot replace a folder
    line = one_error(run("translate", str(inputs), "--to", "sagemaker", "-o", str(outputs)))
    assert "b.json" in line
    assert sorted(p.name for p in outputs.iterdir()) == ["b.json"]  # a.json was not written


def test_sigterm_while_writing_leaves_no_temporary_file(source: Path, tmp_path: Path) -> None:
    """A real SIGTERM, delivered when the temporary file is written but not yet renamed."""
    output = tmp_path / "out" / "pipeline.json"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pipeglot import files
        from pipeglot.cli import main

        real_fsync = os.fsync
        def fsync_then_terminate(fd):
            real_fsync(fd)
            os.kill(os.getpid(), signal.SIGTERM)
        files.os.fsync = fsync_then_terminate
        sys.exit(main(["translate", {str(source)!r}, "--to", "sagemaker", "-o", {str(output)!r}]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()
    assert not list(tmp_path.rglob("*.tmp"))


def test_an_internal_error_is_exit_4_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug in a writer (here: a real one would do the same) is not the user's mistake."""
    from pipeglot import formats

    monkeypatch.setitem(
        formats.WRITERS, "broken", formats.Format("broken", "test_hardening", "a writer with a bug")
    )
    source = tmp_path / "p.json"
    source.write_text(definition(processing("A")))
    assert main(["translate", str(source), "--to", "broken"]) == InternalError.exit_code
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "internal error while writing broken (ZeroDivisionError" in lines[0]
    assert "please report it" in lines[0]
    with pytest.raises(InternalError) as caught:
        pipeglot.translate(source.read_text(), write="broken")
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def export(workflow: Any, *, diagnostics: Any) -> str:
    """The "broken" writer of the test above: a bug, as a real writer could have one."""
    return str(len(workflow.steps) / 0)


def test_inspect_json_never_prints_infinity(tmp_path: Path) -> None:
    source = tmp_path / "p.json"
    source.write_text(
        definition(
            processing("A"), parameters=[{"Name": "F", "Type": "Float", "DefaultValue": 1}]
        ).replace('"DefaultValue": 1', '"DefaultValue": 1e999')
    )
    assert "/Parameters/0/DefaultValue" in one_error(
        run("inspect", str(source), "--format", "json")
    )
