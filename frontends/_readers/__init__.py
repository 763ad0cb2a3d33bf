"""Helpers shared by the readers of other orchestrators' formats (asl, airflow, kfp-yaml).

Each reader walks its own format and hands a :class:`~.build.WorkflowBuilder` the steps,
parameters and dependencies it found; the builder names steps as SageMaker requires, turns
control-flow predecessors into ``DependsOn``, validates the result and records in the ledger
everything the source said that the IR cannot hold exactly.
"""
