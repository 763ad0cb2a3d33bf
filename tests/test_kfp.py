"""The kfp backend: every definition translates, is ruff-clean, compiles with the real kfp
compiler, loads back, and its compiled task graph has exactly the source's reachability."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import keyword
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from conftest import FIXTURES, ROOT, all_definitions, require_module
from hypothesis import given
from hypothesis import strategies as st

import pipeglot
from pipeglot.backends import kfp as kfp_backend
from pipeglot.backends.kfp import runtime, runtime_services
from pipeglot.backends.kfp.source import Namer, identifier, literal
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.errors import UsageError
from pipeglot.ir.graph import build_graph, reachability
from pipeglot.ir.model import StepKind

DEFINITIONS = all_definitions()


def _translate(path: Path, write: str = "kfp") -> tuple[str, Diagnostics]:
    ledger = Diagnostics()
    text = pipeglot.translate(
        path.read_bytes(), write=write, unsupported="warn", diagnostics=ledger, name=path.stem
    )
    return text, ledger


@pytest.fixture(scope="module")
def translated(tmp_path_factory) -> Path:
    """Every definition translated to kfp Python, in one folder (ruff runs once over it)."""
    folder = tmp_path_factory.mktemp("kfp")
    for param in DEFINITIONS:
        path = param.values[0]
        (folder / f"{path.stem}.py").write_text(_translate(path)[0], encoding="utf-8")
    return folder


# --- the dispatch table ---------------------------------------------------------------------


def test_every_step_kind_is_handled_or_declared_unsupported():
    handled, unsupported = set(kfp_backend.HANDLED), set(kfp_backend.UNSUPPORTED)
    assert handled.isdisjoint(unsupported)
    assert handled | unsupported == set(StepKind)


def test_unsupported_kinds_become_placeholders_that_are_reported():
    text, ledger = _translate(FIXTURES / "every-step-type.json")
    reported = {d.step for d in ledger.of(Fidelity.UNSUPPORTED) if d.code == "kfp.step_type"}
    # Lineage and EMRServerless (with ApplicationConfig too) are translated; Callback and
    # unknown types (here a Bedrock step) are not.
    assert reported == {"ManualApproval", "ImportToBedrock"}
    assert text.count("return unsupported_step(") == len(reported)
    with pytest.raises(pipeglot.errors.UnsupportedError):
        pipeglot.translate((FIXTURES / "every-step-type.json").read_bytes(), write="kfp")


# --- every definition -----------------------------------------------------------------------


def test_generated_files_are_ruff_clean(translated):
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        require_module("ruff")
    config = ["--config", str(ROOT / "pyproject.toml")]
    check = subprocess.run(
        [ruff, "check", *config, str(translated)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    form = subprocess.run(
        [ruff, "format", "--check", *config, str(translated)], capture_output=True, text=True
    )
    assert form.returncode == 0, form.stdout


def test_generated_files_import_only_kfp_and_the_standard_library(translated):
    for path in translated.glob("*.py"):
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        modules = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
        modules |= {n.module for n in top if isinstance(n, ast.ImportFrom)}
        assert modules == {"json", "sys", "kfp"}, path.name
        nested = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and node not in top:
                nested |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node not in top:
                nested.add(node.module.split(".")[0])
        # what the components import: the standard library and boto3 (botocore comes with it)
        assert nested <= {"json", "re", "time", "uuid", "datetime", "signal", "boto3", "botocore"}


def _compiled_graph(spec: dict) -> tuple[nx.DiGraph, dict[str, str]]:
    """The compiled task graph: a condition group precedes every task inside it."""
    graph, steps = nx.DiGraph(), {}

    def add(dag: dict, prefix: str) -> list[str]:
        for key, task in dag.get("tasks", {}).items():
            node = f"{prefix}/{key}"
            graph.add_node(node)
            for dependency in task.get("dependentTasks", []):
                graph.add_edge(f"{prefix}/{dependency}", node)
            component = spec["components"][task["componentRef"]["name"]]
            if "dag" in component:
                for inner in add(component["dag"], node):
                    graph.add_edge(node, inner)
            else:
                steps[task["taskInfo"]["name"]] = node
        return [f"{prefix}/{key}" for key in dag.get("tasks", {})]

    add(spec["root"]["dag"], "")
    return graph, steps


@pytest.mark.parametrize("path", DEFINITIONS)
def test_compiles_loads_and_keeps_the_reachability(path, translated, tmp_path):
    yaml = require_module("yaml")
    components = require_module("kfp.components")
    from pipeglot.backends.kfp.compiled import compile_source

    spec_text = compile_source((translated / f"{path.stem}.py").read_text())
    spec_file = tmp_path / "pipeline.yaml"
    spec_file.write_text(spec_text)
    loaded = components.load_component_from_file(str(spec_file))
    workflow = pipeglot.load(path.read_bytes(), name=path.stem)
    assert set(loaded.component_spec.inputs or {}) == {
        kfp_backend.source.identifier(p.name) for p in workflow.parameter_list
    }

    graph, steps = _compiled_graph(yaml.safe_load(spec_text))
    assert set(steps) == {step.name for step in workflow.steps}  # display name == step name
    expected = reachability(build_graph(workflow))
    for name, node in steps.items():
        reached = {other for other, n in steps.items() if n in nx.descendants(graph, node)}
        assert reached == expected[name], name


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # kfp looks a component's module up by name
    spec.loader.exec_module(module)
    return module


def test_components_carry_every_function_their_step_can_call(translated):
    """Components carry only the runtime functions their step can reach (helpers.py). Checked
    here on the code kfp ships, against the raw request text: a Std:JsonGet or Std:Join in it,
    a check step or a tuning step whose summaries are read needs the function that handles it,
    and every other runtime function the shipped code names must be shipped too."""
    require_module("kfp")
    runtime_names = set(kfp_backend.runtime_sources())
    for path in sorted(translated.glob("*.py")):
        module = _import(path)
        components = [v for v in vars(module).values() if hasattr(v, "python_func")]
        for component in components:
            code = "\n".join(component.component_spec.implementation.container.command)
            shipped = set(re.findall(r"^def (\w+)\(", code, re.MULTILINE))
            named = {n for n in re.findall(r"\b(\w+)\(", code) if n in runtime_names}
            body = inspect.getsource(component.python_func)
            step = ast.literal_eval(re.search(r"return \w+\(\s*(\"[^\"]*\"|'[^']*')", body)[1])
            data = json.dumps(module.REQUESTS.get(step)) + body
            may_miss = set()
            if "Std:JsonGet" not in data:
                may_miss.add("json_get")
            if "Std:Join" not in data:
                may_miss.add("join_text")
            if "check=" not in body:
                may_miss.add("check_baselines")
            if '"TrainingJobSummaries' not in body:
                may_miss.add("tuning_summaries")
            assert named - shipped <= may_miss, (path.name, step, named - shipped)


def test_output_is_deterministic():
    path = FIXTURES / "every-step-type.json"
    assert _translate(path)[0] == _translate(path)[0]


def test_kfp_yaml_is_deterministic_and_has_no_paths():
    require_module("kfp")
    path = FIXTURES / "every-step-type.json"
    first, second = _translate(path, "kfp-yaml")[0], _translate(path, "kfp-yaml")[0]
    assert first == second
    assert "/tmp" not in first and str(ROOT) not in first
    assert "pipelineInfo:\n  name: every-step-type" in first


def test_kfp_yaml_is_what_running_the_python_file_writes(tmp_path):
    """--to kfp-yaml is exactly kfp's own compile of the --to kfp file, run as a script."""
    require_module("kfp")
    path = FIXTURES / "every-step-type.json"
    script = tmp_path / "pipeline.py"
    script.write_text(_translate(path)[0], encoding="utf-8")
    subprocess.run([sys.executable, str(script), str(tmp_path / "out.yaml")], check=True)
    assert (tmp_path / "out.yaml").read_text() == _translate(path, "kfp-yaml")[0]


