"""Datapoints: measured or reported values citing their sources. Desired state from the datapoints sheet;
diff (a locked datapoint or a changed `measured_at` is a conflict: the API cannot change them); apply; the
datapoint's lineage (value, unit, sources)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypedDict

from importer.ids import has_id_prefix
from importer.planning.common import (
    Planning,
    classify,
    enum_text,
    iso_z,
    names_exactly,
    placed,
    same_float,
    same_instant,
    same_project,
)
from importer.planning.env import Applied, ApplyEnv, StepFailed
from importer.planning.kind import Kind
from importer.planning.model import Action, Change, Ref
from importer.results import DatapointLineage, SourceLineage

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m

KIND: Final = "datapoint"


@dataclass(frozen=True)
class DatapointPayload:
    display_name: str
    description: str
    type: str
    magnitude: float
    unit: str
    standard_deviation: float | None
    measured_at: str | None  # ISO 8601 UTC
    sources: tuple[Ref, ...]
    source_refs: tuple[str, ...]  # as written, for the lineage
    uncertainty_justification: str | None


def plan(p: Planning) -> list[Action]:
    out = []
    for row in p.wb.datapoints:
        srid = p.srid(KIND, "datapoints", row)
        payload = DatapointPayload(
            display_name=row.display_name,
            description=row.description,
            type=row.type,
            magnitude=row.magnitude,
            unit=row.unit,
            standard_deviation=row.standard_deviation,
            measured_at=iso_z(row.measured_at),
            sources=tuple(p.ref("source", r) for r in row.source_refs),
            source_refs=row.source_refs,
            uncertainty_justification=row.uncertainty_justification,
        )
        base = placed(KIND, "datapoints", row, srid, p.deps("source", row.source_refs))
        existing = p.existing(KIND, srid)
        if existing is None:
            out.append(p.record(Action(op="create", payload=payload, **base)))
            continue
        changes: list[Change] = []
        if existing.display_name != row.display_name:
            changes.append(Change("display_name", existing.display_name, row.display_name))
        if (existing.description or "") != row.description:
            changes.append(Change("description", existing.description, row.description))
        if enum_text(existing.type) != row.type:
            changes.append(Change("type", enum_text(existing.type), row.type))
        q = existing.quantity
        held: _Quantity = {"magnitude": float(q.magnitude), "unit": q.unit, "standard_deviation": q.standard_deviation}
        wanted: _Quantity = {"magnitude": row.magnitude, "unit": row.unit, "standard_deviation": row.standard_deviation}
        if not (
            same_float(held["magnitude"], row.magnitude)
            and (q.unit or "") == row.unit
            and same_float(q.standard_deviation, row.standard_deviation)
        ):
            changes.append(Change("quantity", _quantity_text(held), _quantity_text(wanted)))
        if (existing.uncertainty_justification or None) != (row.uncertainty_justification or None):
            changes.append(
                Change("uncertainty_justification", existing.uncertainty_justification, row.uncertainty_justification)
            )
        if not names_exactly(payload.sources, list(existing.source_ids)):
            changes.append(Change("source_ids", list(existing.source_ids), list(row.source_refs)))
        unpatchable = () if same_instant(existing.measured_at, row.measured_at) else ("measured_at",)
        locked = enum_text(existing.locked_status) != "not_locked"
        frozen = f"datapoint {existing.id} is locked ({enum_text(existing.locked_status)})" if locked else None
        verdict = classify(
            changes,
            unpatchable=unpatchable,
            frozen=frozen,
            noun="datapoint",
            ident=existing.id,
            frozen_hint="; give the row a new ref to create a new datapoint",
        )
        if unpatchable:
            changes.append(Change("measured_at", iso_z(existing.measured_at), payload.measured_at))
        out.append(p.judged(verdict, payload, existing.id, changes, base))
    return out


class _Quantity(TypedDict):
    magnitude: float
    unit: str | None
    standard_deviation: float | None


def _quantity_text(q: _Quantity) -> str:
    sd = q.get("standard_deviation")
    unit = q.get("unit") or ""
    return f"{q['magnitude']:g} {unit}".strip() + (f" ± {sd:g}" if sd is not None else "")


def apply(action: Action, env: ApplyEnv) -> Applied:
    p = action.payload_of(DatapointPayload)
    source_ids = [env.resolve(r) for r in p.sources]
    quantity = {"magnitude": p.magnitude, "unit": p.unit, "standard_deviation": p.standard_deviation}
    if action.op == "create":
        env.intend(action)
        from importer.api import models as api_models

        req = api_models.CreateDatapointRequest.model_validate(
            {
                "supplier_reference_id": action.supplier_reference_id,
                "display_name": p.display_name,
                "description": p.description,
                "type": p.type,
                "quantity": quantity,
                "source_ids": source_ids,
                "project_id": env.project_id,
                "measured_at": p.measured_at,
                "uncertainty_justification": p.uncertainty_justification,
            }
        )
        created = env.client.create_datapoint(req)
        why = same_project(created, env.project_id, action)
        if why:
            raise StepFailed(why)
        env.created(action, created.id)
        return Applied(id=created.id, entity=created)
    assert action.existing_id is not None
    fields = {c.field for c in action.changes}
    body: dict[str, object] = {}  # validated into the PATCH request
    for name, value in (("display_name", p.display_name), ("description", p.description), ("type", p.type)):
        if name in fields:
            body[name] = value
    if "quantity" in fields:
        body["quantity"] = quantity
    if "uncertainty_justification" in fields:
        body["uncertainty_justification"] = p.uncertainty_justification or ""
    if "source_ids" in fields:
        body["source_ids"] = source_ids
    from importer.api import models as api_models

    entity = env.client.patch_datapoint(action.existing_id, api_models.PatchDatapointRequest.model_validate(body))
    return Applied(id=action.existing_id, entity=entity)


def lineage(
    ref: str,
    actions: dict[str, Action],
    source: Callable[[str], SourceLineage],
    ids: dict[tuple[str, str], str],
    fetched: Mapping[str, m.Datapoint | None],
) -> DatapointLineage:
    """A datapoint's lineage; `source` gives each cited source's (the lineage module composes the kinds)."""
    if has_id_prefix(ref):
        held = fetched.get(ref)
        if held is None:
            return DatapointLineage(ref=None, id=ref, display_name=None, magnitude=None, unit=None)
        return DatapointLineage(
            ref=None,
            id=ref,
            display_name=held.display_name,
            magnitude=held.quantity.magnitude,
            unit=held.quantity.unit,
            sources=[SourceLineage(None, s, None, None, None) for s in held.source_ids],
        )
    action = actions.get(ref)
    if action is None:
        return DatapointLineage(ref=ref, id=None, display_name=None, magnitude=None, unit=None)
    p = action.payload_of(DatapointPayload)
    return DatapointLineage(
        ref=ref,
        id=ids.get((KIND, ref)) or action.existing_id,
        display_name=p.display_name,
        magnitude=p.magnitude,
        unit=p.unit,
        sources=[source(s) for s in p.source_refs],
    )


SPEC = Kind(
    name=KIND,
    sheet="datapoints",
    label="datapoints",
    noun="datapoint",
    carried="project",
    leaves_entries=frozenset({"created"}),
    plan=plan,
    apply=apply,
    payloads=(DatapointPayload,),
    depends_on=("source",),
    registry="datapoints",
)
