"""The depth target of issue #30: a workbook with every kind, made from the sample, and the critical path of its plan.

`scaled_sample` writes the sample workbook (sample_workbooks/biochar-2026-10.xlsx) scaled to about N objects:
its rows copied under new refs, so every kind the sample has (sources with their files, datapoints, feedstock
types, storage locations, production batches, biochar applications, GHG entries with their inputs, an extra
component with its inputs, hence a component attribution per entry, and the statement) is there, each copy
wired as the sample is. The sources and their files are the sample's own five, shared by every copy (a month's
weighbridge tickets and meter logs serve all its batches), and so is its feedstock type: the API cannot create
one, the organisation's are matched by name (the sandbox seeds the sample's).

`Requests` counts, while a run goes, the requests each unit of the scheduler sends (an action, or a group of
actions applied together: one PATCH of attributions per entry), and when the first write went out.
`critical_path` is the longest chain of requests the plan's dependency graph forces one after another: each
unit waits for the units its actions depend on (`Action.depends_on`), for all their requests, except where the
dependency's kind releases the dependant on create (`Kind.released_on_create`: a source's datapoints start once
its POST is answered, while its file is uploaded and confirmed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import shutil
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_workbooks" / "biochar-2026-10.xlsx"
#: the sheets whose rows are copied, and in each the columns holding refs of other rows (renamed alike)
_REF_COLUMNS = {
    "datapoints": ("ref",),
    "entries": ("ref",),
    "entry_inputs": ("entry_ref", "datapoint_refs"),
    "components": ("ref", "entry_ref"),
    "component_inputs": ("component_ref", "datapoint_refs"),
    "storage_locations": ("ref",),
    "production_batches": ("ref",),
    "biochar_applications": ("ref", "production_batch", "storage_location", "entry"),
}
_SHARED = ("sources", "feedstock_types")  # copied once


def _sheet_rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    out: dict[str, list[dict[str, Any]]] = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            continue
        header = [str(h) for h in rows[0] if h is not None]
        out[sheet.title] = [dict(zip(header, r, strict=False)) for r in rows[1:] if any(v is not None for v in r)]
    book.close()
    return out


def objects_per_copy(rows: dict[str, list[dict[str, Any]]] | None = None) -> int:
    """Objects one copy of the sample's rows creates (its sheets but the shared ones, and one attribution per
    entry with extra components)."""
    rows = rows or _sheet_rows(SAMPLE)
    attributed = {r["entry_ref"] for r in rows.get("components", [])}
    return len(attributed) + sum(
        len(rows.get(s, [])) for s in _REF_COLUMNS if s not in ("entry_inputs", "component_inputs")
    )


def renamed(value: Any, suffix: str) -> Any:
    """A ref cell (one ref, or a comma-separated list of them) with `suffix` after each ref."""
    if value is None or value == "":
        return value
    return ", ".join(v.strip() + suffix for v in str(value).split(","))


def copied(row: dict[str, Any], ref_columns: Sequence[str], suffix: str) -> dict[str, Any]:
    """A copy of `row` whose refs (the cells of `ref_columns`) carry `suffix`: one copy of the sample's rows."""
    return {c: (renamed(v, suffix) if c in ref_columns else v) for c, v in row.items()}


def scaled_sample(folder: Path, objects: int = 2000, *, prefix: str = "depth") -> tuple[Path, int]:
    """The sample copied until it holds about `objects` objects; returns the workbook (beside a copy of the sample's
    evidence files) and the objects it holds (those the run creates, the statement included)."""
    rows = _sheet_rows(SAMPLE)
    project = {r["key"]: r.get("value") for r in rows.pop("project") if r.get("value") is not None}
    per_copy = objects_per_copy(rows)
    shared = len(rows.get("sources", [])) + 1  # the sources and the statement (feedstock types are matched)
    copies = max(1, round((objects - shared) / per_copy))
    out: dict[str, list[dict[str, Any]]] = {s: list(rows.get(s, [])) for s in _SHARED}
    for k in range(copies):
        suffix = f"-{k:03d}"

        for sheet, columns in _REF_COLUMNS.items():
            for row in rows.get(sheet, []):
                new = copied(row, columns, suffix)
                for text in ("display_name", "name"):
                    if isinstance(new.get(text), str):
                        new[text] = f"{new[text]} #{k}"
                if sheet == "storage_locations":  # a field of its own, a few hundred metres from the sample's
                    new["latitude"] = round(float(row["latitude"]) + 0.003 * k, 6)
                out.setdefault(sheet, []).append(new)
    path = write_scaled(folder / f"depth-{copies}.xlsx", out, project, prefix)
    return path, shared + copies * per_copy


def write_scaled(path: Path, rows: dict[str, list[dict[str, Any]]], project: dict[str, Any], prefix: str) -> Path:
    """Rows made from the sample's, and its project sheet under `prefix`, written to `path` beside a copy of the
    sample's evidence files (its sources' files). A project value at midnight is written as the date it is."""
    project = {**project, "supplier_reference_prefix": prefix}
    for key, value in list(project.items()):
        if isinstance(value, dt.datetime) and value.time() == dt.time(0):
            project[key] = value.date()
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SAMPLE.parent / "evidence", path.parent / "evidence", dirs_exist_ok=True)
    from importer.workbook.writer import write_workbook

    return write_workbook(path, rows, project=project)


