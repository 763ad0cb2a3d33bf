"""--to kfp-yaml: kfp's own compile of the --to kfp file, with one component per job kind.

Every definition (fixtures and corpus) is compiled twice: by kfp unaided (its helpers, its
``Compiler().compile``, its writer) and by pipeglot. The two specs must run the same thing:
the same tasks in the same DAGs, with the same inputs, dependencies, conditions, retries,
caching and executors (the component's code included), task by task; pipeglot's holds each
distinct component and executor once. The spec loads as a kfp component, compiles inside
another pipeline, and runs in kfp's local runner on moto (``test_kfp_run.py``'s fixtures).
"""

from __future__ import annotations

import cProfile
import importlib.util
import json
import pstats
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, FIXTURES, ROOT, all_definitions, require, require_module
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_kfp_run import SOURCE, _sagemaker_calls, aws, moto_server  # noqa: F401 (fixtures)

import pipeglot
from pipeglot.backends.kfp import compiled
from pipeglot.errors import UsageError

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _kfp_file(path: Path) -> str:
    return pipeglot.translate(path.read_bytes(), write="kfp", unsupported="warn", name=path.stem)


def _unaided_compile(text: str, folder: Path) -> str:
    """The spec kfp writes for the kfp file ``text``: imported and compiled by kfp alone."""
    from kfp import compiler

    path = folder / f"unaided_{uuid.uuid4().hex}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
        compiler.Compiler().compile(module.pipeline, str(folder / "unaided.yaml"))
    finally:
        sys.modules.pop(path.stem, None)
    return (folder / "unaided.yaml").read_text(encoding="utf-8")


def _load(text: str) -> dict[str, Any]:
    return yaml.load(text, Loader=LOADER)