def test_kfp_yaml_without_kfp_is_a_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "kfp", None)
    with pytest.raises(UsageError, match="pip install"):
        _translate(FIXTURES / "every-step-type.json", "kfp-yaml")


def test_base_image_option_and_caching_and_retry():
    text = pipeglot.translate(
        (FIXTURES / "every-step-type.json").read_bytes(),
        write="kfp",
        unsupported="warn",
        base_image="registry.example/python:3.12",
    )
    assert 'BASE_IMAGE = "registry.example/python:3.12"' in text
    # CacheConfig Enabled -> cached; no CacheConfig -> caching off (KFP's default is on)
    assert "Preprocess_task.set_caching_options(True)" in text
    assert "Train_task.set_caching_options(False)" in text
    assert (
        'Preprocess_task.set_retry(num_retries=4, backoff_duration="10s", backoff_factor=2.0)'
        in text
    )
    assert "EMRNewCluster_task.after(EMRSparkJob_task)" in text  # DependsOn only


# --- the literal serialiser and the identifier sanitiser ------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_literal_round_trips(value):
    text = literal(value)
    assert text.isascii()
    assert ast.literal_eval(text) == value


@given(st.lists(st.text(min_size=0, max_size=12), unique=True, max_size=20))
def test_namer_is_injective_and_gives_identifiers(names):
    namer = Namer(("json", "dsl"))
    given_names = [namer.name(name, name) for name in names]
    assert len(set(given_names)) == len(given_names)
    for name in given_names:
        assert name.isidentifier() and name.isascii()
        assert not keyword.iskeyword(name) and name not in ("json", "dsl")


