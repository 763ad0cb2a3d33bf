"""Keeping large translations linear."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_garbage_collection(*, keeps: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector while a large document is being built.

    Parsing allocates hundreds of thousands of containers and none of them form cycles, yet
    each allocation burst triggers a collection that scans every object alive so far. That
    makes reading superlinear on big pipelines; reference counting still frees everything.

    ``keeps``: what is built is kept (a workflow read into the IR). Every object allocated
    while paused sits in the youngest generation, so the first collection after resuming
    would scan all of them (8,000 steps: 50 ms, a tenth of reading). On success they are
    moved to the oldest generation instead (``gc.freeze()`` then ``gc.unfreeze()``, which
    only splice lists), where only a full collection looks at them. Not done after an error
    (a traceback holds cycles), nor when the caller keeps frozen objects of its own, which
    unfreeze would release.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if was_enabled:
            gc.enable()
        raise
    if was_enabled:
        if keeps and not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
        gc.enable()
