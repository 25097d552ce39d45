"""The sandbox's feedstock batches, as the published document states them: `POST /feedstock_batches` (every field
of CreateFeedstockBatchRequest required: `feedstock_type_id`, `supplier_reference_id`, `display_name` of 1-100
characters, `delivery_date` a date, `mass` a ScalarQuantity), `GET` and `DELETE /feedstock_batches/{id}` (no PATCH),
and the list of one feedstock type's batches, `GET /feedstock_types/{feedstock_type_id}/feedstock_batches` (the
page's parameters and no filter).

What the document leaves open, and what the sandbox does: a create naming a feedstock type that does not exist is
refused (422, `loc` naming the field), as is a supplier_reference_id another batch holds; the list of a feedstock
type that does not exist is a 404. A batch that samples cite cannot be deleted (422): delete them first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.routing import Route

from importer.sandbox import schemas as s
from importer.sandbox.ids import new_id
from importer.sandbox.logic import invalid, not_found, now_iso, render, unique_srid
from importer.sandbox.production_batches import ScalarQuantity, quantity
from importer.sandbox.resource import Kit, getter, held, page_of, refuse_if_cited

KIND = "feedstock_batch"
#: the IDs this resource mints (`importer.sandbox.resource.discover`)
PREFIXES = {KIND: "ftb_"}
COLLECTION = "/feedstock_batches"
NAME_MAX = 100


class CreateFeedstockBatch(s.Body):
    feedstock_type_id: s.IdStr
    supplier_reference_id: s.Srid
    display_name: str = Field(min_length=1, max_length=NAME_MAX)
    delivery_date: dt.date
    mass: ScalarQuantity


class TypePath(BaseModel):
    feedstock_type_id: s.IdStr


def routes(kit: Kit) -> list[Route]:
    store = kit.store

    async def create(request: Request) -> Any:
        body, _ = await kit.body(request, CreateFeedstockBatch)
        with store.lock:
            if store.get("feedstock_type", body.feedstock_type_id) is None:
                raise invalid(
                    ["feedstock_type_id"],
                    f"feedstock type {body.feedstock_type_id} not found",
                    body.feedstock_type_id,
                )
            unique_srid(store, KIND, body.supplier_reference_id)
            batch = {
                "id": new_id(KIND),
                "supplier_reference_id": body.supplier_reference_id,
                "feedstock_type_id": body.feedstock_type_id,
                "display_name": body.display_name,
                "delivery_date": body.delivery_date.isoformat(),
                "mass": quantity(body.mass),
                "created_at": now_iso(),
            }
            return render(store, KIND, store.put(KIND, batch))

    async def of_type(request: Request) -> Any:
        query = kit.params(s.Query, request.query_params, "query")
        ftt = request.path_params["feedstock_type_id"]
        with store.lock:
            if store.get("feedstock_type", ftt) is None:
                raise not_found("feedstock type", ftt)
            batches = [b for b in store.all(KIND) if b["feedstock_type_id"] == ftt]
            return page_of(store, KIND, batches, query)

    async def delete(request: Request) -> Any:
        with store.lock:
            batch = held(store, KIND, request.path_params["id"])
            citing = [o["id"] for o in store.all("measurement_sample") if o.get("_feedstock_batch_id") == batch["id"]]
            refuse_if_cited("feedstock batch", batch["id"], "samples", citing)
            store.delete(KIND, batch["id"])

    collection, item = kit.prefix + COLLECTION, kit.prefix + COLLECTION + "/{id}"
    return [
        Route(collection, kit.api(create, path=None), methods=["POST"]),
        Route(item, kit.api(getter(kit, KIND)), methods=["GET"]),
        Route(item, kit.api(delete, status=204), methods=["DELETE"]),
        Route(
            kit.prefix + "/feedstock_types/{feedstock_type_id}/feedstock_batches",
            kit.api(of_type, path=TypePath),
            methods=["GET"],
        ),
    ]
