"""The sandbox's production batches: `/production_batches` (GET list, POST create) and `/production_batches/{id}`
(GET, DELETE; the document has no PATCH), as the published document states them: `facility_id`,
`feedstock_type_ids`, `supplier_reference_id`, `kind` (`biochar`, the only value), `started_at` and `ended_at`
(date-times with an offset) and `mass` (a ScalarQuantity) required, `display_name` optional (1-100 characters).
A batch is the organisation's, not a project's: the list has no filter but the page's.

What the document leaves open, and what the sandbox does: no endpoint lists facilities, so the seeded one
(`seed.FACILITY_ID`) exists; a create naming another facility, or a
feedstock type that does not exist, is refused (422, `loc` naming the field). A batch created without a display
name is named after its facility. A batch that applications still cite cannot be deleted (422): delete them first.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.routing import Route

from importer.sandbox import schemas as s
from importer.sandbox.ids import new_id
from importer.sandbox.logic import invalid, now_iso, render, unique_srid
from importer.sandbox.resource import Kit, getter, held, listing, refuse_if_cited

KIND = "production_batch"
COLLECTION = "/production_batches"
NAME_MAX = 100


class ScalarQuantity(s.Body):
    magnitude: float = Field(allow_inf_nan=False)
    unit: str = Field(min_length=1)
    standard_deviation: float | None = Field(None, allow_inf_nan=False)


class CreateProductionBatch(s.Body):
    facility_id: s.IdStr
    feedstock_type_ids: list[s.IdStr]
    supplier_reference_id: s.Srid
    kind: Literal["biochar"]
    started_at: s.DateTime
    ended_at: s.DateTime
    mass: ScalarQuantity
    display_name: str | None = Field(None, min_length=1, max_length=NAME_MAX)


def quantity(q: ScalarQuantity) -> dict[str, Any]:
    return {"magnitude": q.magnitude, "unit": q.unit, "standard_deviation": q.standard_deviation}


def iso(value: Any) -> str:
    return str(value.isoformat()).replace("+00:00", "Z")


def routes(kit: Kit) -> list[Route]:
    store = kit.store

    async def create(request: Request) -> Any:
        body, _ = await kit.body(request, CreateProductionBatch)
        with store.lock:
            facility = store.get("facility", body.facility_id)
            if facility is None:
                raise invalid(["facility_id"], f"facility {body.facility_id} not found", body.facility_id)
            for i, ftt in enumerate(body.feedstock_type_ids):
                if store.get("feedstock_type", ftt) is None:
                    raise invalid(["feedstock_type_ids", i], f"feedstock type {ftt} not found", ftt)
            unique_srid(store, KIND, body.supplier_reference_id)
            count = sum(1 for o in store.all(KIND) if o["facility_id"] == facility["id"]) + 1
            batch = {
                "id": new_id(KIND),
                "supplier_reference_id": body.supplier_reference_id,
                "display_name": body.display_name or f"{facility['name']} batch {count}",
                "facility_id": body.facility_id,
                "feedstock_type_ids": list(body.feedstock_type_ids),
                "kind": body.kind,
                "started_at": iso(body.started_at),
                "ended_at": iso(body.ended_at),
                "uploaded_at": now_iso(),
                "mass": quantity(body.mass),
            }
            return render(store, KIND, store.put(KIND, batch))

    async def delete(request: Request) -> Any:
        with store.lock:
            batch = held(store, KIND, request.path_params["id"])
            citing = [a["id"] for a in store.all("biochar_application") if a["production_batch_id"] == batch["id"]]
            refuse_if_cited("production batch", batch["id"], "biochar applications", citing)
            store.delete(KIND, batch["id"])

    collection, item = kit.prefix + COLLECTION, kit.prefix + COLLECTION + "/{id}"
    return [
        Route(collection, kit.api(listing(kit, KIND), path=None), methods=["GET"]),
        Route(collection, kit.api(create, path=None), methods=["POST"]),
        Route(item, kit.api(getter(kit, KIND)), methods=["GET"]),
        Route(item, kit.api(delete, status=204), methods=["DELETE"]),
    ]
