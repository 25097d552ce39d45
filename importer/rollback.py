"""Undo a rehearsal or a mistake: delete, in reverse dependency order, the objects one run created.

Only objects the run itself created are touched (the history records each ID as the API returned it).
Nothing is deleted when any of them belongs to a submitted GHG statement: the verifier may already be
looking at it, so the whole rollback is refused with the statement named. GHG statements themselves have
no DELETE endpoint in the API; a draft statement the run created is left in place and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from importer.history import CreatedObject, History

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
    status: str = "pending"  # pending | deleted | already gone | failed | kept
    message: str | None = None


def _status(statement: Any) -> str:
    return str(getattr(statement.status, "value", statement.status))


def plan_rollback(history: History, run_id: str, client: Any) -> list[RollbackItem]:
    """What a rollback of `run_id` would delete, in order; raises RollbackRefused when it must not."""
    from importer.api import NotFound

    record = history.run(run_id)
    if record is None:
        raise RollbackRefused(f"no run {run_id!r} in the history; `isometric-import history` lists the runs")
    created = [c for c in history.created(run_id) if c.deleted_at is None]
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
    items = [RollbackItem(c) for kind in DELETE_ORDER for c in reversed(created) if c.kind == kind]
    items += [RollbackItem(c, status="kept", message="GHG statements cannot be deleted through the API; this "
                           "draft stays and will be extended by the next statement") for c in created
              if c.kind == "ghg_statement"]
    return items


def execute_rollback(history: History, run_id: str, client: Any, items: list[RollbackItem]) -> list[RollbackItem]:
    from importer.api import ApiError, NotFound

    for item in items:
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
        history.mark_deleted(run_id, item.obj.seq)
    return items
