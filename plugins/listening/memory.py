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
