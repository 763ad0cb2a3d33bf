"""Backend for the compiled Kubeflow pipeline spec (``--to kfp-yaml``).

It writes the kfp Python file (``pipeglot.backends.kfp``) and compiles it with the real kfp
compiler, in this process: the file is written to a temporary folder (kfp reads each
component's source with ``inspect``), imported as a fresh module, compiled, and forgotten.
The spec is what kfp writes; nothing in it depends on the time, the machine or the folder.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Any

from pipeglot.backends import kfp as kfp_python
from pipeglot.diagnostics import Diagnostics
from pipeglot.errors import UsageError
from pipeglot.ir.model import Workflow

EXTENSION = ".yaml"
# The same options and step kinds as the kfp Python file it compiles.
OPTIONS = kfp_python.OPTIONS
UNSUPPORTED = kfp_python.UNSUPPORTED


def export(workflow: Workflow, *, diagnostics: Diagnostics | None = None, **options: Any) -> str:
    """The compiled pipeline spec (YAML text) of ``workflow``; options as for ``--to kfp``."""
    compiler = _kfp_compiler()
    text = kfp_python.export(workflow, diagnostics=diagnostics, **options)
    return compile_source(text, compiler)


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
            spec.loader.exec_module(module)
            output = Path(folder) / "pipeline.yaml"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compiler.Compiler().compile(module.pipeline, str(output))
            return output.read_text(encoding="utf-8")
        finally:
            sys.modules.pop(module_name, None)


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
