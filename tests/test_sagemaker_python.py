"""The sagemaker-python frontend on real SDK scripts, under SageMaker SDK v3 and v2.

Each case is read twice: through the frontend (the script runs in a child process, offline) and
by ``tests/fixtures/sdk/build_definitions.py``, which imports the script itself, calls
``definition()`` and reads that JSON with the ``sagemaker`` frontend. The two workflows must be
equal. v3 runs in this environment; v2 (sagemaker<3, which cannot live next to Airflow 3) runs
in the venv that ``make test`` builds and names in PIPEGLOT_SAGEMAKER2_PYTHON.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, FIXTURES, ROOT, require

import pipeglot
from pipeglot.cli import main
from pipeglot.frontends import _sdk_project, sagemaker
from pipeglot.ir.model import StepKind, Workflow

SDK = FIXTURES / "sdk"
BUILD_DEFINITIONS = SDK / "build_definitions.py"
SAGEMAKER2_PYTHON = os.environ.get("PIPEGLOT_SAGEMAKER2_PYTHON")
V3_PROJECT = EXAMPLES / "abalone-project"
V2_PROJECT = SDK / "v2" / "project"
REGION = "us-east-1"


@dataclass(frozen=True)
class Case:
    id: str
    path: Path
    attribute: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    package_root: Path | None = None  # the script sits in a package rooted here
    # Patterns of what the SDK makes up anew on every definition() (times, keys, temporary
    # file names): two runs differ there and only there, so both sides are compared with
    # these blanked (see _without_volatile).
    volatile: tuple[str, ...] = ()

    @property
    def reference(self) -> str:
        return f"{self.path}:{self.attribute}" if self.attribute else str(self.path)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": str(self.path),
            "attribute": self.attribute,
            "kwargs": self.kwargs,
            "package_root": str(self.package_root) if self.package_root else None,
        }


# Job names and upload folders stamped with the time they were made (2026-11-21-13-13-08-715).
TIMESTAMP = r"\d{4}(-\d{2}){5}-\d{3}"
# v3 @step functions: a key pair made per definition() signs the pickled function; its public
# half is in the job's environment (REMOTE_FUNCTION_SECRET_KEY).
PUBLIC_KEY = r"-----BEGIN PUBLIC KEY-----[^-]+-----END PUBLIC KEY-----"
# v2 @step functions: the requirements each function job installs, in a tempfile-named file.
REQUIREMENTS_FILE = r"sagemaker_requirements_\w+\.txt"
# Code uploads (v3, v2): a hash of the file's absolute path is in the key, and offline pipeglot
# runs the script in its copy of the project (_sdk_project.PROJECT), the reference in place.
CODE_PATH_HASH = r"/code/[0-9a-f]{64}/"


def _common_cases() -> list[Case]:
    common = SDK / "common"
    return [
        Case("module-level", common / "module_level.py"),
        Case("named", common / "two_pipelines.py", "large"),
        Case("factory-kwargs", common / "two_pipelines.py", "build", {"threshold": 0.3}),
    ]


V3_CASES = [
    Case("kitchen-sink", SDK / "v3" / "kitchen_sink.py"),
    Case(
        "kitchen-sink-kwargs",
        SDK / "v3" / "kitchen_sink.py",
        "get_pipeline",
        {"name": "Renamed", "threshold": 0.5},
    ),
    Case(
        "project-template",
        V3_PROJECT / "pipelines" / "abalone" / "pipeline.py",
        package_root=V3_PROJECT,
        volatile=(CODE_PATH_HASH,),
    ),
    Case("monitoring", SDK / "v3" / "monitoring.py"),
    Case("deployment", SDK / "v3" / "deployment.py"),
    # The functions and the notebook are uploaded to folders named with the build time.
    Case("function-steps", SDK / "v3" / "function_steps.py", volatile=(TIMESTAMP, PUBLIC_KEY)),
    *_common_cases(),
]
V2_CASES = [
    Case("kitchen-sink", SDK / "v2" / "kitchen_sink.py"),
    Case(
        "project-template",
        V2_PROJECT / "pipelines" / "abalone" / "pipeline.py",
        package_root=V2_PROJECT,
        # The template reads step_eval.arguments before the Pipeline exists, so the SDK names
        # that processing job (and its output path) with the current time.
        volatile=(TIMESTAMP, CODE_PATH_HASH),
    ),
    Case("monitoring", SDK / "v2" / "monitoring.py"),
    Case("deployment", SDK / "v2" / "deployment.py"),
    Case(
        "function-steps",
        SDK / "v2" / "function_steps.py",
        volatile=(TIMESTAMP, REQUIREMENTS_FILE),
    ),
    Case("automl", SDK / "v2" / "automl.py"),  # v3 cannot build an AutoMLStep (see the script)
    *_common_cases(),
]

# Every step type each SDK generation's scripts must produce, between them.
V3_KINDS = {
    StepKind.PROCESSING, StepKind.TRAINING, StepKind.TUNING, StepKind.TRANSFORM,
    StepKind.MODEL, StepKind.REGISTER_MODEL, StepKind.CONDITION, StepKind.FAIL,
    StepKind.LAMBDA, StepKind.CALLBACK, StepKind.EMR, StepKind.EMR_SERVERLESS,
    StepKind.QUALITY_CHECK, StepKind.CLARIFY_CHECK, StepKind.FUNCTION, StepKind.NOTEBOOK_JOB,
    StepKind.ENDPOINT_CONFIG, StepKind.ENDPOINT, StepKind.INFERENCE_COMPONENT, StepKind.LINEAGE,
}  # fmt: skip
# EMR Serverless steps are new in v3; AutoML steps can only be built with v2 (see v2/automl.py).
V2_KINDS = V3_KINDS - {StepKind.EMR_SERVERLESS} | {StepKind.AUTOML}


def _offline_environment() -> dict[str, str]:
    """For build_definitions.py: AWS answered by moto, as the frontend arranges it itself.

    (No SDK config file for the telemetry opt-out: with one, the SDK validates it against its
    schema on every lookup, which costs seconds. moto answers the telemetry requests.)
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        SAGEMAKER_VALIDATE_ROLE="false",
    )
    return environment


