"""How later tasks read a step's result, by step kind (see step_result in runtime.py).

A step kind listed here has a task that returns its properties (a Describe* response, a
Lambda's OutputParameters, a Condition's Outcome...); a reference to any other step's
properties is reported as unsupported.
"""

from __future__ import annotations

from pipeglot.ir.model import StepKind

# The result type of each step kind: SageMaker's step type, which step_result() reads.
RESULT_TYPES: dict[StepKind, str] = {
    StepKind.PROCESSING: "Processing",
    StepKind.TRAINING: "Training",
    StepKind.FUNCTION: "Training",
    StepKind.NOTEBOOK_JOB: "Training",
    StepKind.TRANSFORM: "Transform",
    StepKind.TUNING: "Tuning",
    StepKind.MODEL: "Model",
    StepKind.ENDPOINT_CONFIG: "EndpointConfig",
    StepKind.ENDPOINT: "Endpoint",
    StepKind.REGISTER_MODEL: "RegisterModel",
    StepKind.AUTOML: "AutoML",
    StepKind.INFERENCE_COMPONENT: "InferenceComponent",
    StepKind.QUALITY_CHECK: "QualityCheck",
    StepKind.CLARIFY_CHECK: "ClarifyCheck",
    StepKind.LAMBDA: "Lambda",
    StepKind.CALLBACK: "Callback",  # {"OutputParameters": {name: value}} from its sensor
    StepKind.CONDITION: "Condition",
    StepKind.LINEAGE: "Lineage",  # {ActionArns, ArtifactArns, ContextArns: {name: ARN}, ...}
}
