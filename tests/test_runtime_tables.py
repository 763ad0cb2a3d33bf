"""Tables that generated code must carry itself stay equal to the IR's.

Generated DAG files and KFP components cannot import pipeglot, so the runtimes that are
copied into them hold their own copy of which lists are selected by name. These tests fail
when a copy drifts from ``pipeglot.ir.expressions.NAME_KEYED_LISTS``.
"""

from __future__ import annotations

import ast
import inspect

from pipeglot.ir.expressions import NAME_KEYED_LISTS


def test_airflow_runtime_selects_the_same_lists_by_name() -> None:
    from pipeglot.backends.airflow import runtime

    assert runtime.NAME_FIELDS == NAME_KEYED_LISTS


def test_kfp_runtime_selects_the_same_lists_by_name() -> None:
    from pipeglot.backends.kfp import runtime

    tree = ast.parse(inspect.getsource(runtime.step_properties))
    tables = [
        ast.literal_eval(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "name_fields" for t in node.targets)
    ]
    assert tables == [NAME_KEYED_LISTS]
