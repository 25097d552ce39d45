"""Undo a rehearsal or a mistake: delete, in reverse dependency order, the objects one run created.

Only objects the run itself created are touched (the history records each ID as the API returned it):
objects it found and adopted (existing at plan time, or created concurrently by someone else) are left in
place and listed as kept. A create recorded as intended but never confirmed (the run crashed or lost the
answer) is looked up by its supplier_reference_id with the client's `list_*` methods: what is found is
deleted, and the intent is closed either way.
Nothing is deleted when any of them belongs to a submitted GHG statement: the verifier may already be
looking at it, so the whole rollback is refused with the statement named. GHG statements themselves have
no DELETE endpoint in the API; a draft statement the run created is left in place and reported.

A rollback holds the project's lock (`importer.locking.project_lock`, the one `run` and `apply` hold) while it
looks and while it deletes: when an import of the project is running it is refused, naming the holder, and
deletes nothing; an import started meanwhile is refused in turn. An import of the project that ran between the
look (`plan_rollback`) and the deletes (`execute_rollback`) makes the deletes refuse too: look again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from importer.history import CreatedObject, History, IntendedCreate, LocalStateError
from importer.stops import ImporterError, Verdict

if TYPE_CHECKING:  # the API client loads when a rollback starts (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.planning.registry import RegistryObject

#: kinds no longer created whose objects an old run's history may still hold (after the registered kinds' order)
_LEGACY_DELETE_ORDER = ("feedstock_type",)
SUBMITTED = frozenset({"AWAITING_VERIFICATION", "VERIFIED", "CREDITS_ISSUED", "FAILED_VERIFICATION"})


class RollbackRefused(ImporterError):
    """The rollback must not go ahead (an import of the project runs, a submitted statement): nothing deleted."""

    verdict = Verdict.FAILED


@dataclass
class RollbackItem:
    obj: CreatedObject
    status: str = "pending"  # pending | deleted | already gone | failed | kept | never created
    message: str | None = None
    intended: IntendedCreate | None = None  # found by supplier_reference_id for an unconfirmed create
    planned_at: str | None = None  # when plan_rollback looked (an import of the project since: look again)


@contextmanager
def rollback_lock(history: History, run_id: str) -> Iterator[str]:
    """Hold the lock of the run's project (the one `run` and `apply` take) for the `with` block; yields the
    project ID. RollbackRefused, naming who holds it, when an import (or another rollback) of the project runs."""
    from importer.locking import LockedByAnotherRun, project_lock
    from importer.runner import lock_folder

    record = history.run(run_id)
    if record is None:
        raise RollbackRefused(f"no run {run_id!r} in the history; `isometric-import history` lists the runs")
    try:
        with project_lock(lock_folder(), record.project_id, workbook=f"(rollback of run {run_id})"):
            yield record.project_id
    except LockedByAnotherRun as exc:
        raise RollbackRefused(
            exc.message.replace(
                "then run again; nothing was sent by this run",
                f"then roll back again; nothing was deleted by this rollback of run {run_id}",
            )
        ) from None
    except LocalStateError as exc:
        raise RollbackRefused(f"{exc.message}; nothing was deleted") from None


def _runs_since(history: History, project_id: str, since: str, run_id: str) -> list[str]:
    """Runs of the project this history started at or after `since` (other than the one rolled back)."""
    return [
        r.run_id for r in history.runs() if r.project_id == project_id and r.run_id != run_id and r.started_at >= since
    ]


#: how to find an object by its supplier_reference_id, per kind (statements have none)
_LOOKUPS: dict[str, Callable[[IsometricClient, str], Sequence[RegistryObject]]] = {
    "source": lambda client, srid: client.list_sources(supplier_reference_id=srid),
    "datapoint": lambda client, srid: client.list_datapoints(supplier_reference_id=srid),
    "feedstock_type": lambda client, srid: client.list_feedstock_types(supplier_reference_id=srid),
    "ghg_entry": lambda client, srid: client.list_ghg_entries(supplier_reference_id=srid),
    "component": lambda client, srid: client.list_components(supplier_reference_id=srid),
}


def _delete_order() -> tuple[str, ...]:
    """Reverse dependency order, what depends on others first: the registered kinds' (`importer.planning.kinds`)."""
    from importer.planning.kinds import DELETE_ORDER

    return DELETE_ORDER + tuple(k for k in _LEGACY_DELETE_ORDER if k not in DELETE_ORDER)


def _lookable(kind: str) -> bool:
    from importer.planning.kinds import LOOKUPS

    return kind in _LOOKUPS or kind in LOOKUPS


def _find_intended(client: IsometricClient, intent: IntendedCreate, project_id: str) -> list[RegistryObject]:
    from importer.planning.kinds import LOOKUPS

    srid = intent.supplier_reference_id
    lookup = _LOOKUPS.get(intent.kind)
    declared = LOOKUPS.get(intent.kind)
    if lookup is not None:
        found = lookup(client, srid)
    elif declared is not None:
        found = declared(client, project_id, srid)
    else:
        return []
    return [o for o in found if o.supplier_reference_id == srid]


def _status(statement: m.GhgStatement) -> str:
    return str(statement.status)


