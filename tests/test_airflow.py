"""The Airflow backend without Airflow: coverage of step kinds, safety of the generated source
(literals, identifiers, no injection), lint cleanliness, determinism, diagnostics, and the CLI
folder workflow with --check. Loading and running the DAGs is in test_airflow_dags.py."""

from __future__ import annotations

import ast
import json
import keyword
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, FIXTURES, all_definitions, corpus_params
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeglot
from pipeglot.backends import _python as pysource
from pipeglot.backends import airflow
from pipeglot.cli import main
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.errors import UnsupportedError, UsageError
from pipeglot.ir.model import StepKind

AIRFLOW_FIXTURES = FIXTURES / "airflow"
PROFILES = ("3", "2")
# What a generated DAG may import: Airflow (and its providers) and the standard library.
ALLOWED_IMPORTS = {"__future__", "airflow", "datetime", "hashlib", "json", "re", "secrets", "time"}


def definitions() -> list[object]:
    extra = [pytest.param(p, id=p.name) for p in sorted(AIRFLOW_FIXTURES.glob("*.json"))]
    return all_definitions() + extra


def translate(path: Path, version: str = "3", diagnostics: Diagnostics | None = None) -> str:
    return pipeglot.translate(
        path.read_bytes(),
        write="airflow",
        name=path.stem,
        unsupported="warn",
        diagnostics=diagnostics,
        airflow_version=version,
    )


def test_every_step_kind_is_handled_or_declared_unsupported() -> None:
    handled, unsupported = set(airflow.HANDLERS), set(airflow.UNSUPPORTED)
    assert handled.isdisjoint(unsupported)
    assert handled | unsupported == set(StepKind)


@pytest.mark.parametrize("version", PROFILES)
@pytest.mark.parametrize("path", definitions())
def test_dag_file_is_standalone_and_deterministic(path: Path, version: str) -> None:
    text = translate(path, version)
    assert text == translate(path, version)
    tree = ast.parse(text)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS
    assert "pipeglot" not in imported
    assert "/work/" not in text and "/tmp/" not in text  # no absolute paths of this machine


def test_generated_files_are_ruff_clean(tmp_path: Path) -> None:
    for version in PROFILES:
        folder = tmp_path / version
        folder.mkdir()
        for param in definitions():
            path = param.values[0]
            (folder / f"{path.stem}.py").write_text(translate(path, version))
    config = str(Path(__file__).resolve().parent.parent / "pyproject.toml")
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run([*ruff, "check", "--config", config, str(tmp_path)], **_capture())
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [*ruff, "format", "--check", "--config", config, str(tmp_path)], **_capture()
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def _capture() -> dict[str, object]:
    return {"capture_output": True, "text": True, "check": False}


# --- Literals and identifiers ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_string_literal_round_trips_and_is_ascii(text: str) -> None:
    source = pysource.string_literal(text)
    assert source.isascii()
    assert ast.literal_eval(source) == text


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_literal_layout_round_trips(value: object) -> None:
    source = pysource.statement("X", pysource.literal(value))
    tree = ast.parse(source)
    assert ast.literal_eval(tree.body[0].value) == value


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1), unique=True, max_size=30))
def test_identifiers_are_unique_valid_and_keyword_safe(names: list[str]) -> None:
    identifiers = pysource.Identifiers(taken={"dag", "resolved"})
    given_names = [identifiers[name] for name in names]
    assert len(set(given_names)) == len(given_names)
    for identifier in given_names:
        assert identifier.isidentifier() and identifier.isascii()
        assert not keyword.iskeyword(identifier) and not keyword.issoftkeyword(identifier)
        assert identifier not in {"dag", "resolved", "print", "list"}
    assert [identifiers[name] for name in names] == given_names  # stable


