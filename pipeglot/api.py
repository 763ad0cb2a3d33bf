"""The public API: load, dump and translate."""

from __future__ import annotations

from typing import Any

from pipeglot.backend import check_options
from pipeglot.diagnostics import Diagnostics, UnsupportedLevel
from pipeglot.formats import reader, writer
from pipeglot.ir.model import Workflow
from pipeglot.performance import paused_garbage_collection


def load(
    source: Any, *, read: str = "sagemaker", name: str | None = None, **options: Any
) -> Workflow:
    """Read a workflow definition into the IR.

    Args:
        source: the definition; for ``sagemaker``, JSON text or bytes.
        read: the input format name (see ``pipeglot.formats.READERS``).
        name: the pipeline's name, used in generated names and headers.
        **options: options of that frontend.

    Raises:
        InputError: the definition is invalid; the message says where and what to do.
        UsageError: ``read`` is not a known format.
    """
    frontend = reader(read)
    with paused_garbage_collection():
        return frontend.load(source, name=name, **options)


def dump(
    workflow: Workflow,
    *,
    write: str,
    unsupported: UnsupportedLevel | str = UnsupportedLevel.ERROR,
    diagnostics: Diagnostics | None = None,
    **options: Any,
) -> str:
    """Write ``workflow`` in the ``write`` format and return the text.

    Every construct the target cannot express exactly is recorded in ``diagnostics`` (pass
    a :class:`Diagnostics` to read them). With ``unsupported="error"`` (the default) an
    inexpressible construct raises UnsupportedError listing all of them; with ``"warn"`` or
    ``"ignore"`` the output holds a visible placeholder instead.
    """
    level = UnsupportedLevel.parse(unsupported)
    ledger = Diagnostics() if diagnostics is None else diagnostics
    backend = writer(write)
    options = check_options(write, backend, options)
    with paused_garbage_collection():
        text: str = backend.export(workflow, diagnostics=ledger, **options)
    ledger.check(level)
    return text


def translate(
    source: Any,
    *,
    read: str = "sagemaker",
    write: str,
    unsupported: UnsupportedLevel | str = UnsupportedLevel.ERROR,
    diagnostics: Diagnostics | None = None,
    name: str | None = None,
    **options: Any,
) -> str:
    """``dump(load(source, read=read), write=write)``; options go to the backend."""
    workflow = load(source, read=read, name=name)
    return dump(workflow, write=write, unsupported=unsupported, diagnostics=diagnostics, **options)
