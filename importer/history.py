"""A small local record of runs: which workbook (by SHA-256) went where, and every object each run created.

Created IDs are written the moment the API returns them (one short SQLite transaction each), so even a
run killed mid-way leaves an exact list for `rollback`. `history` lists the runs.

Failing safely (for the caller, the plan/apply layer):
- Before each create is sent: `seq = history.record_intended(run_id, kind, supplier_reference_id)`. If the
  answer is lost (crash, kill, Ctrl-C), rollback still finds the object by its supplier_reference_id.
- When the API answers: `history.record_created(run_id, kind, id, supplier_reference_id)` for an object this
  run created, `adopted=True` for one it found (existing at plan time, or created concurrently by someone
  else and returned by the client's duplicate look-up). Rollback deletes only `adopted=False` objects.
- Every method that touches the database raises `LocalStateError` (path, message) on a SQLite or OS error
  (disk full, read-only file or folder, corrupt file), construction included. After the first one, every
  later call raises it again without touching the file. The caller stops the run before its next write,
  prints `exc.message` and exits 2: the problem is this machine's, not the import's.

What each run owns: `record_prefix(run_id, prefix)` says under which supplier-reference prefix a run planned,
so `known()` can tell, for every reference this machine's runs created, adopted or meant to create, the
prefixes of the workbooks that made it (`Known.made_under`): an orphan search never claims what only
another prefix's runs made (a row's own supplier_reference_id that merely looks like one of this prefix's).

What earlier runs learned of an API, per API URL (`known()`, and `learned_rates()`): which component belongs to
which entry, what each entry's create sent, which sources' documents are uploaded, entries' component
attributions and MANUAL shares as last read, and the rate budgets its 429s taught (kept 62 days, `RATES_KEPT`).

The schema is migration-safe: a database written by an earlier version opens (new columns are added with
defaults, new tables created), and an earlier version can still read a migrated one.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import json
import shlex
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from importer.stops import ImporterError

if TYPE_CHECKING:
    from importer.api import LearnedRate
    from importer.api import models as m
    from importer.planning.known import Known, Signature

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    workbook TEXT NOT NULL,
    workbook_sha256 TEXT NOT NULL,
    api_url TEXT NOT NULL,
    embedded_sandbox INTEGER NOT NULL,
    project_id TEXT NOT NULL,
    operator TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT,
    counts TEXT
);
CREATE TABLE IF NOT EXISTS created (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    supplier_reference_id TEXT,
    deleted_at TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS intended (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    supplier_reference_id TEXT NOT NULL,
    intended_at TEXT NOT NULL,
    resolved_at TEXT,
    object_id TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS intended_by_reference ON intended (run_id, kind, supplier_reference_id);
CREATE TABLE IF NOT EXISTS known_uploaded (
    api_url TEXT NOT NULL,
    source_id TEXT NOT NULL,
    PRIMARY KEY (api_url, source_id)
);
CREATE TABLE IF NOT EXISTS run_prefixes (
    run_id TEXT PRIMARY KEY,
    prefix TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS known_membership (
    api_url TEXT NOT NULL,
    component_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    PRIMARY KEY (api_url, component_id)
);
-- the GHG entries carrying a share of a MANUAL project component; entry_id '' marks a component whose shares
-- were seen whole (every entry of a workbook read, or the component made here): only those are taken as known
-- a GHG entry's component attributions (JSON) as last read here, after which nothing of this machine changed them
CREATE TABLE IF NOT EXISTS known_attributions (
    api_url TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    attributions TEXT NOT NULL,
    PRIMARY KEY (api_url, entry_id)
);
-- the rate budgets a run learned from the API's 429s (no RateLimit headers), per scope: the next run against the
-- same API starts from them instead of drawing a 429 for every request in flight to learn them again
CREATE TABLE IF NOT EXISTS learned_rates (
    api_url TEXT NOT NULL,
    scope TEXT NOT NULL,
    rate REAL NOT NULL,
    ceiling REAL,
    quiet REAL NOT NULL,
    learned_at TEXT NOT NULL,
    PRIMARY KEY (api_url, scope)
);
CREATE TABLE IF NOT EXISTS known_shares (
    api_url TEXT NOT NULL,
    component_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    PRIMARY KEY (api_url, component_id, entry_id)
);
"""
#: columns added after the first version: (table, column, declaration); added with ALTER TABLE when missing
_ADDED_COLUMNS = (
    ("created", "adopted", "INTEGER NOT NULL DEFAULT 0"),
    ("runs", "report", "TEXT"),
    ("created", "sent_inputs", "TEXT"),
)

