"""A small local record of runs: which workbook (by SHA-256) went where, and every object each run created.

Created IDs are written the moment the API returns them (one short SQLite transaction each), so even a
run killed mid-way leaves an exact list for `rollback`. `history` lists the runs.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
"""


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
    counts: dict[str, Any]
    created: int


@dataclass(frozen=True)
class CreatedObject:
    seq: int
    kind: str
    object_id: str
    supplier_reference_id: str | None
    deleted_at: str | None


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def start_run(self, *, run_id: str, mode: str, workbook: str, workbook_sha256: str, api_url: str,
                  embedded_sandbox: bool, project_id: str, operator: str, started_at: dt.datetime) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO runs (run_id, mode, workbook, workbook_sha256, api_url, embedded_sandbox, project_id,"
                " operator, started_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (run_id, mode, workbook, workbook_sha256, api_url, int(embedded_sandbox), project_id, operator,
                 started_at.isoformat()))

    def record_created(self, run_id: str, kind: str, object_id: str, supplier_reference_id: str | None) -> None:
        with self._lock:
            (seq,) = self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM created WHERE run_id = ?", (run_id,)).fetchone()
            self._db.execute(
                "INSERT INTO created (run_id, seq, kind, object_id, supplier_reference_id) VALUES (?,?,?,?,?)",
                (run_id, seq, kind, object_id, supplier_reference_id))

    def finish_run(self, run_id: str, *, outcome: str, counts: dict[str, Any], finished_at: dt.datetime) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE runs SET finished_at = ?, outcome = ?, counts = ? WHERE run_id = ?",
                (finished_at.isoformat(), outcome, json.dumps(counts), run_id))

    def mark_deleted(self, run_id: str, seq: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE created SET deleted_at = ? WHERE run_id = ? AND seq = ?",
                (dt.datetime.now(dt.UTC).isoformat(), run_id, seq))

    def runs(self) -> list[RunRecord]:
        rows = self._db.execute(
            "SELECT r.*, (SELECT COUNT(*) FROM created c WHERE c.run_id = r.run_id) FROM runs r "
            "ORDER BY r.started_at DESC").fetchall()
        return [RunRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8], r[9], r[10],
                          json.loads(r[11]) if r[11] else {}, r[12]) for r in rows]

    def run(self, run_id: str) -> RunRecord | None:
        return next((r for r in self.runs() if r.run_id == run_id), None)

    def created(self, run_id: str) -> list[CreatedObject]:
        rows = self._db.execute(
            "SELECT seq, kind, object_id, supplier_reference_id, deleted_at FROM created WHERE run_id = ? "
            "ORDER BY seq", (run_id,)).fetchall()
        return [CreatedObject(*r) for r in rows]
