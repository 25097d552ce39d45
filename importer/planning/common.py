"""What every kind's planner shares: the workbook, the project context, the registry snapshot, the derived
supplier_reference_ids, and how a workbook ref becomes a typed `Ref` (an ID known now, or an object this plan
creates)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NotRequired, Protocol, TypedDict, overload

from importer.context import ProjectContext
from importer.identity import reference_for
from importer.ids import has_id_prefix
from importer.planning.model import (
    Action,
    Change,
    IdRef,
    Key,
    NewRef,
    Op,
    Payload,
    Placed,
    Ref,
    ReplacedPayload,
    Where,
)
from importer.planning.registry import RegistryState
from importer.workbook.model import Workbook

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.planning.registry import RegistryObject
    from importer.workbook.model import ComponentInputRow


class Row(Protocol):
    """A workbook row that becomes an object of ours: its ref and its own supplier_reference_id, if any."""

    @property
    def ref(self) -> str: ...

    @property
    def supplier_reference_id(self) -> str | None: ...


class SheetRow(Row, Protocol):
    """Such a row with its Excel row number."""

    @property
    def row(self) -> int: ...


def placed(kind: str, sheet: str, row: SheetRow, srid: str, depends_on: Iterable[Key] = ()) -> Placed:
    """What every action of one object's row shares: its kind, ref, sheet and Excel row, its supplier_reference_id,
    and what its actions wait for."""
    return Placed(
        kind=kind, ref=row.ref, sheet=sheet, row=row.row, supplier_reference_id=srid, depends_on=tuple(depends_on)
    )


SAMPLE = "measurement_sample"
#: a sample's value: no action of its own, its datapoint's ID is recorded by the sample's (`ApplyEnv.part_created`)
SAMPLE_VALUE = "sample_value"

_TABLES = {
    "source": "sources",
    "datapoint": "datapoints",
    "feedstock_type": "feedstock_types",
    "ghg_entry": "ghg_entries",
    "component": "components",
    "project_component": "components",  # shared components are components, told apart by reference
    "ghg_statement_component": "components",
}


@dataclass
class Planning:
    wb: Workbook
    ctx: ProjectContext
    state: RegistryState
    submit: bool
    prefix: str
    srids: dict[Key, str] = field(default_factory=dict)
    ops: dict[Key, Op] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    #: the actions planned so far, kind by kind (a later kind may read them: the statement, the entries)
    planned: list[Action] = field(default_factory=list)
    #: objects a row names that the importer does not own (feedstock types: matched by ID, reference or name)
    matched: dict[Key, str] = field(default_factory=dict)
    #: planned with --replace: a changed object the API cannot update is deleted and created anew
    replace: bool = False

    def record(self, action: Action) -> Action:
        """Remember what the plan does with this object (a later kind's Refs depend on it) and return it."""
        self.ops[action.key] = action.op
        return action

    def judged(
        self, verdict: Verdict, payload: Payload, existing_id: str, changes: list[Change], base: Where | Placed
    ) -> Action:
        """The recorded action of an existing object once compared (`classify`): unchanged, update or conflict."""
        return self.record(
            Action(
                op=verdict.op,
                payload=payload,
                existing_id=existing_id,
                changes=tuple(changes),
                reason=verdict.reason,
                **base,
            )
        )

    def replaced(
        self, changes: list[Change], payload: Payload, existing_id: str, base: Placed, *, noun: str, extra: str = ""
    ) -> list[Action]:
        """The actions of an existing object of a kind the API cannot update (no PATCH): unchanged; a conflict
        that says what changed and asks for --replace; or, with --replace, its replace: a delete of the old
        object (`ReplacedPayload`), then the row's `replace` action creating it anew, which waits for it."""
        if not changes:
            return [self.judged(Verdict("unchanged"), payload, existing_id, [], base)]
        what = "; ".join(c.describe() for c in changes)
        if not self.replace:
            reason = (
                f"{noun} {existing_id} changed ({what}), and the API cannot update a {noun}: run with --replace to "
                f"delete it and create it anew{extra}, or give the row a new ref to add another {noun}"
            )
            return [self.judged(Verdict("conflict", reason), payload, existing_id, changes, base)]
        delete = Action(
            kind=base["kind"],
            ref=existing_id,
            sheet=base["sheet"],
            row=base["row"],
            op="delete",
            payload=ReplacedPayload(base["ref"]),
            supplier_reference_id=base.get("supplier_reference_id"),
            existing_id=existing_id,
            notes=(f"replaced by {base['sheet']} row {base['row']} ({base['ref']})",),
        )
        create = dataclasses.replace(
            Action(op="replace", payload=payload, existing_id=existing_id, changes=tuple(changes), **base),
            depends_on=(*base["depends_on"], delete.key),
        )
        return [delete, self.record(create)]

    def srid(self, kind: str, sheet: str, row: Row, *, file_sha256: str | None = None) -> str:
        srid = reference_for(row.supplier_reference_id, self.prefix, sheet, row.ref, file_sha256=file_sha256)
        self.srids[(kind, row.ref)] = srid
        return srid

    @overload
    def existing(self, kind: Literal["source"], srid: str) -> m.Source | None: ...
    @overload
    def existing(self, kind: Literal["datapoint"], srid: str) -> m.Datapoint | None: ...
    @overload
    def existing(self, kind: Literal["ghg_entry"], srid: str) -> m.GhgEntry | None: ...
    @overload
    def existing(self, kind: Literal["component"], srid: str) -> m.Component | None: ...
    @overload
    def existing(self, kind: str, srid: str) -> RegistryObject | None: ...

    def existing(self, kind: str, srid: str) -> RegistryObject | None:
        return self.state.table(_TABLES.get(kind) or self.state.listed_kinds.get(kind, kind)).get(srid)

    def existing_id(self, kind: str, ref: str) -> str | None:
        """The registry ID a ref stands for, when known before the run (a literal ID, or an existing object
        that this plan does not create anew)."""
        if has_id_prefix(ref):
            return ref
        if (kind, ref) in self.matched:
            return self.matched[(kind, ref)]
        if self.ops.get((kind, ref)) in ("create", "replace"):
            return None
        obj = self.existing(kind, self.srids.get((kind, ref), ""))
        return obj.id if obj is not None else None

    def ref(self, kind: str, ref: str) -> Ref:
        known = self.existing_id(kind, ref)
        return IdRef(known) if known is not None else NewRef((kind, ref))

    @staticmethod
    def deps(kind: str, refs: tuple[str, ...] | list[str]) -> tuple[Key, ...]:
        return tuple((kind, r) for r in refs if not has_id_prefix(r))

    def sample_of(self, ref: str) -> str | None:
        """The sample (its workbook ref) whose value `ref` is, when `ref` is a sample_values ref; else None."""
        found: dict[str, str] | None = self.__dict__.get("_sample_of")
        if found is None:
            found = {v.ref: v.sample for v in self.wb.sample_values}
            self.__dict__["_sample_of"] = found
        return found.get(ref)

    def datapoint_ref(self, ref: str) -> Ref:
        """What a datapoint_refs cell names: a datapoint (a ref or a dtp_ ID), or a sample value, which stands
        for the datapoint Isometric made of it (known when the sample is held unchanged: `matched`)."""
        if self.sample_of(ref) is not None:
            return self.ref(SAMPLE_VALUE, ref)
        return self.ref("datapoint", ref)

    def datapoint_deps(self, refs: tuple[str, ...] | list[str]) -> tuple[Key, ...]:
        """What binding `refs` waits for: each datapoint's create, and each sample's whose values they are (a
        sample's datapoints exist once it is created)."""
        out: list[Key] = []
        for ref in refs:
            if has_id_prefix(ref):
                continue
            sample = self.sample_of(ref)
            key = (SAMPLE, sample) if sample is not None else ("datapoint", ref)
            if key not in out:
                out.append(key)
        return tuple(out)


def enum_text(value: object) -> str:
    """An API enum's text (the models hold plain strings; an Enum gives its value)."""
    return str(getattr(value, "value", value))


def same_float(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)


def as_utc(value: str | dt.date | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    stamp: dt.datetime = value.astimezone(dt.UTC)
    return stamp


def same_instant(a: str | dt.date | None, b: str | dt.date | None) -> bool:
    return as_utc(a) == as_utc(b)


def iso_z(value: dt.date | None) -> str | None:
    if value is None:
        return None
    text: str = value.isoformat()
    return text.replace("+00:00", "Z") if text.endswith("+00:00") else text + ("" if "T" not in text else "Z")


def input_ids(item: m.ComponentInput) -> list[str]:
    """The datapoint IDs a component input (scalar or list, as returned) holds."""
    if item.datapoint_ids is not None:
        return list(item.datapoint_ids)
    return [item.datapoint_id] if item.datapoint_id else []


def names_exactly(refs: tuple[Ref, ...], held: list[str]) -> bool:
    """Whether `refs` name exactly the registry IDs `held` (in any order); an object this plan creates never
    matches what the registry holds."""
    ids = [r.id for r in refs if isinstance(r, IdRef)]
    return len(ids) == len(refs) and sorted(ids) == sorted(held)


def template_component_of(component: m.Component) -> str | None:
    """The template component (rtc_) a component fills, whichever name the API uses."""
    return component.ghg_entry_template_component_id or component.removal_template_component_id


@dataclass(frozen=True)
class Verdict:
    op: Op
    reason: str | None = None


def classify(
    changes: list[Change],
    *,
    unpatchable: tuple[str, ...] = (),
    unclearable: tuple[str, ...] = (),
    frozen: str | None = None,
    noun: str,
    ident: str,
    frozen_hint: str = "",
    clear_hint: str = "",
) -> Verdict:
    """unchanged, update or conflict, from what differs (`changes`), what the API cannot PATCH (`unpatchable`)
    or cannot clear (`unclearable`: the workbook empties a field no PATCH body lets be null), and whether the
    object may change at all (`frozen` says why not)."""
    names = [c.field for c in changes] + list(unpatchable) + list(unclearable)
    if not names:
        return Verdict("unchanged")
    if frozen:
        return Verdict("conflict", f"{frozen} and cannot change ({', '.join(names)}){frozen_hint}")
    if unpatchable or unclearable:
        reasons = []
        if unpatchable:
            reasons.append(
                f"{', '.join(unpatchable)} cannot be changed through the API; give the row a new ref to "
                f"create a new {noun}"
            )
        if unclearable:
            fields = ", ".join(f.removesuffix("_id").replace("_", " ") for f in unclearable)
            reasons.append(
                f"the API cannot clear a {noun}'s {fields} (the workbook leaves it empty, the {noun} has "
                f"one); {clear_hint or f'give the row a new ref to create a new {noun}'}"
            )
        return Verdict("conflict", f"{noun} {ident}: " + "; ".join(reasons))
    return Verdict("update")


# -- component inputs: what GHG entries and extra components bind alike ----------------------------------------
@dataclass(frozen=True)
class InputBinding:
    input_key: str
    shape: str  # "SCALAR" | "LIST", the blueprint input's data shape
    datapoints: tuple[Ref, ...]
    refs: tuple[str, ...] = ()  # as written in the workbook (for the lineage)


def input_shape(ctx: ProjectContext, blueprint_key: str, input_key: str) -> str:
    """SCALAR or LIST: the data shape of a blueprint input (SCALAR when the blueprint does not say)."""
    spec = ctx.blueprint_input(blueprint_key, input_key)
    shape = enum_text(spec.data_shape) if spec is not None else "SCALAR"
    return "LIST" if shape.upper().endswith("LIST") else "SCALAR"


def input_bindings(p: Planning, blueprint_key: str, items: Sequence[ComponentInputRow]) -> tuple[InputBinding, ...]:
    """An extra or shared component's inputs as its component_inputs rows bind them: each input's shape from the
    blueprint, and what each datapoint_refs cell names (a datapoint, or a sample value's datapoint)."""
    return tuple(
        InputBinding(
            ci.input_key,
            input_shape(p.ctx, blueprint_key, ci.input_key),
            tuple(p.datapoint_ref(r) for r in ci.datapoint_refs),
            ci.datapoint_refs,
        )
        for ci in items
    )


#: the request body of one component input: a scalar names its datapoint, a list its datapoints
InputBody = TypedDict(
    "InputBody",
    {"__typename": str, "input_key": str, "datapoint_id": NotRequired[str], "datapoint_ids": NotRequired[list[str]]},
)


class SentComponent(TypedDict):
    """A template component's part of a CreateGhgEntryRequest, as sent."""

    ghg_entry_template_component_id: str
    inputs: list[InputBody]


def input_body(binding: InputBinding, resolve: Callable[[Ref], str]) -> InputBody:  # a request body (JSON)
    """The request body of one bound input, its datapoints resolved to IDs."""
    ids = [resolve(r) for r in binding.datapoints]
    if binding.shape == "LIST":
        return {"__typename": "CreateComponentListInput", "input_key": binding.input_key, "datapoint_ids": ids}
    return {"__typename": "CreateComponentScalarInput", "input_key": binding.input_key, "datapoint_id": ids[0]}


def same_project(obj: m.Source | m.Datapoint, project_id: str, action: Action) -> str | None:
    """Why an object answered to a create cannot be adopted: it belongs to another project (supplier references are
    unique per supplier, not per project); None when it may."""
    project = obj.project_id
    if project and project != project_id:
        return (
            f"supplier_reference_id {action.supplier_reference_id!r} already belongs to {obj.id} of project "
            f"{project}; it is never adopted into project {project_id}: give this workbook its own "
            "supplier_reference_prefix on the project sheet"
        )
    return None
