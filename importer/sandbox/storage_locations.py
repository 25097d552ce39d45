"""The sandbox's storage locations: `/projects/{project_id}/storage_locations` (GET list, POST create) and
`.../{id}` (GET, PATCH, DELETE), as the published document states them: `name` (at most 100), `latitude` (-90..90),
`longitude` (-180..180) and `project_id` required, `storage_method` one of the StorageMethod enum, `description` and
`supplier_reference_id` optional (the reference unique per supplier), no list filter but the page's. A location of
another project, or none, is 404 on its item path; an unknown project is 404 on every path.

What the document leaves open: the response requires a `storage_method`, the create does not; a location created
without one gets `biochar_field` here. The PATCH states no length for `name`, the response caps it at 100: a longer
one is refused (422) rather than stored and answered against the document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.routing import Route

from importer.sandbox import schemas as s
from importer.sandbox.ids import new_id
from importer.sandbox.logic import invalid, render, unique_srid
from importer.sandbox.problems import Problem
from importer.sandbox.resource import Kit
from importer.sandbox.store import SandboxStore, paginate

KIND = "storage_location"
COLLECTION = "/projects/{project_id}/storage_locations"
#: the organisation's supplier (the demo credentials' own), as StorageLocation.supplier_id names it
SUPPLIER_ID = "spl_1SBXDEMOSUPPL001"
DEFAULT_METHOD = "biochar_field"
NAME_MAX = 100

StorageMethod = Literal[
    "biochar_field",
    "biochar_landfill",
    "permeable_reservoir",
    "biomass_subsurface",
    "salt_cavern",
    "saline_aquifer",
    "in_situ_mineralization",
    "depleted_hydrocarbon_reservoir",
]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class CreateStorageLocation(s.Body):
    project_id: s.IdStr
    name: str = Field(max_length=NAME_MAX)
    latitude: Latitude
    longitude: Longitude
    storage_method: StorageMethod | s.Undefined = s.Undefined()
    description: str | s.Undefined = s.Undefined()
    supplier_reference_id: s.Srid | s.Undefined = s.Undefined()


class PatchStorageLocation(s.Body):
    name: str | s.Undefined = s.Undefined()
    latitude: Latitude | s.Undefined = s.Undefined()
    longitude: Longitude | s.Undefined = s.Undefined()
    storage_method: StorageMethod | s.Undefined = s.Undefined()
    description: str | s.Undefined = s.Undefined()
    supplier_reference_id: s.Srid | s.Undefined = s.Undefined()


class ItemPath(BaseModel):
    project_id: s.IdStr
    id: s.IdStr


def _project(store: SandboxStore, project_id: str) -> None:
    if store.get("project", project_id) is None:
        raise Problem(404, f"project {project_id} not found")


def _held(store: SandboxStore, project_id: str, id_: str) -> dict[str, Any]:
    _project(store, project_id)
    found = store.get(KIND, id_)
    if found is None or found["project_id"] != project_id:
        raise Problem(404, f"storage location {id_} not found in project {project_id}")
    return found


def _given(value: Any) -> Any:
    return None if isinstance(value, s.Undefined) else value


def routes(kit: Kit) -> list[Route]:
    store = kit.store

    async def list_locations(request: Request) -> Any:
        query = kit.params(s.Query, request.query_params, "query")
        project_id = request.path_params["project_id"]
        with store.lock:
            _project(store, project_id)
            items = [o for o in store.all(KIND) if o["project_id"] == project_id]
            page = paginate(store, items, first=query.first, last=query.last, after=query.after, before=query.before)
            page["nodes"] = [render(store, KIND, o) for o in page["nodes"]]
        return page

    async def create(request: Request) -> Any:
        body, _ = await kit.body(request, CreateStorageLocation)
        project_id = request.path_params["project_id"]
        with store.lock:
            _project(store, project_id)
            if body.project_id != project_id:
                raise invalid(
                    ["project_id"],
                    f"project_id {body.project_id} is not the path's project {project_id}",
                    body.project_id,
                )
            srid = _given(body.supplier_reference_id)
            unique_srid(store, KIND, srid)
            location = {
                "id": new_id(KIND),
                "supplier_reference_id": srid,
                "name": body.name,
                "latitude": body.latitude,
                "longitude": body.longitude,
                "storage_method": _given(body.storage_method) or DEFAULT_METHOD,
                "description": _given(body.description),
                "project_id": project_id,
                "supplier_id": SUPPLIER_ID,
            }
            return render(store, KIND, store.put(KIND, location))

    async def get(request: Request) -> Any:
        with store.lock:
            return render(store, KIND, _held(store, request.path_params["project_id"], request.path_params["id"]))

    async def patch(request: Request) -> Any:
        body, fields = await kit.body(request, PatchStorageLocation)
        with store.lock:
            location = dict(_held(store, request.path_params["project_id"], request.path_params["id"]))
            if "name" in fields and len(body.name) > NAME_MAX:
                raise invalid(["name"], f"Must be at most {NAME_MAX} characters long", body.name)
            if "supplier_reference_id" in fields:
                unique_srid(store, KIND, body.supplier_reference_id, except_id=location["id"])
            for name in fields:
                location[name] = getattr(body, name)
            return render(store, KIND, store.put(KIND, location))

    async def delete(request: Request) -> Any:
        with store.lock:
            location = _held(store, request.path_params["project_id"], request.path_params["id"])
            store.delete(KIND, location["id"])

    collection, item = kit.prefix + COLLECTION, kit.prefix + COLLECTION + "/{id}"
    return [
        Route(collection, kit.api(list_locations, path=s.ProjectPath), methods=["GET"]),
        Route(collection, kit.api(create, path=s.ProjectPath), methods=["POST"]),
        Route(item, kit.api(get, path=ItemPath), methods=["GET"]),
        Route(item, kit.api(patch, path=ItemPath), methods=["PATCH"]),
        Route(item, kit.api(delete, path=ItemPath, status=204), methods=["DELETE"]),
    ]
