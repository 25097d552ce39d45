"""Contract tests (issue #3): every response the sandbox returns for the importer's endpoints validates against
the published response schema, and invalid requests derived from the published request schemas get 422 in the
HTTPValidationError shape with `loc` naming the field."""

from __future__ import annotations

import copy

import httpx
import pytest

from contract import component, errors_of, request_schema, response_schema
from sandbox_requests import datapoint, production_entry_body

PROJECT = "prj_1SBXBIOCHAR00001"
TEMPLATE = "rvt_1SBXPRODBATCH001"


@pytest.fixture()
def api(sandbox):
    headers = {"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"}
    with httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=10) as client:
        yield client


def check(api, method: str, url: str, schema_path: str, json=None, status: int = 200):
    response = api.request(method, url, json=json)
    assert response.status_code == status, response.text
    body = response.json()
    problems = errors_of(response_schema(method, schema_path), body)
    assert not problems, f"{method} {url}: {problems[:5]}"
    return body


def _source(api, srid="c-src"):
    return check(
        api,
        "POST",
        "/sources",
        "/sources",
        json={
            "__typename": "CreateDocumentSourceRequest",
            "supplier_reference_id": srid,
            "display_name": "Ticket",
            "published_at": "2026-10-31",
            "file_name": "t.txt",
            "content_type": "text/plain",
            "content_length": 5,
            "project_id": PROJECT,
        },
    )


def _datapoint(api, srid, magnitude, unit, source_ids=()):
    made = datapoint(api, srid, magnitude, unit, sources=source_ids)
    assert not errors_of(response_schema("POST", "/datapoints"), made)
    return made


def _entry_body(api, srid="c-entry"):
    return production_entry_body(api, srid)


def test_every_importer_endpoint_answers_with_the_published_shape(api):
    check(api, "GET", "/projects", "/projects")
    check(api, "GET", f"/projects/{PROJECT}/ghg_entry_templates", "/projects/{project_id}/ghg_entry_templates")
    check(
        api,
        "GET",
        f"/projects/{PROJECT}/ghg_entry_templates/{TEMPLATE}",
        "/projects/{project_id}/ghg_entry_templates/{id}",
    )
    check(api, "GET", f"/projects/{PROJECT}/removal_templates", "/projects/{project_id}/removal_templates")
    check(
        api, "GET", f"/projects/{PROJECT}/removal_templates/{TEMPLATE}", "/projects/{project_id}/removal_templates/{id}"
    )
    check(api, "GET", "/component_blueprints", "/component_blueprints")
    check(api, "GET", "/component_blueprints/fuel-combustion", "/component_blueprints/{key}")

    created = _source(api)
    source_id = created["source"]["id"]
    check(api, "GET", f"/sources/{source_id}", "/sources/{id}")
    check(api, "GET", "/sources?supplier_reference_id=c-src", "/sources")
    check(api, "PATCH", f"/sources/{source_id}", "/sources/{id}", json={"display_name": "Ticket 2"})
    url = api.post(f"/sources/{source_id}/signed_upload_url", json={"content_length": 5, "content_type": "text/plain"})
    assert url.status_code == 200 and isinstance(url.json(), str)

    dp = _datapoint(api, "c-dp", 1.5, "t", [source_id])
    check(api, "GET", f"/datapoints/{dp['id']}", "/datapoints/{id}")
    check(api, "GET", f"/datapoints?project_id={PROJECT}&first=50", "/datapoints")
    check(
        api, "PATCH", f"/datapoints/{dp['id']}", "/datapoints/{id}", json={"quantity": {"magnitude": 2.5, "unit": "t"}}
    )

    # no POST /feedstock_types in the live document: the Certify UI creates them; the sandbox's seed holds some
    refused = api.post("/feedstock_types", json={"name": "Sawmill offcuts", "supplier_reference_id": "c-ftt"})
    assert refused.status_code == 405, refused.text
    listed = check(api, "GET", "/feedstock_types", "/feedstock_types")
    ftt = next(t for t in listed["nodes"] if t["name"] == "Sawmill offcuts")
    check(api, "GET", f"/feedstock_types/{ftt['id']}", "/feedstock_types/{id}")
    check(api, "GET", "/feedstock_types", "/feedstock_types")
    check(api, "PATCH", f"/feedstock_types/{ftt['id']}", "/feedstock_types/{id}", json={"name": "Offcuts"})

    entry = check(api, "POST", "/ghg_entries", "/ghg_entries", json=_entry_body(api))
    check(api, "GET", f"/ghg_entries/{entry['id']}", "/ghg_entries/{id}")
    check(api, "GET", "/ghg_entries?supplier_reference_id=c-entry", "/ghg_entries")
    check(api, "GET", f"/removals/{entry['id']}", "/removals/{id}")
    check(api, "GET", "/removals", "/removals")
    check(api, "PATCH", f"/ghg_entries/{entry['id']}", "/ghg_entries/{id}", json={"feedstock_type_id": ftt["id"]})

    diesel = _datapoint(api, "c-diesel", 120, "L")
    factor = _datapoint(api, "c-factor", 2.68, "kgCO2e/L")
    comp = check(
        api,
        "POST",
        "/components",
        "/components",
        json={
            "supplier_reference_id": "c-comp",
            "project_id": PROJECT,
            "component_blueprint_key": "fuel-combustion",
            "display_name": "Generator",
            "activity_started_at": "2026-10-01T00:00:00Z",
            "activity_completed_at": "2026-10-31T00:00:00Z",
            "inputs": [
                {"__typename": "CreateComponentScalarInput", "input_key": "fuel_volume", "datapoint_id": diesel["id"]},
                {
                    "__typename": "CreateComponentScalarInput",
                    "input_key": "fuel_emission_factor",
                    "datapoint_id": factor["id"],
                },
            ],
        },
    )
    check(api, "GET", f"/components/{comp['id']}", "/components/{id}")
    check(api, "GET", f"/components?ghg_entry_id={entry['id']}", "/components")
    check(
        api,
        "PATCH",
        f"/ghg_entries/{entry['id']}/component_attributions",
        "/ghg_entries/{id}/component_attributions",
        json={
            "components_to_add": [
                {"component_id": comp["id"], "component_group_key": "energy-use", "attribution_factor": 0.5}
            ]
        },
    )
    check(api, "GET", f"/ghg_entries/{entry['id']}/component_attributions", "/ghg_entries/{id}/component_attributions")
    check(api, "GET", f"/removals/{entry['id']}/component_attributions", "/removals/{id}/component_attributions")

    statement = check(
        api, "POST", "/ghg_statements", "/ghg_statements", json={"project_id": PROJECT, "end_on": "2026-10-31"}
    )
    check(api, "GET", f"/ghg_statements/{statement['id']}", "/ghg_statements/{id}")
    check(api, "GET", "/ghg_statements", "/ghg_statements")
    check(
        api,
        "POST",
        f"/ghg_statements/{statement['id']}/submit",
        "/ghg_statements/{id}/submit",
        json={"ghg_statement_report_url": "https://example.org/r.pdf"},
    )