def test_awkward_step_names_give_readable_identifiers() -> None:
    identifiers = pysource.Identifiers()
    names = ["class", "1st-step", "my-step", "my_step", "None", "PreprocessAbaloneData"]
    assert [identifiers[name] for name in names] == [
        "class_",
        "step_1st_step",
        "my_step",
        "my_step_2",
        "none",
        "preprocess_abalone_data",
    ]


def test_hostile_strings_stay_data() -> None:
    """Every string of the source is a literal in the DAG file: no call but helper calls."""
    path = AIRFLOW_FIXTURES / "hostile-strings.json"
    tree = ast.parse(translate(path))
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "__import__" not in called and "system" not in called
    source = json.loads(path.read_text())
    hyper = source["Steps"][0]["Arguments"]["HyperParameters"]
    request = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "CLASS_REQUEST"
    )
    literal = {
        ast.literal_eval(key): value
        for key, value in zip(request.keys, request.values, strict=True)
        if ast.literal_eval(key) == "HyperParameters"
    }["HyperParameters"]
    for key, value in zip(literal.keys, literal.values, strict=True):
        if isinstance(value, ast.Constant):
            assert hyper[ast.literal_eval(key)] == value.value


# --- Mapping and diagnostics ----------------------------------------------------------------


def test_diagnostics_report_cache_and_the_callback_protocol() -> None:
    ledger = Diagnostics()
    translate(FIXTURES / "every-step-type.json", diagnostics=ledger)
    codes = {(entry.fidelity, entry.code) for entry in ledger}
    assert (Fidelity.DROPPED, "airflow.cache_config") in codes
    assert (Fidelity.APPROXIMATED, "airflow.callback.protocol") in codes
    unsupported = [entry.code for entry in ledger if entry.fidelity is Fidelity.UNSUPPORTED]
    assert unsupported == ["airflow.unknown"]  # the fixture's made-up step type
    (protocol,) = [entry for entry in ledger if entry.code == "airflow.callback.protocol"]
    assert "send_pipeline_execution_step_success(CallbackToken=" in protocol.message
    assert "instead of SageMaker's SendPipelineExecutionStepSuccess" in protocol.message


def test_every_corpus_pipeline_translates_at_unsupported_error() -> None:
    """Every step type of the corpus, Callback included, translates under the default
    --unsupported error."""
    failing = []
    for param in corpus_params():
        path = param.values[0]
        if path is None:
            pytest.skip("no corpus")
        try:
            pipeglot.translate(path.read_bytes(), write="airflow", name=path.stem)
        except UnsupportedError as error:
            failing.append((path.name, str(error)))
    assert failing == []


def test_emr_cluster_config_creates_and_terminates_its_cluster() -> None:
    ledger = Diagnostics()
    path = CORPUS / "synthetic" / "synthetic-emr-steps-custom-experiment.json"
    if not path.exists():
        pytest.skip("no corpus")
    text = translate(path, diagnostics=ledger)
    assert 'task_id="pipeglot.create_cluster.EMRNewCluster",' in text
    assert "job_flow_overrides=resolved(EMR_NEW_CLUSTER_CLUSTER)," in text
    assert "emr_conn_id=None," in text  # the source request, not merged into a connection's
    assert "job_flow_id=create_cluster_emr_new_cluster.output," in text
    assert (
        "terminate_cluster_emr_new_cluster.as_teardown(setups=create_cluster_emr_new_cluster)"
        in text
    )
    tree = ast.parse(text)
    (cluster,) = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "EMR_NEW_CLUSTER_CLUSTER"
    ]
    source = json.loads(path.read_text())
    config = next(s for s in source["Steps"] if s["Name"] == "EMRNewCluster")["Arguments"]
    expected = dict(config["ClusterConfig"])
    expected["Instances"] = {**expected["Instances"], "KeepJobFlowAliveWhenNoSteps": True}
    assert cluster == {"Name": "EMRNewCluster", **expected}
    assert not any(entry.fidelity is Fidelity.UNSUPPORTED for entry in ledger)
    assert any(entry.code == "airflow.emr" and "terminated by" in entry.message for entry in ledger)


