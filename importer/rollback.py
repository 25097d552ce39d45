"""Undo a rehearsal or a mistake: delete, in reverse dependency order, the objects one run created.

Only objects the run itself created are touched (the history records each ID as the API returned it):
objects it found and adopted (existing at plan time, or created concurrently by someone else) are left in
place and listed as kept. A create recorded as intended but never confirmed (the run crashed or lost the
answer) is looked up by its supplier_reference_id with the client's `list_*` methods: what is found is
deleted, and the intent is closed either way.
Nothing is deleted when any of them belongs to a submitted GHG statement: the verifier may already be
looking at it, so the whole rollback is refused with the statement named. GHG statements themselves have
no DELETE endpoint in the API; a draft statement the run created is left in place and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from importer.history import CreatedObject, History, IntendedCreate

#: reverse dependency order: what depends on others goes first
DELETE_ORDER = ("component", "ghg_entry", "feedstock_type", "datapoint", "source")
SUBMITTED = frozenset({"AWAITING_VERIFICATION", "VERIFIED", "CREDITS_ISSUED", "FAILED_VERIFICATION"})


class RollbackRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class RollbackItem:
    obj: CreatedObject
    status: str = "pending"  # pending | deleted | already gone | failed | kept | never created
    message: str | None = None
    intended: IntendedCreate | None = None  # found by supplier_reference_id for an unconfirmed create


#: how to find an object by its supplier_reference_id, per kind (statements have none)
_LOOKUPS: dict[str, str] = {"source": "list_sources", "datapoint": "list_datapoints",
                            "feedstock_type": "list_feedstock_types", "ghg_entry": "list_ghg_entries",
                            "component": "list_components"}


def _find_intended(client: Any, intent: IntendedCreate) -> list[Any]:
    lookup = _LOOKUPS.get(intent.kind)
    if lookup is None:
        return []
    found = getattr(client, lookup)(supplier_reference_id=intent.supplier_reference_id)
    return [o for o in found if getattr(o, "supplier_reference_id", None) == intent.supplier_reference_id]


def _status(statement: Any) -> str:
    return str(getattr(statement.status, "value", statement.status))


def plan_rollback(history: History, run_id: str, client: Any) -> list[RollbackItem]:
    """What a rollback of `run_id` would delete, in order; raises RollbackRefused when it must not."""
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
        hits = [o for o in _find_intended(client, intent) if (intent.kind, o.id) not in known]
        for obj in hits:
            created.append(CreatedObject(seq=-intent.seq, kind=intent.kind, object_id=obj.id,
                                         supplier_reference_id=intent.supplier_reference_id, deleted_at=None))
            intents[(intent.kind, obj.id)] = intent
            known.add((intent.kind, obj.id))
        if not hits:
            lookable = intent.kind in _LOOKUPS
            unfound.append(RollbackItem(
                CreatedObject(seq=-intent.seq, kind=intent.kind, object_id="-",
                              supplier_reference_id=intent.supplier_reference_id, deleted_at=None),
                status="never created" if lookable else "kept", intended=intent,
                message=f"meant to create {intent.supplier_reference_id!r}, but the API has no such object"
                if lookable else f"a {intent.kind} cannot be looked up by supplier_reference_id: check the Certify UI"))
    statements: dict[str, Any] = {}
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
                "submitted statements cannot be rolled back; contact Isometric to amend it")
    items = [RollbackItem(c, intended=intents.get((c.kind, c.object_id))) for kind in DELETE_ORDER
             for c in reversed(created) if c.kind == kind]
    items += [RollbackItem(c, status="kept", message="GHG statements cannot be deleted through the API; this "
                           "draft stays and will be extended by the next statement") for c in created
              if c.kind == "ghg_statement"]
    items += [RollbackItem(c, status="kept", message="found by this run, not created by it: left in place")
              for c in recorded if c.adopted]
    return items + unfound


def execute_rollback(history: History, run_id: str, client: Any, items: list[RollbackItem]) -> list[RollbackItem]:
    from importer.api import ApiError, NotFound

    for item in items:
        if item.status == "never created" and item.intended is not None:
            history.resolve_intended(run_id, item.intended.seq)
        if item.status != "pending":
            continue
        try:
            client.delete(item.obj.kind, item.obj.object_id)
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
