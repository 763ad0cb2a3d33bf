"""Backend for the compiled Kubeflow pipeline spec (``--to kfp-yaml``).

It writes the kfp Python file (``pipeglot.backends.kfp``) and compiles it with the real kfp
compiler, in this process: the file is written to a temporary folder (kfp reads each
component's source with ``inspect``), imported as a fresh module (kfp builds the pipeline's
``PipelineSpec`` when ``@dsl.pipeline`` runs), and forgotten. Then, unlike kfp's own writer:

- tasks that run the same component share one ``components`` entry and one executor
  (``spec_sharing``): kfp writes a copy of both, the component's whole source included, for
  every task, about 13 KB per step;
- the YAML keeps kfp's layout (sorted keys, kfp's header comment) but writes multi-line text
  (the component's source, its shell commands) as literal blocks that read like the file they
  are, folds no line, and uses libyaml's emitter where PyYAML has it (the pure-Python one
  writes the same bytes, only slower; ``tests/test_kfp_yaml.py`` checks both).

Nothing in the spec depends on the time, the machine or the folder.

kfp's compiler is quadratic or worse in three places on a file of reusable components; while it
compiles here, three of its helpers are replaced by versions that give the same result in
linear time (``tests/test_kfp_yaml.py`` compares the spec with kfp's unaided compile):

- it names the n-th task of a component by trying ``name-2``, ``name-3``... against a list of
  every name so far (cubic in the tasks of one component): here the same names with a set;
- its pure name sanitisers run once per task and pair of tasks: here memoised;
- after each task group (every condition branch) it converts the whole deployment config, every
  executor so far, into the spec's ``deploymentSpec`` (quadratic): here the conversion that
  the last group's would have made, done once when the pipeline's spec is complete.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeglot import provenance
from pipeglot.backends import kfp as kfp_python
from pipeglot.backends.kfp.spec_sharing import share_components
from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import UsageError
from pipeglot.ir.model import Workflow

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
    pipeglot's YAML layout."""
    _kfp_compiler()
    with _compiled_pipeline(text) as pipeline:
        return _spec_text(pipeline, share=share)


@contextlib.contextmanager
def _compiled_pipeline(text: str) -> Iterator[Any]:
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
            with _linear_names(), _deployment_converted_once():
                spec.loader.exec_module(module)
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
    document = json_format.MessageToDict(pipeline_spec)
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
    """The documents as YAML, keys sorted as kfp sorts them, multi-line text as literal blocks."""
    import yaml

    text = yaml.dump_all(documents, Dumper=_dumper(), sort_keys=True, width=_NO_FOLDING)
    # libyaml ends a document whose last block scalar keeps its final newlines with the
    # optional end marker "..."; PyYAML's own emitter does not. The same document either way.
    return text.removesuffix("...\n")


@functools.cache
def _dumper() -> type:
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class SpecDumper(base):  # type: ignore[misc, valid-type]
        pass

    SpecDumper.add_representer(str, _represent_text)
    return SpecDumper


def _represent_text(dumper: Any, text: str) -> Any:
    # A literal block where the emitter allows one (no trailing spaces, printable text);
    # it falls back to a quoted scalar by itself otherwise.
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


@contextlib.contextmanager
def _linear_names() -> Iterator[None]:
    """kfp's name helpers, in linear-time versions that give the same names (see above)."""
    from kfp.dsl import utils

    unique = utils.make_name_unique_by_adding_index
    rename, task_name = utils.maybe_rename_for_k8s, utils.sanitize_task_name
    utils.make_name_unique_by_adding_index = _unique_name
    utils.maybe_rename_for_k8s = functools.lru_cache(maxsize=None)(rename)
    utils.sanitize_task_name = functools.lru_cache(maxsize=None)(task_name)
    try:
        yield
    finally:
        utils.make_name_unique_by_adding_index = unique
        utils.maybe_rename_for_k8s, utils.sanitize_task_name = rename, task_name


def _unique_name(name: str, collection: list[str], delimiter: str) -> str:
    """``name``, or the first of ``name{delimiter}2``, ``3``... not in ``collection``."""
    if name not in collection:
        return name
    taken = set(collection)
    index = 2
    while f"{name}{delimiter}{index}" in taken:
        index += 1
    return f"{name}{delimiter}{index}"


# The kfp builder functions that end with ``deployment_spec.update(MessageToDict(config))``.
_GROUP_BUILDERS = frozenset({"build_spec_by_group", "build_exit_handler_groups_recursively"})


@contextlib.contextmanager
def _deployment_converted_once() -> Iterator[None]:
    """kfp's ``deploymentSpec``, converted once per pipeline instead of once per task group.

    kfp's builder ends each group with ``pipeline_spec.deployment_spec.update(
    json_format.MessageToDict(deployment_config))``; the update replaces the ``executors``
    entry whole, and the config only grows, so the last group's conversion is the one that
    counts. While a pipeline's spec is built, those two builder functions' conversions of the
    deployment config give nothing (an update with no keys changes nothing) and note the config;
    when ``create_pipeline_spec`` returns, its one conversion goes into the spec. Any other
    conversion (another caller, another message) is kfp's own."""
    from google.protobuf import json_format
    from kfp.compiler import pipeline_spec_builder as builder
    from kfp.pipeline_spec import pipeline_spec_pb2

    pending: list[Any] = []  # per pipeline being built (a pipeline may build another's)
    original_create, original_json_format = builder.create_pipeline_spec, builder.json_format

    class DeferredJsonFormat:
        """``json_format`` as kfp's builder sees it: the deployment config is converted later."""

        def __getattr__(self, attribute: str) -> Any:
            return getattr(json_format, attribute)

        @staticmethod
        def MessageToDict(message: Any, *args: Any, **kwargs: Any) -> Any:
            deployment = isinstance(message, pipeline_spec_pb2.PipelineDeploymentConfig)
            caller = sys._getframe(1).f_code.co_name
            if deployment and pending and caller in _GROUP_BUILDERS and not (args or kwargs):
                pending[-1] = message
                return {}
            return json_format.MessageToDict(message, *args, **kwargs)

    def create_pipeline_spec(*args: Any, **kwargs: Any) -> Any:
        pending.append(None)
        try:
            pipeline_spec, platform_spec = original_create(*args, **kwargs)
        finally:
            deployment_config = pending.pop()
        if deployment_config is not None:
            pipeline_spec.deployment_spec.update(json_format.MessageToDict(deployment_config))
        return pipeline_spec, platform_spec

    builder.create_pipeline_spec, builder.json_format = create_pipeline_spec, DeferredJsonFormat()
    try:
        yield
    finally:
        builder.create_pipeline_spec, builder.json_format = original_create, original_json_format


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
