"""Production batches (optional sheet `production_batches`): each batch of biochar produced, with its facility,
feedstock types, start, end and mass. Identity by supplier_reference_id (the row's own, or
`<prefix>:production_batches:<ref>`); the organisation's batches are listed whole (the listing has no filter of any
kind), and carried through a batch of workbooks (`importer.planning.carried`). The API has no PATCH for a batch: a
changed row is a conflict that asks for --replace, and with it a replace (`Planning.replaced`: the old batch deleted,
after the applications citing it, then created anew). A row that leaves display_name empty takes the name
Isometric gave; its facility defaults to the project sheet's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from importer.planning.common import Planning, enum_text, iso_z, placed, same_instant
from importer.planning.env import Applied, ApplyEnv
from importer.planning.kind import Kind
from importer.planning.model import Action, Change, IdRef, Ref
from importer.planning.replacing import delete_replaced, same_quantity

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.planning.carried import CarriedListings
    from importer.workbook.model import Workbook

KIND: Final = "production_batch"
SHEET: Final = "production_batches"
NOUN: Final = "production batch"


@dataclass(frozen=True)
class ProductionBatchPayload:
    display_name: str | None  # None: Isometric names it after the facility
    facility_id: str
    feedstock_types: tuple[Ref, ...]
    started_at: str  # ISO 8601, UTC
    ended_at: str
    mass: float
    unit: str
    standard_deviation: float | None


def listing(
    client: IsometricClient, wb: Workbook, carried: CarriedListings | None = None
) -> Sequence[m.ProductionBatch] | None:
    """The organisation's production batches, read whole (or from the cursor within a batch of workbooks); None
    (nothing asked) when the workbook has no production batches and no applications."""
    if not wb.production_batches and not wb.biochar_applications:
        return None
    if carried is not None:
        return carried.read(client, KIND, wb.project.project_id)
    return client.list_production_batches()


def lookup(client: IsometricClient, project_id: str, srid: str) -> list[m.ProductionBatch]:
    return [o for o in client.list_production_batches() if o.supplier_reference_id == srid]


def _ids(refs: Sequence[Ref]) -> list[str] | None:
    """The IDs of refs known now, sorted; None when one is created by this plan (then the set changes)."""
    if not all(isinstance(r, IdRef) for r in refs):
        return None
    return sorted(cast("IdRef", r).id for r in refs)


def plan(p: Planning) -> list[Action]:
    out: list[Action] = []
    held = p.state.table(SHEET)
    for row in p.wb.production_batches:
        srid = p.srid(KIND, SHEET, row)
        facility = row.facility_id or p.wb.project.facility_id or ""
        payload = ProductionBatchPayload(
            display_name=row.display_name,
            facility_id=facility,
            feedstock_types=tuple(p.ref("feedstock_type", r) for r in row.feedstock_types),
            started_at=iso_z(row.started_at) or "",
            ended_at=iso_z(row.ended_at) or "",
            mass=float(row.mass),
            unit=row.unit,
            standard_deviation=row.standard_deviation,
        )
        base = placed(KIND, SHEET, row, srid, p.deps("feedstock_type", row.feedstock_types))
        existing = cast("m.ProductionBatch | None", held.get(srid))
        if existing is None:
            out.append(p.record(Action(op="create", payload=payload, **base)))
            continue
        changes: list[Change] = []
        if existing.facility_id != payload.facility_id:
            changes.append(Change("facility_id", existing.facility_id, payload.facility_id))
        wanted = _ids(payload.feedstock_types)
        if wanted != sorted(existing.feedstock_type_ids):
            changes.append(Change("feedstock_types", existing.feedstock_type_ids, list(row.feedstock_types)))
        for name in ("started_at", "ended_at"):
            before, after = getattr(existing, name), getattr(payload, name)
            if not same_instant(before, after):
                changes.append(Change(name, iso_z(before), after))
        if not same_quantity(existing.mass, payload.mass, payload.unit, payload.standard_deviation):
            q = existing.mass
            changes.append(Change("mass", f"{q.magnitude:g} {q.unit}", f"{payload.mass:g} {payload.unit}"))
        if payload.display_name is not None and existing.display_name != payload.display_name:
            changes.append(Change("display_name", existing.display_name, payload.display_name))
        if enum_text(existing.kind) != "biochar":
            changes.append(Change("kind", enum_text(existing.kind), "biochar"))
        out += p.replaced(changes, payload, existing.id, base, noun=NOUN, extra=" (the applications citing it too)")
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    if action.op == "delete":  # the old half of a replace
        return delete_replaced(action, env, noun=NOUN)
    p = action.payload_of(ProductionBatchPayload)
    env.intend(action)
    from importer.api import models as api_models

    req = api_models.CreateProductionBatchRequest.model_validate(
        {
            "facility_id": p.facility_id,
            "feedstock_type_ids": [env.resolve(r) for r in p.feedstock_types],
            "supplier_reference_id": action.supplier_reference_id,
            "kind": "biochar",
            "started_at": p.started_at,
            "ended_at": p.ended_at,
            "mass": {"magnitude": p.mass, "unit": p.unit, "standard_deviation": p.standard_deviation},
            "display_name": p.display_name,
        }
    )
    created = env.client.create_production_batch(req)
    env.created(action, created.id)
    return Applied(id=created.id, entity=created)  # a replace's create ends "replaced" (the scheduler's default)


SPEC = Kind(
    name=KIND,
    sheet=SHEET,
    label="production batches",
    noun="production batch",
    carried="organisation",
    leaves_entries=frozenset({"created", "replaced", "deleted"}),
    plan=plan,
    apply=apply,
    payloads=(ProductionBatchPayload,),
    depends_on=("feedstock_type",),
    registry=SHEET,
    listing=listing,
    lookup=lookup,
)
