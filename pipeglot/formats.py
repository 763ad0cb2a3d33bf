"""The registry of input and output formats.

Modules are imported only when their format is used, so ``import pipeglot`` never pulls in a
backend's dependencies. Adding a format is one entry here plus its module.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from types import ModuleType

from pipeglot.errors import UsageError


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    module: str
    description: str
    suffixes: tuple[str, ...] = ()  # file name endings this format is inferred from (readers)


READERS: dict[str, Format] = {
    "sagemaker": Format(
        "sagemaker",
        "pipeglot.frontends.sagemaker",
        "SageMaker pipeline definition JSON (pipeline.definition())",
        suffixes=(".json",),
    ),
}

WRITERS: dict[str, Format] = {
    "sagemaker": Format(
        "sagemaker", "pipeglot.backends.sagemaker", "SageMaker pipeline definition JSON"
    ),
}


def reader(name: str) -> ModuleType:
    """The frontend module for format ``name``; UsageError names the known ones."""
    return importlib.import_module(_lookup(READERS, name, "input").module)


def writer(name: str) -> ModuleType:
    """The backend module for format ``name``; UsageError names the known ones."""
    return importlib.import_module(_lookup(WRITERS, name, "output").module)


def _lookup(table: dict[str, Format], name: str, role: str) -> Format:
    try:
        return table[name]
    except KeyError:
        close = difflib.get_close_matches(name, table, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"unknown {role} format {name!r}; the known ones are {', '.join(table)}.{hint}"
        ) from None


def infer_reader(source: str) -> str:
    """The input format for a path or reference, from its ending; stdin ('-') is JSON."""
    if source == "-":
        return "sagemaker"
    for name, fmt in READERS.items():
        if any(source.endswith(suffix) for suffix in fmt.suffixes):
            return name
    raise UsageError(
        f"cannot tell the format of {source!r} from its name; pass --from with one of "
        f"{', '.join(READERS)}"
    )