def plan_rollback(history: History, run_id: str, client: IsometricClient) -> list[RollbackItem]:
    """What a rollback of `run_id` would delete, in order, looked at under the project's lock; raises
    RollbackRefused when it must not (an import of the project is running, a submitted statement)."""
    with rollback_lock(history, run_id):
        planned_at = dt.datetime.now(dt.UTC).isoformat()
        items = _plan_rollback(history, run_id, client)
    for item in items:
        item.planned_at = planned_at
    return items


def _plan_rollback(history: History, run_id: str, client: IsometricClient) -> list[RollbackItem]:
    from importer.api import NotFound

    record = history.run(run_id)
    if record is None:
        raise RollbackRefused(f"no run {run_id!r} in the history; `isometric-import history` lists the runs")
    recorded = [c for c in history.created(run_id) if c.deleted_at is None]
    created = [c for c in recorded if not c.adopted]
    known = {(c.kind, c.object_id) for c in history.created(run_id)}
    intents: dict[tuple[str, str], IntendedCreate] = {}
    unfound: list[RollbackItem] = []
    for intent in history.intended(run_id):
        hits = [o for o in _find_intended(client, intent, record.project_id) if (intent.kind, o.id) not in known]
        for hit in hits:
            created.append(
                CreatedObject(
                    seq=-intent.seq,
                    kind=intent.kind,
                    object_id=hit.id,
                    supplier_reference_id=intent.supplier_reference_id,
                    deleted_at=None,
                )
            )
            intents[(intent.kind, hit.id)] = intent
            known.add((intent.kind, hit.id))
        if not hits:
            lookable = _lookable(intent.kind)
            unfound.append(
                RollbackItem(
                    CreatedObject(
                        seq=-intent.seq,
                        kind=intent.kind,
                        object_id="-",
                        supplier_reference_id=intent.supplier_reference_id,
                        deleted_at=None,
                    ),
                    status="never created" if lookable else "kept",
                    intended=intent,
                    message=f"meant to create {intent.supplier_reference_id!r}, but the API has no such object"
                    if lookable
                    else f"a {intent.kind} cannot be looked up by supplier_reference_id: check the Certify UI",
                )
            )
    statements: dict[str, m.GhgStatement] = {}
    for obj in created:
        if obj.kind == "ghg_statement":
            try:
                statements[obj.object_id] = client.get_ghg_statement(obj.object_id)
            except NotFound:
                continue
        elif obj.kind == "ghg_entry":
            try:
                entry = client.get_ghg_entry(obj.object_id)
            except NotFound:
                continue
            if entry.ghg_statement_id and entry.ghg_statement_id not in statements:
                statements[entry.ghg_statement_id] = client.get_ghg_statement(entry.ghg_statement_id)
    for statement in statements.values():
        if _status(statement) in SUBMITTED:
            raise RollbackRefused(
                f"run {run_id} created objects in GHG statement {statement.id}, which is {_status(statement)}: "
                "submitted statements cannot be rolled back; contact Isometric to amend it"
            )
    items = [
        RollbackItem(c, intended=intents.get((c.kind, c.object_id)))
        for kind in _delete_order()
        for c in reversed(created)
        if c.kind == kind
    ]
    items += [
        RollbackItem(
            c,
            status="kept",
            message="GHG statements cannot be deleted through the API; this "
            "draft stays and will be extended by the next statement",
        )
        for c in created
        if c.kind == "ghg_statement"
    ]
    items += [
        RollbackItem(c, status="kept", message="found by this run, not created by it: left in place")
        for c in recorded
        if c.adopted
    ]
    return items + unfound


def execute_rollback(
    history: History, run_id: str, client: IsometricClient, items: list[RollbackItem]
) -> list[RollbackItem]:
    """Delete what `plan_rollback` listed, under the project's lock. When the lock is held (an import of the
    project is running), or an import of the project started since the look, nothing is deleted: every pending
    item is `failed` with the reason (look again)."""
    try:
        with rollback_lock(history, run_id) as project_id:
            planned = min((i.planned_at for i in items if i.planned_at), default=None)
            since = _runs_since(history, project_id, planned, run_id) if planned else []
            if since:
                return _refuse(
                    items,
                    f"an import of project {project_id} ran since this rollback looked (run "
                    f"{since[0]}); nothing was deleted: roll back again",
                )
            return _execute_rollback(history, run_id, client, items)
    except RollbackRefused as exc:
        return _refuse(items, exc.message)


def _refuse(items: list[RollbackItem], why: str) -> list[RollbackItem]:
    for item in items:
        if item.status == "pending":
            item.status, item.message = "failed", why
    return items


def _execute_rollback(
    history: History, run_id: str, client: IsometricClient, items: list[RollbackItem]
) -> list[RollbackItem]:
    from importer.api import ApiError, NotFound

    record = history.run(run_id)
    project_id = record.project_id if record is not None else None

    for item in items:
        if item.status == "never created" and item.intended is not None:
            history.resolve_intended(run_id, item.intended.seq)
        if item.status != "pending":
            continue
        try:
            client.delete(item.obj.kind, item.obj.object_id, project_id=project_id)
            item.status = "deleted"
        except NotFound:
            item.status = "already gone"
        except ApiError as exc:
            item.status = "failed"
            item.message = exc.message
            continue
        if item.intended is not None:
            history.resolve_intended(run_id, item.intended.seq, object_id=item.obj.object_id)
        else:
            history.mark_deleted(run_id, item.obj.seq)
    return items