def _reference_definitions(python: str, cases: list[Case], tmp: Path) -> dict[str, Any]:
    """Every case's definition() and in-memory reading, in one child process (one SDK import)."""
    cases_path, out_path = tmp / "cases.json", tmp / "definitions.json"
    cases_path.write_text(json.dumps([case.to_json() for case in cases]))
    completed = subprocess.run(
        [python, str(BUILD_DEFINITIONS), str(cases_path), str(out_path)],
        capture_output=True,
        text=True,
        env=_offline_environment(),
        cwd=tmp,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    return json.loads(out_path.read_text())


def _read_all(python: str, cases: list[Case], tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reference definitions, and each case read through the frontend (a Workflow, or the
    exception it raised), two child processes at a time: each is mostly an SDK import, and
    one after the other they took minutes.
    """

    def read(case: Case) -> Workflow | Exception:
        try:
            return pipeglot.load(
                case.reference, read="sagemaker-python", kwargs=case.kwargs, python=python
            )
        except Exception as error:  # raised again by the case's own test
            return error

    with pytest.MonkeyPatch.context() as patch:
        # The frontend keeps the caller's region: the one build_definitions.py runs in.
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_REGION", REGION)
        with ThreadPoolExecutor(max_workers=2) as pool:
            definitions = pool.submit(_reference_definitions, python, cases, tmp)
            readings = {case.id: pool.submit(read, case) for case in cases}
            return definitions.result(), {key: job.result() for key, job in readings.items()}


def _reading(readings: dict[str, Any], case: Case) -> Workflow:
    reading = readings[case.id]
    if isinstance(reading, Exception):
        raise reading
    return reading


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    # The frontend keeps the caller's region; pin it so that both readings use the same one.
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


def _expected(definitions: dict[str, Any], case: Case) -> Workflow:
    built = definitions[case.id]
    return sagemaker.load(built["definition"], name=built["name"])


def _assert_same(workflow: Workflow, expected: Workflow, case: Case) -> None:
    workflow = _as_seen_in_place(workflow, case)
    if case.volatile:
        workflow = _without_volatile(workflow, case.volatile)
        expected = _without_volatile(expected, case.volatile)
    assert workflow == expected


def _as_seen_in_place(workflow: Workflow, case: Case) -> Workflow:
    """pipeglot's reading with the paths of its copy of the project (_sdk_project.PROJECT) as
    the reference run, in place, saw them (a @step's description is its file's path)."""
    text = pipeglot.dump(workflow, write="sagemaker")
    root = _sdk_project.project_root(case.path.resolve())
    return sagemaker.load(text.replace(str(_sdk_project.PROJECT), str(root)), name=workflow.name)


def _assert_in_memory_same(definitions: dict[str, Any], case: Case) -> None:
    """pipeglot.load(Pipeline object) in build_definitions.py read as that case's definition."""
    built = definitions[case.id]
    in_memory = sagemaker.load(built["in_memory"], name=built["name"])
    _assert_same(in_memory, _expected(definitions, case), case)


def _without_volatile(workflow: Workflow, patterns: tuple[str, ...]) -> Workflow:
    """The workflow with whatever matches ``patterns`` blanked."""
    text = pipeglot.dump(workflow, write="sagemaker")
    for pattern in patterns:
        text = re.sub(pattern, "<volatile>", text)
    return sagemaker.load(text, name=workflow.name)


# --- SageMaker SDK v3, in this environment --------------------------------------------------


@pytest.fixture(scope="session")
def v3_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    # Found, not imported: importing SDK v3 needs an AWS region, and it is slow.
    require(importlib.util.find_spec("sagemaker.mlops") is not None, "SageMaker Python SDK v3")
    return _read_all(sys.executable, V3_CASES, tmp_path_factory.mktemp("v3"))


@pytest.fixture(scope="session")
def v3_definitions(v3_run: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return v3_run[0]


@pytest.mark.parametrize("case", V3_CASES, ids=lambda case: case.id)
def test_v3_script_reads_as_its_definition(
    case: Case, v3_run: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """The script, run by the frontend in this environment's Python (in v3_run)."""
    v3_definitions, readings = v3_run
    _assert_same(_reading(readings, case), _expected(v3_definitions, case), case)
    _assert_in_memory_same(v3_definitions, case)


def test_v3_scripts_cover_every_step_type(v3_definitions: dict[str, Any]) -> None:
    kinds = {step.kind for case in V3_CASES for step in _expected(v3_definitions, case).steps}
    assert kinds >= V3_KINDS, f"missing: {V3_KINDS - kinds}"


def test_v3_kitchen_sink_keeps_every_feature(v3_definitions: dict[str, Any]) -> None:
    _assert_kitchen_sink_features(_expected(v3_definitions, V3_CASES[0]))


def test_kwargs_reach_the_factory(v3_definitions: dict[str, Any]) -> None:
    renamed = _expected(v3_definitions, V3_CASES[1])
    assert renamed.name == "Renamed"
    assert renamed.parameter("AccuracyThreshold").default == 0.5


def test_project_template_by_module_reference(
    v3_definitions: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """`pipelines.abalone.pipeline` from the project's root, as the template's tooling runs it."""
    monkeypatch.chdir(V3_PROJECT)
    assert main(["translate", "pipelines.abalone.pipeline", "--to", "sagemaker"]) == 0
    out = capsys.readouterr().out
    template = next(case for case in V3_CASES if case.id == "project-template")
    _assert_same(
        sagemaker.load(out, name="AbalonePipeline"), _expected(v3_definitions, template), template
    )


def test_script_output_does_not_mix_with_the_translation(capsys: Any) -> None:
    script = SDK / "common" / "module_level.py"
    assert main(["translate", str(script), "--to", "sagemaker"]) == 0
    out = capsys.readouterr().out
    assert "building the pipeline" not in out
    assert json.loads(out)["Steps"][0]["Name"] == "Stop"


# --- SageMaker SDK v2, in its own venv --------------------------------------------------------


def _sagemaker2_python() -> str:
    require(
        SAGEMAKER2_PYTHON is not None and Path(SAGEMAKER2_PYTHON).is_file(),
        "the SageMaker SDK v2 venv (.venv-sagemaker2, named by PIPEGLOT_SAGEMAKER2_PYTHON)",
    )
    return SAGEMAKER2_PYTHON  # type: ignore[return-value]


@pytest.fixture(scope="session")
def v2_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    return _read_all(_sagemaker2_python(), V2_CASES, tmp_path_factory.mktemp("v2"))


@pytest.fixture(scope="session")
def v2_definitions(v2_run: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return v2_run[0]


@pytest.mark.parametrize("case", V2_CASES, ids=lambda case: case.id)
def test_v2_script_reads_as_its_definition(
    case: Case, v2_run: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """This pipeglot runs the script with the v2 venv's Python (the `python` option, in v2_run)."""
    v2_definitions, readings = v2_run
    _assert_same(_reading(readings, case), _expected(v2_definitions, case), case)
    _assert_in_memory_same(v2_definitions, case)


def test_v2_cli_inside_the_v2_venv(v2_definitions: dict[str, Any], tmp_path: Path) -> None:
    """pipeglot installed next to sagemaker<3 translates the project template on its own."""
    output = tmp_path / "abalone.json"
    completed = subprocess.run(
        [
            _sagemaker2_python(),
            "-m",
            "pipeglot",
            "translate",
            "pipelines/abalone/pipeline.py",
            "--to",
            "sagemaker",
            "-o",
            str(output),
        ],
        capture_output=True,
        text=True,
        cwd=V2_PROJECT,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    template = next(case for case in V2_CASES if case.id == "project-template")
    expected = _expected(v2_definitions, template)
    _assert_same(sagemaker.load(output.read_text(), name=expected.name), expected, template)


def test_v2_scripts_cover_every_step_type(v2_definitions: dict[str, Any]) -> None:
    kinds = {step.kind for case in V2_CASES for step in _expected(v2_definitions, case).steps}
    assert kinds >= V2_KINDS, f"missing: {V2_KINDS - kinds}"


def test_v2_kitchen_sink_keeps_every_feature(v2_definitions: dict[str, Any]) -> None:
    workflow = _expected(v2_definitions, V2_CASES[0])
    _assert_kitchen_sink_features(workflow)
    assert workflow.step("RegisterBest-RegisterModel").kind is StepKind.REGISTER_MODEL


# --- what both kitchen sinks hold ------------------------------------------------------------


def _assert_kitchen_sink_features(workflow: Workflow) -> None:
    types = {p.name: p.type.value for p in workflow.parameter_list}
    assert set(types.values()) == {"String", "Integer", "Float", "Boolean"}
    assert workflow.parameter("Environment").enum_values == ("dev", "staging", "prod")
    preprocess = workflow.step("Preprocess")
    assert [f.name for f in preprocess.property_files] == ["EvaluationReport"]
    assert preprocess.cache_config.enabled is True
    assert preprocess.cache_config.expire_after == "P30D"
    assert {t for r in preprocess.retry_policies for t in r.exception_types} == {
        "Step.SERVICE_FAULT", "Step.THROTTLING", "SageMaker.CAPACITY_ERROR",
    }  # fmt: skip
    assert preprocess.display_name == "Prepare the data"
    check = workflow.step("CheckAccuracy")
    operators = _condition_types(check.conditions)
    assert operators >= {"GreaterThanOrEqualTo", "GreaterThan", "Equals", "In", "Not", "Or",
                         "LessThan", "LessThanOrEqualTo"}  # fmt: skip
    assert "JsonGet" in _expression_names(check.conditions)
    assert workflow.step("Tune").depends_on == ("Train",)
    assert [o.name for o in workflow.step("Notify").output_parameters] == ["status", "score"]
    assert [o.name for o in workflow.step("ManualApproval").output_parameters] == ["approved"]
    assert workflow.experiment_config is not None


def _condition_types(conditions: Any) -> set[str]:
    """The SageMaker condition types in a condition tree: Comparison nodes by their operator."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        operator = getattr(node, "operator", None)
        found.add(operator.value if operator is not None else type(node).__name__)

    _walk(conditions, visit)
    return found


def _expression_names(value: Any) -> set[str]:
    found: set[str] = set()
    _walk(value, lambda node: found.add(type(node).__name__))
    return found


def _walk(value: Any, visit: Callable[[Any], None]) -> None:
    """Every dataclass node in ``value`` (IR expressions and conditions), depth first."""
    if isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, visit)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, visit)
    elif hasattr(value, "__dataclass_fields__"):
        visit(value)
        for name in value.__dataclass_fields__:
            _walk(getattr(value, name), visit)


def test_fixture_scripts_are_where_the_tests_expect_them() -> None:
    for case in V3_CASES + V2_CASES:
        assert case.path.is_file(), case.path
    assert (ROOT / "frontends" / "_sdk_runner.py").is_file()
