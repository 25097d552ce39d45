"""`CarriedListings`: within one batch, the project's datapoints and components, and the organisation's GHG
entries, are listed whole once, then only what is new since.

Why: the API lists datapoints and components by project, not by supplier-reference prefix or period, and GHG
entries only for the whole organisation, so a snapshot that lists them whole grows with the registry: by the
twelfth monthly workbook of a year it pages through eleven months of other workbooks' objects (20,000
datapoints, 10,000 components, 2,400 entries: about 650 pages, 4 s on loopback and minutes at 200 ms; the
entries' pages are the slowest, since they can only be read one after the other). A batch imports its workbooks
one after the other through one session, so the next workbook's listing is the previous one plus what was
written since.

How: a listing is kept with the cursor of its last item. The next read asks only for what comes after that
cursor and checks the server's `total_count` against the kept items plus the new ones. New objects, whoever
made them (this batch's creates, the components the server made for new entries, another analyst's import),
are read that way. The batch's own updates of datapoints and components are taken from the answers it
received; its deletes are dropped (`after_run` says, write by write, what is brought up to date and what makes
the next read a whole one). A GHG entry listed earlier changes with whatever feeds its figures or files it:
the entries are kept only while a run's writes cannot have touched one listed earlier (objects created, new
entries' attributions, a statement that files only new entries), and read whole after any other write.

Anything the count does not add up for (an object deleted or re-ordered by someone else, a server that orders
listings otherwise or counts differently, a cursor it no longer accepts) makes the read a whole listing again,
as does every run that did not end cleanly, that submitted a statement (datapoints lock on submission) or
that changed a datapoint or component without an answer in hand. What the count cannot reveal is an edit by
someone else to an object listed earlier in the same batch; the next command reads it. Nothing is kept between
commands.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias, TypeVar, cast

from importer.api.errors import ApiError, Cancelled, Unreachable
from importer.planning.model import Action, Key, NewRef, Plan

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.planning.env import Entity
    from importer.planning.kind import Kind
    from importer.planning.registry import RegistryObject
    from importer.results import ObjectOutcome

#: what a carried listing holds: objects of the kinds listed whole (`Kind.carried`)
Carried: TypeAlias = "RegistryObject"

ORGANISATION = ""  # the scope of a listing the API cannot read by project (GHG entries, the chain of custody)
#: the kinds with rules of their own below; every other carried kind is kept current by its creates and deletes
_OWN_RULES = ("datapoint", "component", "ghg_entry")


def _submits(action: Action) -> bool:
    """Whether a statement's action submits it (its payload says so; kinds do not import each other)."""
    return bool(getattr(action.payload, "submit", False))


_T = TypeVar("_T", bound="RegistryObject")


@dataclass
class _Kept:
    items: dict[str, Carried]  # id -> model, in listing order
    end_cursor: str


