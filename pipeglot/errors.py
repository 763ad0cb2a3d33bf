"""The exceptions pipeglot raises. Every message states the problem, where, and what to do.

Messages are bounded: a value quoted in a message goes through :func:`shorten`, and a message
longer than :data:`MESSAGE_LIMIT` keeps its beginning and its end (where the fix is said).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeglot.diagnostics import Diagnostic

MESSAGE_LIMIT = 2000  # characters; a message quoting a 1 MB value must not be 1 MB long
VALUE_LIMIT = 80  # characters of a quoted value


def shorten(value: object, limit: int = VALUE_LIMIT) -> str:
    """``repr(value)``, cut to about ``limit`` characters with the full length said."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"


def bounded(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """``message`` itself, or its beginning and end around a note of what was left out."""
    if len(message) <= limit:
        return message
    keep = limit // 2
    left_out = len(message) - 2 * keep
    return f"{message[:keep]} …({left_out} characters left out)… {message[-keep:]}"


class PipeglotError(Exception):
    """Root of pipeglot's errors. ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class InputError(PipeglotError):
    """The input is not a valid workflow: bad JSON, a wrong structure, a dangling reference.

    ``location`` is a JSON pointer (``/Steps/2/Arguments``), optionally followed by the step
    name, and ``source`` names the input (a file name); both are prefixed to the message.
    """

    def __init__(self, message: str, *, location: str | None = None, source: str | None = None):
        self.message = bounded(message)
        self.location = None if location is None else bounded(location, VALUE_LIMIT * 4)
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


class OutputError(PipeglotError):
    """An output file cannot be written or compared (permissions, a file in the way...)."""


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


class InternalError(PipeglotError):
    """A bug in pipeglot, not a problem with the input; the message asks to report it.

    The original exception is the ``__cause__``; ``PIPEGLOT_DEBUG=1`` makes the CLI print it.
    """

    exit_code = 4

    def __init__(self, doing: str, error: BaseException):
        self.doing = doing
        detail = bounded(f"{type(error).__name__}: {error}", VALUE_LIMIT * 3)
        super().__init__(
            f"internal error while {doing} ({detail}); this is a bug in pipeglot, not in your "
            "input: please report it with the input that caused it"
        )
