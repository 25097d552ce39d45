"""Biochar applications (optional sheet `biochar_applications`): each spreading of one production batch's biochar
on one storage location, with the truck's mass on arrival and departure and the average application rate.
Identity by supplier_reference_id (the row's own, or `<prefix>:biochar_applications:<ref>`); the organisation's
applications are listed whole (no filter) and carried through a batch of workbooks. The API has no PATCH: a changed
row, or one whose batch is replaced, is a conflict that asks for --replace, and with it a replace. A replaced batch's
old half waits for the deletes of the applications citing it; one that an application outside this workbook cites
cannot be replaced (a conflict that names them). The `entry` column is lineage only (Isometric links an
application to its GHG entry itself); the answer holds no `source_ids`, so changed evidence alone is not seen."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from importer.planning.common import Planning, placed
from importer.planning.env import Applied, ApplyEnv
from importer.planning.kind import Kind
from importer.planning.model import Action, Change, IdRef, Ref
from importer.planning.replacing import delete_replaced, same_quantity

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.planning.carried import CarriedListings
    from importer.workbook.model import Workbook

KIND: Final = "biochar_application"
SHEET: Final = "biochar_applications"
NOUN: Final = "biochar application"
BATCH: Final = "production_batch"


@dataclass(frozen=True)
class BiocharApplicationPayload:
    production_batch: Ref
    storage_location: Ref
    application_date: str  # ISO date
    application_rate: float
    application_rate_unit: str
    truck_mass_on_arrival: float
    truck_mass_on_departure: float
    truck_mass_unit: str
    sources: tuple[Ref, ...]
    entry: str | None  # the GHG entry's workbook ref: lineage only


def listing(
    client: IsometricClient, wb: Workbook, carried: CarriedListings | None = None
) -> Sequence[m.BiocharApplication] | None:
    """The organisation's applications, read whole (or from the cursor within a batch of workbooks); None when
    the workbook has no applications and no production batches (whose replace needs them)."""
    if not wb.biochar_applications and not wb.production_batches:
        return None
    if carried is not None:
        return carried.read(client, KIND, wb.project.project_id)
    return client.list_biochar_applications()


def lookup(client: IsometricClient, project_id: str, srid: str) -> list[m.BiocharApplication]:
    return [o for o in client.list_biochar_applications() if o.supplier_reference_id == srid]


def _shown(ref: Ref, written: str) -> str:
    return ref.id if isinstance(ref, IdRef) else f"{written} (new)"


def plan(p: Planning) -> list[Action]:
    out: list[Action] = []
    held = p.state.table(SHEET)
    ours: set[str] = set()
    for row in p.wb.biochar_applications:
        srid = p.srid(KIND, SHEET, row)
        ours.add(srid)
        payload = BiocharApplicationPayload(
            production_batch=p.ref(BATCH, row.production_batch),
            storage_location=p.ref("storage_location", row.storage_location),
            application_date=row.application_date.isoformat(),
            application_rate=float(row.application_rate),
            application_rate_unit=row.application_rate_unit,
            truck_mass_on_arrival=float(row.truck_mass_on_arrival),
            truck_mass_on_departure=float(row.truck_mass_on_departure),
            truck_mass_unit=row.truck_mass_unit,
            sources=tuple(p.ref("source", r) for r in row.source_refs),
            entry=row.entry,
        )
        base = placed(
            KIND,
            SHEET,
            row,
            srid,
            (
                *p.deps(BATCH, [row.production_batch]),
                *p.deps("storage_location", [row.storage_location]),
                *p.deps("source", row.source_refs),
            ),
        )
        existing = cast("m.BiocharApplication | None", held.get(srid))
        if existing is None:
            out.append(p.record(Action(op="create", payload=payload, **base)))
            continue
        changes: list[Change] = []
        batch, location = payload.production_batch, payload.storage_location
        if not (isinstance(batch, IdRef) and batch.id == existing.production_batch_id):
            changes.append(
                Change("production_batch", existing.production_batch_id, _shown(batch, row.production_batch))
            )
        if not (isinstance(location, IdRef) and location.id == existing.storage_location_id):
            changes.append(
                Change("storage_location", existing.storage_location_id, _shown(location, row.storage_location))
            )
        if existing.application_date.isoformat() != payload.application_date:
            changes.append(Change("application_date", existing.application_date.isoformat(), payload.application_date))
        for name, held_q, magnitude, unit in (
            (
                "application_rate",
                existing.average_application_rate,
                payload.application_rate,
                row.application_rate_unit,
            ),
            (
                "truck_mass_on_arrival",
                existing.truck_mass_on_arrival,
                payload.truck_mass_on_arrival,
                row.truck_mass_unit,
            ),
            (
                "truck_mass_on_departure",
                existing.truck_mass_on_departure,
                payload.truck_mass_on_departure,
                row.truck_mass_unit,
            ),
        ):
            if not same_quantity(held_q, magnitude, unit, None):
                changes.append(Change(name, f"{held_q.magnitude:g} {held_q.unit}", f"{magnitude:g} {unit}"))
        out += p.replaced(changes, payload, existing.id, base, noun=NOUN)
    _order_batch_replaces(p, out, ours)
    return out


def _order_batch_replaces(p: Planning, applications: list[Action], ours: set[str]) -> None:
    """A replaced batch's delete waits for the deletes of this workbook's applications citing it; a batch that
    applications outside this workbook still cite cannot be deleted, so its replace is a conflict naming them."""
    deleting = {a.existing_id: a.key for a in applications if a.op == "delete" and a.existing_id}
    citing: dict[str, list[m.BiocharApplication]] = {}
    for obj in p.state.table(SHEET).values():
        application = cast("m.BiocharApplication", obj)
        citing.setdefault(application.production_batch_id, []).append(application)
    for i, action in enumerate(p.planned):
        if action.kind != BATCH or action.op != "delete" or action.existing_id is None:
            continue
        cited_by = citing.get(action.existing_id, [])
        others = [a for a in cited_by if a.id not in deleting or (a.supplier_reference_id or "") not in ours]
        if others:
            names = ", ".join(f"{a.id} ({a.supplier_reference_id or 'no reference'})" for a in others[:5])
            reason = (
                f"production batch {action.existing_id} cannot be replaced: biochar applications this workbook "
                f"does not define still cite it ({names}); delete or re-point them first"
            )
            p.planned[i] = dataclasses.replace(action, op="conflict", reason=reason)
            for j, other in enumerate(applications):  # this workbook's applications of it keep their old selves
                if other.op == "delete" and other.existing_id in {a.id for a in cited_by}:
                    applications[j] = dataclasses.replace(other, op="blocked", blocked_by=p.planned[i].where)
            continue
        waits = tuple(deleting[a.id] for a in cited_by)
        p.planned[i] = dataclasses.replace(action, depends_on=(*action.depends_on, *waits))


def apply(action: Action, env: ApplyEnv) -> Applied:
    if action.op == "delete":  # the old half of a replace
        return delete_replaced(action, env, noun=NOUN)
    p = action.payload_of(BiocharApplicationPayload)
    env.intend(action)
    from importer.api import models as api_models

    req = api_models.CreateBiocharApplicationRequest.model_validate(
        {
            "project_id": env.project_id,
            "storage_site_id": env.resolve(p.storage_location),
            "production_batch_id": env.resolve(p.production_batch),
            "average_application_rate": {"magnitude": p.application_rate, "unit": p.application_rate_unit},
            "application_date": p.application_date,
            "truck_mass_on_arrival": {"magnitude": p.truck_mass_on_arrival, "unit": p.truck_mass_unit},
            "truck_mass_on_departure": {"magnitude": p.truck_mass_on_departure, "unit": p.truck_mass_unit},
            "supplier_reference_id": action.supplier_reference_id,
            "source_ids": [env.resolve(r) for r in p.sources],
        }
    )
    created = env.client.create_biochar_application(req)
    env.created(action, created.id)
    return Applied(id=created.id, entity=created)  # a replace's create ends "replaced" (the scheduler's default)


SPEC = Kind(
    name=KIND,
    sheet=SHEET,
    label="biochar applications",
    noun="biochar application",
    carried="organisation",
    leaves_entries=frozenset({"created", "replaced", "deleted"}),
    plan=plan,
    apply=apply,
    payloads=(BiocharApplicationPayload,),
    depends_on=(BATCH, "storage_location", "source"),
    registry=SHEET,
    listing=listing,
    lookup=lookup,
)
