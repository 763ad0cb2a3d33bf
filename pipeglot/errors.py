"""The exceptions pipeglot raises. Every message states the problem, where, and what to do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeglot.diagnostics import Diagnostic


class PipeglotError(Exception):
    """Root of pipeglot's errors. ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class InputError(PipeglotError):
    """The input is not a valid workflow: bad JSON, a wrong structure, a dangling reference.

    ``location`` is a JSON pointer (``/Steps/2/Arguments``), optionally followed by the step
    name, and ``source`` names the input (a file name); both are prefixed to the message.
    """

    def __init__(self, message: str, *, location: str | None = None, source: str | None = None):
        self.message = message
        self.location = location
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.source, self.location) if part)
        return f"{where}: {self.message}" if where else self.message

    def with_source(self, source: str) -> InputError:
        """The same error, naming ``source`` as the input it was found in."""
        return type(self)(self.message, location=self.location, source=source)


class ValidationError(InputError):
    """The workflow is well-formed but inconsistent (unknown step, cycle, undeclared parameter).

    ``step`` and ``path`` (a JSON pointer relative to the step object) say where; a frontend
    that knows where the step sits in its input turns them into a document pointer.
    """

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        source: str | None = None,
        step: str | None = None,
        path: str = "",
    ):
        self.step = step
        self.path = path
        if location is None and step is not None:
            location = f"step {step!r}" + (f" at /{path}" if path else "")
        super().__init__(message, location=location, source=source)


class UsageError(PipeglotError):
    """The call itself is wrong: an unknown format name, a missing option."""


class UnsupportedError(PipeglotError):
    """The target cannot express some constructs; ``diagnostics`` lists every one of them."""

    exit_code = 3

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        lines = [d.format() for d in self.diagnostics]
        super().__init__(
            f"{len(lines)} construct(s) cannot be translated:\n  "
            + "\n  ".join(lines)
            + "\nUse --unsupported warn to emit visible placeholders instead."
        )
