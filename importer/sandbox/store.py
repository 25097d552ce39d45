"""The sandbox's state: every object as its API JSON, in memory for fast filtering and paging, written
through to SQLite (a real database file) so state survives a restart. Insertion order (a sequence number)
is the listing order and the basis of the Relay cursors.

`supplier_reference_id` "must be unique for all resources created by a specific supplier": no two objects of a
kind ever carry the same one. `put` enforces it itself, atomically (under the store's lock, and in the
database by a unique index on (kind, supplier_reference_id), written before the object is taken in memory), so
a duplicate create is refused with the API's 422 `value_error.duplicate` whatever the timing: also when two
sandbox processes share one database file, where the in-memory check cannot see the other's objects. A look-up
by reference (`by_srid`) that misses in memory asks the database, so such a refused create can find, and
adopt, the object the other process made.

The store knows nothing of the rules (`logic`, which sits above it): the refusal it raises is `problems`', and
what `list` renders (the computed fields) is the rules' `render`, handed in by whoever opens the store."""

from __future__ import annotations

import base64
import bisect
import collections
import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from importer.sandbox import seed
from importer.sandbox.problems import duplicate

#: how an object's API JSON is rendered from what the store holds (computed fields added): the rules'
#: `importer.sandbox.logic.render`, given by whoever opens the store (the store knows nothing of the rules)
Render = Callable[["SandboxStore", str, dict[str, Any]], dict[str, Any]]

KINDS = (
    "project",
    "template",
    "blueprint",
    "source",
    "datapoint",
    "feedstock_type",
    "ghg_entry",
    "component",
    "component_attribution",
    "ghg_statement",
)
#: fields by which objects are looked up as well as by ID (`SandboxStore.referring`)
REFERENCES: dict[str, tuple[str, ...]] = {
    "component_attribution": ("ghg_entry_id", "component_id"),
    # a statement component's statement; the scope, so that the few shared components are found without walking
    # a year's entry components
    "component": ("_statement_id", "scope"),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, id TEXT PRIMARY KEY, seq INTEGER NOT NULL, data TEXT NOT NULL,
    srid TEXT);
