"""Which parts of runtime.py a DAG file carries, and what each part needs.

runtime.py is split into sections by ``# section: <name>`` lines. A DAG file holds only the
sections its pipeline uses, so that the scheduler, which parses the file again and again,
compiles little.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

SAGEMAKER_OPERATORS = "airflow.providers.amazon.aws.operators.sagemaker"

# The sections of runtime.py, in the order they are written: what each imports ("@field" is the
# profile's import) and which other sections it needs.
SECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "expressions": ((), ()),
    "as_text": (("json",), ()),
    "get": ((), ("expressions",)),
    "parameters": ((), ("expressions",)),
    "execution": (("datetime.UTC", "datetime.datetime"), ("execution_id",)),
    "experiment": ((), ("expressions", "execution_id")),
    "execution_id": (("hashlib",), ()),
    "steps": (("json",), ("expressions",)),
    "tuning": (("json",), ("steps",)),
    "join": ((), ("expressions", "as_text")),
    "json_get": (("json", "re"), ("expressions",)),
    "property_file": ((), ("expressions", "steps")),
    "resolved": ((), ("expressions",)),
    "resolved_json": (("json",), ("expressions",)),
    "job_name": (("hashlib", "re"), ("expressions",)),
    "conditions": ((), ("expressions",)),
    "equality": ((), ()),
    "condition_json": ((), ("conditions", "equality")),
    "fail": (("@fail_exception",), ("expressions", "as_text")),
    "unsupported": (("@fail_exception",), ()),
    "request": (("json", "@fail_exception"), ()),
    "lineage": (("@fail_exception",), ()),
    "callback": (("json", "@fail_exception", "@poke_return_value"), ("expressions",)),
    "check_operator": ((f"{SAGEMAKER_OPERATORS}.SageMakerProcessingOperator",), ()),
}

# The first part of a Get reference: the runtime section and function that read it.
READERS = {
    "Execution": ("execution", "execution_variable"),
    "PipelineExperimentConfig": ("experiment", "experiment_value"),
}

# Names a generated file imports from the standard library or defines itself besides the
# runtime's own: step variables must never shadow them.
_OTHER_MODULE_NAMES = frozenset(
    {"datetime", "timedelta", "UTC", "hashlib", "json", "re", "annotations"}
)


@cache
def _runtime_text() -> str:
    return resources.files(__package__).joinpath("runtime.py").read_text(encoding="utf-8")


@cache
def _sections_by_name() -> dict[str, str]:
    chunks = re.split(r"^# section: (\w+)\n", _runtime_text(), flags=re.MULTILINE)
    return dict(zip(chunks[1::2], chunks[2::2], strict=True))


def runtime_sections(used: set[str]) -> list[str]:
    """The text of each used section, in the order of ``SECTIONS``."""
    sections = _sections_by_name()
    return [sections[name].strip() for name in SECTIONS if name in used]


@cache
def runtime_names() -> frozenset[str]:
    """Every module-level name a generated file may define or import."""
    text = _runtime_text()
    names = set(re.findall(r"^(?:def|class) (\w+)", text, flags=re.MULTILINE))
    names |= set(re.findall(r"^([A-Z_]+)\b", text, flags=re.MULTILINE))
    return frozenset(names | _OTHER_MODULE_NAMES)
