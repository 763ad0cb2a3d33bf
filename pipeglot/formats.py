"""The registry of input and output formats.

Modules are imported only when their format is used, so ``import pipeglot`` never pulls in a
backend's dependencies. Adding a format is one entry here plus its module.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from types import ModuleType

from pipeglot.backend import Option, options
from pipeglot.errors import UsageError


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    module: str
    description: str
    suffixes: tuple[str, ...] = ()  # file name endings this format is inferred from (readers)
    prefixes: tuple[str, ...] = ()  # reference beginnings it is inferred from (readers)


READERS: dict[str, Format] = {
    "sagemaker": Format(
        "sagemaker",
        "pipeglot.frontends.sagemaker",
        "SageMaker pipeline definition JSON (pipeline.definition())",
        suffixes=(".json",),
    ),
    "sagemaker-python": Format(
        "sagemaker-python",
        "pipeglot.frontends.sagemaker_python",
        "SageMaker Python SDK script, v2 or v3 (path/to/file.py[:NAME] or package.module[:NAME])",
        suffixes=(".py",),
    ),
    "sagemaker-service": Format(
        "sagemaker-service",
        "pipeglot.frontends.sagemaker_service",
        "a pipeline in SageMaker (sagemaker://NAME[@EXECUTION_ARN] or a pipeline ARN)",
        prefixes=(
            "sagemaker://",
            "arn:aws:sagemaker:",
            "arn:aws-cn:sagemaker:",
            "arn:aws-us-gov:sagemaker:",
        ),
    ),
    # Readers of the other orchestrators. Their files share endings with the ones above
    # (.json, .py, .yaml), so inference also looks inside the file: see _readers/sniff.py.
    "asl": Format(
        "asl",
        "pipeglot.frontends.asl",
        "Step Functions state machine (ASL, JSONPath or JSONata; or a CloudFormation/SAM "
        "template holding one)",
        suffixes=(".asl.json", ".asl.yaml", ".asl.yml"),
    ),
    "airflow": Format(
        "airflow",
        "pipeglot.frontends.airflow",
        "Airflow DAG file using the Amazon provider's SageMaker operators (read, not run)",
        suffixes=(".py",),
    ),
    "kfp-yaml": Format(
        "kfp-yaml",
        "pipeglot.frontends.kfp_yaml",
        "Kubeflow Pipelines v2 compiled pipeline spec (IR YAML)",
        suffixes=(".yaml", ".yml"),
    ),
    "stepfunctions-python": Format(
        "stepfunctions-python",
        "pipeglot.frontends.stepfunctions_python",
        "Step Functions Data Science SDK script (run offline; --python with sagemaker<3)",
        suffixes=(".py",),
    ),
}

WRITERS: dict[str, Format] = {
    "sagemaker": Format(
        "sagemaker", "pipeglot.backends.sagemaker", "SageMaker pipeline definition JSON"
    ),
    "airflow": Format(
        "airflow",
        "pipeglot.backends.airflow",
        "Airflow DAG file (Airflow 3; --airflow-version 2 for Airflow 2.10/2.11)",
    ),
    "kfp": Format("kfp", "pipeglot.backends.kfp", "Kubeflow Pipelines v2 pipeline (kfp Python)"),
    "kfp-yaml": Format(
        "kfp-yaml",
        "pipeglot.backends.kfp.compiled",
        "Kubeflow Pipelines v2 compiled pipeline spec (YAML; needs kfp installed)",
    ),
    "asl": Format(
        "asl", "pipeglot.backends.asl", "Amazon States Language (Step Functions, STANDARD)"
    ),
    "asl-cloudformation": Format(
        "asl-cloudformation",
        "pipeglot.backends.asl.cloudformation",
        "CloudFormation template (JSON): the state machine and a least-privilege IAM role",
    ),
    "sagemaker-cloudformation": Format(
        "sagemaker-cloudformation",
        "pipeglot.backends.sagemaker_cloudformation",
        "CloudFormation template (JSON): the SageMaker pipeline and its EventBridge schedules",
    ),
    "mermaid": Format(
        "mermaid", "pipeglot.backends.mermaid", "Mermaid flowchart of the steps and edges"
    ),
}


def reader(name: str) -> ModuleType:
    """The frontend module for format ``name``; UsageError names the known ones."""
    return importlib.import_module(_lookup(READERS, name, "input").module)


def writer(name: str) -> ModuleType:
    """The backend module for format ``name``; UsageError names the known ones."""
    return importlib.import_module(_lookup(WRITERS, name, "output").module)


def writer_options() -> dict[Option, list[str]]:
    """Every option the registered writers declare, each with the formats that take it."""
    found: dict[Option, list[str]] = {}
    for name in WRITERS:
        for option in options(writer(name)):
            found.setdefault(option, []).append(name)
    return found


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
    from pipeglot.frontends._readers.sniff import sniff

    sniffed = sniff(source)
    if sniffed is not None:
        return sniffed
    for name, fmt in READERS.items():
        if source.startswith(fmt.prefixes) or source.endswith(fmt.suffixes):
            return name
    if _is_python_reference(source):
        return "sagemaker-python"
    raise UsageError(
        f"cannot tell the format of {source!r} from its name; pass --from with one of "
        f"{', '.join(READERS)}"
    )


def _is_python_reference(source: str) -> bool:
    """``file.py:NAME`` or ``package.module[:NAME]`` (read by running it; see sagemaker_python)."""
    from pipeglot.frontends.sagemaker_python import looks_like_reference

    return looks_like_reference(source)