CREATE TABLE IF NOT EXISTS uploads (token TEXT PRIMARY KEY, source_id TEXT NOT NULL, content_length INTEGER NOT NULL,
    content_type TEXT NOT NULL, expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS files (source_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    content_type TEXT NOT NULL);
"""
#: one supplier_reference_id per kind, in the database itself (created once the column is filled)
_UNIQUE_SRID = "CREATE UNIQUE INDEX IF NOT EXISTS objects_kind_srid ON objects (kind, srid) WHERE srid IS NOT NULL"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("seq:")) if text.startswith("seq:") else None
    except (ValueError, UnicodeDecodeError):
        return None


class SandboxStore:
    def __init__(self, db_path: str | Path, render: Render) -> None:
        self.db_path = db_path
        self.render = render  # for `list`
        self.lock = threading.RLock()
        self._db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
        if str(db_path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        #: kind -> id -> object; a kind not in KINDS (a resource module's own) gets its table on first use
        self.objects: dict[str, dict[str, dict[str, Any]]] = collections.defaultdict(dict, {k: {} for k in KINDS})
        self._seq: dict[str, int] = {}
        #: kind -> supplier_reference_id -> object id: look-ups and the uniqueness check in constant time (a
        #: registry of a year of monthly imports holds tens of thousands of objects)
        self._by_srid: dict[str, dict[str, str]] = collections.defaultdict(dict, {k: {} for k in KINDS})
        #: (kind, field) -> value -> IDs of the objects referring to it (`referring`): an entry's attributions
        #: are found without reading every attribution of the registry
        self._by_ref: dict[tuple[str, str], dict[str, set[str]]] = {
            (kind, name): {} for kind, names in REFERENCES.items() for name in names
        }
        self._ref_values: dict[str, tuple[tuple[str, str, str], ...]] = {}  # id -> what it was indexed under
        self.next_seq = 1
        self.version = 0  # bumped by every write: cached listings are valid while it holds
        #: object id -> `version` at its last write (put or delete): what is computed from a few objects (a
        #: component's CO2e) stays valid while their stamps hold, however much else the registry gains
        self.stamps: dict[str, int] = {}
        #: kind -> `version` at the last write of that kind
        self.kind_stamps: dict[str, int] = {}
        #: what logic.py computes from the registry, with the stamps it was computed under
        self.memo: dict[Any, tuple[Any, Any]] = {}
        self.request_log: list[tuple[str, str, int]] = []
        if "srid" not in {row[1] for row in self._db.execute("PRAGMA table_info(objects)")}:
            self._db.execute("ALTER TABLE objects ADD COLUMN srid TEXT")  # a file of an earlier version
        unfilled: list[tuple[str, str]] = []
        for kind, id_, seq, data, srid in self._db.execute(
            "SELECT kind, id, seq, data, srid FROM objects ORDER BY seq"
        ):
            self.objects[kind][id_] = json.loads(data)
            self._index(kind, id_, self.objects[kind][id_])
            self._seq[id_] = seq
            self.next_seq = max(self.next_seq, seq + 1)
            held = self.objects[kind][id_].get("supplier_reference_id")
            if held and srid != held:
                unfilled.append((held, id_))
        if unfilled:
            self._db.executemany("UPDATE objects SET srid = ? WHERE id = ?", unfilled)
        with contextlib.suppress(sqlite3.IntegrityError):  # a file holding duplicates: memory still refuses more
            self._db.execute(_UNIQUE_SRID)
        if not self.objects["project"]:
            self._seed()
        for feedstock in seed.FEEDSTOCK_TYPES:  # a database seeded by an earlier version gets the types it lacks
            if feedstock["id"] not in self.objects["feedstock_type"]:
                self.put("feedstock_type", dict(feedstock))
        for blueprint in seed.BLUEPRINTS:  # and the blueprints
            if blueprint["key"] not in self.objects["blueprint"]:
                self._put_blueprint(blueprint)
        for facility in seed.FACILITIES:  # likewise the facilities
            if facility["id"] not in self.objects["facility"]:
                self.put("facility", dict(facility))

    def _put_blueprint(self, blueprint: dict[str, Any]) -> None:
        data = dict(blueprint)
        expression = data.pop("expression")
        data["expressions"] = [
            {
                "key": "co2e",
                "template": expression,
                "inputs": [
                    {
                        "template_key": i["input_key"],
                        "input_key": i["input_key"],
                        "type": "DATAPOINT",
                        "data_shape": i["data_shape"],
                    }
                    for i in data["inputs"]
                ],
            }
        ]
        self.put("blueprint", data, id_=data["key"])

    def _seed(self) -> None:
        for project in seed.PROJECTS:
            self.put("project", cast("dict[str, Any]", project))
        for blueprint in seed.BLUEPRINTS:
            self._put_blueprint(blueprint)
        fixed = [(seed.PROJECT_ID, *d) for d in seed.FIXED_DATAPOINTS]
        fixed += [(seed.OTHER_PROJECT_ID, *d) for d in seed.OTHER_FIXED_DATAPOINTS]
        for project_id, id_, name, magnitude, unit in fixed:
            self.put(
                "datapoint",
                {
                    "id": id_,
                    "supplier_reference_id": None,
                    "display_name": name,
                    "type": "STANDARD_PUBLISHED_VALUE",
                    "quantity": {"magnitude": magnitude, "unit": unit, "standard_deviation": None},
                    "description": f"{name} (library value)",
                    "source_ids": [],
                    "measured_at": None,
                    "project_id": project_id,
                    "locked_status": "locked_library_datapoint",
                    "uncertainty_justification": None,
                },
            )
        for template in seed.TEMPLATES:
            self.put("template", template)

    # -- objects ------------------------------------------------------------------------------------
    def _index(self, kind: str, key: str, data: dict[str, Any]) -> None:
        srid = data.get("supplier_reference_id")
        if srid:
            self._by_srid[kind][srid] = key
        refs = tuple((kind, name, str(data[name])) for name in REFERENCES.get(kind, ()) if data.get(name))
        for kind_, name, value in refs:
            self._by_ref[(kind_, name)].setdefault(value, set()).add(key)
        if refs:
            self._ref_values[key] = refs

    def _unindex(self, kind: str, key: str) -> None:
        old = self.objects[kind].get(key)
        srid = old.get("supplier_reference_id") if old else None
        if srid and self._by_srid[kind].get(srid) == key:
            del self._by_srid[kind][srid]
        for kind_, name, value in self._ref_values.pop(key, ()):
            self._by_ref[(kind_, name)].get(value, set()).discard(key)

    def referring(self, kind: str, name: str, value: str) -> list[dict[str, Any]]:
        """The objects of `kind` whose `name` field is `value` (a field of REFERENCES), in registry order."""
        with self.lock:
            ids = sorted(self._by_ref[(kind, name)].get(value, ()), key=self._seq.__getitem__)
            return [self.objects[kind][i] for i in ids]

    def by_srid(self, kind: str, srid: str) -> dict[str, Any] | None:
        """The object of `kind` carrying this supplier_reference_id, if any: from memory, else from the database
        (another sandbox process sharing the file may have made it; it is taken into memory)."""
        with self.lock:
            key = self._by_srid[kind].get(srid)
            if key is not None:
                return self.objects[kind].get(key)
            row = self._db.execute(
                "SELECT id, seq, data FROM objects WHERE kind = ? AND srid = ?", (kind, srid)
            ).fetchone()
            if row is None or row[0] in self.objects[kind]:
                return None
            id_, seq, data = row
            self.objects[kind][id_] = json.loads(data)
            self._index(kind, id_, self.objects[kind][id_])
            self._seq[id_] = seq
            self.next_seq = max(self.next_seq, seq + 1)
            self.version += 1
            self.stamps[id_] = self.kind_stamps[kind] = self.version
            return self.objects[kind][id_]

    def put(self, kind: str, data: dict[str, Any], *, id_: str | None = None) -> dict[str, Any]:
        """Create or replace an object. Raises the API's 422 duplicate refusal, changing nothing, when another
        object of the kind carries its supplier_reference_id (in memory or in the database file)."""
        key = id_ or data["id"]
        srid = data.get("supplier_reference_id") or None
        with self.lock:
            if srid is not None:
                holder = self._by_srid[kind].get(srid)
                if holder is not None and holder != key:
                    raise duplicate(kind, srid)
            seq = self._seq.get(key)
            fresh = seq is None
            if seq is None:
                seq = self.next_seq
            try:  # the database first: its unique index decides for every process sharing the file
                self._db.execute(
                    "INSERT INTO objects (kind, id, seq, data, srid) VALUES (?,?,?,?,?) ON CONFLICT (id) DO UPDATE "
                    "SET kind = excluded.kind, seq = excluded.seq, data = excluded.data, srid = excluded.srid",
                    (kind, key, seq, json.dumps(data), srid),
                )
            except sqlite3.IntegrityError:
                if srid is None:
                    raise
                raise duplicate(kind, srid) from None
            if fresh:
                self.next_seq += 1
                self._seq[key] = seq
            self._unindex(kind, key)
            self.objects[kind][key] = data
            self._index(kind, key, data)
            self.version += 1
            self.stamps[key] = self.kind_stamps[kind] = self.version
        return data

    def delete(self, kind: str, id_: str) -> None:
        with self.lock:
            self._unindex(kind, id_)
            self.objects[kind].pop(id_, None)
            self.version += 1
            self.stamps[id_] = self.kind_stamps[kind] = self.version
            self._seq.pop(id_, None)
            self._db.execute("DELETE FROM objects WHERE id = ?", (id_,))

    def get(self, kind: str, id_: str) -> dict[str, Any] | None:
        return self.objects[kind].get(id_)

    def seq(self, id_: str) -> int:
        return self._seq[id_]

    def all(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.objects[kind].values())

    # -- uploads ------------------------------------------------------------------------------------
    def add_upload(self, token: str, source_id: str, content_length: int, content_type: str, expires_at: float) -> None:
        with self.lock:
            self._db.execute(
                "INSERT INTO uploads (token, source_id, content_length, content_type, expires_at) VALUES (?,?,?,?,?)",
                (token, source_id, content_length, content_type, expires_at),
            )

    def upload(self, token: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT token, source_id, content_length, content_type, expires_at, used FROM uploads WHERE token = ?",
            (token,),
        ).fetchone()
        if row is None:
            return None
        return dict(
            zip(("token", "source_id", "content_length", "content_type", "expires_at", "used"), row, strict=True)
        )

    def finish_upload(self, token: str, source_id: str, sha256: str, size: int, content_type: str) -> None:
        with self.lock:
            self.version += 1
            self._db.execute("UPDATE uploads SET used = 1 WHERE token = ?", (token,))
            self._db.execute(
                "INSERT OR REPLACE INTO files (source_id, sha256, size, content_type) VALUES (?,?,?,?)",
                (source_id, sha256, size, content_type),
            )

    def stored_file_sha256(self, source_id: str) -> str | None:
        row = self._db.execute("SELECT sha256 FROM files WHERE source_id = ?", (source_id,)).fetchone()
        return row[0] if row else None

    # -- for tests ----------------------------------------------------------------------------------
    def count(self, kind: str, project_id: str | None = None) -> int:
        return len([o for o in self.list(kind) if project_id is None or o.get("project_id") == project_id])

    def list(self, kind: str) -> list[dict[str, Any]]:
        """The API JSON of every object of a kind (computed fields included: `render`)."""
        with self.lock:
            return [self.render(self, kind, o) for o in self.all(kind)]

    def close(self) -> None:
        self._db.close()


def paginate(
    store: SandboxStore,
    items: list[dict[str, Any]],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    seqs: list[int] | None = None,
) -> dict[str, Any]:
    """A Relay page over `items` (already filtered, in store order; `seqs` their positions, when known)."""
    if seqs is None:  # ascending: items are in store order
        seqs = [store.seq(i["id"] if "id" in i else i["key"]) for i in items]
    lo, hi = 0, len(items)
    if after:
        cut = decode_cursor(after)
        lo = bisect.bisect_right(seqs, cut) if cut is not None else len(items)
    if before:
        cut = decode_cursor(before)
        hi = bisect.bisect_left(seqs, cut) if cut is not None else len(items)
    window = list(range(lo, max(lo, hi)))
    if last is not None and first is None:
        chosen = window[-last:] if last else []
    else:
        chosen = window[: first if first is not None else 10]
    nodes = [items[n] for n in chosen]
    return {
        "nodes": nodes,
        "total_count": len(items),
        "page_info": {
            "has_previous_page": bool(chosen) and chosen[0] > 0,
            "has_next_page": bool(chosen) and chosen[-1] < len(items) - 1,
            "start_cursor": encode_cursor(seqs[chosen[0]]) if chosen else None,
            "end_cursor": encode_cursor(seqs[chosen[-1]]) if chosen else None,
        },
    }
