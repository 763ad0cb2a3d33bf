"""Which runtime functions each component carries: only those its code can reach.

kfp copies every function a component carries into the compiled spec, once per task (it gives
each task its own executor even when tasks share a component), after reading each one with
``inspect.getsource``. For large pipelines that copying is most of ``--to kfp-yaml``'s time,
so a component carries only what its entry function calls. Some calls happen only for some
data: ``resolve`` evaluates a Std:Join or a Std:JsonGet through ``join_text`` and
``json_get``, and ``run_sagemaker_step`` adds a check step's baselines or a
tuning step's training job summaries. Those calls are followed only when the step's values
(or kind) lead there. The generated file still defines every function that a carried function
names, so the file stays whole and ruff-clean.
"""

from __future__ import annotations

import ast
import functools
import itertools
from collections.abc import Iterable

from pipeglot.backends.kfp.kinds import RUNTIME_LISTS, runtime_sources
from pipeglot.ir.expressions import Join, JsonGet, Value, iter_expressions

# Calls that only some steps make: (caller, callee) -> what makes the call happen.
_DATA_CALLS = {
    ("resolve", "join_text"): "join",
    ("resolve", "json_get"): "json_get",
    ("run_sagemaker_step", "check_baselines"): "check",
    ("run_sagemaker_step", "tuning_summaries"): "tuning",
}
FEATURES = tuple(dict.fromkeys(_DATA_CALLS.values()))

_EXPRESSION_FEATURES = {
    Join: "join",
    JsonGet: "json_get",
}


def expression_features(values: Iterable[Value]) -> set[str]:
    """The features ``resolve`` needs to evaluate ``values``."""
    return {
        _EXPRESSION_FEATURES[type(node)]
        for value in values
        for node in iter_expressions(value)
        if type(node) in _EXPRESSION_FEATURES
    }


@functools.cache
def _calls() -> dict[str, tuple[str, ...]]:
    """The runtime functions each runtime function names, in file order."""
    sources = runtime_sources()
    calls = {}
    for name, code in sources.items():
        named = {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}
        calls[name] = tuple(other for other in sources if other in named and other != name)
    return calls


def carried(entry: str, features: frozenset[str]) -> tuple[str, ...]:
    """The functions a component carries whose body calls ``entry`` (and ``build_context``,
    except for the placeholder of an unsupported step), in file order."""
    roots = ["unsupported_step"] if entry == "unsupported_step" else ["build_context", entry]
    return _closure(roots, features)


def defined(functions: Iterable[str]) -> tuple[str, ...]:
    """``functions`` and every runtime function they name, in any case: what the file defines."""
    return _closure(functions, frozenset(FEATURES))


def _closure(roots: Iterable[str], features: frozenset[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for callee in _calls()[name]:
            feature = _DATA_CALLS.get((name, callee))
            if feature is None or feature in features:
                stack.append(callee)
    return tuple(name for name in runtime_sources() if name in seen)


def list_name(base: str, entry: str, features: frozenset[str]) -> str:
    """The generated name of a runtime list: the kind's list name, and the features that add
    functions to it (``JOB_RUNTIME_WITH_JOIN_CHECK``)."""
    functions = carried(entry, features)
    adding = [f for f in FEATURES if f in features and carried(entry, features - {f}) != functions]
    return f"{base}_WITH_{'_'.join(adding).upper()}" if adding else base


@functools.cache
def all_list_names() -> tuple[str, ...]:
    """Every name a runtime list can have, for the namer to keep steps away from."""
    names = []
    for base, entry in RUNTIME_LISTS.items():
        for size in range(len(FEATURES) + 1):
            for features in itertools.combinations(FEATURES, size):
                names.append(list_name(base, entry, frozenset(features)))
    return tuple(dict.fromkeys(names))
