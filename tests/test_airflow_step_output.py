"""emitter._step_output writes the texts of its arguments directly; what it writes is what
the general path writes (each argument's literal, then the layout of the call)."""

from __future__ import annotations

import pytest

from pipeglot.backends import _python as pysource
from pipeglot.backends._python import Atom, call, literal
from pipeglot.backends.airflow import emitter
from pipeglot.ir.expressions import Attribute, Index, Key, SelectByName, StepProperty


def _general(function: str, node: StepProperty, name: str) -> str:
    arguments = [literal(node.step), *map(emitter._path_part, node.path)]
    if all(isinstance(argument, Atom) for argument in arguments):
        listed = ", ".join(argument.text for argument in arguments)
        if len(name) + len(f" = {function}({listed})") <= pysource.LINE_LENGTH:
            return f"{function}({listed})"
        if len(pysource.INDENT + listed) <= pysource.LINE_LENGTH:
            return f"{function}(\n{pysource.INDENT}{listed}\n)"
    return pysource.render(call(function, *arguments), 0, len(name) + 3)


NODES = [
    StepProperty("Train", (Attribute("ModelArtifacts"), Attribute("S3ModelArtifacts"))),
    StepProperty(
        'Prep\u00e9 "x"',
        (
            Attribute("ProcessingOutputConfig"),
            Attribute("Outputs"),
            SelectByName("train", "OutputName"),
            Attribute("S3Output"),
            Attribute("S3Uri"),
        ),
    ),
    StepProperty("Tune", (Attribute("TrainingJobSummaries"), Index(3), Key("k'ey"))),
    StepProperty("Tune", (Attribute("A" * 60), Attribute("B" * 30))),  # its own line
    StepProperty("Tune", tuple(Attribute(f"Field{i}" * 3) for i in range(8))),  # one per line
    StepProperty("Odd", (Key(7), Index(0))),  # a key that is not a string: the general path
    StepProperty("Odd", (Attribute(None), Key(1.5))),
]


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("name", ["X", "TRAIN_S3_MODEL_ARTIFACTS", "N" * 80])
def test_step_output_is_the_general_path_s(node: StepProperty, name: str) -> None:
    written = emitter._step_output("xcom", node, name)
    assert pysource.render(written, 0, len(name) + 3) == _general("xcom", node, name)
