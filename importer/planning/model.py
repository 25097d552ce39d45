"""The plan as a value: typed, immutable actions, one per object of the workbook.

An `Action` says what will happen to one object (create, update with the changed fields, unchanged,
conflict, blocked), carries a typed payload for its kind (`importer.planning.<kind>`), and names the objects it
needs by `Ref`: an `IdRef` for an object the registry already holds, a `NewRef` for one this plan creates
(its ID exists only once applied). Nothing here is mutated after planning: applying a plan returns a separate
run log (`importer.applying.RunLog`), so the plan still says "create" after the run created it, and a saved plan
(`importer.planning.saved`) is exactly what a reviewer approved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NotRequired, TypeAlias, TypedDict, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Key = tuple[str, str]  # (kind, workbook ref): unique per object of a plan
Op = Literal["create", "update", "replace", "unchanged", "conflict", "blocked", "delete"]

# the kinds, their order and sheets: `importer.planning.kinds` (each kind's module declares its own)
STATEMENT_KEY: Key = ("ghg_statement", "statement")
SUBMITTED_STATUSES = frozenset({"AWAITING_VERIFICATION", "VERIFIED", "CREDITS_ISSUED", "FAILED_VERIFICATION"})


@dataclass(frozen=True)
class IdRef:
    """An object the registry already holds (an ID written in the workbook, or found by reference)."""

    id: str


@dataclass(frozen=True)
class NewRef:
    """An object this plan creates: its ID is known once the action creating it has been applied."""

    key: Key


Ref = IdRef | NewRef

#: an action's payload: the frozen dataclass its kind's module declares (SourcePayload, ...). Kinds never import
#: each other, and this module imports none of them, so the type says only that much; `payload_of` narrows it
Payload: TypeAlias = "DataclassInstance"
_P = TypeVar("_P")


@dataclass(frozen=True)
class Change:
    """One field an update changes, with the value the registry holds and the value the workbook wants (as
    shown to people: `46 km -> 52.5 km`)."""

    field: str
    before: object = None
    after: object = None

    def describe(self) -> str:
        if self.before is None and self.after is None:
            return self.field
        return f"{self.field}: {shown(self.before)} -> {shown(self.after)}"


def shown(value: object) -> str:
    """A value as people read it in a change: `46 km -> 52.5 km`, `(empty)`, lists joined."""
    if value is None:
        return "(empty)"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(shown(v) for v in value) or "(none)"
    return str(value)


@dataclass(frozen=True)
class Action:
    """What happens to one object. `payload` is the kind's own frozen dataclass (SourcePayload, ...)."""

    kind: str
    ref: str  # the workbook ref ("statement" for the GHG statement)
    sheet: str
    row: int | None
    op: Op
    payload: Payload
    supplier_reference_id: str | None = None
    existing_id: str | None = None  # the registry's object, for update/unchanged/conflict
    changes: tuple[Change, ...] = ()
    depends_on: tuple[Key, ...] = ()
    reason: str | None = None  # why a conflict is one
    blocked_by: str | None = None  # "datapoints row 7 (ref x)" for blocked rows
    notes: tuple[str, ...] = ()  # e.g. "file upload resumed unless already present"

    @property
    def key(self) -> Key:
        return (self.kind, self.ref)

    def payload_of(self, cls: type[_P]) -> _P:
        """The payload as its kind's own dataclass (what the kind's plan put there)."""
        payload = self.payload
        if not isinstance(payload, cls):
            raise TypeError(f"{self.kind} {self.ref!r}: payload {type(payload).__name__}, not {cls.__name__}")
        return payload

    @property
    def where(self) -> str:
        """`datapoints row 7 (ref biochar-mass)`: how a blocked row names its culprit."""
        place = f"{self.sheet} row {self.row}" if self.row else self.sheet
        return f"{place} ({self.ref})" if self.ref else place

    @property
    def needs_applying(self) -> bool:
        """Create and update go out; an unchanged source still asks whether its file arrived."""
        return self.op in ("create", "update", "replace", "delete") or (
            self.op == "unchanged" and bool(getattr(self.payload, "resume_upload", False))
        )


@dataclass(frozen=True)
class ReplacedPayload:
    """The first half of a replace (`Action.op` "delete" with this payload): the object the API cannot update
    is deleted, so that the row's `replace` action may create it anew under the same supplier_reference_id.
    Applied by its kind (a prune's delete is `DeletePayload`'s, applied by the scheduler)."""

    ref: str  # the workbook ref whose replace waits for this delete


class Where(TypedDict):
    """What every action of one workbook row shares (a kind's planner builds it once per row: `Action(**where)`)."""

    kind: str
    ref: str
    sheet: str
    row: int | None


class Placed(Where):
    """A row's `Where` with what its actions depend on (and its supplier_reference_id, when it has one)."""

    depends_on: tuple[Key, ...]
    supplier_reference_id: NotRequired[str]


@dataclass(frozen=True)
class EvidenceFingerprint:
    ref: str
    file: str  # as resolved at planning
    sha256: str


@dataclass(frozen=True)
class StatementEntry:
    """A GHG entry the statement will hold, and where it comes from: `workbook` (this run's), `orphan` (made
    under this workbook's prefix, `importer.identity.owned_by`, but no longer defined by it) or `elsewhere` (the
    Certify UI, other workbooks)."""

    group: str
    ref: str  # workbook ref, or the supplier_reference_id / ID of a registry entry
    id: str | None
    completed_on: str
    co2e_net_removed_kg: float | None = None


@dataclass(frozen=True)
class Orphan:
    """An object this workbook's earlier runs could have made (its supplier_reference_id is one the identity rule
    derives under the workbook's prefix: `importer.identity.owned_by`) that the workbook no longer defines."""

    kind: str
    id: str
    supplier_reference_id: str
    co2e_net_removed_kg: float | None = None
    completed_on: str | None = None  # GHG entries: decides which statement period holds it
    deletable: bool = True
    why_not: str | None = None  # when it cannot be deleted (locked, in a submitted statement)


@dataclass(frozen=True)
class Plan:
    """Everything a run would do, computed against one registry snapshot; a value, never mutated."""

    project_id: str
    prefix: str
    workbook_path: str
    workbook_sha256: str
    evidence: tuple[EvidenceFingerprint, ...]
    registry_fingerprint: dict[str, str]  # supplier_reference_id (or id) -> digest of what the plan compared
    context_fingerprint: str  # digest of the templates and blueprints used
    actions: tuple[Action, ...]
    submit: bool
    messages: tuple[str, ...] = ()
    orphans: tuple[Orphan, ...] = ()
    statement_end_on: dt.date | None = None
    statement_entries: tuple[StatementEntry, ...] = ()  # what the statement will hold, grouped
    prune: bool = False  # planned with --prune: the orphans' deletes are part of it
    replace: bool = False  # planned with --replace: changed objects the API cannot update are replaced
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def action(self, key: Key) -> Action | None:
        return self.index().get(key)

    def index(self) -> dict[Key, Action]:
        """Actions by key, built once (the plan never changes)."""
        found: dict[Key, Action] | None = self.__dict__.get("_index")
        if found is None:
            found = {a.key: a for a in self.actions}
            object.__setattr__(self, "_index", found)
        return found

    def of_kind(self, kind: str) -> list[Action]:
        return [a for a in self.actions if a.kind == kind]

    @property
    def ok(self) -> bool:
        return not any(a.op in ("conflict", "blocked") for a in self.actions)