def test_emr_serverless_maps_job_config_to_the_operator() -> None:
    text = translate(FIXTURES / "every-step-type.json")
    start = text.index("spark_serverless = EmrServerlessStartJobOperator(")
    task = text[start : text.index("\n    )", start)]
    assert 'application_id=resolved("00f1abcdefgh"),' in task
    assert "execution_role_arn=resolved(" in task and "job_driver=resolved(" in task
    assert 'Parameter("InputData")' in task
    assert "waiter_max_attempts=780," in task  # 720 minutes, EMR Serverless' default, + 60


def test_emr_serverless_application_with_expressions_stays_a_placeholder() -> None:
    path = AIRFLOW_FIXTURES / "emr-serverless-own-application.json"
    source = json.loads(path.read_text())
    config = source["Steps"][0]["Arguments"]["ApplicationConfig"]
    config["releaseLabel"] = {"Get": "Parameters.InputData"}
    ledger = Diagnostics()
    pipeglot.translate(json.dumps(source), write="airflow", unsupported="warn", diagnostics=ledger)
    assert [e.code for e in ledger if e.fidelity is Fidelity.UNSUPPORTED] == [
        "airflow.emr_serverless"
    ]


def test_lineage_is_a_python_task_whose_arns_later_steps_read() -> None:
    ledger = Diagnostics()
    path = CORPUS / "sdk-v3-eval-benchmark-lineage.json"
    if not path.exists():
        pytest.skip("no corpus")
    text = translate(path, diagnostics=ledger)
    assert "python_callable=lineage(resolved(CREATE_EVALUATION_ACTION_REQUEST))," in text
    assert "from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook" in text
    assert not any(entry.fidelity is Fidelity.UNSUPPORTED for entry in ledger)
    assert any(entry.code == "airflow.lineage" for entry in ledger)


def test_retry_policy_maps_to_task_retries() -> None:
    ledger = Diagnostics()
    text = translate(AIRFLOW_FIXTURES / "condition-pipeline.json", "3", ledger)
    assert "retries=3," in text
    assert "retry_delay=timedelta(seconds=10)," in text
    assert "retry_exponential_backoff=2.0," in text
    text2 = translate(AIRFLOW_FIXTURES / "condition-pipeline.json", "2")
    assert "retry_exponential_backoff=True," in text2
    assert any(entry.code == "airflow.retry_policy" for entry in ledger)


def test_profiles_use_their_own_imports() -> None:
    path = AIRFLOW_FIXTURES / "condition-pipeline.json"
    assert "from airflow.sdk import DAG" in translate(path, "3")
    text2 = translate(path, "2")
    assert "from airflow import DAG" in text2 and "airflow.sdk" not in text2
    assert "airflow.providers.standard" not in text2


def test_parameters_become_typed_params() -> None:
    text = translate(AIRFLOW_FIXTURES / "condition-pipeline.json")
    assert '"MseThreshold": Param(6.0, type="number"),' in text
    assert '"ProcessingInstanceCount": Param(1, type="integer"),' in text
    assert 'enum=["Approved", "Rejected", "PendingManualApproval"]' in text


def test_unknown_airflow_version_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        translate(AIRFLOW_FIXTURES / "lambda-pipeline.json", "1")


def test_runtime_name_fields_match_the_ir() -> None:
    from pipeglot.ir.expressions import NAME_KEYED_LISTS

    source = (Path(airflow.__file__).parent / "runtime.py").read_text()
    tree = ast.parse(source)
    (table,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "NAME_FIELDS"
    ]
    assert ast.literal_eval(table) == NAME_KEYED_LISTS


# --- CLI: a DAG folder kept in sync in CI ---------------------------------------------------


