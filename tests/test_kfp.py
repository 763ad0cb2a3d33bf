"""The kfp backend: every definition translates, is ruff-clean, compiles with the real kfp
compiler, loads back, and its compiled task graph has exactly the source's reachability."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from conftest import CORPUS, EXAMPLES, FIXTURES, ROOT, all_definitions, require_module

import pipeglot
from pipeglot.backends import kfp as kfp_backend
from pipeglot.backends.kfp import runtime, runtime_services
from pipeglot.backends.kfp.kinds import DATA_CALLS, runtime_sources
from pipeglot.diagnostics import Diagnostics, Fidelity
from pipeglot.errors import UsageError
from pipeglot.ir import sagemaker
from pipeglot.ir.expressions import NAME_KEYED_LISTS, JsonGet, iter_expressions
from pipeglot.ir.graph import build_graph, reachability, step_values
from pipeglot.ir.model import StepKind
from pipeglot.ir.regions import condition_regions
from pipeglot.ir.retries import any_failure_retry

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
    assert handled == kfp_backend.TRANSLATES


def test_component_names_never_shadow_runtime_functions():
    """A component and the runtime functions it carries share one module in the pod."""
    names = {component.name for component in kfp_backend.HANDLED.values()}
    assert names.isdisjoint(runtime_sources())


def test_unsupported_kinds_become_placeholders_that_are_reported():
    text, ledger = _translate(FIXTURES / "every-step-type.json")
    reported = {d.step for d in ledger.of(Fidelity.UNSUPPORTED) if d.code == "kfp.step_type"}
    # Every SageMaker step type is translated (Callback too); unknown types (here a Bedrock
    # step) are not.
    assert reported == {"ImportToBedrock"}
    assert text.count("= untranslated_step(") == len(reported)
    with pytest.raises(pipeglot.errors.UnsupportedError):
        pipeglot.translate((FIXTURES / "every-step-type.json").read_bytes(), write="kfp")


def test_one_component_per_kind_each_defined_once(translated):
    """Every task of a kind calls its kind's one component (training jobs, Function and
    Notebook steps share one)."""
    text = (translated / "every-step-type.py").read_text()
    components = [
        node.name
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef)
        and any("dsl.component" in ast.unparse(d) for d in node.decorator_list)
    ]
    assert len(components) == len(set(components))
    expected = {component.name for component in kfp_backend.HANDLED.values()}
    assert set(components) == expected | {"untranslated_step"}
    assert text.count("= training_job(") == 5  # Train, two notebook jobs, two @step functions


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
        assert modules <= {"json", "sys", "typing", "kfp"}, path.name
        nested = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and node not in top:
                nested |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node not in top:
                nested.add(node.module.split(".")[0])
        # what the components import: the standard library and boto3 (botocore comes with it)
        standard = {"json", "re", "time", "uuid", "datetime", "signal", "secrets"}
        assert nested <= standard | {"boto3", "botocore"}


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
        re.sub(r"[^A-Za-z0-9_]", "_", p.name) for p in workflow.parameter_list
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


def test_components_carry_every_function_they_can_call(translated):
    """Components carry only the runtime functions they can call (kinds.carried): every
    function the code kfp ships names is shipped with it, except those only some data calls
    (a JsonGet, a check step's baselines, a tuning job's summaries), which are shipped when a
    task of the component has such data. Checked on the code kfp ships."""
    require_module("kfp")
    runtime_names = set(runtime_sources())
    optional = {callee for _, callee in DATA_CALLS}
    sources = {param.values[0].stem: param.values[0] for param in DEFINITIONS}
    for path in sorted(translated.glob("*.py")):
        module = _import(path)
        workflow = pipeglot.load(sources[path.stem].read_bytes())
        reading = {
            kfp_backend.HANDLED[step.kind].name
            for step in workflow.steps
            if step.kind in kfp_backend.HANDLED
            and any(
                isinstance(node, JsonGet)
                for value in step_values(step)
                for node in iter_expressions(value)
            )
        }
        components = [v for v in vars(module).values() if hasattr(v, "python_func")]
        assert components, path.name
        for component in components:
            code = "\n".join(component.component_spec.implementation.container.command)
            shipped = set(re.findall(r"^def (\w+)\(", code, re.MULTILINE))
            named = {n for n in re.findall(r"\b(\w+)\(", code) if n in runtime_names}
            assert named - shipped <= optional, (path.name, component.name, named - shipped)
            function = component.python_func.__name__
            if function in reading:
                assert "json_get" in shipped, (path.name, function)
            if function in ("quality_check", "clarify_check"):
                assert "check_baselines" in shipped
            if function == "tuning_job":
                assert "tuning_summaries" in shipped
            if function == "automl_job":
                assert "automl_reports" in shipped


def test_job_components_take_their_facts_from_the_ir_table(translated):
    """The API facts in each job component are the IR's: name field and limit (32 for tuning
    and AutoML jobs), statuses, the unnamed versioned package; list name fields too."""
    require_module("kfp")
    module = _import(translated / "every-step-type.py")
    for kind, component in kfp_backend.HANDLED.items():
        api = sagemaker.resource_api(kind)
        if api is None:
            continue
        source = inspect.getsource(getattr(module, component.name).python_func)
        facts = ast.literal_eval(re.search(r"api = (\{.*?\n    \})", source, re.DOTALL)[1])
        assert facts["resource"] == api.resource
        assert facts["name_field"] == api.name_field
        assert facts["name_limit"] == api.name_limit
        assert facts["succeeded"] == list(api.succeeded)
        assert facts["failed"] == list(api.failed)
        assert facts["unnamed_with"] == api.unnamed_with
    assert module.tuning_job  # the fixture has a tuning step
    assert '"name_limit": 32' in inspect.getsource(module.tuning_job.python_func)
    assert module.list_name_fields() == NAME_KEYED_LISTS


@pytest.mark.parametrize("limit", [63, 32])
def test_job_names_fit_the_limit_of_their_field(limit):
    """A tuning or AutoML job name allows 32 characters: a long step name still starts."""
    for step in ("TuneTheXGBoostModelHyperparameters", "a", "x" * 80, "from_idea.to prod" * 5):
        name = runtime.unique_name(step, limit)
        assert len(name) <= limit
        assert sagemaker.NAME_PATTERN.fullmatch(name), name
        assert name != runtime.unique_name(step, limit)
    assert runtime.unique_name("TuneTheXGBoostModel", 32).startswith("TuneTheXGBoostModel-")


@pytest.mark.parametrize("register", [True, False, None, "true"])
@pytest.mark.parametrize("supplied", [None, "", "s3://b/supplied.json"])
def test_check_baselines_follow_the_ir_rule(register, supplied):
    """BaselineUsedForDriftCheck* is what ir.sagemaker.baseline_used_for_drift_check says."""
    baselines = {
        "calculated": {"CalculatedBaselineConstraints": "constraints.json"},
        "drift": {
            "BaselineUsedForDriftCheckConstraints": [
                "SuppliedBaselineConstraints",
                "CalculatedBaselineConstraints",
            ]
        },
    }
    request = {"ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": "s3://b/out/"}}]}}
    check = {"RegisterNewBaseline": register, "SuppliedBaselineConstraints": supplied}
    properties = runtime.check_baselines(request, check, baselines)
    calculated = "s3://b/out/constraints.json"
    assert properties["CalculatedBaselineConstraints"] == calculated
    expected = sagemaker.baseline_used_for_drift_check(register, supplied, calculated)
    assert properties["BaselineUsedForDriftCheckConstraints"] == expected


def test_output_is_deterministic():
    path = FIXTURES / "every-step-type.json"
    assert _translate(path)[0] == _translate(path)[0]


def test_a_400_step_pipeline_takes_at_most_20_lines_per_step():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import pipeline

    definition = pipeline(400)
    text = pipeglot.translate(json.dumps(definition), write="kfp", unsupported="warn")
    assert len(text.splitlines()) / 400 <= 20
    # One task per step; each processing task passes its own values to the one builder.
    processing = [step for step in definition["Steps"] if step["Type"] == "Processing"]
    assert text.count(" = processing_job(\n") == len(processing)
    assert text.count("request=processing_job_request(\n") == len(processing)
    assert text.count("def processing_job_request(") == 1


def test_only_a_depends_on_that_no_other_path_orders_becomes_after():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import pipeline

    definition = pipeline(12)
    steps = definition["Steps"]
    for step in steps:
        step.pop("DependsOn", None)

    def sources(step: dict) -> list[str]:
        return re.findall(r'"Steps\.(\w+)\.', json.dumps(step["Arguments"]))

    by_name = {step["Name"]: step for step in steps}

    def ancestors(name: str) -> set[str]:
        found = set(sources(by_name[name]))
        return found.union(*(ancestors(source) for source in found))

    # c reads b, which reads a: c's DependsOn on a is already ordered; on d, an earlier step
    # that c does not reach by data, it is not.
    index, c = next(
        (i, s) for i, s in enumerate(steps) if any(sources(by_name[b]) for b in sources(s))
    )
    b = next(name for name in sources(c) if sources(by_name[name]))
    a = sources(by_name[b])[0]
    d = next(s["Name"] for s in steps[:index] if s["Name"] not in ancestors(c["Name"]))
    c["DependsOn"] = [a, d]
    text = pipeglot.translate(json.dumps(definition), write="kfp", unsupported="warn")
    variable = c["Name"].lower()
    assert f"{variable}.set_display_name" in text
    (line,) = [ln for ln in text.splitlines() if ln.startswith(f"    {variable}.set_")]
    assert line.endswith(f".after({d.lower()})")


def test_each_step_property_read_is_one_named_constant():
    """A request reads an earlier step's property by the name of a module constant holding
    SageMaker's own reference, defined once; the component resolves it as before."""
    text = _translate(EXAMPLES / "abalone.json")[0]
    module = ast.parse(text)
    defined = {
        node.targets[0].id: ast.literal_eval(node.value.args[0])
        for node in module.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", "") == "Get"
        and ast.literal_eval(node.value.args[0]).startswith("Steps.")
    }
    assert defined["ABALONE_PROCESS_TRAIN_S3_URI"] == (
        "Steps.AbaloneProcess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    )
    assert defined["ABALONE_TRAIN_S3_MODEL_ARTIFACTS"] == (
        "Steps.AbaloneTrain.ModelArtifacts.S3ModelArtifacts"
    )
    # Nowhere else is a step property spelled out, and every constant is read.
    assert text.count('Get("Steps.') + text.count('Get(\n    "Steps.') == len(defined)
    (function,) = [n for n in module.body if getattr(n, "name", "") == "pipeline"]
    read = {node.id for node in ast.walk(function) if isinstance(node, ast.Name)}
    assert set(defined) <= read


# --to kfp-yaml (the compiled spec) has its own tests: tests/test_kfp_yaml.py.


def test_base_image_option_and_caching_and_retry():
    source = (FIXTURES / "every-step-type.json").read_bytes()
    text = pipeglot.translate(
        source, write="kfp", unsupported="warn", base_image="registry.example/python:3.12"
    )
    assert 'BASE_IMAGE = "registry.example/python:3.12"' in text
    # CacheConfig Enabled -> cached; no CacheConfig -> caching off (KFP's default is on)
    settings = re.findall(r"^    (\w+)\.(set_\w+\(.*\))$", text, re.MULTILINE)
    chained = {
        (task, part if part.endswith(")") else part + ")")
        for task, line in settings
        for part in line.split(").")
    }
    assert ("preprocess", "set_caching_options(True)") in chained
    assert ("train", "set_caching_options(False)") in chained
    # Retries: the one any-failure rule of ir/retries.py
    rule = any_failure_retry(pipeglot.load(source).step("Preprocess"))
    expected = (
        f"set_retry(num_retries={rule.max_attempts}, "
        f'backoff_duration="{rule.interval_seconds}s", backoff_factor={float(rule.backoff_rate)!r})'
    )
    assert expected in text
    assert "emr_new_cluster.after(emr_spark_job)" in text  # DependsOn only


def test_unknown_option_is_a_usage_error_listing_the_known_ones():
    with pytest.raises(UsageError, match="base_image"):
        pipeglot.translate(
            (FIXTURES / "every-step-type.json").read_bytes(), write="kfp", base_imag="x"
        )


def test_the_header_shows_the_command_that_regenerates_it():
    text = pipeglot.translate(
        (FIXTURES / "every-step-type.json").read_bytes(),
        write="kfp",
        unsupported="warn",
        source_command="pipeglot translate every-step-type.json --to kfp -o p.py",
    )
    assert "    pipeglot translate every-step-type.json --to kfp -o p.py\n" in text


def test_a_literal_that_looks_like_a_kfp_placeholder_is_kept_out_of_reach():
    """KFP replaces "{{$...}}" in string inputs; such a literal is written as a Join of
    pieces that are not, which the component resolves back to the very same text."""
    definition = json.loads((FIXTURES / "every-step-type.json").read_text())
    literal_text = "echo {{$.pipeline_job_uuid}} and {{$}}"
    train = next(step for step in definition["Steps"] if step["Name"] == "Train")
    train["Arguments"]["HyperParameters"] = {"cmd": literal_text}
    text = pipeglot.translate(json.dumps(definition), write="kfp", unsupported="warn")
    assert "{{$" not in text
    joined = re.search(r'"cmd": (Join\("", \[[^]]*\]\))', text)[1]
    namespace: dict = {}
    exec(text[text.index("def Get(") : text.index("# --- Values several")], namespace)
    value = eval(joined, namespace)  # the request's value, as the file builds it
    assert runtime.resolve(value, runtime.step_context()) == literal_text


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
    found = {}
    for path in paths:
        try:
            found[path] = runtime.walk(document, path, NAME_KEYED_LISTS)
        except KeyError:
            continue
    assert found == {
        "ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri": "s3://b/train",
        "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri": "s3://b/test",
        "FinalMetricDataList['val:rmse'].Value": 2.5,
        "Environment['K']": "v",
    }


def test_resolve_join_parameters_and_step_properties():
    context = runtime.step_context(
        upstream=[runtime.step_result("Train", {"ModelArtifacts": {"S3ModelArtifacts": "s3://m"}})],
        parameters={"Threshold": 6.0, "Flag": True},
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
    context = runtime.step_context(parameters={"T": 6.0, "Env": "dev"})
    branch, result = runtime_services.evaluate_conditions("C", json.dumps(conditions), context)
    assert branch == ("IfSteps" if outcome else "ElseSteps")
    assert json.loads(result) == {"Step": "C", "Properties": {"Outcome": outcome}}


def test_a_failed_job_fails_the_task():
    answers = iter([{"Status": "InProgress"}, {"Status": "Failed", "FailureReason": "OOM"}])
    with pytest.raises(RuntimeError, match="Failed: OOM"):
        runtime.wait_for(
            lambda: next(answers),
            lambda a: a["Status"],
            {"Completed"},
            {"Failed"},
            0,
            lambda a: a.get("FailureReason"),
        )


# --- conditions nested deeper than Python compiles ------------------------------------------


def _nested_conditions(depth: int) -> dict:
    """Condition k's IfSteps hold condition k+1, its ElseSteps a Fail; a job at the bottom."""
    job = {
        "Name": "Deepest",
        "Type": "Lambda",
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "Arguments": {},
    }
    inner: dict = job
    for level in reversed(range(depth)):
        inner = {
            "Name": f"Gate{level:02d}",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [
                    {
                        "Type": "GreaterThan",
                        "LeftValue": {"Get": "Parameters.N"},
                        "RightValue": level,
                    }
                ],
                "IfSteps": [inner],
                "ElseSteps": [
                    {
                        "Name": f"Stop{level:02d}",
                        "Type": "Fail",
                        "Arguments": {"ErrorMessage": "no"},
                    }
                ],
            },
        }
    return {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "N", "Type": "Integer", "DefaultValue": 40}],
        "Steps": [inner],
    }


