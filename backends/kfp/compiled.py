"""Backend for the compiled Kubeflow pipeline spec (``--to kfp-yaml``).

It writes the kfp Python file (``pipeglot.backends.kfp``) and compiles it with the real kfp
compiler, in this process: the file is written to a temporary folder (kfp reads each
component's source with ``inspect``), imported as a fresh module (kfp builds the pipeline's
``PipelineSpec`` when ``@dsl.pipeline`` runs), and forgotten. Then, unlike kfp's own writer:

- tasks that run the same component share one ``components`` entry and one executor
  (``spec_sharing``, while kfp builds the spec and once more on the whole): kfp writes a copy
  of both, the component's whole source included, for every task, about 13 KB per step;
- the YAML keeps kfp's layout (sorted keys, kfp's header comment) but writes multi-line text
  (the component's source, its shell commands) as literal blocks that read like the file they
  are, and folds no line: PyYAML's ``dump`` of the spec, written line by line (``yaml_text``;
  PyYAML itself, with libyaml's emitter where PyYAML has it, for what that writer leaves), from
  the dict ``json_format.MessageToDict`` makes of the message (``spec_dict``, the short way);
  ``tests/test_kfp_yaml.py`` checks both against PyYAML's emitters and json_format.

Nothing in the spec depends on the time, the machine or the folder.

kfp's compiler is quadratic or worse in five places on a file of reusable components, and
repeats per task what is the same for every task of a component; while it compiles here, its
builder is helped in narrow ways (``tests/test_kfp_yaml.py`` compares the spec with kfp's
unaided compile on every definition, and with sharing off, byte for byte):

- it names the n-th task of a component by trying ``name-2``, ``name-3``... against a list of
  every name so far (cubic in the tasks of one component): here the same names, skipping the
  tries an earlier call already found taken;
- its pure name sanitisers run once per task and pair of tasks, its type-name helpers several
  times per input of each task, and it reads the source of each runtime helper once per
  component that embeds it: here memoised;
- it adds each task's copy of its component and executor, names each against a list of every
  entry so far, and after each task group (every condition branch) converts every executor into
  the spec's ``deploymentSpec`` (quadratic): here each task's copies are shared as soon as the
  task is complete, so kfp's maps hold distinct entries only;
- it lists a DAG's task names once per task of the DAG (at 800 steps, 640,000 reads of a task's
  name, a quarter of the compile's Python calls): here once per DAG, before its loop over the
  tasks (the same list each time: it is only read, and nothing in the loop renames a task),
  and it asks that list whether each input's producer is in the DAG (a scan per input): here
  the list answers through a set;
- per task, it type-checks each argument, checks each element of the component's command for
  placeholders, converts the component's structure into its spec message, deep-copies the
  component's container and parses empty platform settings: here the checks are decided once
  per kind of argument (and plain text passes the placeholder check), the conversions and
  copies are made once per component and copied, and an empty platform spec made directly.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib.util
import io
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeglot import provenance
from pipeglot.backends import kfp as kfp_python
from pipeglot.backends.kfp.spec_dict import message_dict
from pipeglot.backends.kfp.spec_sharing import TaskSharing, share_components
from pipeglot.backends.kfp.yaml_text import Writer
from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import UsageError
from pipeglot.ir.model import Workflow
from pipeglot.performance import paused_garbage_collection

EXTENSION = ".yaml"
# The options of the kfp Python file it compiles, and the provenance block; its step kinds.
OPTIONS = (*kfp_python.OPTIONS, provenance.PROVENANCE)
UNSUPPORTED = kfp_python.UNSUPPORTED
# No line folding: a long line stays one line (and both YAML emitters write the same bytes).
_NO_FOLDING = 2**31 - 1


def export(workflow: Workflow, *, diagnostics: Diagnostics | None = None, **options: Any) -> str:
    """The compiled pipeline spec (YAML text) of ``workflow``; options as for ``--to kfp``."""
    _kfp_compiler()
    ledger = Diagnostics() if diagnostics is None else diagnostics
    embed = options.pop(provenance.PROVENANCE.name, True)
    text = compile_source(kfp_python.export(workflow, diagnostics=ledger, **options))
    return provenance.attach(workflow, text, write="kfp-yaml", diagnostics=ledger, enabled=embed)


def compile_source(text: str, *, share: bool = True) -> str:
    """Compile the source of a generated kfp pipeline file; returns the spec's YAML text.

    ``share=False`` keeps kfp's copy of each component per task: the spec kfp writes, in
    pipeglot's YAML layout.

    The cyclic garbage collector is paused while kfp builds the spec, as every backend's export
    runs (``pipeglot.performance``; this is inside ``export``'s pause when ``--to kfp-yaml``
    runs): kfp allocates a hundred thousand containers at 800 steps, and the collections they
    trigger scan everything alive so far (a full one, 80 ms, every third compile or so). Called
    on its own, what the compile left in cycles (kfp's tasks and groups) is collected before it
    returns: a collection of the youngest generation, which holds only what was made since."""
    _kfp_compiler()
    collect = gc.isenabled()
    with paused_garbage_collection(), _compiled_pipeline(text, share=share) as pipeline:
        spec = _spec_text(pipeline, share=share)
    if collect:
        gc.collect(0)
    return spec


@contextlib.contextmanager
def _compiled_pipeline(text: str, *, share: bool = True) -> Iterator[Any]:
    """The pipeline object (a kfp ``GraphComponent``) of the kfp file ``text``."""
    with tempfile.TemporaryDirectory(prefix="pipeglot-kfp-") as folder:
        module_name = f"pipeglot_kfp_{uuid.uuid4().hex}"
        path = Path(folder) / f"{module_name}.py"
        path.write_text(text, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # kfp looks components' modules up by name
        try:
            sharing = _sharing_while_built() if share else contextlib.nullcontext()
            # What exec_module does, but for writing the module's bytecode beside it (half a
            # megabyte at 800 steps, in a folder deleted next).
            loader: Any = spec.loader
            code = loader.source_to_code(text.encode("utf-8"), str(path))
            with _builder_helped(), sharing:
                exec(code, module.__dict__)
            yield module.pipeline
        finally:
            sys.modules.pop(module_name, None)


def _spec_text(pipeline: Any, *, share: bool) -> str:
    """What kfp's ``Compiler().compile`` writes for ``pipeline``, with shared components."""
    from google.protobuf import json_format
    from kfp.compiler import pipeline_spec_builder as builder

    pipeline_spec = builder.modify_pipeline_spec_with_override(
        pipeline_spec=pipeline.pipeline_spec, pipeline_name=None, pipeline_parameters=None
    )
    platform_spec = pipeline.platform_spec
    if share:
        share_components(pipeline_spec, platform_spec)
    document = message_dict(pipeline_spec)  # json_format.MessageToDict, the short way
    documents = [document]
    if len(platform_spec.platforms) > 0:
        documents.append(json_format.MessageToDict(platform_spec))
    header = builder.extract_comments_from_pipeline_spec(document, pipeline.description)
    return _commented(header) + _yaml(documents)


def _commented(header: str) -> str:
    """kfp's header comment, with every line a comment: kfp writes parameter defaults into it
    as they are, and a default holding a newline would end the comment (invalid YAML)."""
    lines = header.splitlines(keepends=True)
    return "".join(line if line.startswith("#") else f"#    {line}" for line in lines)


def _yaml(documents: list[dict[str, Any]]) -> str:
    """The documents as YAML, keys sorted as kfp sorts them, multi-line text as literal blocks:
    ``yaml.dump_all(documents, Dumper=_dumper(), sort_keys=True, width=_NO_FOLDING)``, with
    each document's nodes made by ``_nodes`` (PyYAML's representer, the short way)."""
    if len(documents) == 1:  # the common case, written directly (``yaml_text``)
        text = _writer(_dumper()).document_text(documents[0])
        if text is not None:
            return text
    stream = io.StringIO()
    dumper = _dumper()(stream, default_flow_style=False, sort_keys=True, width=_NO_FOLDING)
    try:
        dumper.open()
        for document in documents:
            try:
                node = _nodes(document, dumper, set())
            except _OwnWay:  # a value held twice (an anchor), keys of mixed types
                dumper.represent(document)
            else:
                dumper.serialize(node)
        dumper.close()
    finally:
        dumper.dispose()
    text = stream.getvalue()
    # libyaml ends a document whose last block scalar keeps its final newlines with the
    # optional end marker "..."; PyYAML's own emitter does not. The same document either way.
    return text[: -len("...\n")] if text.endswith("\n...\n") else text


@functools.cache
def _dumper() -> type:
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class SpecDumper(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Which tag a scalar's text would be read as, for each text: the emitter asks
            # twice per scalar, and kfp's specs repeat their texts (names, types) many times.
            self.resolved: dict[tuple[str, tuple[bool, bool]], str] = {}

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is not yaml.ScalarNode:
                return super().resolve(kind, value, implicit)
            key = (value, implicit)
            tag = self.resolved.get(key)
            if tag is None:
                tag = self.resolved[key] = super().resolve(kind, value, implicit)
            return tag

    SpecDumper.add_representer(str, _represent_text)
    return SpecDumper


@functools.cache
def _writer(dumper: type) -> Writer:
    return Writer(dumper, _NO_FOLDING)


class _OwnWay(Exception):
    """A document that PyYAML's representer writes its own way."""


def _nodes(value: Any, dumper: Any, seen: set[int]) -> Any:
    """The YAML node of ``value``, as the dumper's representer makes it (``_represent_text``
    for text, block style, sorted keys); a value other than text, dict or list by the
    representer itself. A container met twice (PyYAML writes an anchor) or keys that do not
    sort raise ``_OwnWay``."""
    kind = type(value)
    if kind is str:
        return _yaml_nodes().ScalarNode(_STR, value, style="|" if "\n" in value else None)
    if kind is dict or kind is list:
        if id(value) in seen:
            raise _OwnWay
        seen.add(id(value))
        if kind is dict:
            try:
                pairs = sorted(value.items())
            except TypeError:
                raise _OwnWay from None
            items = [(_nodes(k, dumper, seen), _nodes(v, dumper, seen)) for k, v in pairs]
            return _yaml_nodes().MappingNode(_MAP, items, flow_style=False)
        items = [_nodes(item, dumper, seen) for item in value]
        return _yaml_nodes().SequenceNode(_SEQ, items, flow_style=False)
    return dumper.represent_data(value)


@functools.cache
def _yaml_nodes() -> Any:
    import yaml.nodes

    return yaml.nodes


_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{kind}" for kind in ("str", "map", "seq"))


def _represent_text(dumper: Any, text: str) -> Any:
    # A literal block where the emitter allows one (no trailing spaces, printable text);
    # it falls back to a quoted scalar by itself otherwise.
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


@contextlib.contextmanager
def _builder_helped() -> Iterator[None]:
    """kfp's builder with its quadratic or repeated work helped, sharing aside (see above)."""
    with (
        _linear_names(),
        _types_read_once(),
        _sources_read_once(),
        _dag_names_once(),
        _checks_once(),
        _component_specs_once(),
        _containers_once(),
        _no_platform_config_short(),
    ):
        yield


@contextlib.contextmanager
def _linear_names() -> Iterator[None]:
    """kfp's name helpers, in linear-time versions that give the same names (see above)."""
    from kfp.dsl import utils

    unique = utils.make_name_unique_by_adding_index
    rename, task_name = utils.maybe_rename_for_k8s, utils.sanitize_task_name
    utils.make_name_unique_by_adding_index = _UniqueNames()
    utils.maybe_rename_for_k8s = functools.lru_cache(maxsize=None)(rename)
    utils.sanitize_task_name = functools.lru_cache(maxsize=None)(task_name)
    try:
        yield
    finally:
        utils.make_name_unique_by_adding_index = unique
        utils.maybe_rename_for_k8s, utils.sanitize_task_name = rename, task_name


class _UniqueNames:
    """kfp's ``make_name_unique_by_adding_index``: ``name``, or the first of ``name{delimiter}2``,
    ``3``... not in ``collection``. The n-th task of a component takes n tries in kfp's loop;
    here the tries already known to be taken (``name-2`` to ``name-k`` of an earlier call, all
    still in the collection: one check at C speed) are skipped, so each call tries once or twice.
    """

    def __init__(self) -> None:
        self.taken_before: dict[tuple[str, str], list[str]] = {}  # name-2, name-3..., in order

    def __call__(self, name: str, collection: list[str], delimiter: str) -> str:
        if name not in collection:
            return name
        taken = set(collection)
        known = self.taken_before.setdefault((name, delimiter), [])
        if not taken.issuperset(known):  # not the growing collection of before: from 2 again
            known.clear()
        index = 2 + len(known)
        while (candidate := f"{name}{delimiter}{index}") in taken:
            known.append(candidate)
            index += 1
        return candidate


@contextlib.contextmanager
def _types_read_once() -> Iterator[None]:
    """kfp's pure type-name helpers, memoised: it reads the type of every input of every task
    several times (at 800 steps 37,000 short type names, 18,000 parameter types), each by
    regular expression. A type given as a dict (unhashable) takes kfp's own function."""
    from kfp.dsl.types import type_annotations, type_utils

    short_name = type_annotations.get_short_type_name
    parameter_type, is_parameter = type_utils.get_parameter_type, type_utils.is_parameter_type
    type_annotations.get_short_type_name = functools.lru_cache(maxsize=None)(short_name)
    type_utils.get_parameter_type = _hashable_memo(parameter_type)
    type_utils.is_parameter_type = _hashable_memo(is_parameter)
    try:
        yield
    finally:
        type_annotations.get_short_type_name = short_name
        type_utils.get_parameter_type, type_utils.is_parameter_type = parameter_type, is_parameter


def _hashable_memo(function: Any) -> Any:
    """``function`` of one argument, memoised for hashable arguments (by type and value: a
    type, a name)."""
    memo: dict[tuple[type, Any], Any] = {}

    def memoised(argument: Any) -> Any:
        try:
            key = (type(argument), argument)
            return memo[key]
        except KeyError:
            result = memo[key] = function(argument)
            return result
        except TypeError:  # unhashable
            return function(argument)

    return memoised


@contextlib.contextmanager
def _checks_once() -> Iterator[None]:
    """kfp's checks of each task's arguments, decided once per kind of argument: its type
    check of an argument against its input (``verify_type_compatibility``: a pure function of
    the argument's class, its type name and artifact-list flag, and the input's) for the
    arguments that pass it, and its check that a placeholder in a component's command names an
    input or output of the right kind, which a command's text (no placeholder) passes as it is
    (at 800 steps, 5,400 type checks and 8,800 command elements). An argument that fails, or
    whose types are not hashable, takes kfp's own check (and its error)."""
    from kfp.dsl import pipeline_channel, pipeline_task
    from kfp.dsl.types import type_utils

    verify = type_utils.verify_type_compatibility
    placeholder_check = pipeline_task.check_primitive_placeholder_is_used_for_correct_io_type
    channel = pipeline_channel.PipelineChannel
    passed: set[Any] = set()

    def verify_type_compatibility(
        given_value: Any,
        expected_spec: Any,
        error_message_prefix: str,
        checks_input: bool = True,
        raise_on_error: bool = True,
    ) -> bool:
        kind = type(given_value)
        given: Any = (kind,)
        if isinstance(given_value, channel):
            given = (kind, given_value.channel_type, getattr(given_value, "is_artifact_list", None))
        expected = (expected_spec.type, getattr(expected_spec, "is_artifact_list", None))
        key = (given, expected, checks_input, raise_on_error)
        try:
            if key in passed:
                return True
        except TypeError:  # a type given as a dict
            return verify(
                given_value, expected_spec, error_message_prefix, checks_input, raise_on_error
            )
        result = verify(
            given_value, expected_spec, error_message_prefix, checks_input, raise_on_error
        )
        if result is True:
            passed.add(key)
        return result

    def check_placeholder(inputs_dict: Any, outputs_dict: Any, arg: Any) -> None:
        if type(arg) is not str:  # a placeholder object: kfp's check
            placeholder_check(inputs_dict, outputs_dict, arg)

    type_utils.verify_type_compatibility = verify_type_compatibility
    pipeline_task.check_primitive_placeholder_is_used_for_correct_io_type = check_placeholder
    try:
        yield
    finally:
        type_utils.verify_type_compatibility = verify
        pipeline_task.check_primitive_placeholder_is_used_for_correct_io_type = placeholder_check


@contextlib.contextmanager
def _component_specs_once() -> Iterator[None]:
    """kfp's conversion of a component's structure into its spec message, once per component
    (kfp converts it again for every task of the component, 800 times at 800 steps): each task
    gets a copy of the first conversion's message (kfp then sets the task's executor label on
    it). A component's structure does not change while the pipeline compiles; the memo holds
    each structure, so that its id is not reused."""
    from kfp.compiler import pipeline_spec_builder as builder

    original = builder._build_component_spec_from_component_spec_structure
    converted: dict[int, tuple[Any, Any]] = {}

    def component_spec(component_spec_struct: Any) -> Any:
        known = converted.get(id(component_spec_struct))
        if known is None:
            known = converted[id(component_spec_struct)] = (
                component_spec_struct,
                original(component_spec_struct),
            )
        copy = type(known[1])()
        copy.CopyFrom(known[1])
        return copy

    builder._build_component_spec_from_component_spec_structure = component_spec
    try:
        yield
    finally:
        builder._build_component_spec_from_component_spec_structure = original


@contextlib.contextmanager
def _containers_once() -> Iterator[None]:
    """kfp's container of a task, made once per component: for every task kfp deep-copies its
    component's container (``_extract_container_spec_and_convert_placeholders``), the
    placeholders of its command and arguments included, and then replaces both lists with their
    text. The result depends on the component's container alone (which does not change while
    the pipeline compiles), so here the first task of a component gets kfp's own result and
    each later one a copy of a pristine copy of it: new lists of the same text for the command
    and the arguments, its other fields deep-copied (a task's settings change its own container:
    its resources, its environment, its image). 800 tasks: 11.6 -> 4.1 ms."""
    import copy
    import dataclasses

    from kfp.dsl import pipeline_task

    task_class = pipeline_task.PipelineTask
    original = task_class._extract_container_spec_and_convert_placeholders
    made: dict[int, tuple[Any, Any]] = {}  # id of a component's container -> it, a pristine copy

    def extract(self: Any, component_spec: Any) -> Any:
        container = component_spec.implementation.container
        known = made.get(id(container))
        if known is None:
            result = original(self, component_spec)
            if dataclasses.is_dataclass(result) and type(result.command) is list is type(
                result.args
            ):
                made[id(container)] = (container, copy.deepcopy(result))
            return result
        pristine = known[1]
        result = copy.copy(pristine)
        for field in dataclasses.fields(pristine):
            value = getattr(pristine, field.name)
            if field.name in ("command", "args"):
                setattr(result, field.name, list(value))
            elif value is not None and type(value) is not str:
                setattr(result, field.name, copy.deepcopy(value))
        return result

    task_class._extract_container_spec_and_convert_placeholders = extract  # type: ignore[method-assign]
    try:
        yield
    finally:
        task_class._extract_container_spec_and_convert_placeholders = original  # type: ignore[method-assign]


@contextlib.contextmanager
def _no_platform_config_short() -> Iterator[None]:
    """kfp's platform spec of a task without kfp-kubernetes settings, made the short way: kfp
    rewrites the task's (empty) settings and parses them as JSON into a ``PlatformSpec``, which
    is then empty (25 microseconds a task); here an empty ``PlatformSpec`` (the same message).
    A task with settings takes kfp's function."""
    from kfp.compiler import pipeline_spec_builder as builder
    from kfp.pipeline_spec import pipeline_spec_pb2

    original = builder.platform_config_to_platform_spec
    empty = pipeline_spec_pb2.PlatformSpec

    def platform_config_to_platform_spec(platform_config: Any, *args: Any, **kwargs: Any) -> Any:
        if type(platform_config) is dict and not platform_config:
            return empty()
        return original(platform_config, *args, **kwargs)

    builder.platform_config_to_platform_spec = platform_config_to_platform_spec
    try:
        yield
    finally:
        builder.platform_config_to_platform_spec = original


@contextlib.contextmanager
def _dag_names_once() -> Iterator[None]:
    """kfp's ``build_spec_by_group``, with its list of the DAG's task names made once per DAG
    instead of once per task (see above); kfp's own where its source is not the one edited."""
    from kfp.compiler import pipeline_spec_builder as builder

    original = builder.build_spec_by_group
    builder.build_spec_by_group = _names_listed_once(original) or original
    try:
        yield
    finally:
        builder.build_spec_by_group = original


# In kfp's build_spec_by_group (kfp 2.16 and 2.17): the loop over a DAG's tasks, and the list
# made at the start of each of its turns.
_TASK_LOOP = """    subgroups = group.groups + group.tasks
    for subgroup in subgroups:
"""
_NAMES_IN_LOOP = """        tasks_in_current_dag = [
            utils.sanitize_task_name(subgroup.name) for subgroup in subgroups
        ]
"""
_NAMES_BEFORE_LOOP = """    tasks_in_current_dag = _TaskNames([
        utils.sanitize_task_name(subgroup.name) for subgroup in subgroups
    ])
"""


class _TaskNames(list[str]):
    """kfp's list of a DAG's task names, asked whether a name is in it through a set: kfp asks
    for every input of every task whether its producer is in the task's DAG (a scan of the
    list each time: quadratic). kfp only reads the list (membership, truth, iteration)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self.members = frozenset(names)

    def __contains__(self, name: object) -> bool:
        try:
            return name in self.members
        except TypeError:  # unhashable: the list's own answer
            return list.__contains__(self, name)


@functools.cache
def _names_listed_once(function: Any) -> Any:
    """``function`` (kfp's ``build_spec_by_group``) recompiled from its source with the list
    made before the loop (a ``_TaskNames``), in kfp's module; None when the source is not as
    expected."""
    import inspect

    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    if source.count(_TASK_LOOP) != 1 or source.count(_NAMES_IN_LOOP) != 1:
        return None
    source = source.replace(_NAMES_IN_LOOP, "").replace(
        _TASK_LOOP, _TASK_LOOP.replace("    for", _NAMES_BEFORE_LOOP + "    for")
    )
    # Defined inside a function that is given _TaskNames, so that kfp's module stays as it is.
    source = "def _helped(_TaskNames):\n" + textwrap.indent(source, "    ")
    source += f"    return {function.__name__}\n"
    namespace: dict[str, Any] = {}
    code = compile(source, inspect.getsourcefile(function) or "<kfp>", "exec")
    exec(code, function.__globals__, namespace)  # kfp's own code, with one list moved
    return namespace["_helped"](_TaskNames)


@contextlib.contextmanager
def _sources_read_once() -> Iterator[None]:
    """kfp reads the source of each function a component embeds (``inspect.getsource``, which
    tokenizes it) once per component: the shared runtime helpers once per job kind. The file
    does not change while it compiles, so here each function's source is read once."""
    from kfp.dsl import component_factory

    original = component_factory._get_function_source_definition
    component_factory._get_function_source_definition = functools.cache(original)
    try:
        yield
    finally:
        component_factory._get_function_source_definition = original


@contextlib.contextmanager
def _sharing_while_built() -> Iterator[None]:
    """kfp's builder, with each task's component and executor shared as soon as kfp adds them.

    ``build_spec_by_group`` builds a group's tasks one after another: it adds each task's
    component and executor under names made unique against a list of every name so far, and
    after the group it converts every executor into the spec's ``deploymentSpec``; with a copy
    per task both are quadratic. Here, when kfp starts the next task's spec
    (``build_task_spec_for_task``), the group's previous task is complete, and its entries are
    shared (``TaskSharing``); the last task's when the group ends. kfp's maps then hold distinct
    entries only, so its name lists and its per-group conversion stay short."""
    from kfp.compiler import pipeline_spec_builder as builder

    original_create = builder.create_pipeline_spec
    original_group, original_task = builder.build_spec_by_group, builder.build_task_spec_for_task
    pipelines: list[dict[int, TaskSharing]] = []  # per pipeline being built: its sharing
    groups: list[_GroupBuild] = []

    def create_pipeline_spec(*args: Any, **kwargs: Any) -> Any:
        pipelines.append({})
        try:
            return original_create(*args, **kwargs)
        finally:
            pipelines.pop()

    def build_spec_by_group(*args: Any, **kwargs: Any) -> Any:
        if args or not pipelines:  # not the call this patch knows: kfp's own behaviour
            return original_group(*args, **kwargs)
        spec, config = kwargs["pipeline_spec"], kwargs["deployment_config"]
        sharing = pipelines[-1].setdefault(id(config), TaskSharing(spec, config))
        groups.append(_GroupBuild(kwargs, sharing))
        try:
            result = original_group(**kwargs)
            groups[-1].task_done()
            return result
        finally:
            groups.pop()

    def build_task_spec_for_task(*args: Any, **kwargs: Any) -> Any:
        if groups and "task" in kwargs:
            groups[-1].task_started(kwargs["task"])
        return original_task(*args, **kwargs)

    builder.create_pipeline_spec = create_pipeline_spec
    builder.build_spec_by_group, builder.build_task_spec_for_task = (
        build_spec_by_group,
        build_task_spec_for_task,
    )
    try:
        yield
    finally:
        builder.create_pipeline_spec = original_create
        builder.build_spec_by_group, builder.build_task_spec_for_task = (
            original_group,
            original_task,
        )


class _GroupBuild:
    """One ``build_spec_by_group`` call: its DAG and the task kfp is building in it."""

    def __init__(self, arguments: dict[str, Any], sharing: TaskSharing) -> None:
        from kfp.dsl import utils

        spec, group = arguments["pipeline_spec"], arguments["group"]
        if group.name == arguments["rootgroup_name"]:  # where kfp puts the group's tasks
            self.dag = spec.root.dag
        else:
            self.dag = spec.components[utils.sanitize_component_name(group.name)].dag
        self.sharing = sharing
        self.task: Any = None

    def task_started(self, task: Any) -> None:
        self.task_done()
        self.task = task

    def task_done(self) -> None:
        task, self.task = self.task, None
        # A task with kfp-kubernetes settings keeps its executor: they name it by its label.
        if task is not None and not task.platform_config and task.name in self.dag.tasks:
            self.sharing.share(self.dag.tasks[task.name])


def _kfp_compiler() -> Any:
    try:
        from kfp import compiler
    except ImportError:
        raise UsageError(
            "--to kfp-yaml compiles with the kfp package, which is not installed; "
            "install it with `pip install 'pipeglot[kfp]'` (or `pip install 'kfp>=2.16,<3'`), "
            "or use --to kfp to get the pipeline as Python"
        ) from None
    return compiler
