"""The public API: load, dump and translate.

This is the error boundary: only pipeglot's own errors leave it. Bad input is an InputError,
an inexpressible construct an UnsupportedError; any other exception is a bug and leaves as an
InternalError (exit code 4 in the CLI) that asks to be reported, with the original as cause.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pipeglot.backend import check_options
from pipeglot.diagnostics import Diagnostics, UnsupportedLevel
from pipeglot.errors import InternalError, PipeglotError
from pipeglot.formats import reader, writer
from pipeglot.ir.model import Workflow
from pipeglot.performance import paused_garbage_collection


def load(
    source: Any,
    *,
    read: str = "sagemaker",
    name: str | None = None,
    unsupported: UnsupportedLevel | str = UnsupportedLevel.ERROR,
    diagnostics: Diagnostics | None = None,
    **options: Any,
) -> Workflow:
    """Read a workflow definition into the IR.

    Args:
        source: the definition; for ``sagemaker``, JSON text or bytes.
        read: the input format name (see ``pipeglot.formats.READERS``).
        name: the pipeline's name, used in generated names and headers.
        unsupported: what to do when a reader of another orchestrator's format meets a
            construct SageMaker cannot express (as for ``dump``).
        diagnostics: the ledger in which readers record what they approximated or dropped.
        **options: options of that frontend.

    Raises:
        InputError: the definition is invalid; the message says where and what to do.
        UsageError: ``read`` is not a known format.
    """
    frontend = reader(read)
    level = UnsupportedLevel.parse(unsupported)
    ledger = Diagnostics() if diagnostics is None else diagnostics
    if getattr(frontend, "RECORDS_DIAGNOSTICS", False):
        options["diagnostics"] = ledger
    with internal_errors(f"reading {read}"), paused_garbage_collection(keeps=True):
        workflow: Workflow = frontend.load(source, name=name, **options)
    ledger.check(level)
    return workflow


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
    with internal_errors(f"writing {write}"), paused_garbage_collection():
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
    # One ledger for both halves, checked once the writer has added its entries.
    ledger = Diagnostics() if diagnostics is None else diagnostics
    workflow = load(source, read=read, name=name, unsupported="warn", diagnostics=ledger)
    return dump(workflow, write=write, unsupported=unsupported, diagnostics=ledger, **options)


@contextmanager
def internal_errors(doing: str) -> Iterator[None]:
    """Let pipeglot's errors through; turn any other exception into an InternalError.

    KeyboardInterrupt and SystemExit are not errors of the translation and pass unchanged.
    A TypeError from a wrong keyword is the caller's mistake, but one raised deep inside a
    writer is not, so no exception type is trusted to mean "usage".
    """
    try:
        yield
    except PipeglotError:
        raise
    except Exception as error:
        raise InternalError(doing, error) from error
