"""Property-based contract testing of the local sandbox with schemathesis: for every operation of the published
document (`../shared/isometric/mrv.openapi.json`, read in place) that the sandbox serves, requests generated from
the document (valid ones, and ones that break it) go to a real sandbox over loopback, and the answers are checked:
no server error, documented status codes, content types and response schemas, invalid data refused, valid data
accepted.

Bounded and reproducible: `MAX_EXAMPLES` generated cases per operation in the fuzzing phase (plus the document's
examples and schemathesis' deterministic coverage cases), derandomized. Path IDs of a valid shape are swapped for
objects that exist (so GET/PATCH/DELETE reach the sandbox's logic instead of a 404), and so is a body's
`project_id`. Exclusions are narrow (one operation, one check, one status, the sandbox's own message), listed in
`EXCLUSIONS` with their reason.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from importer.sandbox import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET

from contract import OPENAPI
from sandbox_requests import PRODUCTION, PROJECT, datapoint, production_entry_body, ui_feedstock_type

FACILITY = "fcl_1SBXKILNFACILITY1"  # the seeded facility (facilities are made in the Certify UI)

if not OPENAPI.exists():  # fails, never skips: the run against the contract is the point of this module
    raise RuntimeError(f"the published contract is not beside the repository ({OPENAPI})")

MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]

#: every operation the sandbox serves (the deprecated removal* aliases included)
SERVED = {
    "GET /projects",
    "GET /projects/{project_id}/ghg_entry_templates",
    "GET /projects/{project_id}/ghg_entry_templates/{id}",
    "GET /projects/{project_id}/removal_templates",
    "GET /projects/{project_id}/removal_templates/{id}",
    "GET /component_blueprints",
    "GET /component_blueprints/{key}",
    "GET /sources",
    "POST /sources",
    "GET /sources/{id}",
    "PATCH /sources/{id}",
    "DELETE /sources/{id}",
    "POST /sources/{id}/signed_upload_url",
    "GET /datapoints",
    "POST /datapoints",
    "GET /datapoints/{id}",
    "PATCH /datapoints/{id}",
    "DELETE /datapoints/{id}",
    "GET /feedstock_types",
    "GET /feedstock_types/{id}",
    "PATCH /feedstock_types/{id}",
    "DELETE /feedstock_types/{id}",
    "GET /ghg_entries",
    "POST /ghg_entries",
    "GET /ghg_entries/{id}",
    "PATCH /ghg_entries/{id}",
    "DELETE /ghg_entries/{id}",
    "GET /ghg_entries/{id}/component_attributions",
    "PATCH /ghg_entries/{id}/component_attributions",
    "GET /removals",
    "POST /removals",
    "GET /removals/{id}",
    "PATCH /removals/{id}",
    "DELETE /removals/{id}",
    "GET /removals/{id}/component_attributions",
    "PATCH /removals/{id}/component_attributions",
    "GET /components",
    "POST /components",
    "GET /components/{id}",
    "PATCH /components/{id}",
    "DELETE /components/{id}",
    "GET /ghg_statements",
    "POST /ghg_statements",
    "GET /ghg_statements/{id}",
    "POST /ghg_statements/{id}/submit",
    "GET /projects/{project_id}/storage_locations",
    "POST /projects/{project_id}/storage_locations",
    "GET /projects/{project_id}/storage_locations/{id}",
    "PATCH /projects/{project_id}/storage_locations/{id}",
    "DELETE /projects/{project_id}/storage_locations/{id}",
    "GET /production_batches",
    "POST /production_batches",
    "GET /production_batches/{id}",
    "DELETE /production_batches/{id}",
    "GET /biochar_applications",
    "POST /biochar_applications",
    "GET /biochar_applications/{id}",
    "DELETE /biochar_applications/{id}",
    "GET /measurement_locations",
    "POST /measurement_locations",
    "GET /measurement_locations/{id}",
    "DELETE /measurement_locations/{id}",
    "GET /measurement_samples",
    "POST /measurement_samples",
    "DELETE /measurement_samples/{id}",
    "POST /project_components",
    "POST /project_components/{id}/ghg_entry_attributions",
    "DELETE /project_components/{component_id}/ghg_entry_attributions/{ghg_entry_id}",
    "POST /ghg_statement_components",
    "POST /feedstock_batches",
    "GET /feedstock_batches/{id}",
    "DELETE /feedstock_batches/{id}",
    "GET /feedstock_types/{feedstock_type_id}/feedstock_batches",
}
#: operations of the document the sandbox does not implement (skipped), with the reason
NOT_SERVED = {
    "GET /sources/{id}/private_url": "the sandbox keeps an upload's digest, not the file, so it has nothing to link",
    "GET /datapoints/{id}/components": "not used by the importer; not implemented",
    "GET /datapoints/{id}/removal_template_components": "not used by the importer; not implemented (deprecated)",
    "GET /datapoints/{id}/ghg_entry_template_components": "not used by the importer; not implemented",
    "POST /project_components/{id}/removal_attributions": "the deprecated name of ghg_entry_attributions: not served",
    "DELETE /project_components/{component_id}/removal_attributions/{removal_id}": (
        "the deprecated name of ghg_entry_attributions: not served"
    ),
    "GET /processes": "deprecated process catalogue; the sandbox has templates only",
    "GET /organisation": "not used by the importer; not implemented",
}
_OTHER_RESOURCES = (
    "data-upload-submissions",
    "file-uploads",
    "monitoring_requirements",
    "monitoring_submissions",
    "sensors",
    "storage_units",
)
NOT_SERVED_REASON_OTHER = (
    "a resource outside the importer's flow (storage units, sensors, monitoring): not implemented by the sandbox"
)


@dataclass(frozen=True)
class Exclusion:
    operations: frozenset[str]
    check: str
    status: int
    message: str  # a regular expression the answer's text must match
    reason: str


_ID_OPERATIONS = frozenset(name for name in SERVED if "{" in name)
EXCLUSIONS = [
    Exclusion(
        _ID_OPERATIONS,
        "status_code_conformance",
        404,
        r"not found",
        "404 for an ID that names no object (made up, or deleted by an earlier DELETE case): real "
        "deployments answer 404 (API-NOTES, Errors), the document lists only 200/204 and 422",
    ),
    Exclusion(
        frozenset(SERVED),
        "status_code_conformance",
        401,
        r"Missing X-Client-Secret|Not authenticated",
        "401 when a generated case leaves out the required x-client-secret header or the bearer token "
        "(API-NOTES, Errors: real deployments answer 401)",
    ),
    Exclusion(
        frozenset({"POST /sources/{id}/signed_upload_url"}),
        "status_code_conformance",
        409,
        r"already been uploaded",
        "409 once the document is uploaded (API-NOTES, step 1: the upload state is told by this 409)",
    ),
    # business rules: valid JSON that names things that do not exist or break a documented rule
    Exclusion(
        frozenset({"POST /sources"}),
        "positive_data_acceptance",
        422,
        r"unsupported file type|does not match|cannot be negative|does not exist",
        "business rules: supported file types and their Content-Type (the document links the list; "
        "API-NOTES step 1), a size in bytes is not negative, the project must exist",
    ),
    Exclusion(
        frozenset({"POST /sources/{id}/signed_upload_url"}),
        "positive_data_acceptance",
        422,
        r"does not match the source's file|cannot be negative",
        "business rule: the fresh URL is for the source's own file type; a size is not negative",
    ),
    Exclusion(
        frozenset({"POST /datapoints", "PATCH /datapoints/{id}"}),
        "positive_data_acceptance",
        422,
        r"does not exist|unknown unit|belongs to another project|already exists|is locked",
        "business rules: the project and cited sources must exist, the unit must be a unit, "
        "supplier_reference_id is unique, a locked datapoint cannot change",
    ),
    Exclusion(
        frozenset({"PATCH /feedstock_types/{id}"}),
        "positive_data_acceptance",
        422,
        r"already exists",
        "business rule: supplier_reference_id is unique per supplier (the document's description)",
    ),
    Exclusion(
        frozenset({"POST /components", "PATCH /components/{id}"}),
        "positive_data_acceptance",
        422,
        r"does not exist|unknown component blueprint|unknown input|missing input|before activity_started_at|"
        r"already exists|project-scoped|given twice|cannot be converted|is a (SCALAR|LIST) input|"
        r"at least one datapoint|another project|submitted statement",
        "business rules: the project, blueprint and datapoints must exist and fit the blueprint's inputs "
        "(API-NOTES step 4), dates in order, unique supplier_reference_id, allocation strategy only on "
        "project-scoped components (the document's description)",
    ),
    Exclusion(
        frozenset({"POST /ghg_entries", "POST /removals"}),
        "positive_data_acceptance",
        422,
        r"does not exist|template is required|already exists|before started_on|not part of template|"
        r"missing monitored|submitted statement",
        "business rules: the project, template (of that project), feedstock type and datapoints must "
        "exist, dates in order, unique supplier_reference_id",
    ),
    Exclusion(
        frozenset(
            {
                "PATCH /ghg_entries/{id}",
                "PATCH /removals/{id}",
                "PATCH /ghg_entries/{id}/component_attributions",
                "PATCH /removals/{id}/component_attributions",
            }
        ),
        "positive_data_acceptance",
        422,
        r"does not exist|before started_on|not part of the entry's template|name the group|"
        r"not attributed|already attributed|unknown component group|another project|attribution factor",
        "business rules: referenced components, groups and feedstock types must exist in the entry's "
        "project and template (API-NOTES step 6)",
    ),
    Exclusion(
        frozenset({"POST /production_batches", "POST /biochar_applications", "POST /feedstock_batches"}),
        "positive_data_acceptance",
        422,
        r"not found|already exists",
        "business rules: the facility, feedstock types, project, storage location (of that project), batch and "
        "sources named must exist; supplier_reference_id is unique per supplier (the document's description)",
    ),
    Exclusion(
        frozenset({"DELETE /production_batches/{id}", "DELETE /feedstock_batches/{id}"}),
        "positive_data_acceptance",
        422,
        r"is cited by (biochar applications|samples)",
        "the sandbox's reading of what the document leaves open: a batch that applications still cite is kept "
        "(its 422 is a documented answer of the DELETE); the importer deletes the applications first",
    ),
    Exclusion(
        frozenset({"POST /measurement_locations", "POST /measurement_samples"}),
        "positive_data_acceptance",
        422,
        r"not found|already exists|at most one of|unknown unit",
        "business rules: the project and the sample's target (batch, storage location, measurement location, "
        "feedstock batch) must exist, supplier_reference_id is unique per supplier, a unit is "
        "a unit; the sandbox's reading of 'at most one' target (API-NOTES: measurement samples)",
    ),
    Exclusion(
        frozenset({"POST /project_components", "POST /ghg_statement_components"}),
        "positive_data_acceptance",
        422,
        r"does not exist|unknown component blueprint|unknown input|missing input|before activity_started_at|"
        r"already exists|given twice|cannot be converted|is a (SCALAR|LIST) input|at least one datapoint|"
        r"another project|statement not found|to a DRAFT statement only",
        "business rules: a whole component create checked as POST /components checks it; a statement component "
        "needs a DRAFT statement of its project (API-NOTES: after submission, changes need a resubmission)",
    ),
    Exclusion(
        frozenset(
            {
                "POST /project_components/{id}/ghg_entry_attributions",
                "DELETE /project_components/{component_id}/ghg_entry_attributions/{ghg_entry_id}",
            }
        ),
        "positive_data_acceptance",
        422,
        r"not a MANUAL project component|does not exist|another project|submitted statement|would sum to",
        "the sandbox's reading of what the document leaves open: only a MANUAL project component is attributed by "
        "hand, to an existing entry of its project not yet submitted, its factors summing to at most 1",
    ),
    Exclusion(
        frozenset({"POST /ghg_statements"}),
        "positive_data_acceptance",
        422,
        r"does not exist|no GHG entries|overlap|before the project's earliest",
        "business rules: statements are contiguous and need entries (API-NOTES step 7)",
    ),
    Exclusion(
        frozenset({"POST /ghg_statements/{id}/submit"}),
        "positive_data_acceptance",
        422,
        r"only a draft can be submitted|no GHG entries|needs summary_of_changes",
        "business rules: only a draft with entries is submitted; a resubmission states its changes",
    ),
]


def _excluded(operation: str, check: str, response: Any) -> Exclusion | None:
    for exclusion in EXCLUSIONS:
        if (
            operation in exclusion.operations
            and exclusion.check == check
            and response.status_code == exclusion.status
            and re.search(exclusion.message, response.text)
        ):
            return exclusion
    return None


schema = schemathesis.openapi.from_path(OPENAPI).include(name=sorted(SERVED))
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
# the sandbox's demo credentials (SandboxServer.client_secret / .access_token), sent on every request
schema.config.update(headers={"x-client-secret": DEMO_CLIENT_SECRET, "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}"})
EXAMPLES: Counter[str] = Counter()
EXCLUDED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    if EXAMPLES:
        print(f"\nschemathesis: {sum(EXAMPLES.values())} cases over {len(EXAMPLES)} operations")
        for name, count in sorted(EXAMPLES.items()):
            print(f"  {count:4d}  {name}")
        print("exclusions applied (operation, check, status):")
        for name, count in sorted(EXCLUDED.items()):
            print(f"  {count:4d}  {name}")


@pytest.fixture()
def world():
    """A fresh in-memory sandbox per operation (one operation's writes, e.g. a submitted statement locking the
    entries, do not leak into another's), with an object of every kind whose IDs replace generated path IDs."""
    from importer.sandbox import SandboxServer

    with SandboxServer(db_path=":memory:") as server:
        headers = {"X-Client-Secret": server.client_secret, "Authorization": f"Bearer {server.access_token}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as api:
            ids = _objects(api)
        yield server, ids


def _objects(api: httpx.Client) -> dict[str, str]:
    created = api.post(
        "/sources",
        json={
            "__typename": "CreateDocumentSourceRequest",
            "supplier_reference_id": "st-src",
            "display_name": "Ticket",
            "published_at": "2026-10-31",
            "file_name": "t.txt",
            "content_type": "text/plain",
            "content_length": 5,
            "project_id": PROJECT,
        },
    ).json()
    entry = api.post("/ghg_entries", json=production_entry_body(api, "st-entry")).json()
    fuel, factor = datapoint(api, "st-fuel", 10, "L"), datapoint(api, "st-factor", 2.68, "kgCO2e/L")
    component = api.post(
        "/components",
        json={
            "supplier_reference_id": "st-comp",
            "project_id": PROJECT,
            "component_blueprint_key": "fuel-combustion",
            "display_name": "Generator",
            "activity_started_at": "2026-10-01T00:00:00Z",
            "activity_completed_at": "2026-10-31T00:00:00Z",
            "inputs": [
                {"input_key": "fuel_volume", "datapoint_id": fuel["id"]},
                {"input_key": "fuel_emission_factor", "datapoint_id": factor["id"]},
            ],
        },
    ).json()
    feedstock = ui_feedstock_type(api, "Offcuts", "st-ftt")  # the Certify UI's part: the API creates none
    statement = api.post("/ghg_statements", json={"project_id": PROJECT, "end_on": "2026-10-31"}).json()
    location = api.post(
        f"/projects/{PROJECT}/storage_locations",
        json={
            "project_id": PROJECT,
            "name": "North field",
            "latitude": 52.09,
            "longitude": 5.12,
            "supplier_reference_id": "st-slc",
        },
    ).json()
    quantity = {"magnitude": 1.5, "unit": "t"}
    batch = api.post(
        "/production_batches",
        json={
            "facility_id": FACILITY,
            "feedstock_type_ids": [feedstock["id"]],
            "supplier_reference_id": "st-ptb",
            "kind": "biochar",
            "started_at": "2026-10-01T06:00:00Z",
            "ended_at": "2026-10-14T18:00:00Z",
            "mass": quantity,
        },
    ).json()
    application = api.post(
        "/biochar_applications",
        json={
            "project_id": PROJECT,
            "storage_site_id": location["id"],
            "production_batch_id": batch["id"],
            "average_application_rate": {"magnitude": 10, "unit": "t/ha"},
            "application_date": "2026-10-20",
            "truck_mass_on_arrival": quantity,
            "truck_mass_on_departure": {"magnitude": 0, "unit": "t"},
            "supplier_reference_id": "st-bse",
        },
    ).json()
    spot = api.post(
        "/measurement_locations",
        json={"project_id": PROJECT, "latitude": 57.7, "longitude": 11.97, "supplier_reference_id": "st-mlc"},
    ).json()
    sample = api.post(
        "/measurement_samples",
        json={
            "project_id": PROJECT,
            "supplier_reference_id": "st-mts",
            "measured_at": "2026-10-15T00:00:00Z",
            "measurement_type": "biochar_production_batch",
            "production_batch_id": batch["id"],
            "storage_location_id": None,
            "measurement_location_id": None,
            "feedstock_batch_id": None,
            "values": [
                {
                    "measurement_property": {"quantity_kind": "mass_fraction", "qualifier": None},
                    "value": {"magnitude": 0.7, "unit": "dimensionless", "standard_deviation": 0.01},
                }
            ],
        },
    ).json()
    delivery = api.post(
        "/feedstock_batches",
        json={
            "feedstock_type_id": feedstock["id"],
            "supplier_reference_id": "st-ftb",
            "display_name": "Offcuts, 3 October",
            "delivery_date": "2026-10-03",
            "mass": quantity,
        },
    ).json()
    project_component = api.post(
        "/project_components",
        json={
            "allocation_strategy": "MANUAL",
            "component_data": {
                "supplier_reference_id": "st-prc",
                "project_id": PROJECT,
                "component_blueprint_key": "fuel-combustion",
                "display_name": "Kiln construction",
                "activity_started_at": "2026-10-01T00:00:00Z",
                "activity_completed_at": "2026-10-31T00:00:00Z",
                "inputs": [
                    {"input_key": "fuel_volume", "datapoint_id": fuel["id"]},
                    {"input_key": "fuel_emission_factor", "datapoint_id": factor["id"]},
                ],
            },
        },
    ).json()
    return {
        "feedstock_batches": delivery["id"],
        "measurement_locations": spot["id"],
        "measurement_samples": sample["id"],
        "project_components": project_component["id"],
        "sources": created["source"]["id"],
        "production_batches": batch["id"],
        "biochar_applications": application["id"],
        "datapoints": datapoint(api, "st-dp", 1, "t")["id"],
        "feedstock_types": feedstock["id"],
        "ghg_entries": entry["id"],
        "removals": entry["id"],
        "components": component["id"],
        "ghg_statements": statement["id"],
        "ghg_entry_templates": PRODUCTION,
        "removal_templates": PRODUCTION,
        "storage_locations": location["id"],
    }


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and 20 <= len(value) <= 37


def _prepare(case: Any, ids: dict[str, str]) -> None:
    """Real objects in place of well-formed made-up IDs, in the path and for a body's project, template, feedstock type
    and blueprint (a malformed value stays: it is what a negative case tests)."""
    resource = case.path.strip("/").split("/")
    params = case.path_parameters or {}
    if _valid_id(params.get("project_id")):
        params["project_id"] = PROJECT
    if _valid_id(params.get("id")):
        params["id"] = ids[resource[2] if resource[0] == "projects" else resource[0]]
    if "key" in params and isinstance(params["key"], str):
        params["key"] = "fuel-combustion"
    if _valid_id(params.get("component_id")):
        params["component_id"] = ids["project_components"]
    if _valid_id(params.get("ghg_entry_id")):
        params["ghg_entry_id"] = ids["ghg_entries"]
    if _valid_id(params.get("feedstock_type_id")):
        params["feedstock_type_id"] = ids["feedstock_types"]
    bodies = [case.body] if isinstance(case.body, dict) else []
    if bodies and isinstance(bodies[0].get("component_data"), dict):  # a shared component's whole component create
        bodies.append(bodies[0]["component_data"])
    for body in bodies:
        for field, real in (
            ("project_id", PROJECT),
            ("ghg_entry_template_id", PRODUCTION),
            ("removal_template_id", PRODUCTION),
            ("feedstock_type_id", ids["feedstock_types"]),
            ("facility_id", FACILITY),
            ("storage_site_id", ids["storage_locations"]),
            ("production_batch_id", ids["production_batches"]),
            ("storage_location_id", ids["storage_locations"]),
            ("measurement_location_id", ids["measurement_locations"]),
            ("ghg_statement_id", ids["ghg_statements"]),
            ("ghg_entry_id", ids["ghg_entries"]),
        ):
            if _valid_id(body.get(field)):
                body[field] = real
        for field, real in (("feedstock_type_ids", ids["feedstock_types"]), ("source_ids", ids["sources"])):
            items = body.get(field)
            if isinstance(items, list) and items and all(_valid_id(i) for i in items):
                body[field] = [real] * len(items)
        if isinstance(body.get("component_blueprint_key"), str):
            body["component_blueprint_key"] = "fuel-combustion"


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_sandbox_answers_as_the_document_says(case, world):
    server, ids = world
    _prepare(case, ids)
    response = case.call(base_url=server.base_url)
    EXAMPLES[case.operation.label] += 1
    checks = []
    for check in CHECKS:
        if _excluded(case.operation.label, check.__name__, response) is None:
            checks.append(check)
        else:
            EXCLUDED[f"{case.operation.label} {check.__name__} {response.status_code}"] += 1
    case.validate_response(response, checks=checks)


def test_every_operation_of_the_document_is_tested_or_listed_as_not_served():
    names = {result.ok().label for result in schemathesis.openapi.from_path(OPENAPI).get_all_operations()}
    unlisted = {n for n in names - SERVED - set(NOT_SERVED) if not any(f"/{r}" in n for r in _OTHER_RESOURCES)}
    assert not unlisted, sorted(unlisted)
    assert not SERVED - names, sorted(SERVED - names)
