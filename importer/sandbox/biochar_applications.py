"""The sandbox's biochar applications: `/biochar_applications` (GET list, POST create) and
`/biochar_applications/{id}` (GET, DELETE; no PATCH), as the published document states them: `project_id`,
`storage_site_id` (answered as `storage_location_id`), `production_batch_id`, `average_application_rate`,
`application_date`, `truck_mass_on_arrival`, `truck_mass_on_departure` (ScalarQuantity each) and
`supplier_reference_id` required, `source_ids` optional. The answer's `ghg_entry_id` (and its deprecated twin
`removal_id`) is set by Isometric, never by a request: null here. The list has no filter but the page's.

What the document leaves open, and what the sandbox does: a storage location of another project, or none, a batch
or a source that does not exist, or an unknown project, is refused (422, `loc` naming the field).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from importer.sandbox import schemas as s
from importer.sandbox.ids import new_id
from importer.sandbox.logic import invalid, now_iso, render, unique_srid
from importer.sandbox.production_batches import ScalarQuantity, quantity
from importer.sandbox.resource import Kit, getter, held, listing

KIND = "biochar_application"
COLLECTION = "/biochar_applications"


class CreateBiocharApplication(s.Body):
    project_id: s.IdStr
    storage_site_id: s.IdStr
    production_batch_id: s.IdStr
    average_application_rate: ScalarQuantity
    application_date: dt.date
    truck_mass_on_arrival: ScalarQuantity
    truck_mass_on_departure: ScalarQuantity
    supplier_reference_id: s.Srid
    source_ids: list[s.IdStr] = []


def routes(kit: Kit) -> list[Route]:
    store = kit.store

    async def create(request: Request) -> Any:
        body, _ = await kit.body(request, CreateBiocharApplication)
        with store.lock:
            if store.get("project", body.project_id) is None:
                raise invalid(["project_id"], f"project {body.project_id} not found", body.project_id)
            location = store.get("storage_location", body.storage_site_id)
            if location is None or location["project_id"] != body.project_id:
                raise invalid(
                    ["storage_site_id"],
                    f"storage location {body.storage_site_id} not found in project {body.project_id}",
                    body.storage_site_id,
                )
            if store.get("production_batch", body.production_batch_id) is None:
                raise invalid(
                    ["production_batch_id"],
                    f"production batch {body.production_batch_id} not found",
                    body.production_batch_id,
                )
            for i, src in enumerate(body.source_ids):
                source = store.get("source", src)
                if source is None or source.get("project_id") != body.project_id:
                    raise invalid(["source_ids", i], f"source {src} not found in project", src)
            unique_srid(store, KIND, body.supplier_reference_id)
            application = {
                "id": new_id(KIND),
                "supplier_reference_id": body.supplier_reference_id,
                "storage_location_id": body.storage_site_id,
                "production_batch_id": body.production_batch_id,
                "ghg_entry_id": None,
                "removal_id": None,
                "application_date": body.application_date.isoformat(),
                "uploaded_at": now_iso(),
                "truck_mass_on_arrival": quantity(body.truck_mass_on_arrival),
                "truck_mass_on_departure": quantity(body.truck_mass_on_departure),
                "average_application_rate": quantity(body.average_application_rate),
                "_project_id": body.project_id,
                "_source_ids": list(body.source_ids),
            }
            return render(store, KIND, store.put(KIND, application))

    async def delete(request: Request) -> Any:
        with store.lock:
            store.delete(KIND, held(store, KIND, request.path_params["id"])["id"])

    collection, item = kit.prefix + COLLECTION, kit.prefix + COLLECTION + "/{id}"
    return [
        Route(collection, kit.api(listing(kit, KIND), path=None), methods=["GET"]),
        Route(collection, kit.api(create, path=None), methods=["POST"]),
        Route(item, kit.api(getter(kit, KIND)), methods=["GET"]),
        Route(item, kit.api(delete, status=204), methods=["DELETE"]),
    ]