def test_conditions_nested_31_deep_compile_and_keep_the_reachability(tmp_path):
    """Python compiles 20 nested blocks: deeper guards are checked by the components."""
    yaml = require_module("yaml")
    from pipeglot.backends.kfp.compiled import compile_source
    from pipeglot.backends.kfp.layout import MAX_DEPTH

    definition = json.dumps(_nested_conditions(31))
    ledger = Diagnostics()
    text = pipeglot.translate(definition, write="kfp", diagnostics=ledger)
    assert not ledger.of(Fidelity.UNSUPPORTED)
    flattened = {d.step for d in ledger if d.code == "kfp.deep_condition"}
    workflow = pipeglot.load(definition)
    assert flattened == {
        step.name
        for step in workflow.steps
        if len(condition_regions(workflow).guard(step.name)) > MAX_DEPTH
    }
    assert "Deepest" in flattened
    spec = yaml.safe_load(compile_source(text))
    graph, steps = _compiled_graph(spec)
    assert set(steps) == {step.name for step in workflow.steps}
    expected = reachability(build_graph(workflow))
    for name, node in steps.items():
        reached = {other for other, n in steps.items() if n in nx.descendants(graph, node)}
        assert expected[name] <= reached, name


def test_a_flattened_step_whose_guard_failed_ends_as_skipped(tmp_path):
    require_module("kfp")
    path = tmp_path / "deep.py"
    path.write_text(pipeglot.translate(json.dumps(_nested_conditions(31)), write="kfp"))
    module = _import(path)
    conditions = json.dumps([{"Type": "Equals", "LeftValue": 1, "RightValue": 1}])
    # Its guard chose the other branch (or was skipped itself): nothing is evaluated or called.
    for guard in ("ElseSteps", "Skipped"):
        branch, result = module.condition_step.python_func(
            step="Gate20", request=conditions, guard=guard, guard_branch="IfSteps"
        )
        assert branch == "Skipped" and json.loads(result) == {"Step": "Gate20", "Skipped": True}
        answer = module.lambda_function.python_func(
            step="Deepest", request="{}", guard=guard, guard_branch="IfSteps"
        )
        assert json.loads(answer) == {"Step": "Deepest", "Skipped": True}
    branch, _ = module.condition_step.python_func(
        step="Gate20", request=conditions, guard="IfSteps", guard_branch="IfSteps"
    )
    assert branch == "IfSteps"


