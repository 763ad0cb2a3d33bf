"""Backend for the compiled Kubeflow pipeline spec (``--to kfp-yaml``).

It writes the kfp Python file (``pipeglot.backends.kfp``) and compiles it with the real kfp
compiler, in this process: the file is written to a temporary folder (kfp reads each
component's source with ``inspect``), imported as a fresh module, compiled, and forgotten.
The spec is what kfp writes; nothing in it depends on the time, the machine or the folder.

kfp names the n-th task of a component by trying ``name-2``, ``name-3``... against a list of
every task name so far: cubic in the number of tasks of one component, and a file of reusable
components has thousands of them. While it compiles here, that helper finds the very same
names with a set instead (linear), and kfp's pure name sanitiser is memoised; the spec is
byte for byte what kfp writes unaided (``tests/test_kfp.py`` compares the two).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeglot import provenance
from pipeglot.backends import kfp as kfp_python
from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import UsageError
from pipeglot.ir.model import Workflow

EXTENSION = ".yaml"
# The options of the kfp Python file it compiles, and the provenance block; its step kinds.
OPTIONS = (*kfp_python.OPTIONS, provenance.PROVENANCE)
UNSUPPORTED = kfp_python.UNSUPPORTED


def export(workflow: Workflow, *, diagnostics: Diagnostics | None = None, **options: Any) -> str:
    """The compiled pipeline spec (YAML text) of ``workflow``; options as for ``--to kfp``."""
    compiler = _kfp_compiler()
    ledger = Diagnostics() if diagnostics is None else diagnostics
    embed = options.pop(provenance.PROVENANCE.name, True)
    text = compile_source(kfp_python.export(workflow, diagnostics=ledger, **options), compiler)
    return provenance.attach(workflow, text, write="kfp-yaml", diagnostics=ledger, enabled=embed)


def compile_source(text: str, compiler: Any = None) -> str:
    """Compile the source of a generated kfp pipeline file; returns the spec's YAML text."""
    compiler = compiler or _kfp_compiler()
    with tempfile.TemporaryDirectory(prefix="pipeglot-kfp-") as folder:
        module_name = f"pipeglot_kfp_{uuid.uuid4().hex}"
        path = Path(folder) / f"{module_name}.py"
        path.write_text(text, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # kfp looks components' modules up by name
        try:
            with _linear_names(), _commented_header():
                spec.loader.exec_module(module)
                output = Path(folder) / "pipeline.yaml"
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    compiler.Compiler().compile(module.pipeline, str(output))
            return output.read_text(encoding="utf-8")
        finally:
            sys.modules.pop(module_name, None)


@contextlib.contextmanager
def _commented_header() -> Iterator[None]:
    """kfp's header comment, with every line a comment: kfp writes parameter defaults into it
    as they are, and a default holding a newline would end the comment (invalid YAML)."""
    from kfp.compiler import pipeline_spec_builder as builder

    original = builder.extract_comments_from_pipeline_spec

    def commented(*args: Any, **kwargs: Any) -> str:
        lines = original(*args, **kwargs).splitlines(keepends=True)
        return "".join(line if line.startswith("#") else f"#    {line}" for line in lines)

    builder.extract_comments_from_pipeline_spec = commented
    try:
        yield
    finally:
        builder.extract_comments_from_pipeline_spec = original


@contextlib.contextmanager
def _linear_names() -> Iterator[None]:
    """kfp's name helpers, in linear-time versions that give the same names (see above)."""
    from kfp.dsl import utils

    unique, rename = utils.make_name_unique_by_adding_index, utils.maybe_rename_for_k8s
    utils.make_name_unique_by_adding_index = _unique_name
    utils.maybe_rename_for_k8s = functools.lru_cache(maxsize=None)(rename)
    try:
        yield
    finally:
        utils.make_name_unique_by_adding_index, utils.maybe_rename_for_k8s = unique, rename


def _unique_name(name: str, collection: list[str], delimiter: str) -> str:
    """``name``, or the first of ``name{delimiter}2``, ``3``... not in ``collection``."""
    if name not in collection:
        return name
    taken = set(collection)
    index = 2
    while f"{name}{delimiter}{index}" in taken:
        index += 1
    return f"{name}{delimiter}{index}"


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
