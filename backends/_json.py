"""Pretty, deterministic JSON text for the JSON backends.

orjson writes the layout of ``json.dumps(data, indent=2, ensure_ascii=False)`` about twenty
times faster (the stdlib's pretty printer is pure Python); only some floats are spelled
differently (0.00001 for 1e-05), and always the same way. The stdlib is the fallback for the
values orjson refuses, such as integers wider than 64 bits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(data: Any, default: Callable[[Any], Any] | None = None) -> str:
    """``data`` as JSON indented by two spaces, with a trailing newline.

    ``default`` converts objects JSON has no type for (such as IR expression nodes) into
    JSON-able values; the result is converted again if it still holds such objects.
    """
    try:
        text = orjson.dumps(data, default=default, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(data, default=default, indent=2, ensure_ascii=False)
    return text + "\n"