def _runs(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with every reference replaced by what it names: each task holds its component,
    each component its executor. Two specs that run the same thing give the same value,
    whatever their components and executors are called and however many copies they keep."""
    components = spec.get("components", {})
    executors = spec.get("deploymentSpec", {}).get("executors", {})

    def component(name: str) -> dict[str, Any]:
        view = dict(components[name])
        if "executorLabel" in view:
            view["executor"] = executors[view.pop("executorLabel")]
        if "dag" in view:
            view["dag"] = dag(view["dag"])
        return view

    def dag(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "tasks": {name: task(t) for name, t in body.get("tasks", {}).items()}}

    def task(body: dict[str, Any]) -> dict[str, Any]:
        view = dict(body)
        view["component"] = component(view.pop("componentRef")["name"])
        return view

    rest = {key: spec[key] for key in spec.keys() - {"components", "deploymentSpec"}}
    return {**rest, "root": {**spec["root"], "dag": dag(spec["root"]["dag"])}}


def _referenced(spec: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The components and executor labels that some task or component names."""
    names, labels = set(), set()
    pending = [spec["root"]]
    while pending:
        body = pending.pop()
        if "executorLabel" in body:
            labels.add(body["executorLabel"])
        for task in body.get("dag", {}).get("tasks", {}).values():
            name = task["componentRef"]["name"]
            names.add(name)
            pending.append(spec["components"][name])
    return names, labels


def _header(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#")]


@pytest.mark.parametrize("path", all_definitions())
def test_spec_runs_what_kfps_own_compile_runs(path, tmp_path):
    """Task by task the same as kfp's unaided compile, each component and executor once; with
    sharing off, exactly kfp's spec (the linear-time helpers give kfp's names and content)."""
    require_module("kfp")
    text = _kfp_file(path)
    unaided_text = _unaided_compile(text, tmp_path)
    shared_text = compiled.compile_source(text)
    unaided, shared = _load(unaided_text), _load(shared_text)

    assert _load(compiled.compile_source(text, share=False)) == unaided
    assert _runs(shared) == _runs(unaided)
    assert _header(shared_text) == _header(unaided_text)
    executors = shared["deploymentSpec"]["executors"]
    distinct = {yaml.dump(executor, sort_keys=True) for executor in executors.values()}
    assert len(distinct) == len(executors)  # no executor twice
    leaves = [c for c in shared["components"].values() if "executorLabel" in c]
    assert len({yaml.dump(c, sort_keys=True) for c in leaves}) == len(leaves)
    assert _referenced(shared) == (set(shared["components"]), set(executors))  # none unused


@pytest.mark.parametrize("path", [FIXTURES / "every-step-type.json", EXAMPLES / "abalone.json"])
def test_the_yaml_is_pyyamls_with_either_emitter(path, monkeypatch):
    """The spec's YAML is PyYAML's ``dump_all`` of its documents (sorted keys, no folding,
    multi-line text as literal blocks), written by libyaml where PyYAML has it and by PyYAML's
    pure-Python emitter elsewhere: the same bytes."""
    require_module("kfp")
    require(yaml.__with_libyaml__, "PyYAML built with libyaml")
    text = _kfp_file(path)
    with_libyaml = compiled.compile_source(text)

    class Reference(yaml.SafeDumper):
        pass

    def literal(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Reference.add_representer(str, literal)
    header = "".join(line for line in with_libyaml.splitlines(True) if line.startswith("#"))
    documents = list(yaml.load_all(with_libyaml, Loader=LOADER))
    reference = yaml.dump_all(documents, Dumper=Reference, sort_keys=True, width=2**31 - 1)
    assert with_libyaml == header + reference

    compiled._dumper.cache_clear()
    monkeypatch.delattr(yaml, "CSafeDumper")
    try:
        assert compiled.compile_source(text) == with_libyaml
    finally:
        compiled._dumper.cache_clear()


def _pyyamls(document: Any, dumper: type) -> str:
    """What ``compiled`` has PyYAML write for one document, ``dumper`` its dumper class."""
    text = yaml.dump_all([document], Dumper=dumper, sort_keys=True, width=compiled._NO_FOLDING)
    return text[: -len("...\n")] if text.endswith("\n...\n") else text


def _dumpers() -> list[type]:
    """``compiled``'s dumper class with libyaml's emitter (where PyYAML has it) and with
    PyYAML's own."""
    with_libyaml = compiled._dumper()

    class Python(yaml.SafeDumper):
        pass

    Python.add_representer(str, compiled._represent_text)
    return [with_libyaml, Python]


_TRICKY = st.text(
    alphabet=st.sampled_from([*"a0.-:#? \n'\"{}[],!&*|>%@`~=<+eE", "\t", "é", "\x85"]),
    max_size=8,
)
_TEXT = st.one_of(
    _TRICKY,
    st.sampled_from(["", "true", "No", "null", "~", "1.5", "-1", "0x1F", ".inf", "---", "..."]),
    st.sampled_from(["2001-12-14", "1_000", "=", "<<", "a: b", "a #b", "a#b", "-a", "- a"]),
    st.sampled_from(["\n", "a\n", "a\n\n", "\na", " a\nb", "a\n b\n", "a \nb", "a\nb "]),
)
_SCALARS = st.one_of(_TEXT, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none())
# Keys of one line (a key with a break, empty or of 128 characters is left to PyYAML).
_KEYS = st.one_of(
    st.text(alphabet=st.sampled_from([*"a0.-:#? '\"{}[],!&*|>%@`~=<+eE"]), min_size=1, max_size=6),
    st.sampled_from(["true", "No", "null", "~", "1.5", "-1", ".inf", "---", "a: b", "- a", "<<"]),
)
_DOCUMENTS = st.dictionaries(
    _KEYS,
    st.recursive(
        _SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
        max_leaves=12,
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=400, deadline=None)
@given(_DOCUMENTS)
@example({"a": 0.0, "b": -0.0, "c": [1, 1.0, True]})  # equal values, each its own text
def test_yaml_written_directly_is_pyyamls(document):
    """The spec's YAML written line by line (``yaml_text``) is PyYAML's, with either emitter,
    for documents of tricky text (indicators, spaces, breaks, text that reads as another type,
    other characters) and every kind of scalar: or the writer leaves it to PyYAML."""
    for dumper in _dumpers():
        written = compiled._writer(dumper).document_text(document)
        if written is not None:
            assert written == _pyyamls(document, dumper)


def _same_json(first: Any, second: Any) -> bool:
    """Equal as JSON (1, 1.0 and True apart, unlike ``==``)."""
    return json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


@pytest.mark.parametrize("path", all_definitions())
def test_spec_dict_is_json_formats(path):
    """The spec message as a dict (``spec_dict``) is protobuf's ``MessageToDict`` of it, types
    included, shared or not; and of a message holding values it leaves to ``MessageToDict``."""
    require_module("kfp")
    from google.protobuf import json_format, struct_pb2

    from pipeglot.backends.kfp.spec_dict import message_dict

    text = _kfp_file(path)
    for share in (True, False):
        with compiled._compiled_pipeline(text, share=share) as built:
            spec = built.pipeline_spec
            if share:
                compiled.share_components(spec, built.platform_spec)
            assert _same_json(message_dict(spec), json_format.MessageToDict(spec))
    odd = struct_pb2.Struct()
    odd.update({"a": 1, "b": [True, None, "x", {"c": 2.5}]})
    assert _same_json(message_dict(odd), json_format.MessageToDict(odd))
    odd["n"] = float("nan")  # json_format refuses it, and so must message_dict
    nested = type(spec)()
    nested.root.input_definitions.parameters["p"].default_value.number_value = float("nan")
    for message in (odd, nested):
        with pytest.raises(Exception) as refused:
            json_format.MessageToDict(message)
        with pytest.raises(refused.type):
            message_dict(message)


@pytest.mark.parametrize("size", [50, 200])
def test_generated_specs_are_written_directly(size):
    """The benchmark's pipelines: the spec is written directly (not left to PyYAML), and
    the text is PyYAML's with either emitter."""
    require_module("kfp")
    from google.protobuf import json_format

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import pipeline

    text = pipeglot.translate(json.dumps(pipeline(size, seed=1)), write="kfp", unsupported="ignore")
    with compiled._compiled_pipeline(text) as built:
        spec = built.pipeline_spec
        compiled.share_components(spec, built.platform_spec)
        document = json_format.MessageToDict(spec)
        assert _same_json(compiled.message_dict(spec), document)
    for dumper in _dumpers():
        written = compiled._writer(dumper).document_text(document)
        assert written is not None
        assert written == _pyyamls(document, dumper)


def test_the_code_reads_as_code_and_tasks_of_one_kind_share_it():
    """The component's source is a literal block (its lines as they are in the kfp file),
    written once for abalone's two processing steps (and once for each other kind)."""
    require_module("kfp")
    path = EXAMPLES / "abalone.json"
    text = pipeglot.translate(path.read_bytes(), write="kfp-yaml", name=path.stem)
    spec = _load(text)
    processing = [
        task["taskInfo"]["name"]
        for body in [spec["root"], *spec["components"].values()]
        for task in body.get("dag", {}).get("tasks", {}).values()
        if task["componentRef"]["name"] == "comp-processing-job"
    ]
    assert sorted(processing) == ["AbaloneEval", "AbaloneProcess"]
    assert text.count("def processing_job(") == 1
    assert "\n          def processing_job(\n" in text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "a-2"]), st.booleans()), max_size=40))
