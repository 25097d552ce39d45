"""One import per project at a time.

Two runs of the same project at once could both decide an object is missing and both create it. A run
therefore holds an exclusive OS file lock (`filelock`, flock on POSIX) on `<home>/locks/<project>.lock`.
The kernel releases such a lock when its process dies, so a lock left by a killed run is stale by
construction: the next run simply takes it over. Beside the lock, a small JSON note says who holds it, so
the second run can tell the analyst which process, workbook and start time it is waiting for.

When the lock folder or files cannot be written (disk full, read-only home), `project_lock` raises
`importer.history.LocalStateError` naming the file, before anything is sent: the caller handles it exactly like
a history that cannot be written (print `exc.message`, exit 2).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from importer.history import LocalStateError, local_state_error

NOTHING_SENT = "nothing was sent by this run"


class LockedByAnotherRun(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:120]


def _local(path: Path, exc: OSError) -> LocalStateError:
    return local_state_error(path, exc, what="the project lock", afterwards=NOTHING_SENT)


@contextmanager
def project_lock(folder: Path, project_id: str, *, workbook: str) -> Iterator[None]:
    """Hold the project's lock for the `with` block: LockedByAnotherRun when another run holds it,
    LocalStateError when the lock files cannot be written."""
    lock_path = folder / f"{_safe(project_id)}.lock"
    note_path = folder / f"{_safe(project_id)}.holder.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _local(folder, exc) from exc
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        try:
            holder = json.loads(note_path.read_text())
            who = (
                f"process {holder.get('pid')} on {holder.get('host')}, workbook {holder.get('workbook')}, "
                f"started {holder.get('started_at')}"
            )
        except (OSError, ValueError):
            who = "another process"
        raise LockedByAnotherRun(
            f"another import into project {project_id} is running ({who}). Wait for it to finish, then run "
            "again; nothing was sent by this run."
        ) from None
    except OSError as exc:
        raise _local(lock_path, exc) from exc
    try:
        try:
            note_path.write_text(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "host": os.uname().nodename,
                        "workbook": workbook,
                        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    }
                )
            )
        except OSError as exc:
            raise _local(note_path, exc) from exc
        yield
    finally:
        try:
            with suppress(OSError):
                note_path.unlink(missing_ok=True)
        finally:
            lock.release()