# -- what a run sends, unit by unit ------------------------------------------------------------------------------
@dataclasses.dataclass
class Requests:
    """Requests sent, each with its start and end (monotonic seconds) and the unit of the scheduler it belongs to
    (None before the first unit: reading the project, listings)."""

    started: float = dataclasses.field(default_factory=time.monotonic)
    sent: list[tuple[float, float, str, Any, str]] = dataclasses.field(default_factory=list)  # start, end,
    # method, unit, path
    first_write: float | None = None

    def per_unit(self) -> dict[Any, int]:
        out: dict[Any, int] = defaultdict(int)
        for _, _, _, unit, _ in self.sent:
            if unit is not None:
                out[unit] += 1
        return out

    def before_first_write(self) -> int:
        return sum(1 for start, *_ in self.sent if self.first_write is None or start < self.first_write)


_UNIT = threading.local()


def unit_of(actions: Sequence[Any], group: Any = None) -> Any:
    return (actions[0].kind, group) if group is not None else actions[0].key


@contextlib.contextmanager
def recording() -> Iterator[Requests]:
    """Every request of the clients in this process recorded (`Requests`), and the unit each belongs to: each kind's
    appliers wrapped to say which unit the thread is applying (the scheduler takes `kinds.REGISTERED` when it
    starts)."""
    from importer.api.client import IsometricClient
    from importer.planning import kinds

    log = Requests()
    lock = threading.Lock()
    once = IsometricClient._once

    def recorded_once(self: IsometricClient, http: Any, method: str, url: str, **kwargs: Any) -> Any:
        start = time.monotonic()
        if method != "GET":
            with lock:
                log.first_write = log.first_write or start
        try:
            return once(self, http, method, url, **kwargs)
        finally:
            with lock:
                log.sent.append((start, time.monotonic(), method, getattr(_UNIT, "unit", None), url.split("?")[0]))

    def one(apply: Any) -> Any:
        def applying(action: Any, env: Any) -> Any:
            _UNIT.unit = action.key
            try:
                return apply(action, env)
            finally:
                _UNIT.unit = None

        return applying

    def group(apply_group: Any, group_of: Any) -> Any:
        def applying(actions: list[Any], env: Any) -> Any:
            _UNIT.unit = unit_of(actions, group_of(actions[0]))
            try:
                return apply_group(actions, env)
            finally:
                _UNIT.unit = None

        return applying

    registered = kinds.REGISTERED
    wrapped = tuple(
        dataclasses.replace(
            kind,
            apply=one(kind.apply) if kind.apply is not None else None,
            apply_group=group(kind.apply_group, kind.group_of) if kind.apply_group and kind.group_of else None,
        )
        for kind in registered
    )
    IsometricClient._once = recorded_once  # type: ignore[method-assign]
    kinds.REGISTERED = wrapped
    try:
        yield log
    finally:
        IsometricClient._once = once  # type: ignore[method-assign]
        kinds.REGISTERED = registered


def critical_path(plan: Any, requests: dict[Any, int] | None = None) -> tuple[int, list[tuple[str, int]]]:
    """The longest chain of requests the plan forces one after another, and the kinds it passes through (each with
    the requests it takes on the chain). A unit's requests are `requests[unit]` (as a run sent them), else 1;
    the dependants a kind releases on create wait for its first request only."""
    from importer.planning import kinds as registered

    by_name = {k.name: k for k in registered.REGISTERED}
    early = {k.name: frozenset(k.released_on_create) for k in registered.REGISTERED}
    requests = requests or {}
    unit_of_key: dict[Any, Any] = {}
    members: dict[Any, list[Any]] = defaultdict(list)
    for action in plan.actions:
        if not action.needs_applying:
            continue
        kind = by_name[action.kind]
        unit = (
            unit_of([action], kind.group_of(action))
            if kind.apply_group is not None and kind.group_of is not None and action.op != "delete"
            else action.key
        )
        unit_of_key[action.key] = unit
        members[unit].append(action)
    weight = {unit: max(1, requests.get(unit, 1)) for unit in members}
    start: dict[Any, tuple[int, Any, int]] = {}  # unit -> (first request's step, the unit it waited on, its steps)

    def begin(unit: Any, seen: frozenset[Any] = frozenset()) -> int:
        if unit in start:
            return start[unit][0]
        best: tuple[int, Any, int] = (0, None, 0)
        for action in members[unit]:
            for dep in action.depends_on:
                other = unit_of_key.get(dep)
                if other is None or other == unit or other in seen:
                    continue
                kind = members[other][0].kind
                steps = 1 if action.kind in early.get(kind, ()) else weight[other]
                at = begin(other, seen | {unit}) + steps
                if at > best[0]:
                    best = (at, other, steps)
        start[unit] = best
        return best[0]

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(members) + 100))
    try:
        ends = {unit: begin(unit) + weight[unit] for unit in members}
    finally:
        sys.setrecursionlimit(limit)
    if not ends:
        return 0, []
    last = max(ends, key=lambda u: ends[u])
    chain: list[tuple[str, int]] = [(members[last][0].kind, weight[last])]
    unit = last
    while start[unit][1] is not None:
        _, unit, steps = start[unit]
        chain.append((members[unit][0].kind, steps))
    chain.reverse()
    return ends[last], chain
