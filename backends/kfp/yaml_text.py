"""The compiled spec's YAML text written directly: what PyYAML's ``dump`` writes for it.

``compiled`` writes a spec as ``yaml.dump_all(documents, sort_keys=True, width=<no folding>)``
with text holding a newline as a literal block. A spec is a tree of dicts, lists, text, numbers
and booleans; for the ones that are common in it, what the emitter writes is simple: block
mappings with sorted keys, sequences indented as PyYAML indents them (a mapping's sequence at
its keys' column), ``{}`` and ``[]`` for empty ones, and each scalar plain, single-quoted or a
literal block by the emitter's rules. ``document_text`` writes that here, one line at a time,
instead of making a node per value for the emitter to walk (which took a third of the
compile at 800 steps).

What it does not decide for itself it asks the emitter, or leaves to it: a one-line scalar
other than plain printable ASCII text (a number, text with other characters) is written as the
emitter writes it as a mapping's value (in block context, with no folding, a one-line scalar
is written the same wherever it stands), once per value; a document holding anything else
(a key that is not short printable text, multi-line text the emitter would not write as a
clipped or stripped literal block, a container held twice, another type) is not written here
(``None``): the caller then lets PyYAML write it. ``tests/test_kfp_yaml.py`` compares the two
on every definition and on generated documents.
"""

from __future__ import annotations

import re
from typing import Any

# One line of printable ASCII: the text whose scalar style the rules below decide.
_PRINTABLE_LINE = re.compile(r"[ -~]*").fullmatch
# Text with line breaks that can be a literal block: printable ASCII and newlines, no space
# before a newline or at the end (the emitter quotes such text instead).
_PRINTABLE_LINES = re.compile(r"[ -~\n]*").fullmatch
# An indicator as first character makes plain text ambiguous.
_INDICATORS_FIRST = frozenset("#,[]{}&*!|>'\"%@`")
# A simple key is shorter than this (PyYAML's emitter; libyaml allows 128 too).
_SIMPLE_KEY = 128


class _NotHere(Exception):
    """A value this writer leaves to PyYAML."""