def test_automl_report_properties_come_from_the_best_candidate():
    """BestCandidateProperties.*JsonReportPath: where ir.sagemaker says DescribeAutoMLJob
    keeps them; a report the job did not write is absent, as in SageMaker."""
    reports = {
        "field": sagemaker.AUTOML_REPORT_FIELD,
        "locations": list(sagemaker.AUTOML_REPORT_LOCATIONS),
        "names": dict(sagemaker.AUTOML_REPORT_PROPERTIES),
    }
    locations = {"ModelInsights": "s3://b/insights.json", "Explainability": "s3://b/x.json"}
    document: dict = {}
    inner = document
    for key in sagemaker.AUTOML_REPORT_LOCATIONS[:-1]:
        inner = inner.setdefault(key, {})
    inner[sagemaker.AUTOML_REPORT_LOCATIONS[-1]] = {"ModelInsights": locations["ModelInsights"]}
    found = runtime.automl_reports(document, reports)
    path = "BestCandidateProperties.ModelInsightsJsonReportPath"
    assert runtime.walk(found, path, {}) == locations["ModelInsights"]
    assert "ExplainabilityJsonReportPath" not in found["BestCandidateProperties"]
    assert runtime.automl_reports({}, reports) == {"BestCandidateProperties": {}}


def test_parameters_named_like_component_inputs_are_renamed_and_compile():
    require_module("kfp")
    from pipeglot.backends.kfp.compiled import compile_source

    ledger = Diagnostics()
    source = (FIXTURES / "kfp" / "parameters-named-like-inputs.json").read_bytes()
    text = pipeglot.translate(source, write="kfp", diagnostics=ledger)
    renamed = {d.message.split("'")[1] for d in ledger if d.code == "kfp.parameter_name"}
    assert renamed == {"upstream_1", "execution_id", "step"}
    assert "pipelineInfo" in compile_source(text)