def test_identifier_keeps_valid_names():
    assert identifier("InputData") == "InputData"
    assert identifier("from-idea") == "from_idea"
    assert identifier("class") == "class_"
    assert identifier("3d") == "n_3d"


# --- runtime functions (pure parts) ---------------------------------------------------------


def test_properties_select_list_items_by_name():
    document = {
        "ProcessingOutputConfig": {
            "Outputs": [
                {"OutputName": "test", "S3Output": {"S3Uri": "s3://b/test"}},
                {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}},
            ]
        },
        "FinalMetricDataList": [{"MetricName": "val:rmse", "Value": 2.5}],
        "Environment": {"K": "v"},
    }
    paths = [
        "ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri",
        "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri",
        "FinalMetricDataList['val:rmse'].Value",
        "Environment['K']",
        "Missing.Path",
    ]
    assert json.loads(runtime.step_properties(document, paths)) == {
        "ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri": "s3://b/train",
        "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri": "s3://b/test",
        "FinalMetricDataList['val:rmse'].Value": 2.5,
        "Environment['K']": "v",
    }


def test_resolve_join_parameters_and_step_properties():
    context = runtime.build_context(
        parameters={"Threshold": 6.0, "Flag": True},
        steps={"Train": json.dumps({"ModelArtifacts.S3ModelArtifacts": "s3://m"})},
        execution={"PipelineExecutionId": "run-1"},
    )
    value = {
        "Uri": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
        "Text": {
            "Std:Join": {
                "On": "/",
                "Values": [
                    "s3:/",
                    {"Get": "Execution.PipelineExecutionId"},
                    {"Get": "Parameters.Threshold"},
                    {"Get": "Parameters.Flag"},
                ],
            }
        },
        "List": [{"Get": "Parameters.Threshold"}, 1],
    }
    assert runtime.resolve(value, context) == {
        "Uri": "s3://m",
        "Text": "s3://run-1/6.0/true",
        "List": [6.0, 1],
    }


@pytest.mark.parametrize(
    ("conditions", "outcome"),
    [
        (
            [{"Type": "LessThanOrEqualTo", "LeftValue": 5, "RightValue": {"Get": "Parameters.T"}}],
            True,
        ),
        ([{"Type": "GreaterThan", "LeftValue": 5, "RightValue": {"Get": "Parameters.T"}}], False),
        (
            [{"Type": "In", "QueryValue": {"Get": "Parameters.Env"}, "Values": ["dev", "prod"]}],
            True,
        ),
        (
            [
                {
                    "Type": "Not",
                    "Condition": {
                        "Type": "Equals",
                        "LeftValue": {"Get": "Parameters.Env"},
                        "RightValue": "dev",
                    },
                }
            ],
            False,
        ),
        (
            [
                {
                    "Type": "Or",
                    "Conditions": [
                        {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
                        {"Type": "GreaterThanOrEqualTo", "LeftValue": "7", "RightValue": 6.0},
                    ],
                }
            ],
            True,
        ),
        # the list is AND-ed
        (
            [
                {"Type": "Equals", "LeftValue": True, "RightValue": True},
                {"Type": "LessThan", "LeftValue": 9, "RightValue": {"Get": "Parameters.T"}},
            ],
            False,
        ),
    ],
)
def test_conditions_follow_sagemaker(conditions, outcome):
    context = runtime.build_context(parameters={"T": 6.0, "Env": "dev"})
    assert runtime_services.evaluate_conditions("C", json.dumps(conditions), context) is outcome


def test_a_failed_job_fails_the_task():
    answers = iter([{"Status": "InProgress"}, {"Status": "Failed", "FailureReason": "OOM"}])
    with pytest.raises(RuntimeError, match="Failed: OOM"):
        runtime.wait_for(lambda: next(answers), lambda a: a["Status"], {"Completed"}, {"Failed"}, 0)


def test_unique_names_are_valid_and_fresh():
    first, second = runtime.unique_name("from_idea.to prod" * 5), runtime.unique_name("x")
    assert first != runtime.unique_name("from_idea.to prod" * 5)
    for name in (first, second):
        assert len(name) <= 63
        assert all(c.isalnum() or c == "-" for c in name) and name[0].isalnum()
