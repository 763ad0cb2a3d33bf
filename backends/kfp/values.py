"""A step's values as the request its task passes: plain JSON, and what they read.

Requests reach the components as JSON text with SageMaker's own expressions left in place
(``runtime.resolve`` evaluates them), so one walk over a step's values both writes them as
JSON and notes what they read: parameters, upstream steps, execution variables, and the
runtime features they need. Three rewrites keep the request exact at run time:

- ``PipelineExperimentConfig`` references become what they stand for (``ir/experiment.py``):
  a component has no experiment config to read;
- a property file read (``Std:JsonGet`` on ``Steps.X.PropertyFiles.F``) becomes SageMaker's
  other JsonGet form, on the S3 URI of the file under the producer's output: the producer's
  declaration is known here, not in the consumer's pod;
- a string holding ``{{$`` (which KFP would take for one of its placeholders and replace)
  becomes a ``Std:Join`` of pieces that do not, so it arrives as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeglot.ir.experiment import experiment_value
from pipeglot.ir.expressions import (
    Comparison,
    ExecutionVariable,
    ExperimentConfigRef,
    In,
    Join,
    JsonGet,
    Not,
    Or,
    ParameterRef,
    PropertyFileRef,
    StepProperty,
    condition_to_json,
    format_get,
)
from pipeglot.ir.model import Workflow

KFP_PLACEHOLDER = "{{$"
_LEAVES = frozenset({str, int, float, bool, type(None)})  # values that read nothing


@dataclass(slots=True)
class Reads:
    """What a step's values read, each in order of first appearance (dicts used as sets)."""

    parameters: dict[str, None] = field(default_factory=dict)
    steps: dict[str, None] = field(default_factory=dict)
    execution: dict[str, None] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)
    missing_files: list[PropertyFileRef] = field(default_factory=list)


class RequestWriter:
    """Writes values as request JSON for one workflow, noting what they read in ``reads``."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.reads = Reads()
        self._files: dict[tuple[str, str], tuple[str, str] | None] = {}

    def start(self) -> Reads:
        """Begin a new step: its reads are collected afresh."""
        self.reads = Reads()
        return self.reads

    def __call__(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self._string(value) if KFP_PLACEHOLDER in value else value
        if kind is dict:
            return {key: self(item) for key, item in value.items()}
        if kind is list or kind is tuple:
            return [self(item) for item in value]
        if kind is ParameterRef:
            self.reads.parameters[value.name] = None
        elif kind is ExecutionVariable:
            self.reads.execution[value.name] = None
        elif kind is StepProperty:
            self.reads.steps[value.step] = None
        elif kind is ExperimentConfigRef:
            return self(experiment_value(self.workflow, value.name))
        elif kind is Join:
            return {"Std:Join": {"On": value.on, "Values": [self(v) for v in value.values]}}
        elif kind is JsonGet:
            return self._json_get(value)
        elif kind in (Comparison, In, Not, Or):
            return self(condition_to_json(value))
        else:
            return value
        return {"Get": format_get(value)}

    def read(self, value: Any) -> None:
        """Note what ``value`` reads, in the order ``self(value)`` would, without writing it:
        a request that a builder makes is written from the builder's parts instead."""
        kind = type(value)
        if kind is dict or kind is list or kind is tuple:
            reads = self.reads
            for item in value.values() if kind is dict else value:
                kind = type(item)  # a leaf, or a reference (most of the rest): the short way
                if kind in _LEAVES:
                    continue
                if kind is ParameterRef:
                    reads.parameters[item.name] = None
                elif kind is StepProperty:
                    reads.steps[item.step] = None
                elif kind is ExecutionVariable:
                    reads.execution[item.name] = None
                else:
                    self.read(item)
        elif kind is ParameterRef:
            self.reads.parameters[value.name] = None
        elif kind is ExecutionVariable:
            self.reads.execution[value.name] = None
        elif kind is StepProperty:
            self.reads.steps[value.step] = None
        elif kind is ExperimentConfigRef:
            self.read(experiment_value(self.workflow, value.name))
        elif kind is Join:
            self.read(value.values)
        elif kind is JsonGet:
            self._json_get(value)  # small, and it records the property file's producer
        elif kind in (Comparison, In, Not, Or):
            self.read(condition_to_json(value))

    def _string(self, text: str) -> dict[str, Any]:
        # "{{" and "$..." joined back together: no piece holds KFP's placeholder opening.
        pieces = text.split(KFP_PLACEHOLDER)
        values = [pieces[0]]
        for piece in pieces[1:]:
            values[-1] += "{{"
            values.append("$" + piece)
        return {"Std:Join": {"On": "", "Values": values}}

    def _json_get(self, node: JsonGet) -> dict[str, Any]:
        self.reads.features.add("json_get")
        if node.property_file is None:
            return {"Std:JsonGet": {"S3Uri": self(node.s3_uri), "Path": node.path}}
        reference = node.property_file
        found = self.property_file(reference.step, reference.name)
        self.reads.steps[reference.step] = None
        if found is None:
            self.reads.missing_files.append(reference)
            return {"Std:JsonGet": {"PropertyFile": {"Get": format_get(reference)}}}
        output, path = found
        outputs = f"Steps.{reference.step}.ProcessingOutputConfig.Outputs"
        uri = {"Get": f"{outputs}['{output}'].S3Output.S3Uri"}
        location = {"Std:Join": {"On": "/", "Values": [uri, path]}}
        return {"Std:JsonGet": {"S3Uri": location, "Path": node.path}}

    def property_file(self, producer: str, name: str) -> tuple[str, str] | None:
        """(output name, file path) of the property file ``name`` that ``producer`` declares."""
        key = (producer, name)
        if key not in self._files:
            files = self.workflow.step(producer).property_files or ()
            self._files[key] = next(
                ((f.output_name, f.file_path) for f in files if f.name == name), None
            )
        return self._files[key]
