"""Keeping large translations linear."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_garbage_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large document is being built.

    Parsing allocates hundreds of thousands of containers and none of them form cycles, yet
    each allocation burst triggers a collection that scans every object alive so far. That
    makes reading superlinear on big pipelines; reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
