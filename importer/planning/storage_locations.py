"""Storage locations (optional sheet `storage_locations`): the fields or sites where biochar is stored, registered
once and reused for months. Desired state from the rows; identity by supplier_reference_id (the row's own, or
`<prefix>:storage_locations:<ref>`); the project's locations are listed whole (the listing takes no
supplier_reference_id filter: `IsometricClient.list_storage_locations`) and matched here. A changed name,
coordinate (compared as floats), storage method or description is a PATCH; a row that leaves the storage method
empty leaves the location's as it is. Beta and opt-in per organisation: the listing is asked only when the workbook
has rows, so a workbook without the sheet never touches the path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from importer.planning.common import Planning, classify, enum_text, placed, same_float
from importer.planning.env import Applied, ApplyEnv
from importer.planning.kind import Kind
from importer.planning.model import Action, Change

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.planning.carried import CarriedListings
    from importer.workbook.model import Workbook

KIND: Final = "storage_location"
SHEET: Final = "storage_locations"


@dataclass(frozen=True)
class StorageLocationPayload:
    name: str
    latitude: float
    longitude: float
    storage_method: str | None  # None: left as the registry holds it
    description: str | None


def listing(
    client: IsometricClient, wb: Workbook, carried: CarriedListings | None = None
) -> Sequence[m.StorageLocation] | None:
    """The project's storage locations, read whole (within a batch, what is new since the last read: they are
    registered once and cited for months, so a year's batch would list them all again each month); None (nothing
    asked) when the workbook has none."""
    if not wb.storage_locations:
        return None
    if carried is not None:
        from importer.api import models as api_models

        return carried.read(client, KIND, wb.project.project_id, api_models.StorageLocation)
    return client.list_storage_locations(wb.project.project_id)


def lookup(client: IsometricClient, project_id: str, srid: str) -> list[m.StorageLocation]:
    return [o for o in client.list_storage_locations(project_id) if o.supplier_reference_id == srid]


def plan(p: Planning) -> list[Action]:
    out = []
    held = p.state.table(SHEET)
    for row in p.wb.storage_locations:
        srid = p.srid(KIND, SHEET, row)
        payload = StorageLocationPayload(
            name=row.name,
            latitude=float(row.latitude),
            longitude=float(row.longitude),
            storage_method=row.storage_method,
            description=row.description or None,
        )
        base = placed(KIND, SHEET, row, srid)
        existing = cast("m.StorageLocation | None", held.get(srid))
        if existing is None:
            out.append(p.record(Action(op="create", payload=payload, **base)))
            continue
        changes: list[Change] = []
        if existing.name != payload.name:
            changes.append(Change("name", existing.name, payload.name))
        for name, before, after in (
            ("latitude", existing.latitude, payload.latitude),
            ("longitude", existing.longitude, payload.longitude),
        ):
            if not same_float(before, after):
                changes.append(Change(name, before, after))
        if payload.storage_method is not None and enum_text(existing.storage_method) != payload.storage_method:
            changes.append(Change("storage_method", enum_text(existing.storage_method), payload.storage_method))
        if (existing.description or None) != payload.description:
            changes.append(Change("description", existing.description, payload.description))
        verdict = classify(changes, noun="storage location", ident=existing.id)
        out.append(p.judged(verdict, payload, existing.id, changes, base))
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    p = action.payload_of(StorageLocationPayload)
    if action.op == "create":
        env.intend(action)
        body: dict[str, object] = {
            "project_id": env.project_id,
            "name": p.name,
            "latitude": p.latitude,
            "longitude": p.longitude,
            "supplier_reference_id": action.supplier_reference_id,
            "storage_method": p.storage_method,
            "description": p.description,
        }
        from importer.api import models as api_models

        created = env.client.create_storage_location(api_models.CreateStorageLocationRequest.model_validate(body))
        env.created(action, created.id)
        return Applied(id=created.id, entity=created)
    assert action.existing_id is not None
    fields = {c.field for c in action.changes}
    wanted: dict[str, object] = {
        "name": p.name,
        "latitude": p.latitude,
        "longitude": p.longitude,
        "storage_method": p.storage_method,
    }
    patch = {name: value for name, value in wanted.items() if name in fields}
    if "description" in fields:  # the API takes no null: an emptied description is sent as ""
        patch["description"] = p.description or ""
    from importer.api import models as api_models

    req = api_models.PatchStorageLocationRequest.model_validate(patch)
    return Applied(
        id=action.existing_id, entity=env.client.patch_storage_location(env.project_id, action.existing_id, req)
    )


SPEC = Kind(
    name=KIND,
    sheet=SHEET,
    label="storage locations",
    noun="storage location",
    carried="project",
    leaves_entries=frozenset({"created", "updated", "deleted"}),
    plan=plan,
    apply=apply,
    payloads=(StorageLocationPayload,),
    registry=SHEET,
    listing=listing,
    lookup=lookup,
)