class Writer:
    """Writes documents as the dumper class ``dumper`` would (see the module's docstring).

    ``width`` is the dumper's line width (no folding: more than any line's length)."""

    def __init__(self, dumper: type, width: int) -> None:
        resolvers = dumper.yaml_implicit_resolvers  # type: ignore[attr-defined]
        if None in resolvers or dumper.yaml_path_resolvers:  # type: ignore[attr-defined]
            raise ValueError("resolvers this writer does not follow")
        # PyYAML's resolver reads text's tag from the resolvers of its first character.
        self.resolvers: dict[str, list[tuple[str, Any]]] = resolvers
        self.dumper, self.width = dumper, width
        self.texts: dict[str, str] = {}  # text -> its one-line scalar
        self.keys: dict[str, str] = {}  # a key checked -> its scalar
        self.others: dict[tuple[type, Any], str] = {}  # (type, value or float repr) -> scalar

    def document_text(self, document: Any) -> str | None:
        """The YAML text of one document (a dict), or None where PyYAML must write it."""
        if type(document) is not dict or not document:
            return None
        # What is known of texts is kept for one document (a spec repeats its names and types;
        # kept across documents, every request's text would stay in memory).
        self.texts, self.keys, self.others = {}, {}, {}
        out: list[str] = []
        try:
            self._mapping(document, 0, "", out, set())
        except _NotHere:
            return None
        return "".join(out)

    # --- scalars ------------------------------------------------------------------------

    def _text(self, text: str) -> str | None:
        """The one-line scalar of ``text``, or None for text with a line break."""
        known = self.texts.get(text)
        if known is not None:
            return known
        if "\n" in text:
            return None
        if _PRINTABLE_LINE(text) and self._plain_reads_as_text(text):
            scalar = text if self._plain_allowed(text) else "'" + text.replace("'", "''") + "'"
        else:
            scalar = self.emitted(text)
        self.texts[text] = scalar
        return scalar

    def _plain_reads_as_text(self, text: str) -> bool:
        """PyYAML's ``resolve`` of plain text is its own tag (the empty text reads as null)."""
        for tag, pattern in self.resolvers.get(text[:1], ()):
            if pattern.match(text):
                return tag == "tag:yaml.org,2002:str"
        return True

    def emitted(self, value: Any) -> str:
        """What the emitter writes for a one-line scalar as a block mapping's value."""
        import yaml

        text = yaml.dump({"a": value}, Dumper=self.dumper, sort_keys=True, width=self.width)
        if not text.startswith("a: ") or text.find("\n") != len(text) - 1:
            raise _NotHere
        return text[3:-1]

    @staticmethod
    def _plain_allowed(text: str) -> bool:
        """The emitter's rules for plain text in block context, for one line of printable
        ASCII (no break, no special character): no space at either end, no indicator."""
        first = text[0]
        if first == " " or text[-1] == " ":
            return False
        if first in _INDICATORS_FIRST:
            return False
        if first in "?:-" and (len(text) == 1 or text[1] == " "):
            return False
        if text.startswith(("---", "...")):
            return False
        return not (": " in text or text.endswith(":") or " #" in text)

    def _other(self, value: Any) -> str:
        kind = type(value)
        if kind not in (int, float, bool, type(None)):
            raise _NotHere
        key = (kind, repr(value) if kind is float else value)  # -0.0 == 0.0
        known = self.others.get(key)
        if known is None:
            known = self.others[key] = self.emitted(value)
        return known

    def _key(self, key: Any) -> str:
        if type(key) is not str or not 0 < len(key) < _SIMPLE_KEY or not _PRINTABLE_LINE(key):
            raise _NotHere
        scalar = self._text(key)
        assert scalar is not None
        self.keys[key] = scalar
        return scalar

    @staticmethod
    def _literal(text: str, indent: int) -> str:
        """``|`` and its hints, the lines of ``text`` at ``indent`` (an empty line stays empty),
        as the emitter writes a literal block; text it would not write so raises ``_NotHere``."""
        if not _PRINTABLE_LINES(text) or " \n" in text or text.endswith(" "):
            raise _NotHere  # the emitter double-quotes it
        hints = "|2" if text[0] in " \n" else "|"
        if not text.endswith("\n"):
            hints += "-"  # strip: the last line ends where the next node starts a line
            text += "\n"
        elif text == "\n" or text.endswith("\n\n"):
            hints += "+"  # keep (the emitter may end the document with "...": see compiled)
        pad = " " * indent
        lines = [pad + line if line else line for line in text.split("\n")]
        return hints + "\n" + "\n".join(lines)

    # --- containers ---------------------------------------------------------------------

    def _mapping(
        self, mapping: dict[Any, Any], indent: int, lead: str, out: list[str], seen: set[int]
    ) -> None:
        """A non-empty mapping at ``indent``, its first key after ``lead`` (the indentation,
        or a sequence item's ``- ``)."""
        if id(mapping) in seen:
            raise _NotHere  # PyYAML writes an anchor and an alias
        seen.add(id(mapping))
        try:
            keys = sorted(mapping)
        except TypeError:
            raise _NotHere from None
        pad = " " * indent
        inner = indent + 2
        known_keys, texts = self.keys, self.texts
        for key in keys:
            value = mapping[key]
            head = lead + (known_keys.get(key) or self._key(key)) + ":"
            lead = pad
            kind = type(value)
            if kind is str:
                scalar = texts.get(value) or self._text(value)
                if scalar is None:
                    out.append(head + " " + self._literal(value, inner))
                else:
                    out.append(head + " " + scalar + "\n")
            elif kind is dict:
                if value:
                    out.append(head + "\n")
                    self._mapping(value, inner, " " * inner, out, seen)
                else:
                    out.append(head + " {}\n")
            elif kind is list:
                if value:
                    out.append(head + "\n")
                    self._sequence(value, indent, pad, out, seen)  # at the keys' column
                else:
                    out.append(head + " []\n")
            else:
                out.append(head + " " + self._other(value) + "\n")

    def _sequence(
        self, items: list[Any], indent: int, lead: str, out: list[str], seen: set[int]
    ) -> None:
        """A non-empty sequence whose items start at ``indent``, the first after ``lead``."""
        if id(items) in seen:
            raise _NotHere
        seen.add(id(items))
        pad = " " * indent
        inner = indent + 2
        for item in items:
            head = lead + "- "
            lead = pad
            kind = type(item)
            if kind is str:
                scalar = self.texts.get(item) or self._text(item)
                if scalar is None:
                    out.append(head + self._literal(item, inner))
                else:
                    out.append(head + scalar + "\n")
            elif kind is dict:
                if item:
                    self._mapping(item, inner, head, out, seen)
                else:
                    out.append(head + "{}\n")
            elif kind is list:
                if item:
                    self._sequence(item, inner, head, out, seen)
                else:
                    out.append(head + "[]\n")
            else:
                out.append(head + self._other(item) + "\n")