def _valid_requests(api) -> dict[str, tuple[str, dict]]:
    source = _source(api, "v-src")["source"]["id"]
    dp = _datapoint(api, "v-dp", 1, "t")
    return {
        "CreateDocumentSourceRequest": (
            "/sources",
            {
                "__typename": "CreateDocumentSourceRequest",
                "supplier_reference_id": "n-src",
                "display_name": "N",
                "published_at": "2026-10-31",
                "file_name": "n.txt",
                "content_type": "text/plain",
                "content_length": 3,
                "project_id": PROJECT,
            },
        ),
        "CreateDatapointRequest": (
            "/datapoints",
            {
                "supplier_reference_id": "n-dp",
                "display_name": "N",
                "type": "REPORTED",
                "description": "d",
                "quantity": {"magnitude": 1, "unit": "t"},
                "source_ids": [source],
                "project_id": PROJECT,
            },
        ),
        "CreateComponentRequest": (
            "/components",
            {
                "supplier_reference_id": "n-comp",
                "project_id": PROJECT,
                "component_blueprint_key": "road-transport",
                "display_name": "N",
                "activity_started_at": "2026-10-01T00:00:00Z",
                "activity_completed_at": "2026-10-02T00:00:00Z",
                "inputs": [
                    {"__typename": "CreateComponentScalarInput", "input_key": k, "datapoint_id": dp["id"]}
                    for k in ("distance", "mass", "emission_factor")
                ],
            },
        ),
        "CreateGhgStatementRequest": ("/ghg_statements", {"project_id": PROJECT, "end_on": "2026-10-31"}),
        "CreateGhgEntryRequest": ("/ghg_entries", _entry_body(api, "n-entry")),
    }


@pytest.mark.parametrize(
    "schema",
    [
        "CreateDocumentSourceRequest",
        "CreateDatapointRequest",
        "CreateComponentRequest",
        "CreateGhgStatementRequest",
        "CreateGhgEntryRequest",
    ],
)
def test_requests_missing_a_required_field_get_422_naming_it(api, schema):
    path, valid = _valid_requests(api)[schema]
    assert not errors_of(request_schema("POST", path), valid), "the base request must be valid"
    required = component(schema).schema  # resolved below through the document
    from contract import document

    fields = document()["components"]["schemas"][schema].get("required", [])
    assert fields, required
    for field in fields:
        body = copy.deepcopy(valid)
        body.pop(field)
        assert errors_of(request_schema("POST", path), body), f"{schema} without {field} should be invalid"
        response = api.post(path, json=body)
        assert response.status_code == 422, f"{schema} without {field}: {response.status_code} {response.text}"
        assert not errors_of(component("HTTPValidationError"), response.json())
        assert any(field in item["loc"] for item in response.json()["detail"]), response.json()


def test_wrong_enum_and_overlong_strings_get_422(api):
    _path, valid = _valid_requests(api)["CreateDatapointRequest"]
    for field, value in (("type", "MEASURED"), ("display_name", "x" * 101), ("supplier_reference_id", "y" * 101)):
        body = {**valid, field: value}
        assert errors_of(request_schema("POST", "/datapoints"), body)
        response = api.post("/datapoints", json=body)
        assert response.status_code == 422
        assert not errors_of(component("HTTPValidationError"), response.json())
        assert response.json()["detail"][0]["loc"] == ["body", field]


def test_the_contract_validators_do_reject_wrong_shapes():
    """Guard against a vacuous contract test: wrong instances must fail the published schemas."""
    assert errors_of(response_schema("GET", "/sources"), {"nodes": "x"})
    assert errors_of(response_schema("GET", "/ghg_entries/{id}"), {"id": "rmv_1"})
    assert errors_of(component("GhgStatement"), {"id": "ggs_1AAAAAAAAAAAAAAAAAA", "status": "OPEN"})
    assert not errors_of(
        component("FeedstockType"), {"id": "ftt_1AAAAAAAAAAAAAAAA", "name": "x", "supplier_reference_id": None}
    )
