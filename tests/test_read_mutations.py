"""Damaged inputs to the readers: every mutant of the fixtures reads, or fails with one
InputError / UnsupportedError naming its place; none becomes an internal error.

A fixed seed keeps the set of mutants the same from run to run (a few hundred in all, in
seconds).
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, require_module

import pipeglot
from pipeglot.errors import InternalError, PipeglotError

READERS = FIXTURES / "readers"
REPLACEMENTS: list[Any] = [
    None, 0, 1.5, True, "x", "$.nope", "$$.Task.Token", "States.Format('{}', $.a)",
    "{% $states.input.x %}", "{{ params.x }}", [], [1, "a"], {}, {"Next": "zz"},
]  # fmt: skip


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _mutants(document: Any, count: int, seed: int) -> list[Any]:
    chance = random.Random(seed)
    places = [path for path in _paths(document) if path]
    mutants = []
    for _ in range(count):
        mutant = copy.deepcopy(document)
        for _ in range(chance.randint(1, 3)):
            path = chance.choice(places)
            parent = mutant
            try:
                for key in path[:-1]:
                    parent = parent[key]
                if isinstance(parent, dict) and chance.random() < 0.3:
                    parent.pop(path[-1], None)
                else:
                    parent[path[-1]] = copy.deepcopy(chance.choice(REPLACEMENTS))
            except (KeyError, IndexError, TypeError):
                continue
        mutants.append(mutant)
    return mutants


def _read(text: str, fmt: str) -> None:
    try:
        pipeglot.load(text, read=fmt, unsupported="ignore")
    except InternalError as error:
        raise AssertionError(f"internal error for:\n{text[:3000]}") from error
    except PipeglotError:
        pass


@pytest.mark.parametrize("path", sorted((READERS / "asl").glob("*.asl.json")), ids=lambda p: p.name)
def test_damaged_state_machines(path: Path) -> None:
    for mutant in _mutants(json.loads(path.read_text()), 80, seed=15):
        _read(json.dumps(mutant), "asl")


def test_damaged_compiled_specs() -> None:
    yaml = require_module("yaml")
    spec = yaml.safe_load((READERS / "kfp" / "kmeans_pipeline.yaml").read_text())  # type: ignore[attr-defined]
    for mutant in _mutants(spec, 60, seed=15):
        _read(json.dumps(mutant), "kfp-yaml")


@pytest.mark.parametrize("path", sorted((READERS / "airflow").glob("*.py")), ids=lambda p: p.name)
def test_damaged_dag_files(path: Path) -> None:
    lines = path.read_text().splitlines()
    chance = random.Random(15)
    for _ in range(60):
        mutant = list(lines)
        index = chance.randrange(len(mutant))
        action = chance.choice(["drop", "duplicate", "blank-value", "swap"])
        if action == "drop":
            del mutant[index]
        elif action == "duplicate":
            mutant.insert(index, mutant[index])
        elif action == "blank-value" and "=" in mutant[index]:
            head, _, _ = mutant[index].partition("=")
            mutant[index] = f"{head}= None"
        else:
            other = chance.randrange(len(mutant))
            mutant[index], mutant[other] = mutant[other], mutant[index]
        _read("\n".join(mutant) + "\n", "airflow")
