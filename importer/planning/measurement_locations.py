"""Measurement locations (optional sheet `measurement_locations`): the GPS points where field teams sample. Identity
by supplier_reference_id (the row's own, or `<prefix>:measurement_locations:<ref>`); the organisation's locations
are listed whole (the answer has no project) and carried through a batch of workbooks. The API has no PATCH for a
location: a changed coordinate is a conflict that asks for --replace, and with it a replace (the API refuses to
delete a location that samples cite: then a conflict naming it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from importer.planning.common import Planning, placed, same_float
from importer.planning.env import Applied, ApplyEnv
from importer.planning.kind import Kind
from importer.planning.model import Action, Change
from importer.planning.replacing import delete_replaced

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.planning.carried import CarriedListings
    from importer.workbook.model import Workbook

KIND: Final = "measurement_location"
SHEET: Final = "measurement_locations"
NOUN: Final = "measurement location"


@dataclass(frozen=True)
class MeasurementLocationPayload:
    latitude: float
    longitude: float


def listing(
    client: IsometricClient, wb: Workbook, carried: CarriedListings | None = None
) -> Sequence[m.MeasurementLocation] | None:
    """The organisation's measurement locations, read whole (or from the cursor within a batch); None (nothing
    asked) when the workbook has none."""
    if not wb.measurement_locations:
        return None
    if carried is not None:
        return carried.read(client, KIND, wb.project.project_id)
    return client.list_measurement_locations()


def lookup(client: IsometricClient, project_id: str, srid: str) -> list[m.MeasurementLocation]:
    return client.list_measurement_locations(supplier_reference_id=srid)


def plan(p: Planning) -> list[Action]:
    out: list[Action] = []
    held = p.state.table(SHEET)
    for row in p.wb.measurement_locations:
        srid = p.srid(KIND, SHEET, row)
        payload = MeasurementLocationPayload(latitude=float(row.latitude), longitude=float(row.longitude))
        base = placed(KIND, SHEET, row, srid)
        existing = cast("m.MeasurementLocation | None", held.get(srid))
        if existing is None:
            out.append(p.record(Action(op="create", payload=payload, **base)))
            continue
        changes = [
            Change(name, getattr(existing, name), getattr(payload, name))
            for name in ("latitude", "longitude")
            if not same_float(getattr(existing, name), getattr(payload, name))
        ]
        out += p.replaced(changes, payload, existing.id, base, noun=NOUN)
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    if action.op == "delete":  # the old half of a replace
        return delete_replaced(action, env, noun=NOUN)
    p = action.payload_of(MeasurementLocationPayload)
    env.intend(action)
    from importer.api import models as api_models

    req = api_models.CreateMeasurementLocationRequest.model_validate(
        {
            "supplier_reference_id": action.supplier_reference_id,
            "latitude": p.latitude,
            "longitude": p.longitude,
            "project_id": env.project_id,
        }
    )
    created = env.client.create_measurement_location(req)
    env.created(action, created.id)
    return Applied(id=created.id, entity=created)  # a replace's create ends "replaced" (the scheduler's default)


SPEC = Kind(
    name=KIND,
    sheet=SHEET,
    label="measurement locations",
    noun="measurement location",
    carried="organisation",
    leaves_entries=frozenset({"created", "replaced", "deleted"}),
    plan=plan,
    apply=apply,
    payloads=(MeasurementLocationPayload,),
    registry=SHEET,
    listing=listing,
    lookup=lookup,
)
