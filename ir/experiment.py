"""Experiment-config expansion: what ``PipelineExperimentConfig.ExperimentName``/``TrialName``
evaluate to, the configured value or SageMaker's default."""

from __future__ import annotations

from pipeglot.ir.expressions import ExecutionVariable, Value
from pipeglot.ir.model import MISSING, Workflow
from pipeglot.ir.sagemaker import EXPERIMENT_DEFAULTS


def experiment_value(workflow: Workflow, name: str) -> Value:
    """The value of ``PipelineExperimentConfig.<name>`` (``ExperimentName`` or ``TrialName``):
    the configured value, or the execution variable SageMaker uses by default (the pipeline's
    name, the execution's id). A workflow without an experiment config still has the defaults:
    references to it evaluate the same way (SageMaker then creates no experiment)."""
    config = workflow.experiment_config
    if config is not None:
        configured = config.experiment_name if name == "ExperimentName" else config.trial_name
        if configured is not MISSING:
            return configured
    return ExecutionVariable(EXPERIMENT_DEFAULTS[name])