def test_unique_names_are_kfps(calls):
    """The faster name helper gives kfp's name for every call, as a map of names grows (each
    name taken) and loses entries (the shared copies pipeglot deletes while kfp builds)."""
    require_module("kfp")
    from kfp.dsl import utils

    unique, names = compiled._UniqueNames(), []
    for name, delete_one in calls:
        expected = utils.make_name_unique_by_adding_index(name, list(names), "-")
        assert unique(name, list(names), "-") == expected
        names.append(expected)
        if delete_one and len(names) > 1:
            names.pop(len(names) // 2)


def test_compile_is_linear():
    """Python calls per step (unlike seconds, the same on a busy machine) at 100 and 400 steps
    of the benchmark's pipeline, after a first compile: fewer at 400 (1,310 and 1,150: the
    fixed costs spread over more steps). A quadratic term of kfp's builder adds calls per step
    in proportion to the steps: its list of a DAG's task names made once per task made them
    rise (2,890 and 2,980, checked before the YAML was written directly); unaided, its copies
    of each component, their names and the conversion of every executor after every condition
    group add 55%. (A scan of a list in C, such as the DAG's names asked for each input's
    producer, adds no call: ``_TaskNames`` is checked by the spec comparisons instead.)"""
    require_module("kfp")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import pipeline

    per_step = []
    for size in (100, 400):
        source = json.dumps(pipeline(size))
        text = pipeglot.translate(source, write="kfp", unsupported="ignore")
        if not per_step:  # once before: kfp's first compile imports and reads what it needs
            compiled.compile_source(text)
        profile = cProfile.Profile()
        spec = profile.runcall(compiled.compile_source, text)
        per_step.append(pstats.Stats(profile).total_calls / size)
        assert len(spec) / size < 3_000  # bytes per step; kfp's own spec has 13,600
    assert per_step[1] < per_step[0]


def test_kfps_builder_is_the_one_helped():
    """The installed kfp's ``build_spec_by_group`` is the source ``compiled`` edits (its list
    of the DAG's task names moved out of its loop over the tasks): with another kfp, the
    compile stays right (kfp's own function) but quadratic, and this says so."""
    require_module("kfp")
    from kfp.compiler import pipeline_spec_builder as builder

    helped = compiled._names_listed_once(builder.build_spec_by_group)
    assert helped is not None and helped is not builder.build_spec_by_group
    assert helped.__globals__ is builder.__dict__  # kfp's names, patched ones too


def test_builder_shortcuts_give_kfps_values():
    """The helped builder's shortcuts: a DAG's task names answer membership as kfp's list does,
    and a task without platform settings gets the platform spec kfp's function makes."""
    require_module("kfp")
    from kfp.compiler import pipeline_spec_builder as builder
    from kfp.pipeline_spec import pipeline_spec_pb2

    names = compiled._TaskNames(["a", "b-2", "a"])
    assert names == ["a", "b-2", "a"] and "b-2" in names and "b" not in names
    assert [] not in names  # unhashable: the list's own answer
    inputs = pipeline_spec_pb2.ComponentInputsSpec()
    kfps = builder.platform_config_to_platform_spec({}, "exec-a", inputs, ["a"])
    with compiled._no_platform_config_short():
        short = builder.platform_config_to_platform_spec({}, "exec-a", inputs, ["a"])
    assert short == kfps and short.SerializeToString() == kfps.SerializeToString()


def test_compile_leaves_garbage_collection_as_it_was():
    """compile_source pauses the cyclic collector while kfp builds (as export does) and leaves
    it as it found it, enabled or not; on its own, it collects what it left in cycles."""
    require_module("kfp")
    import gc

    text = _kfp_file(FIXTURES / "every-step-type.json")
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            compiled.compile_source(text)
            assert gc.isenabled() is enabled
        gc.enable()
        compiled.compile_source(text)
        assert gc.get_count()[0] < 700  # the youngest generation collected before returning
    finally:
        gc.enable()


def test_deterministic_and_no_paths():
    require_module("kfp")
    source = (FIXTURES / "every-step-type.json").read_bytes()
    options = {"write": "kfp-yaml", "unsupported": "warn", "name": "every-step-type"}
    first = pipeglot.translate(source, **options)
    assert first == pipeglot.translate(source, **options)
    assert "/tmp" not in first and str(ROOT) not in first
    assert "pipelineInfo:\n  name: every-step-type" in first


def test_without_kfp_is_a_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "kfp", None)
    with pytest.raises(UsageError, match="pip install"):
        pipeglot.translate((FIXTURES / "every-step-type.json").read_bytes(), write="kfp-yaml")