@dataclass
class CarriedListings:
    """Per (kind, project; the organisation for GHG entries): the listing as last read, and how each read was
    made (for the run log)."""

    #: the registered kinds: which are carried (`Kind.carried`: in which scope), and what their writes leave alone
    #: or spoil (`Kind.leaves_entries`, `Kind.invalidates`)
    kinds: Sequence[Kind] = ()
    _kept: dict[tuple[str, str], _Kept] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    reads: dict[str, int] = field(default_factory=lambda: {"whole": 0, "since": 0, "again": 0})

    def read(self, client: IsometricClient, kind: str, project_id: str, model: type[_T] | None = None) -> list[_T]:
        """Every object of `kind` (a kind with `Kind.carried`) of the project, or of the organisation for those listed
        organisation-wide, as a whole listing would give them: objects of `model`, its API model (the client
        reads them as such: `IsometricClient.list_since`)."""
        scope = self._scope(kind, project_id)
        listed_by = {"project_id": scope} if scope != ORGANISATION else {}
        with self._lock:
            kept = self._kept.pop((kind, scope), None)
        if kept is not None:
            try:
                new = client.list_since(kind, kept.end_cursor, **listed_by)
            except (Cancelled, Unreachable):
                raise
            except ApiError:  # a cursor no longer accepted, say: read it whole, once
                new = None
            if new is not None:
                fresh = [o for o in new.items if o.id not in kept.items]
                if new.total_count == len(kept.items) + len(fresh) and len(fresh) == len(new.items):
                    kept.items.update((o.id, o) for o in fresh)
                    kept.end_cursor = new.end_cursor or kept.end_cursor
                    self._keep(kind, scope, kept, "since")
                    return cast("list[_T]", list(kept.items.values()))
        whole = client.list_since(kind, None, **listed_by)
        self._keep(
            kind,
            scope,
            _Kept({o.id: o for o in whole.items}, whole.end_cursor) if whole.end_cursor else None,
            "whole" if kept is None else "again",
        )
        return cast("list[_T]", list(whole.items))

    def _keep(self, kind: str, scope: str, kept: _Kept | None, how: str) -> None:
        with self._lock:
            if kept is not None:  # an empty listing has no cursor to continue from: it is read whole again
                self._kept[(kind, scope)] = kept
            self.reads[how] += 1

    def after_run(
        self,
        project_id: str,
        plan: Plan,
        outcomes: dict[Key, ObjectOutcome],
        entities: dict[Key, Entity],
        *,
        clean: bool,
    ) -> None:
        """Bring the kept listings up to what the run wrote, or drop what cannot be brought up to date:
        - a datapoint or component created: nothing (it is read as new); updated: its answer replaces it;
          deleted: dropped; anything else (failed, say): that kind is read whole next time;
        - a GHG entry created: nothing (the components the server made for it are new); any other outcome
          (its components rebound, the entry deleted, a failure): components are read whole next time;
        - a statement submitted, or a source deleted: datapoints are read whole next time (they lock; they cite);
        - GHG entries: read whole next time unless every write leaves the entries listed before as they were
          (`_leaves_listed_entries`);
        - a run that did not end cleanly: all are read whole next time."""
        with self._lock:
            if not clean:
                self._forget(project_id, self._carried)
                return
            for action in plan.actions:
                status = outcomes[action.key].status if action.key in outcomes else None
                if status in (None, "unchanged"):
                    continue
                if not self._leaves_listed_entries(action, status, entities.get(action.key)):
                    self._forget(project_id, ("ghg_entry",))
                by_name = self._by_name.get(action.kind)
                if by_name is not None and status in ("replaced", "deleted"):
                    self._forget(project_id, by_name.invalidates)  # a sample takes its unused datapoints along
                if action.kind not in _OWN_RULES:
                    self._after_write(project_id, action, status)
                    continue
                if action.kind == "ghg_entry" and status != "created":
                    self._forget(project_id, ("component",))
                elif (action.kind == "ghg_statement" and _submits(action)) or (
                    action.kind == "source" and status not in ("created", "updated")
                ):
                    self._forget(project_id, ("datapoint",))
                elif action.kind in ("datapoint", "component") and status != "created":
                    kept = self._kept.get((action.kind, project_id))
                    entity = entities.get(action.key)
                    if kept is None:
                        continue
                    if status == "deleted":
                        if action.existing_id is not None:
                            kept.items.pop(action.existing_id, None)
                    elif status == "updated" and entity is not None and entity.id == action.existing_id:
                        kept.items[action.existing_id] = cast("Carried", entity)  # a datapoint's or component's
                    else:
                        self._forget(project_id, (action.kind,))

    def _after_write(self, project_id: str, action: Action, status: str) -> None:
        """An object of a kind without rules of its own (the chain of custody, lab results) created, or the new half
        of a replace, is read as new; a deleted one (a prune, the old half of a replace) is dropped; anything else
        makes the kind's next read a whole one."""
        if status in ("created", "replaced"):
            return
        kept = self._kept.get((action.kind, self._scope(action.kind, project_id)))
        if status == "deleted" and kept is not None and action.existing_id is not None:
            kept.items.pop(action.existing_id, None)
        elif status != "deleted":
            self._forget(project_id, (action.kind,))

    def _leaves_listed_entries(self, action: Action, status: str, entity: Entity | None) -> bool:
        """Whether a write leaves every GHG entry listed before as it was: a new object nothing listed refers
        to, an attribution on an entry this run created, or a statement (not submitted) that files none of them:
        none in its answer's `ghg_entry_ids`, and none unfiled whose dates meet its period (in case the answer
        lists them later). Anything else may change an entry's figures or its statement."""
        kind = self._by_name.get(action.kind)
        if kind is not None and status in kind.leaves_entries:
            return True
        if action.kind == "component_attribution":
            return isinstance(getattr(action.payload, "entry", None), NewRef)
        if action.kind != "ghg_statement" or status not in ("created", "updated") or entity is None or _submits(action):
            return False
        statement = cast("m.GhgStatement", entity)
        kept = self._kept.get(("ghg_entry", ORGANISATION))
        if kept is None:
            return True
        filed = set(statement.ghg_entry_ids or ())
        start, end = statement.reporting_period_start_at, statement.reporting_period_end_at
        entries = cast("dict[str, m.GhgEntry]", kept.items)  # the organisation's GHG entries
        return not any(
            e.id in filed or (e.ghg_statement_id is None and e.started_on <= end and e.completed_on >= start)
            for e in entries.values()
        )

    def forget(self, project_id: str) -> None:
        """Drop what is kept for the project (a run that failed with writes of unknown outcome, say)."""
        with self._lock:
            self._forget(project_id, self._carried)

    def _forget(self, project_id: str, kinds: Sequence[str]) -> None:
        for kind in kinds:
            self._kept.pop((kind, self._scope(kind, project_id)), None)

    def __post_init__(self) -> None:
        self._by_name: dict[str, Kind] = {kind.name: kind for kind in self.kinds}
        self._carried: tuple[str, ...] = tuple(kind.name for kind in self.kinds if kind.carried)

    def _scope(self, kind: str, project_id: str) -> str:
        known = self._by_name.get(kind)
        return ORGANISATION if known is not None and known.carried == "organisation" else project_id


__all__ = ["CarriedListings"]