def test_parameters_named_like_module_constants_never_hide_them():
    """A pipeline input is a name in the pipeline function, where the requests are written: a
    shared value's or a step property's constant of the same name would be hidden by it."""
    require_module("kfp")
    from pipeglot.backends.kfp.compiled import compile_source

    definition = json.loads((EXAMPLES / "abalone.json").read_text())
    for name in ("ROLE_ARN", "ABALONE_PROCESS_TRAIN_S3_URI"):
        definition["Parameters"].append({"Name": name, "Type": "String", "DefaultValue": "x"})
    text = pipeglot.translate(json.dumps(definition), write="kfp", unsupported="warn")
    assert '\nROLE_ARN_2 = "arn:aws:iam::000000000000:role/SageMakerRole"\n' in text
    assert "\nABALONE_PROCESS_TRAIN_S3_URI_2 = Get(\n" in text
    assert "pipelineInfo" in compile_source(text)


def _wide_join(parameters: list[str]) -> dict:
    """The fuzzer's wide expression: a Join of several parameters, literals and a run value."""
    values: list = [{"Get": f"Parameters.{name}"} for name in parameters[:3]]
    values += ["s3://wide-join/", "x", {"Get": "Execution.PipelineExecutionId"}]
    return {"Std:Join": {"On": ",", "Values": values}}