def test_loads_as_a_component_that_another_pipeline_compiles(tmp_path):
    """kfp loads the spec as a component (its inputs are the pipeline's parameters), and a
    pipeline that runs it twice compiles; the nested DAG keeps every task and condition."""
    require_module("kfp")
    from kfp import compiler, components, dsl

    path = EXAMPLES / "abalone.json"
    text = pipeglot.translate(path.read_bytes(), write="kfp-yaml", name=path.stem)
    component = components.load_component_from_text(text)
    spec = _load(text)
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert set(component.component_spec.inputs) == set(parameters)

    @dsl.pipeline(name="outer")
    def outer():  # no annotated parameters: this module's annotations are strings
        first = component(MseThreshold=7.0)
        component(MseThreshold=5.0).after(first)

    compiler.Compiler().compile(outer, str(tmp_path / "outer.yaml"))
    outer_spec = _load((tmp_path / "outer.yaml").read_text())
    inner = [
        outer_spec["components"][task["componentRef"]["name"]]
        for task in outer_spec["root"]["dag"]["tasks"].values()
    ]
    assert len(inner) == 2
    for nested in inner:
        assert _runs({**outer_spec, "root": nested})["root"]["dag"] == _runs(spec)["root"]["dag"]


@pytest.mark.corpus
def test_the_spec_runs_in_kfps_local_runner(aws, tmp_path):  # noqa: F811 (the fixture)
    """The compiled spec itself, loaded as a component, runs the corpus pipeline's jobs on moto
    (the condition true: process, train, evaluate, register), each task through the shared
    component and executor of its kind."""
    require_module("kfp.local")
    require(SOURCE.exists(), f"the corpus pipeline {SOURCE.name}")
    from kfp import components, local

    text = pipeglot.translate(SOURCE.read_bytes(), write="kfp-yaml", unsupported="warn")
    spec = _load(text)
    assert len(spec["deploymentSpec"]["executors"]) < len(_every_task(spec))
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(tmp_path / "root"),
        raise_on_error=True,
    )
    components.load_component_from_text(text)(TestScoreThreshold=0.5)
    creates = [op for op, _ in _sagemaker_calls() if op.startswith("Create")]
    assert creates == [
        "CreateProcessingJob",
        "CreateTrainingJob",
        "CreateProcessingJob",
        "CreateModelPackage",
    ]


def _every_task(spec: dict[str, Any]) -> list[str]:
    bodies = [spec["root"], *spec["components"].values()]
    return [name for body in bodies for name in body.get("dag", {}).get("tasks", {})]
