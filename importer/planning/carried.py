"""`CarriedListings`: within one batch, the project's datapoints and components are listed whole once, then only
what is new since.

Why: the API lists datapoints and components by project, not by supplier-reference prefix or period, so a
snapshot that lists them whole grows with the registry: by the twelfth monthly workbook of a year it pages
through eleven months of other workbooks' objects (20,000 datapoints, 10,000 components: about 600 pages, 4 s
on loopback and minutes at 200 ms). A batch imports its workbooks one after the other through one session, so
the next workbook's listing is the previous one plus what was written since.

How: a listing is kept with the cursor of its last item. The next read asks only for what comes after that
cursor and checks the server's `total_count` against the kept items plus the new ones. New objects, whoever
made them (this batch's creates, the components the server made for new entries, another analyst's import),
are read that way. The batch's own updates are taken from the answers it received; its deletes are dropped
(`after_run` says, write by write, what is brought up to date and what makes the next read a whole one).

Anything the count does not add up for (an object deleted or re-ordered by someone else, a server that orders
listings otherwise or counts differently, a cursor it no longer accepts) makes the read a whole listing again,
as does every run that did not end cleanly, that submitted a statement (datapoints lock on submission) or
that changed a datapoint or component without an answer in hand. What the count cannot reveal is an edit by
someone else to an object listed earlier in the same batch; the next command reads it. Nothing is kept between
commands.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from importer.api.errors import ApiError, Cancelled, Unreachable

KINDS = ("datapoint", "component")


@dataclass
class _Kept:
    items: dict[str, Any]  # id -> model, in listing order
    end_cursor: str


@dataclass
class CarriedListings:
    """Per (kind, project): the listing as last read, and how each read was made (for the run log)."""

    _kept: dict[tuple[str, str], _Kept] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    reads: dict[str, int] = field(default_factory=lambda: {"whole": 0, "since": 0, "again": 0})

    def read(self, client: Any, kind: str, project_id: str) -> list[Any]:
        """Every datapoint or component of the project, as a whole listing would give them."""
        with self._lock:
            kept = self._kept.pop((kind, project_id), None)
        if kept is not None:
            try:
                new = client.list_project_since(kind, project_id, kept.end_cursor)
            except (Cancelled, Unreachable):
                raise
            except ApiError:  # a cursor no longer accepted, say: read it whole, once
                new = None
            if new is not None:
                fresh = [o for o in new.items if o.id not in kept.items]
                if new.total_count == len(kept.items) + len(fresh) and len(fresh) == len(new.items):
                    kept.items.update((o.id, o) for o in fresh)
                    kept.end_cursor = new.end_cursor or kept.end_cursor
                    self._keep(kind, project_id, kept, "since")
                    return list(kept.items.values())
        whole = client.list_project_since(kind, project_id, None)
        self._keep(kind, project_id, _Kept({o.id: o for o in whole.items}, whole.end_cursor) if whole.end_cursor
                   else None, "whole" if kept is None else "again")
        return list(whole.items)

    def _keep(self, kind: str, project_id: str, kept: _Kept | None, how: str) -> None:
        with self._lock:
            if kept is not None:  # an empty listing has no cursor to continue from: it is read whole again
                self._kept[(kind, project_id)] = kept
            self.reads[how] += 1

    def after_run(self, project_id: str, plan: Any, outcomes: dict[Any, Any], entities: dict[Any, Any],
                  *, clean: bool) -> None:
        """Bring the kept listings up to what the run wrote, or drop what cannot be brought up to date:
        - a datapoint or component created: nothing (it is read as new); updated: its answer replaces it;
          deleted: dropped; anything else (failed, say): that kind is read whole next time;
        - a GHG entry created: nothing (the components the server made for it are new); any other outcome
          (its components rebound, the entry deleted, a failure): components are read whole next time;
        - a statement submitted, or a source deleted: datapoints are read whole next time (they lock; they cite);
        - a run that did not end cleanly: both are read whole next time."""
        with self._lock:
            if not clean:
                self._forget(project_id, KINDS)
                return
            for action in plan.actions:
                status = outcomes[action.key].status if action.key in outcomes else None
                if status in (None, "unchanged"):
                    continue
                if action.kind == "ghg_entry" and status != "created":
                    self._forget(project_id, ("component",))
                elif ((action.kind == "ghg_statement" and getattr(action.payload, "submit", False))
                      or (action.kind == "source" and status not in ("created", "updated"))):
                    self._forget(project_id, ("datapoint",))
                elif action.kind in KINDS and status != "created":
                    kept = self._kept.get((action.kind, project_id))
                    entity = entities.get(action.key)
                    if kept is None:
                        continue
                    if status == "deleted":
                        kept.items.pop(action.existing_id, None)
                    elif status == "updated" and getattr(entity, "id", None) == action.existing_id:
                        kept.items[action.existing_id] = entity
                    else:
                        self._forget(project_id, (action.kind,))

    def forget(self, project_id: str) -> None:
        """Drop what is kept for the project (a run that failed with writes of unknown outcome, say)."""
        with self._lock:
            self._forget(project_id, KINDS)

    def _forget(self, project_id: str, kinds: tuple[str, ...]) -> None:
        for kind in kinds:
            self._kept.pop((kind, project_id), None)


__all__ = ["CarriedListings"]
