"""The shared Python writer's fast paths give what their plain forms give.

``backends._python`` and ``backends._python.sharing`` take shortcuts for speed (one closure per
file for literals, a regular expression anchored on newlines for long lines, snake case without
regular expressions for plain names, column-wise generalisation of request families). Each
test here compares a shortcut with a plain reference written in the test, over generated
inputs, so a shortcut that changes one byte of output fails.
"""

from __future__ import annotations

import re
from itertools import repeat

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeglot.backends import _python as pysource
from pipeglot.backends._python import sharing

# --- mark_long_lines ----------------------------------------------------------------------


def _reference_marks(text: str) -> str:
    lines = text.split("\n")
    return "\n".join(
        line + "  # noqa: E501" if pysource._too_long(line) else line for line in lines
    )


_LINE = st.one_of(
    st.text(alphabet="ab /:#", max_size=20),
    st.integers(95, 130).map(lambda n: "x" * n),
    st.integers(95, 130).map(lambda n: "word " * (n // 5)),
    st.integers(95, 130).map(lambda n: "# " + "y" * n),
    st.integers(60, 130).map(lambda n: "    s = " + "z" * n + " https://example.com/" + "u" * 30),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, max_size=8))
def test_mark_long_lines_marks_the_lines_a_line_by_line_check_marks(lines):
    text = "\n".join(lines)
    assert pysource.mark_long_lines(text) == _reference_marks(text)


def test_mark_long_lines_first_and_last_lines():
    long = "a = " + "1 + " * 30 + "1"
    for text in (long, long + "\n", "\n" + long, f"{long}\nshort\n{long}", ""):
        assert pysource.mark_long_lines(text) == _reference_marks(text)
    assert pysource.mark_long_lines(long).endswith("  # noqa: E501")


# --- writer ---------------------------------------------------------------------------------


class Node:
    """An expression node for the writer: written by the caller's function."""

    def __init__(self, name: str) -> None:
        self.name = name


class SubNode(Node):
    pass


_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["shared-" + "v" * 40, "other-" + "w" * 45]),
    st.builds(Node, st.sampled_from(["a", "b"])),
    st.builds(SubNode, st.sampled_from(["c"])),
)
_VALUE = st.recursive(
    _SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=12), children, max_size=5),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_VALUE, st.integers(0, 3), st.integers(0, 40))
def test_writer_gives_the_docs_literal_gives(value, indent, prefix):
    names = {"shared-" + "v" * 40: "SHARED"}

    def node(found):
        return pysource.call("Node", pysource.literal(found.name))

    write = pysource.writer(Node, node, names)
    written = write(value)
    expected = pysource.literal(value, Node, node, names)
    assert written.flat == expected.flat
    assert pysource.render(written, indent, prefix) == pysource.render(expected, indent, prefix)


def test_writer_reads_names_added_after_it_was_made():
    names: dict[str, str] = {}
    write = pysource.writer((), None, names)
    text = "s3://bucket/" + "k" * 40
    assert write([text]).flat == f'["{text}"]'
    names[text] = "CODE"
    assert write([text]).flat == "[CODE]"


# --- snake case -----------------------------------------------------------------------------


def _reference_snake(name: str) -> str:
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name))
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    if not text or text[0].isdigit():
        text = f"step_{text}".rstrip("_")
    return text[: pysource.MAX_IDENTIFIER].rstrip("_")


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="AbcZz09_-. é", max_size=50),
        st.from_regex(r"[A-Za-z0-9]{1,50}", fullmatch=True),
        st.from_regex(r"[0-9][a-z0-9]{0,50}", fullmatch=True),
    )
)
def test_snake_case_fast_path_matches_the_regular_expressions(name):
    assert pysource._snake_case(name) == _reference_snake(name)


# --- request families -----------------------------------------------------------------------


def _reference_generalise(values, path, holes):
    """sharing._generalise as first written: a column per key, walked with itemgetter."""
    first = values[0]
    kind = type(first)
    if len(set(map(type, values))) == 1:
        before = len(holes)
        if kind is dict and all(list(v) == list(first) for v in values):
            body = {
                key: _reference_generalise([v[key] for v in values], (*path, str(key)), holes)
                for key in first
            }
            return first if len(holes) == before else body
        if (
            kind is list
            and len(set(map(len, values))) == 1
            and all(isinstance(item, dict) for v in values for item in v)
        ):
            body = [
                _reference_generalise([v[i] for v in values], path, holes)
                for i in range(len(first))
            ]
            return first if len(holes) == before else body
        if all(map(sharing._same, repeat(first), values)):
            return first
    holes.append((path, list(values)))
    return sharing._PENDING


