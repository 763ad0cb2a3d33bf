"""The one backend contract: what a writer declares, and what pipeglot does with it.

A backend module (see ``docs/contributing-backends.md``) declares

- ``EXTENSION``: the file ending of its output (``".json"``, ``".py"``);
- ``OPTIONS``: a tuple of :class:`Option`, the keyword arguments ``export`` takes;
- ``TRANSLATES``: the step kinds it translates;
- ``UNSUPPORTED``: the step kinds it cannot translate, each with the reason;
- ``export(workflow, *, diagnostics, **options) -> str``.

From these the API checks options (an unknown one is a UsageError naming the known ones, the
same for every writer), the CLI builds its ``--flags`` and ``pipeglot formats`` lists them, and
the conformance suite (``tests/test_conformance.py``) tests every registered writer.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any

from pipeglot.errors import UsageError
from pipeglot.ir.model import StepKind


@dataclass(frozen=True, slots=True)
class Option:
    """One option of a writer. ``name`` is the keyword argument of ``export``; the CLI flag is
    ``--`` and the name with dashes. ``type`` converts the flag's text (str, int or bool)."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def convert(self, value: Any) -> Any:
        """``value`` (a flag's text, or an API argument) checked and converted."""
        if self.choices is not None and str(value) not in self.choices:
            raise UsageError(f"{self.flag} must be one of {', '.join(self.choices)}; got {value!r}")
        if self.type is bool and isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise UsageError(f"{self.flag} takes true or false; got {value!r}")
            return value.lower() in ("true", "1", "yes")
        if self.type is int and not isinstance(value, int):
            try:
                return int(value)
            except (TypeError, ValueError):
                raise UsageError(f"{self.flag} takes a whole number; got {value!r}") from None
        return value


# Passed by the CLI to every writer that declares it: the command the user ran, for the
# "how to regenerate" line of a generated file's header.
SOURCE_COMMAND = Option(
    "source_command",
    str,
    None,
    "the command that regenerates the output, written in its header (the CLI sets it)",
)
NO_KINDS: Mapping[StepKind, str] = MappingProxyType({})


def options(module: ModuleType) -> tuple[Option, ...]:
    return tuple(getattr(module, "OPTIONS", ()))


def unsupported_kinds(module: ModuleType) -> Mapping[StepKind, str]:
    """The kinds the writer declares unsupported, each with its reason."""
    declared = getattr(module, "UNSUPPORTED", NO_KINDS)
    if isinstance(declared, Mapping):
        return declared
    return {kind: "not translated by this writer" for kind in declared}


def translated_kinds(module: ModuleType) -> frozenset[StepKind]:
    """The kinds the writer translates: ``TRANSLATES``, or every kind it does not declare
    unsupported."""
    declared = getattr(module, "TRANSLATES", None)
    if declared is not None:
        return frozenset(declared)
    return frozenset(StepKind) - frozenset(unsupported_kinds(module))


def check_options(format_name: str, module: ModuleType, given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` checked against the writer's declared options and converted; an unknown
    option is a UsageError that names it and lists the known ones."""
    declared = {option.name: option for option in options(module)}
    checked: dict[str, Any] = {}
    for name, value in given.items():
        option = declared.get(name)
        if option is None:
            raise UsageError(_unknown(format_name, name, declared))
        checked[name] = value if value is None else option.convert(value)
    return checked


def _unknown(format_name: str, name: str, declared: Mapping[str, Option]) -> str:
    known = ", ".join(declared) or "none"
    close = difflib.get_close_matches(name, declared, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"the {format_name} writer has no option {name!r}; its options are: {known}.{hint}"
