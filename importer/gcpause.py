"""`paused()`: the cyclic garbage collector off for a step that builds many small objects and no cycles.

Validating a 100k-row workbook, or planning 2,000 actions beside it, allocates millions of short-lived values
while the heap holds the whole workbook: each collection the allocations trigger rescans that same live heap
and finds nothing to free (measured: about a tenth of validation, and 0.1 s of a 0.25 s plan). Reference
counting still frees everything as usual; the collector's previous state is restored afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def long_lived() -> Iterator[Callable[[], None]]:
    """A `settle()` to call between the steps of a long job (the workbooks of a batch): what the steps before left
    and still holds (their results, the listings a batch carries) is moved out of the collector's sight
    (`gc.freeze`), so a later full collection scans only what is new. Measured on a batch of 12 monthly
    workbooks: the one full collection per workbook grew from 0.08 to 0.40 s as the batch's heap grew, and
    stays at 0.01-0.06 s this way. Everything frozen is handed back at the end (`gc.unfreeze`), and collected
    then if it is garbage. A process that froze objects of its own before is left as it is (no settling)."""
    own = gc.get_freeze_count() == 0
    try:
        yield gc.freeze if own else (lambda: None)
    finally:
        if own:
            gc.unfreeze()
