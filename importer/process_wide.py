"""The importer's process-wide tricks, kept in one place and local: each leaves the process as it found it.

- `paused()`: the cyclic garbage collector off for a step that builds many small objects and no cycles.
  Validating a 100k-row workbook, or planning 2,000 actions beside it, allocates millions of short-lived values
  while the heap holds the whole workbook: each collection the allocations trigger rescans that same live heap
  and finds nothing to free (measured: about a tenth of validation, and 0.1 s of a 0.25 s plan). Reference
  counting still frees everything as usual; the collector's previous state is restored afterwards.
- `collector_off()`: the same for a whole command (`validate`), given back by the function it returns without
  the collection over everything the command built that turning the collector on would otherwise start.
- `long_lived()`: what a batch's earlier workbooks left is moved out of the collector's sight between them.
- `prefetch()` / `adopt()`: the read of a workbook begun ahead by the console script (`importer.launcher`),
  before the command-line layer loads, and taken over by the validation of that very file, unchanged
  (`importer.workbook.validate`). At most one such read is held; a validation takes it, or stops and drops it.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from importer.workbook.reader import _Read


@contextmanager
def paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def collector_off() -> Callable[[], None]:
    """The cyclic collector off until the function returned is called, which gives it back as it was. Turned on
    after a long step the usual way, the collector would at once scan everything the step built and still holds
    (0.2-0.3 s for the rows of a 100k-row workbook) and find nothing to free: here that is moved to the oldest
    generation first (`gc.freeze` then `gc.unfreeze`, both constant time), so nothing is owed. A process that
    froze objects of its own is not touched that way (its collector is simply turned back on)."""
    enabled = gc.isenabled()
    gc.disable()

    def give_back() -> None:
        if not enabled or gc.isenabled():
            return
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()

    return give_back


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


# -- the read begun ahead -----------------------------------------------------------------------------------------


#: a file as read: absolute path, order of sheets asked, device, inode, size, modification time (ns)
_FileKey: TypeAlias = tuple[str, tuple[str, ...], int, int, int, int]


def _file_key(path: Path, first: tuple[str, ...]) -> _FileKey:
    """What makes a read begun ahead the read asked for now: the same path, order of sheets, and file (device,
    inode, size, modification time)."""
    st = os.stat(path)
    return os.path.abspath(path), first, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


_AHEAD: dict[_FileKey, _Read] = {}  # at most one read begun ahead, by `_file_key`
_AHEAD_LOCK = threading.Lock()


def _drop_ahead() -> None:
    """Every read begun ahead stopped (not waited for) and forgotten; the caller holds `_AHEAD_LOCK`."""
    for read in _AHEAD.values():
        read.close(wait=False)
    _AHEAD.clear()


def prefetch(path: Path, first: tuple[str, ...] = ()) -> None:
    """Begin reading `path` now, for a `reading(path, first)` still to come, which takes it over (`adopt`) when
    the file is still the same (`_file_key`) and starts its own otherwise. The console script calls this before
    the command-line layer loads (about 0.15 s of imports and option parsing that then overlap python-calamine's
    parse). A file that cannot be read is left for `reading` to refuse, with its own message."""
    from importer.workbook.reader import WorkbookUnreadable, _Read

    with _AHEAD_LOCK:
        _drop_ahead()
        try:
            key = _file_key(path, first)
            _AHEAD[key] = _Read(path, first)
        except (WorkbookUnreadable, OSError):
            return


def adopt(path: Path, first: tuple[str, ...]) -> _Read | None:
    """The read begun ahead for this very file, if any, for `reading(path, first, begun=...)`; any other one is
    stopped and dropped. Nothing is held afterwards either way."""
    if not _AHEAD:
        return None
    with _AHEAD_LOCK:
        try:
            ahead = _AHEAD.pop(_file_key(path, first), None)
        except OSError:
            ahead = None
        _drop_ahead()
    if ahead is not None:
        ahead.raw.path = path  # as the caller names it
    return ahead


def reads_ahead() -> int:
    """How many reads begun ahead are held (0 or 1): what a library call must leave as it found it."""
    return len(_AHEAD)


__all__ = ["adopt", "collector_off", "long_lived", "paused", "prefetch", "reads_ahead"]