@pytest.mark.parametrize("place", ["list", "item"])
def test_a_value_holding_a_builder_parameter_is_never_a_module_constant(place, tmp_path):
    """Issue 12: with one step's ProcessingInputs (or its first item) a Join, the requests of
    two builders shared ``{"RoleArn": ..., "ProcessingInputs": processing_inputs}``, and that
    run became a module constant naming a builder's parameter: the import's NameError."""
    yaml = require_module("yaml")
    from pipeglot.backends.kfp.compiled import compile_source

    definition = json.loads((CORPUS / "ase-model-monitor-clarify-checks.json").read_bytes())
    parameters = [parameter["Name"] for parameter in definition["Parameters"]]
    (step,) = [step for step in definition["Steps"] if step["Name"] == "DataBiasCheckStep"]
    arguments = step["Arguments"]
    if place == "list":
        arguments["ProcessingInputs"] = _wide_join(parameters)
    else:
        arguments["ProcessingInputs"][0] = _wide_join(parameters)
    text = pipeglot.translate(json.dumps(definition), write="kfp")
    tree = ast.parse(text)
    builder_parameters = {
        argument.arg
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and re.fullmatch(r"\w+_request(_\d+)?", node.name)
        for argument in node.args.args
    }
    assert "processing_inputs" in builder_parameters
    read_by_constants = {
        name.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for name in ast.walk(node.value)
        if isinstance(name, ast.Name)
    }
    assert not read_by_constants & builder_parameters
    path = tmp_path / "wide_join.py"
    path.write_text(text)
    _import(path)  # the generated file imports: no module constant names a parameter
    spec_text = compile_source(text)
    assert "s3://wide-join/" in spec_text  # the Join reached the compiled spec
    assert yaml.safe_load(spec_text)["root"]["dag"]["tasks"]
