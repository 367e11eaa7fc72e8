"""Memory-bound helpers shared by the stages that hold many Python objects at once."""
from __future__ import annotations

import functools
import gc


def gc_paused(fn):
    """Run `fn` with Python's cyclic garbage collector paused. A batch of enrichment holds tens of
    thousands of row dicts and lists, GX allocates many short-lived objects, and every full
    collection walks all of them and everything else the process holds: about 8% of the stages'
    time at 100k posts. These functions make no reference cycles of their own; whatever a library
    leaves is collected as usual once they return. Nested calls keep it paused."""
    @functools.wraps(fn)
    def run(*args, **kw):
        if not gc.isenabled():
            return fn(*args, **kw)
        gc.disable()
        try:
            return fn(*args, **kw)
        finally:
            gc.enable()
    return run


def arrow_pool() -> str:
    """Arrow's allocator for the tasks: jemalloc, unless ARROW_DEFAULT_MEMORY_POOL names another.

    pyarrow's default (mimalloc) keeps more of what a task freed: on the same tasks of a 250k-post
    day, peak RSS was 7-20 % lower with jemalloc (ingest 601 -> 480 MB, merge_mentions 822 -> 691,
    score_influence 643 -> 523) for the same CPU time (docs/scaling.md). Where pyarrow was built
    without jemalloc, its default stays."""
    import os

    import pyarrow as pa

    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except NotImplementedError:
            pass
    return pa.default_memory_pool().backend_name
