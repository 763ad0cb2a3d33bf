"""Tables that generated code must carry itself stay equal to the IR's.

Generated DAG files and KFP components cannot import pipeglot, so the runtimes that are
copied into them hold their own copy of which lists are selected by name. These tests fail
when a copy drifts from ``pipeglot.ir.expressions.NAME_KEYED_LISTS``.
"""

from __future__ import annotations

from pipeglot.ir.expressions import NAME_KEYED_LISTS


def test_airflow_runtime_selects_the_same_lists_by_name() -> None:
    from pipeglot.backends.airflow import runtime

    assert runtime.NAME_FIELDS == NAME_KEYED_LISTS


def test_kfp_runtime_selects_the_same_lists_by_name() -> None:
    # KFP components carry no copy: the file's list_name_fields() is written from the IR.
    from pipeglot.backends.kfp.kinds import runtime_sources

    namespace: dict = {}
    exec(runtime_sources()["list_name_fields"], namespace)
    assert namespace["list_name_fields"]() == NAME_KEYED_LISTS
