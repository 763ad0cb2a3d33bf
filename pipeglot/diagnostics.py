"""The ledger every translation keeps: what was exact, approximated, dropped or unsupported.

Backends never drop a construct silently. They record it here, with a stable code, the step
it concerns, and a message that says what differs and what to do about it. The caller then
decides by the ``unsupported`` level whether unsupported constructs fail the translation.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from pipeglot.errors import UnsupportedError, UsageError


class Fidelity(enum.Enum):
    """How faithfully a construct was translated."""

    EXACT = "exact"
    APPROXIMATED = "approximated"  # translated, with a difference the message spells out
    DROPPED = "dropped"  # has no effect in the target
    UNSUPPORTED = "unsupported"  # cannot be expressed; a placeholder stands in for it


class Severity(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


_SEVERITY = {
    Fidelity.EXACT: Severity.INFO,
    Fidelity.APPROXIMATED: Severity.WARNING,
    Fidelity.DROPPED: Severity.WARNING,
    Fidelity.UNSUPPORTED: Severity.ERROR,
}


class UnsupportedLevel(enum.Enum):
    """What to do with unsupported constructs (the CLI's ``--unsupported``)."""

    ERROR = "error"  # fail the translation, listing every one (exit code 3)
    WARN = "warn"  # emit a visible placeholder and report it
    IGNORE = "ignore"  # emit a visible placeholder, report nothing

    @classmethod
    def parse(cls, value: UnsupportedLevel | str) -> UnsupportedLevel:
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(level.value for level in cls)
            raise UsageError(f"unknown unsupported level {value!r}; use one of {known}") from None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One ledger entry. ``code`` is stable (``<backend>.<what>``) so users can grep for it."""

    code: str
    fidelity: Fidelity
    message: str
    step: str | None = None

    @property
    def severity(self) -> Severity:
        return _SEVERITY[self.fidelity]

    def format(self) -> str:
        where = f"step {self.step!r}: " if self.step is not None else ""
        return f"{self.fidelity.value} [{self.code}] {where}{self.message}"


class Diagnostics:
    """The ledger of one translation, in the order entries were recorded."""

    def __init__(self) -> None:
        self._entries: list[Diagnostic] = []

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, code: str, fidelity: Fidelity, message: str, step: str | None = None) -> None:
        self._entries.append(Diagnostic(code, fidelity, message, step))

    def exact(self, code: str, message: str, step: str | None = None) -> None:
        self.record(code, Fidelity.EXACT, message, step)

    def approximated(self, code: str, message: str, step: str | None = None) -> None:
        self.record(code, Fidelity.APPROXIMATED, message, step)

    def dropped(self, code: str, message: str, step: str | None = None) -> None:
        self.record(code, Fidelity.DROPPED, message, step)

    def unsupported(self, code: str, message: str, step: str | None = None) -> None:
        self.record(code, Fidelity.UNSUPPORTED, message, step)

    def of(self, fidelity: Fidelity) -> list[Diagnostic]:
        return [entry for entry in self._entries if entry.fidelity is fidelity]

    def reportable(self, level: UnsupportedLevel) -> list[Diagnostic]:
        """The entries a user should see: all but EXACT, and UNSUPPORTED unless ignored."""
        hidden = {Fidelity.EXACT}
        if level is UnsupportedLevel.IGNORE:
            hidden.add(Fidelity.UNSUPPORTED)
        return [entry for entry in self._entries if entry.fidelity not in hidden]

    def check(self, level: UnsupportedLevel) -> None:
        """Raise UnsupportedError listing every unsupported construct when ``level`` is ERROR."""
        unsupported = self.of(Fidelity.UNSUPPORTED)
        if unsupported and level is UnsupportedLevel.ERROR:
            raise UnsupportedError(unsupported)