def test_folder_translation_and_check(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    for name in ("condition-pipeline", "lambda-pipeline"):
        (pipelines / f"{name}.json").write_bytes((AIRFLOW_FIXTURES / f"{name}.json").read_bytes())
    dags = tmp_path / "dags"
    args = ["translate", str(pipelines), "--to", "airflow", "-o", str(dags)]
    assert main(args) == 0
    assert sorted(p.name for p in dags.iterdir()) == ["condition-pipeline.py", "lambda-pipeline.py"]
    assert main([*args, "--check"]) == 0
    capsys.readouterr()

    # A pipeline changed, one was added: --check names both stale files and writes nothing.
    changed = json.loads((pipelines / "lambda-pipeline.json").read_text())
    changed["Parameters"][0]["DefaultValue"] = 0.75
    (pipelines / "lambda-pipeline.json").write_text(json.dumps(changed))
    (pipelines / "added.json").write_bytes((AIRFLOW_FIXTURES / "lambda-pipeline.json").read_bytes())
    assert main([*args, "--check"]) == 1
    stderr = capsys.readouterr().err
    assert "lambda-pipeline.py" in stderr and "added.py" in stderr
    assert "condition-pipeline.py is out of date" not in stderr
    assert not (dags / "added.py").exists()

    # A profile change makes every file stale; regenerating makes --check pass again.
    assert main([*args, "--check", "--airflow-version", "2"]) == 1
    assert main([*args, "--airflow-version", "2"]) == 0
    assert main([*args, "--check", "--airflow-version", "2"]) == 0
    assert "from airflow import DAG" in (dags / "added.py").read_text()


def test_airflow_version_needs_the_airflow_backend(capsys: pytest.CaptureFixture) -> None:
    path = str(AIRFLOW_FIXTURES / "lambda-pipeline.json")
    assert main(["translate", path, "--to", "sagemaker", "--airflow-version", "2"]) == 2
    assert "--airflow-version" in capsys.readouterr().err


# --- What steps share, and the DAG's size ------------------------------------------------------


def _rebuilt(body: object, values: dict, builders: dict) -> object:
    """A builder's body with its parameters replaced by ``values``: the request it returns."""
    from pipeglot.backends._python.sharing import Hole, ItemCall

    if isinstance(body, Hole):
        return _rebuilt(values[body.name], {}, builders)
    if isinstance(body, ItemCall):
        item = builders[body.function]
        return _rebuilt(item.body, dict(body.arguments), builders)
    if isinstance(body, dict):
        return {key: _rebuilt(value, values, builders) for key, value in body.items()}
    if isinstance(body, list):
        return [_rebuilt(value, values, builders) for value in body]
    return body


@pytest.mark.parametrize("path", [p for p in all_definitions() if p is not None][:60], ids=str)
def test_request_builders_rebuild_every_request_exactly(path: Path) -> None:
    from pipeglot.backends._python import Identifiers
    from pipeglot.backends._python.sharing import request_families
    from pipeglot.backends.airflow.dispatch import CONFIG_KINDS

    workflow = pipeglot.load(path.read_bytes(), name=path.stem)
    families = request_families(workflow, CONFIG_KINDS, Identifiers())
    for name, family in families.items():
        builders = {item.function: item for item in family.items}
        rebuilt = _rebuilt(family.body, family.arguments[name], builders)
        assert rebuilt == workflow.step(name).arguments, name
        assert json.dumps(rebuilt, default=repr) == json.dumps(
            workflow.step(name).arguments, default=repr
        ), name  # the same keys in the same order, True stays True and 1 stays 1


def test_a_400_step_pipeline_takes_at_most_20_lines_per_step() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from generate import pipeline

    text = pipeglot.translate(json.dumps(pipeline(400)), write="airflow", unsupported="warn")
    assert len(text.splitlines()) / 400 <= 20
    # Each processing step's task passes its own values to the shared builder.
    assert "config=processing_job_request(\n" in text
    assert text.count("def processing_job_request(") == 1


def test_conditions_are_python_predicates_with_sagemakers_equality() -> None:
    source = json.loads((AIRFLOW_FIXTURES / "condition-pipeline.json").read_text())
    condition = next(step for step in source["Steps"] if step["Type"] == "Condition")
    condition["Arguments"]["Conditions"] = [
        {
            "Type": "Equals",
            "LeftValue": {"Get": "Parameters.ModelApprovalStatus"},
            "RightValue": "A",
        },
        {"Type": "Equals", "LeftValue": {"Get": "Parameters.MseThreshold"}, "RightValue": True},
        {"Type": "Not", "Condition": {"Type": "In", "QueryValue": 1, "Values": ["a", "b"]}},
    ]
    text = pipeglot.translate(json.dumps(source), write="airflow", unsupported="warn")
    tree = ast.parse(text)
    (function,) = [
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.endswith("_holds")
    ]
    assert ast.unparse(function.body[0]) == (
        "return model_approval_status == 'A' and equal(mse_threshold, True)"
        " and (not 1 in ('a', 'b'))"
    )
    # The runtime's equality is SageMaker's: values of different types are never equal.
    namespace: dict = {}
    runtime = (Path(airflow.__file__).parent / "runtime.py").read_text()
    section = runtime.split("# section: equality\n")[1].split("# section:")[0]
    exec(compile(section, "runtime", "exec"), namespace)
    assert namespace["equal"](1, 1.0) and not namespace["equal"](True, 1)
    assert namespace["among"](1, [1.0]) and not namespace["among"](1, [True, "1"])


def test_json_conditions_hold_as_sagemaker_decides() -> None:
    # A condition in SageMaker's JSON form, its operands resolved first: Or, Not, In, Equals
    # (never between types) and the ordered comparisons.
    from pipeglot.backends.airflow.sections import runtime_sections

    namespace: dict = {"json": json}
    for text in runtime_sections({"expressions", "conditions", "equality", "condition_json"}):
        exec(compile(text, "runtime", "exec"), namespace)
    holds = namespace["holds"]
    assert holds({"Type": "Not", "Condition": {"Type": "In", "QueryValue": 1, "Values": ["1"]}})
    assert holds({"Type": "Or", "Conditions": [{"Type": "Equals", "LeftValue": True,
                  "RightValue": 1}, {"Type": "LessThanOrEqualTo", "LeftValue": 2,
                  "RightValue": 2.0}]})  # fmt: skip
    assert not holds({"Type": "GreaterThan", "LeftValue": 1, "RightValue": 1})
    with pytest.raises(TypeError):
        holds({"Type": "LessThan", "LeftValue": "1", "RightValue": 2})

    class TaskInstance:
        def xcom_push(self, key: str, value: str) -> None:
            self.pushed = (key, value)

    ti = TaskInstance()
    conditions = [{"Type": "Equals", "LeftValue": 1, "RightValue": 1.0}]
    chooser = namespace["branch"](conditions, ["Yes"], ["No"], ["After"])
    assert chooser(ti=ti) == ["Yes", "After"] and ti.pushed == ("Outcome", "True")


def test_the_runtime_a_dag_carries_is_compact() -> None:
    # The DAG processor compiles the whole file on every parse when bytecode is not cached:
    # the abalone DAG's runtime helpers stay small (benchmarks/airflow_parse.py measures it).
    from pipeglot.backends.airflow.sections import runtime_names

    text = translate(Path(__file__).parent.parent / "examples" / "abalone.json")
    tree = ast.parse(text)
    runtime = runtime_names()
    helpers = [n for n in tree.body if getattr(n, "name", None) in runtime]
    assert len(helpers) <= 18  # 25 before the runtime was compacted
    assert sum(1 for helper in helpers for _ in ast.walk(helper)) <= 1150  # AST nodes; 1460