_LEAF = st.one_of(
    st.sampled_from([True, False, 1, 0, 1.0, 0.0, 2, None, "a", "b"]),
    st.lists(st.sampled_from([True, 1, 1.0, "x", "y", None]), max_size=3),
)
_REQUEST = st.recursive(
    _LEAF,
    lambda children: st.one_of(
        st.lists(st.dictionaries(st.sampled_from("pq"), children, max_size=2), max_size=2),
        st.dictionaries(st.sampled_from("abc"), children, max_size=3),
    ),
    max_leaves=12,
)


def _plain(value):
    """Holes as their names, so bodies can be compared."""
    if isinstance(value, sharing.Hole):
        return ("hole", value.name)
    if isinstance(value, dict):
        return ("dict", [(key, _plain(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_plain(item) for item in value])
    return (type(value).__name__, value)


@settings(max_examples=500, deadline=None)
@given(_REQUEST, st.lists(_REQUEST, min_size=1, max_size=4), st.booleans())
def test_generalise_matches_the_column_by_key_reference(first, others, same_first):
    values = [first, *([first] * same_first), *others]
    holes: list = []
    expected_holes: list = []
    body = sharing._generalise(values, (), holes)
    expected = _reference_generalise(values, (), expected_holes)
    assert _plain(body) == _plain(expected)
    assert [(path, list(found)) for path, found in holes] == expected_holes
    for (_, found), (_, wanted) in zip(holes, expected_holes, strict=True):
        assert all(a is b for a, b in zip(found, wanted, strict=True))


def test_generalise_keeps_true_one_and_one_point_zero_apart():
    values = [{"a": [1, "x"], "b": {"c": True}}, {"a": [1.0, "x"], "b": {"c": 1}}]
    holes: list = []
    body = sharing._generalise(values, (), holes)
    assert [path for path, _ in holes] == [("a",), ("b", "c")]
    assert isinstance(body["a"], sharing.Hole)


# --- shared strings -------------------------------------------------------------------------


def _reference_strings(value, key):
    """sharing._strings as first written: a stack of (key, value) pairs."""
    found = []
    stack = [(key, value)]
    while stack:
        key, value = stack.pop()
        if type(value) is str:
            if len(value) >= sharing.MIN_SHARED_STRING:
                found.append((key, value))
        elif type(value) is dict:
            stack.extend((str(k), v) for k, v in reversed(value.items()))
        elif type(value) is list:
            stack.extend((key, item) for item in reversed(value))
        elif type(value) is sharing.ItemCall:
            stack.extend(reversed(value.arguments))
    return found


_TEXT = st.sampled_from(["short", "L" * 40, "M" * 41, "N" * 60])
_HELD = st.recursive(
    st.one_of(_TEXT, st.integers(), st.none(), st.builds(Node, st.just("n"))),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(["a", "b", "ImageUri"]), children, max_size=3),
        st.dictionaries(st.integers(0, 3), children, max_size=2),
        st.lists(st.tuples(st.sampled_from(["x", "y"]), children), max_size=3).map(
            lambda pairs: sharing.ItemCall("item", tuple(pairs))
        ),
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(_HELD)
def test_strings_finds_what_the_stack_walk_finds_in_order(value):
    assert sharing._strings(value, "value") == _reference_strings(value, "value")


# --- no cyclic garbage ----------------------------------------------------------------------


def test_airflow_writer_leaves_nothing_for_the_cyclic_collector():
    """The emitter and its writer closures refer to each other; the file writer breaks that
    cycle when it is done, so reference counting frees them (else a collection after every
    translation scans and frees them: 15,000 objects at 1,000 steps)."""
    import gc
    import json
    import sys
    from pathlib import Path

    import pipeglot

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from generate import pipeline

    workflow = pipeglot.load(json.dumps(pipeline(120, seed=2)))
    pipeglot.dump(workflow, write="airflow", unsupported="ignore")  # lazy imports, caches
    gc.collect()
    gc.disable()
    try:
        pipeglot.dump(workflow, write="airflow", unsupported="ignore")
        assert gc.collect() == 0
    finally:
        gc.enable()
