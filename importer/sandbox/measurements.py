"""The sandbox's measurement locations and samples, as the published document states them.

`/measurement_locations` (GET list, filter `supplier_reference_id`; POST create) and `/measurement_locations/{id}`
(GET, DELETE): `supplier_reference_id`, `latitude` (-90..90), `longitude` (-180..180) and `project_id` required.

`/measurement_samples` (GET list, no filter but the page's; POST create) and `/measurement_samples/{id}` (DELETE
only: the document has no GET by ID and no PATCH): `measured_at` (a date-time; answered as a date),
`project_id`, `measurement_type` (MeasurementTypeKey), `values` (each a `measurement_property` of a
`quantity_kind` and a nullable `qualifier`, from the document's enums, and a DatapointQuantityInput), and
`supplier_reference_id`, `storage_location_id`, `measurement_location_id`, `feedstock_batch_id` required but
nullable; `production_batch_id` optional. Every value becomes a datapoint of the project, locked to the sample
(`locked_measurement_sample_datapoint`: a PATCH or DELETE of it is refused, 422), whose ID the value answers as
`datapoint_id`; `GET /datapoints?measurement_sample_id=` lists them.

What the document leaves open, and what the sandbox does: a sample names at most one of the four targets (two
or more: 422); a target that does not exist (there are no feedstock batches here) or of another project is
refused (422, `loc` naming the field). A sample delete is refused (422) while an entry of a submitted statement
uses one of its datapoints; otherwise the sample goes, with its datapoints no component uses (those a component
still uses stay, locked, until it is re-bound: nothing dangles). A location that samples cite is not deleted (422).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.routing import Route

from importer.sandbox import measurement_enums as enums
from importer.sandbox import schemas as s
from importer.sandbox.ids import new_id
from importer.sandbox.logic import (
    _quantity,
    datapoint_in_use,
    entry_locked,
    invalid,
    now_iso,
    render,
    unique_srid,
)
from importer.sandbox.problems import Problem
from importer.sandbox.resource import Kit, held, page_of, refuse_if_cited
from importer.sandbox.store import SandboxStore

LOCATION = "measurement_location"
SAMPLE = "measurement_sample"
LOCKED = "locked_measurement_sample_datapoint"
TARGETS = {
    "production_batch_id": "production_batch",
    "storage_location_id": "storage_location",
    "measurement_location_id": LOCATION,
    "feedstock_batch_id": "feedstock_batch",
}

MeasurementType = Literal[enums.MEASUREMENT_TYPES]  # type: ignore[valid-type]
Qualifier = Literal[enums.QUALIFIERS]  # type: ignore[valid-type]


class CreateMeasurementLocation(s.Body):
    supplier_reference_id: s.Srid
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    project_id: s.IdStr


class MeasurementProperty(s.Body):
    quantity_kind: s.QuantityKind
    qualifier: Qualifier | None


class CreateSampleValue(s.Body):
    measurement_property: MeasurementProperty
    value: s.QuantityInput


class CreateMeasurementSample(s.Body):
    supplier_reference_id: s.Srid | None
    measured_at: s.DateTime
    project_id: s.IdStr
    measurement_type: MeasurementType
    values: list[CreateSampleValue]
    production_batch_id: s.IdStr | None = None
    storage_location_id: s.IdStr | None
    measurement_location_id: s.IdStr | None
    feedstock_batch_id: s.IdStr | None


def _check_targets(store: SandboxStore, body: CreateMeasurementSample) -> None:
    given = [name for name in TARGETS if getattr(body, name) is not None]
    if len(given) > 1:
        raise invalid([given[1]], f"a sample is taken from at most one of {', '.join(given)}", None)
    for name in given:
        target = store.get(TARGETS[name], getattr(body, name))
        project = (target or {}).get("project_id") or (target or {}).get("_project_id")
        if target is None or project not in (None, body.project_id):
            what = TARGETS[name].replace("_", " ")
            raise invalid([name], f"{what} {getattr(body, name)} not found", getattr(body, name))


def _label(prop: MeasurementProperty) -> str:
    return str(prop.quantity_kind) + (f" ({prop.qualifier})" if prop.qualifier else "")


def _frozen_by(store: SandboxStore, datapoint_ids: set[str]) -> list[str]:
    """The entries of submitted statements whose components use one of these datapoints."""
    using = {
        c["id"]
        for c in store.all("component")
        for item in c["inputs"]
        if item.get("datapoint_id") in datapoint_ids or datapoint_ids & set(item.get("datapoint_ids") or [])
    }
    frozen = []
    for attribution in store.all("component_attribution"):
        if attribution["component_id"] in using:
            entry = store.get("ghg_entry", attribution["ghg_entry_id"])
            if entry is not None and entry_locked(store, entry):
                frozen.append(entry["id"])
    return sorted(set(frozen))


def routes(kit: Kit) -> list[Route]:
    store = kit.store

    async def list_locations(request: Request) -> Any:
        query = kit.params(s.SridQuery, request.query_params, "query")
        with store.lock:
            items = [
                o
                for o in store.all(LOCATION)
                if query.supplier_reference_id is None or o["supplier_reference_id"] == query.supplier_reference_id
            ]
            return page_of(store, LOCATION, items, query)

    async def create_location(request: Request) -> Any:
        body, _ = await kit.body(request, CreateMeasurementLocation)
        with store.lock:
            if store.get("project", body.project_id) is None:
                raise invalid(["project_id"], f"project {body.project_id} not found", body.project_id)
            unique_srid(store, LOCATION, body.supplier_reference_id)
            location = {
                "id": new_id(LOCATION),
                "supplier_reference_id": body.supplier_reference_id,
                "latitude": body.latitude,
                "longitude": body.longitude,
                "_project_id": body.project_id,
            }
            return render(store, LOCATION, store.put(LOCATION, location))

    async def get_location(request: Request) -> Any:
        with store.lock:
            return render(store, LOCATION, held(store, LOCATION, request.path_params["id"]))

    async def delete_location(request: Request) -> Any:
        with store.lock:
            location = held(store, LOCATION, request.path_params["id"])
            citing = [o["id"] for o in store.all(SAMPLE) if o.get("measurement_location_id") == location["id"]]
            refuse_if_cited("measurement location", location["id"], "samples", citing)
            store.delete(LOCATION, location["id"])

    async def list_samples(request: Request) -> Any:
        query = kit.params(s.Query, request.query_params, "query")
        with store.lock:
            return page_of(store, SAMPLE, store.all(SAMPLE), query)

    async def create_sample(request: Request) -> Any:
        body, _ = await kit.body(request, CreateMeasurementSample)
        with store.lock:
            if store.get("project", body.project_id) is None:
                raise invalid(["project_id"], f"project {body.project_id} not found", body.project_id)
            _check_targets(store, body)
            unique_srid(store, SAMPLE, body.supplier_reference_id)
            quantities = [_quantity(v.value, ["values", i, "value"]) for i, v in enumerate(body.values)]
            sample_id = new_id(SAMPLE)
            measured = body.measured_at.astimezone(dt.UTC)
            values = []
            for value, quantity in zip(body.values, quantities, strict=True):
                datapoint = {
                    "id": new_id("datapoint"),
                    "supplier_reference_id": None,
                    "display_name": f"{_label(value.measurement_property)}, sample {sample_id}"[:100],
                    "type": "REPORTED",
                    "quantity": quantity,
                    "description": f"Measured in sample {sample_id} ({body.measurement_type})",
                    "source_ids": [],
                    "measured_at": measured.isoformat().replace("+00:00", "Z"),
                    "project_id": body.project_id,
                    "locked_status": LOCKED,
                    "uncertainty_justification": None,
                    "_measurement_sample_id": sample_id,
                }
                store.put("datapoint", datapoint)
                values.append(
                    {
                        "datapoint_id": datapoint["id"],
                        "measurement_property": value.measurement_property.model_dump(),
                        "value": quantity,
                    }
                )
            sample = {
                "id": sample_id,
                "supplier_reference_id": body.supplier_reference_id,
                "measured_at": measured.date().isoformat(),
                "production_batch_id": body.production_batch_id,
                "measurement_location_id": body.measurement_location_id,
                "values": values,
                "uploaded_at": now_iso(),
                "_project_id": body.project_id,
                "_measurement_type": body.measurement_type,
                "_storage_location_id": body.storage_location_id,
                "_feedstock_batch_id": body.feedstock_batch_id,
            }
            return render(store, SAMPLE, store.put(SAMPLE, sample))

    async def delete_sample(request: Request) -> Any:
        with store.lock:
            sample = held(store, SAMPLE, request.path_params["id"])
            ids = {v["datapoint_id"] for v in sample["values"]}
            frozen = _frozen_by(store, ids)
            if frozen:
                raise Problem(
                    422,
                    [
                        {
                            "type": "value_error.locked",
                            "loc": ["path", "id"],
                            "msg": f"measurement sample {sample['id']} is used by GHG entries of submitted statements "
                            f"({', '.join(frozen)}) and cannot be deleted",
                            "input": sample["id"],
                        }
                    ],
                )
            for dp_id in sorted(ids):
                if store.get("datapoint", dp_id) is not None and not datapoint_in_use(store, dp_id):
                    store.delete("datapoint", dp_id)
            store.delete(SAMPLE, sample["id"])

    locations, samples = kit.prefix + "/measurement_locations", kit.prefix + "/measurement_samples"
    return [
        Route(locations, kit.api(list_locations, path=None), methods=["GET"]),
        Route(locations, kit.api(create_location, path=None), methods=["POST"]),
        Route(locations + "/{id}", kit.api(get_location), methods=["GET"]),
        Route(locations + "/{id}", kit.api(delete_location, status=204), methods=["DELETE"]),
        Route(samples, kit.api(list_samples, path=None), methods=["GET"]),
        Route(samples, kit.api(create_sample, path=None), methods=["POST"]),
        Route(samples + "/{id}", kit.api(delete_sample, status=204), methods=["DELETE"]),
    ]