#: how long the rate budgets a run learned are taken up by the next run against the same API: two monthly
#: imports' spacing (a budget may have changed since; an older one is learned again, from 429s)
RATES_KEPT = dt.timedelta(days=62)

_P = ParamSpec("_P")
_R = TypeVar("_R")


class _ParsedOnRead(Mapping[str, "tuple[m.ComponentAttribution, ...]"]):
    """GHG entry ID -> its component attributions as kept (JSON), each entry's validated when first asked for: a
    year's history keeps thousands of entries' and a workbook's plan asks for its own few, so validating them all
    for every workbook grew with the year."""

    def __init__(self, texts: dict[str, str]) -> None:
        self._texts = texts
        self._parsed: dict[str, tuple[m.ComponentAttribution, ...]] = {}

    def __getitem__(self, entry_id: str) -> tuple[m.ComponentAttribution, ...]:
        parsed = self._parsed.get(entry_id)
        if parsed is None:
            from importer.api.models import ComponentAttribution

            parsed = tuple(ComponentAttribution.model_validate(a) for a in json.loads(self._texts[entry_id]))
            self._parsed[entry_id] = parsed
        return parsed

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


class LocalStateError(ImporterError):
    """Local state (the run history, a lock file) cannot be written or read: disk full, read-only, corrupt.
    `path` is the file, `message` says what happened and how to move the file aside. A problem of this machine,
    not of the import: the caller stops before its next write (a refusal, exit code 2 on the command line)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


def _reason(exc: BaseException) -> str:
    text = str(exc).lower()
    code = exc.errno if isinstance(exc, OSError) else None  # SQLite's errors carry no errno
    if "full" in text or code in (errno.ENOSPC, errno.EDQUOT):
        return "database or disk is full"
    if (
        "readonly" in text
        or "read-only" in text
        or "unable to open" in text
        or "permission" in text
        or code in (errno.EROFS, errno.EACCES, errno.EPERM)
    ):
        return "read-only"
    if (
        "not a database" in text
        or "malformed" in text
        or "corrupt" in text
        or (isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError))
    ):
        return "corrupt"
    return "not writable"


def local_state_error(
    path: Path,
    exc: BaseException,
    *,
    what: str = "the run history",
    afterwards: str = "objects already created are found again, not duplicated",
) -> LocalStateError:
    """The LocalStateError for `exc` met while writing `path` (no secret can be in it: a path and an OS or SQLite
    message)."""
    shown = shlex.quote(str(path))
    aside = shlex.quote(f"{path}.bak")
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return LocalStateError(
        path,
        (
            f"{what} at {path} cannot be written ({_reason(exc)}: {detail}); this is a problem of this machine, not of "
            f"the import: free space or move the file aside (mv {shown} {aside}) and run again; {afterwards}"
        ),
    )


def _guarded(method: Callable[Concatenate[History, _P], _R]) -> Callable[Concatenate[History, _P], _R]:
    """Turn SQLite/OS errors into LocalStateError, and refuse every call once one happened."""

    @functools.wraps(method)
    def wrapper(self: History, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        self._raise_if_broken()
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            error = local_state_error(self.path, exc)
            self._broken = error
            raise error from exc

    return wrapper


#: a run's counts as recorded: kind -> status -> how many; a rollback's also say which run it rolled back
#: (`rollback_of`: its ID) and hold its statuses' totals directly (status -> how many)
RunCounts = dict[str, "dict[str, int] | int | str"]


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    mode: str
    workbook: str
    workbook_sha256: str
    api_url: str
    embedded_sandbox: bool
    project_id: str
    operator: str
    started_at: str
    finished_at: str | None
    outcome: str | None
    counts: RunCounts  # kind -> status -> how many (`RunResult.counts`), as read back from its JSON
    created: int
    report: str | None = None  # the HTML report written for the run


@dataclass(frozen=True)
class CreatedObject:
    seq: int
    kind: str
    object_id: str
    supplier_reference_id: str | None
    deleted_at: str | None
    adopted: bool = False  # found by this run (existing, or made by someone else), not created: never rolled back


@dataclass(frozen=True)
class IntendedCreate:
    """A create recorded before it was sent and not (yet) confirmed by record_created."""

    seq: int
    kind: str
    supplier_reference_id: str
    intended_at: str


class History:
    """The run history database (SQLite, WAL). Thread-safe. Raises LocalStateError (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._broken: LocalStateError | None = None
        self._db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # a commit reaches the operating system before the call returns (a killed run loses nothing); only a
            # power cut or OS crash could lose the last commits, which rollback's look-up by reference covers.
            # FULL would sync the disk on every commit: two per created object, all runs waiting on one lock.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._migrate()
            (check,) = self._db.execute("PRAGMA quick_check(1)").fetchone()
            if check != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
        except (sqlite3.Error, OSError) as exc:
            if self._db is not None:
                self._db.close()
            raise local_state_error(path, exc) from exc

    def _migrate(self) -> None:
        assert self._db is not None
        for table, column, declaration in _ADDED_COLUMNS:
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def _raise_if_broken(self) -> None:
        if self._broken is not None:
            raise LocalStateError(self._broken.path, self._broken.message)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def check_writable(self) -> None:
        """Preflight before anything is sent: writes the file's header in a transaction and rolls it back
        (LocalStateError when the file is read-only or corrupt; a full disk shows at the first real write)."""
        self._raise_if_broken()
        try:
            with self._lock:
                (version,) = self.db.execute("PRAGMA user_version").fetchone()
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    self.db.execute(f"PRAGMA user_version = {int(version)}")  # a real write, then undone
                finally:
                    if self.db.in_transaction:
                        self.db.execute("ROLLBACK")
        except (sqlite3.Error, OSError) as exc:
            self._broken = local_state_error(self.path, exc)
            raise LocalStateError(self.path, self._broken.message) from exc

    @_guarded
    def start_run(
        self,
        *,
        run_id: str,
        mode: str,
        workbook: str,
        workbook_sha256: str,
        api_url: str,
        embedded_sandbox: bool,
        project_id: str,
        operator: str,
        started_at: dt.datetime,
    ) -> None:
        with self._lock:
            self.db.execute(
                "INSERT INTO runs (run_id, mode, workbook, workbook_sha256, api_url, embedded_sandbox, project_id,"
                " operator, started_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    mode,
                    workbook,
                    workbook_sha256,
                    api_url,
                    int(embedded_sandbox),
                    project_id,
                    operator,
                    started_at.isoformat(),
                ),
            )

    def _transaction(self, work: Callable[[sqlite3.Connection], _R]) -> _R:
        """`work` in one write transaction (rolled back on any error). Call with self._lock held."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            result = work(self.db)
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return result

    @_guarded
    def record_intended(self, run_id: str, kind: str, supplier_reference_id: str) -> int:
        """Record a create about to be sent (call it BEFORE the request; do not send when it raises). Returns its
        seq. record_created for the same (run, kind, supplier_reference_id) confirms it; one left unconfirmed is
        looked up by supplier_reference_id at rollback."""

        def work(db: sqlite3.Connection) -> int:
            (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM intended WHERE run_id = ?", (run_id,)).fetchone()
            db.execute(
                "INSERT INTO intended (run_id, seq, kind, supplier_reference_id, intended_at) VALUES (?,?,?,?,?)",
                (run_id, seq, kind, supplier_reference_id, _now()),
            )
            return int(seq)

        with self._lock:
            return int(self._transaction(work))

    @_guarded
    def record_created(
        self,
        run_id: str,
        kind: str,
        id: str,
        supplier_reference_id: str | None,
        *,
        adopted: bool = False,
        sent_inputs: Signature | None = None,
    ) -> None:
        """Record an object the moment the API returns it: `adopted=False` (default) when this run created it,
        True when it was found (existing at plan time, or created concurrently by someone else). Confirms the
        matching record_intended. `sent_inputs`: what a GHG entry's create sent (see `known`)."""
        inputs = json.dumps(sent_inputs, sort_keys=True) if sent_inputs is not None else None

        def work(db: sqlite3.Connection) -> None:
            (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM created WHERE run_id = ?", (run_id,)).fetchone()
            db.execute(
                "INSERT INTO created (run_id, seq, kind, object_id, supplier_reference_id, adopted, sent_inputs)"
                " VALUES (?,?,?,?,?,?,?)",
                (run_id, seq, kind, id, supplier_reference_id, int(adopted), inputs),
            )
            if supplier_reference_id is not None:
                db.execute(
                    "UPDATE intended SET resolved_at = ?, object_id = ? WHERE run_id = ? AND kind = ? AND "
                    "supplier_reference_id = ? AND resolved_at IS NULL",
                    (_now(), id, run_id, kind, supplier_reference_id),
                )

        with self._lock:
            self._transaction(work)

    @_guarded
    def remember_uploaded(self, api_url: str, source_id: str) -> None:
        """A source whose document was confirmed uploaded at `api_url` (see `importer.planning.known`)."""
        with self._lock:
            self.db.execute(
                "INSERT OR IGNORE INTO known_uploaded (api_url, source_id) VALUES (?,?)", (api_url, source_id)
            )

    @_guarded
    def remember_membership(self, api_url: str, membership: Mapping[str, str]) -> None:
        """Components (ID -> GHG entry ID) whose entry a snapshot learned, in one transaction."""
        if not membership:
            return
        with self._lock:
            self._transaction(
                lambda db: db.executemany(
                    "INSERT OR REPLACE INTO known_membership (api_url, component_id, entry_id) VALUES (?,?,?)",
                    [(api_url, c, e) for c, e in membership.items()],
                )
            )

    @_guarded
    def remember_shares(self, api_url: str, surveyed: Mapping[str, Iterable[str]]) -> None:
        """MANUAL project components (ID -> the GHG entries carrying a share of it) whose shares were seen whole:
        what was known of each is replaced, in one transaction."""
        if not surveyed:
            return

        def write(db: sqlite3.Connection) -> None:
            for component_id, entries in surveyed.items():
                db.execute("DELETE FROM known_shares WHERE api_url = ? AND component_id = ?", (api_url, component_id))
                db.executemany(
                    "INSERT OR IGNORE INTO known_shares (api_url, component_id, entry_id) VALUES (?,?,?)",
                    [(api_url, component_id, e) for e in ("", *entries)],
                )

        with self._lock:
            self._transaction(write)

    @_guarded
    def remember_attributions(self, api_url: str, held: Mapping[str, Sequence[m.ComponentAttribution]]) -> None:
        """GHG entries' component attributions as just read (entry ID -> all of them), in one transaction."""
        if not held:
            return
        rows = [
            (api_url, entry_id, json.dumps([a.model_dump(mode="json") for a in attributions]))
            for entry_id, attributions in held.items()
        ]
        with self._lock:
            self._transaction(
                lambda db: db.executemany(
                    "INSERT OR REPLACE INTO known_attributions (api_url, entry_id, attributions) VALUES (?,?,?)", rows
                )
            )

    @_guarded
    def forget_attributions(self, api_url: str, entry_ids: Iterable[str]) -> None:
        """Entries whose attributions changed without being read again: the next snapshot reads them."""
        with self._lock:
            self.db.executemany(
                "DELETE FROM known_attributions WHERE api_url = ? AND entry_id = ?", [(api_url, e) for e in entry_ids]
            )

    @_guarded
    def forget_shares(self, api_url: str, component_ids: Iterable[str]) -> None:
        """Components whose shares a run may have changed without knowing how: the next snapshot reads them whole."""
        with self._lock:
            self.db.executemany(
                "DELETE FROM known_shares WHERE api_url = ? AND component_id = ?", [(api_url, c) for c in component_ids]
            )

    @_guarded
    def share_changed(self, api_url: str, component_id: str, entry_id: str, *, held: bool) -> None:
        """A share this machine's run set (`held`) or took away."""
        with self._lock:
            if held:
                self.db.execute(
                    "INSERT OR IGNORE INTO known_shares (api_url, component_id, entry_id) VALUES (?,?,?)",
                    (api_url, component_id, entry_id),
                )
            else:
                self.db.execute(
                    "DELETE FROM known_shares WHERE api_url = ? AND component_id = ? AND entry_id = ?",
                    (api_url, component_id, entry_id),
                )

    @_guarded
    def record_prefix(self, run_id: str, prefix: str) -> None:
        """The supplier-reference prefix the run's workbook planned under (what its objects belong to)."""
        with self._lock:
            self.db.execute("INSERT OR REPLACE INTO run_prefixes (run_id, prefix) VALUES (?,?)", (run_id, prefix))

    @_guarded
    def made_under(self, api_url: str) -> dict[str, frozenset[str]]:
        """supplier_reference_id -> the prefixes of the runs against `api_url` that created, adopted or meant to
        create an object with it (runs whose prefix was recorded)."""
        out: dict[str, set[str]] = {}
        for srid, prefix in self.db.execute(
            "SELECT c.supplier_reference_id, p.prefix FROM created c JOIN runs r ON r.run_id = c.run_id "
            "JOIN run_prefixes p ON p.run_id = c.run_id WHERE r.api_url = ? AND c.supplier_reference_id IS NOT "
            "NULL UNION SELECT i.supplier_reference_id, p.prefix FROM intended i JOIN runs r ON "
            "r.run_id = i.run_id JOIN run_prefixes p ON p.run_id = i.run_id WHERE r.api_url = ?",
            (api_url, api_url),
        ):
            out.setdefault(srid, set()).add(prefix)
        return {srid: frozenset(prefixes) for srid, prefixes in out.items()}

    @_guarded
    def known(self, api_url: str) -> Known:
        """What earlier runs against `api_url` learned of the registry (with `made_under`: whose each
        reference is)."""
        uploaded = frozenset(
            r[0] for r in self.db.execute("SELECT source_id FROM known_uploaded WHERE api_url = ?", (api_url,))
        )
        membership = dict(
            self.db.execute(
                "SELECT component_id, entry_id FROM known_membership WHERE api_url = ?", (api_url,)
            ).fetchall()
        )
        created = {
            r[0]: {rtc: {k: tuple(v) for k, v in inputs.items()} for rtc, inputs in json.loads(r[1]).items()}
            for r in self.db.execute(
                "SELECT c.object_id, c.sent_inputs FROM created c JOIN runs r ON r.run_id = c.run_id "
                "WHERE r.api_url = ? AND c.kind = 'ghg_entry' AND c.adopted = 0 AND c.deleted_at IS NULL "
                "AND c.sent_inputs IS NOT NULL",
                (api_url,),
            )
        }
        shares: dict[str, set[str]] = {}
        for component_id, entry_id in self.db.execute(
            "SELECT component_id, entry_id FROM known_shares WHERE api_url = ?", (api_url,)
        ):
            shares.setdefault(component_id, set()).add(entry_id)
        from importer.planning.known import Known

        attributions = _ParsedOnRead(
            dict(self.db.execute("SELECT entry_id, attributions FROM known_attributions WHERE api_url = ?", (api_url,)))
        )
        return Known(
            attributions=attributions,
            shares={c: frozenset(e for e in entries if e) for c, entries in shares.items() if "" in entries},
            uploaded_sources=uploaded,
            membership=membership,
            created_inputs=created,
            made_under=self.made_under(api_url),
        )

    @_guarded
    def remember_rates(self, api_url: str, rates: Mapping[str, LearnedRate]) -> None:
        """The budgets a client of `api_url` keeps to that it learned from 429s (`IsometricClient.learned_rates`):
        they replace what was remembered of that API, in one transaction (none: the API limited nothing)."""
        now = _now()

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM learned_rates WHERE api_url = ?", (api_url,))
            db.executemany(
                "INSERT INTO learned_rates (api_url, scope, rate, ceiling, quiet, learned_at) VALUES (?,?,?,?,?,?)",
                [(api_url, scope, r.rate, r.ceiling, r.quiet, now) for scope, r in rates.items()],
            )

        with self._lock:
            self._transaction(write)

    @_guarded
    def learned_rates(self, api_url: str, *, now: dt.datetime | None = None) -> dict[str, LearnedRate]:
        """The budgets the last run against `api_url` learned from 429s, when it ran less than RATES_KEPT ago (a
        budget may change; an older one is learned again)."""
        from importer.api import LearnedRate

        since = (now or dt.datetime.now(dt.UTC)) - RATES_KEPT
        out: dict[str, LearnedRate] = {}
        for scope, rate, ceiling, quiet, learned_at in self.db.execute(
            "SELECT scope, rate, ceiling, quiet, learned_at FROM learned_rates WHERE api_url = ?", (api_url,)
        ):
            try:
                fresh = dt.datetime.fromisoformat(learned_at) >= since
            except (TypeError, ValueError):
                fresh = False
            if fresh:
                out[scope] = LearnedRate(rate, ceiling, quiet)
        return out

    @_guarded
    def intended(self, run_id: str) -> list[IntendedCreate]:
        """Creates recorded as intended and never confirmed (a crash or lost answer): rollback looks them up."""
        rows = self.db.execute(
            "SELECT seq, kind, supplier_reference_id, intended_at FROM intended WHERE run_id = ? AND resolved_at IS "
            "NULL ORDER BY seq",
            (run_id,),
        ).fetchall()
        return [IntendedCreate(*r) for r in rows]

    @_guarded
    def resolve_intended(self, run_id: str, seq: int, *, object_id: str | None = None) -> None:
        """Close an unconfirmed intended create (rollback deleted what it found, or found nothing)."""
        with self._lock:
            self.db.execute(
                "UPDATE intended SET resolved_at = ?, object_id = ? WHERE run_id = ? AND seq = ?",
                (_now(), object_id, run_id, seq),
            )

    @_guarded
    def finish_run(self, run_id: str, *, outcome: str, counts: Mapping[str, object], finished_at: dt.datetime) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE runs SET finished_at = ?, outcome = ?, counts = ? WHERE run_id = ?",
                (finished_at.isoformat(), outcome, json.dumps(counts), run_id),
            )

    @_guarded
    def record_report(self, run_id: str, path: str) -> None:
        """Where the run's HTML report was written (`history` shows it)."""
        with self._lock:
            self.db.execute("UPDATE runs SET report = ? WHERE run_id = ?", (path, run_id))

    @_guarded
    def mark_deleted(self, run_id: str, seq: int) -> None:
        with self._lock:
            self.db.execute("UPDATE created SET deleted_at = ? WHERE run_id = ? AND seq = ?", (_now(), run_id, seq))

    @_guarded
    def runs(self) -> list[RunRecord]:
        """Every run, newest first; `created` counts the objects the run created (not those it adopted)."""
        rows = self.db.execute(
            "SELECT r.run_id, r.mode, r.workbook, r.workbook_sha256, r.api_url, r.embedded_sandbox, r.project_id, "
            "r.operator, r.started_at, r.finished_at, r.outcome, r.counts, "
            "(SELECT COUNT(*) FROM created c WHERE c.run_id = r.run_id AND c.adopted = 0), r.report FROM runs r "
            "ORDER BY r.started_at DESC"
        ).fetchall()
        return [
            RunRecord(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                bool(r[5]),
                r[6],
                r[7],
                r[8],
                r[9],
                r[10],
                json.loads(r[11]) if r[11] else {},
                r[12],
                r[13],
            )
            for r in rows
        ]

    def run(self, run_id: str) -> RunRecord | None:
        return next((r for r in self.runs() if r.run_id == run_id), None)

    @_guarded
    def created(self, run_id: str) -> list[CreatedObject]:
        """Every object recorded for the run, created and adopted (`adopted` tells them apart), in order."""
        rows = self.db.execute(
            "SELECT seq, kind, object_id, supplier_reference_id, deleted_at, adopted FROM created WHERE run_id = ? "
            "ORDER BY seq",
            (run_id,),
        ).fetchall()
        return [CreatedObject(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
