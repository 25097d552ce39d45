"""Request bodies the client sends, beyond the basic creates of test_client.py, validated against the published
request schemas (`../shared/isometric/mrv.openapi.json`; skipped only when the document is absent): patches,
fresh signed URLs, resubmissions, null units, list inputs and remove-only attribution patches."""

from __future__ import annotations

import json

import httpx
import pytest

from importer.api import ClientConfig, IsometricClient, ServerError
from importer.api import models as m

from contract import errors_of, request_schema

PROJECT = "prj_1SBXBIOCHAR00001"
DP = "dtp_1AAAAAAAAAAAAAAAAA"


@pytest.fixture()
def sent() -> tuple[IsometricClient, list[tuple[str, str, dict]]]:
    bodies: list[tuple[str, str, dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append((request.method, request.url.path.removeprefix("/mrv/v0"), json.loads(request.content)))
        return httpx.Response(500, json={"detail": "stop here: the body is what matters"})

    config = ClientConfig(base_url="https://api.sandbox.isometric.com/mrv/v0", client_secret="contract-secret-1",
                          access_token="contract-token-1", max_attempts=1)
    return IsometricClient(config, transport=httpx.MockTransport(handler)), bodies


def only_body(bodies: list[tuple[str, str, dict]], method: str, template: str) -> dict:
    assert len(bodies) == 1
    sent_method, _path, body = bodies[0]
    assert sent_method == method
    problems = errors_of(request_schema(method, template), body)
    assert not problems, problems
    return body


def test_a_dimensionless_datapoint_sends_its_null_unit(sent):
    client, bodies = sent
    with pytest.raises(ServerError):
        client.create_datapoint(m.CreateDatapointRequest(
            supplier_reference_id="ratio", display_name="Carbon fraction", description="lab", type="REPORTED",
            quantity=m.QuantityInput(magnitude=0.78, unit=None), source_ids=[], project_id=PROJECT))
    body = only_body(bodies, "POST", "/datapoints")
    assert body["quantity"] == {"magnitude": 0.78, "unit": None}


def test_a_datapoint_patch_names_only_what_changes(sent):
    client, bodies = sent
    req = m.PatchDatapointRequest.model_validate({
        "quantity": {"magnitude": 19.0, "unit": "t", "standard_deviation": None}, "source_ids": [],
        "display_name": None})
    with pytest.raises(ServerError):
        client.patch_datapoint(DP, req)
    body = only_body(bodies, "PATCH", "/datapoints/{id}")
    assert body == {"quantity": {"magnitude": 19.0, "unit": "t", "standard_deviation": None}, "source_ids": []}


def test_a_fresh_signed_url_request(sent):
    client, bodies = sent
    with pytest.raises(ServerError):
        client.new_signed_upload_url("src_1AAAAAAAAAAAAAAAAA", content_length=1234, content_type="application/pdf")
    assert only_body(bodies, "POST", "/sources/{id}/signed_upload_url") == {
        "content_length": 1234, "content_type": "application/pdf"}


def test_a_resubmission_carries_its_summary(sent):
    client, bodies = sent
    with pytest.raises(ServerError):
        client.submit_ghg_statement("ggs_1AAAAAAAAAAAAAAAAA", m.SubmitGhgStatementRequest(
            ghg_statement_report_url="https://reports.example.org/v2.pdf", summary_of_changes="fixed diesel"))
    body = only_body(bodies, "POST", "/ghg_statements/{id}/submit")
    assert body["summary_of_changes"] == "fixed diesel"


def test_an_entry_with_scalar_and_list_inputs_and_no_feedstock(sent):
    client, bodies = sent
    with pytest.raises(ServerError):
        client.create_ghg_entry(m.CreateGhgEntryRequest.model_validate({
            "supplier_reference_id": "batch-7", "project_id": PROJECT, "started_on": "2026-10-01",
            "completed_on": "2026-10-31", "ghg_entry_template_id": "rvt_1SBXPRODBATCH001",
            "ghg_entry_template_components": [
                {"ghg_entry_template_component_id": "rtc_1SBXCOMPFEEDTR01", "inputs": [
                    {"__typename": "CreateComponentScalarInput", "input_key": "distance", "datapoint_id": DP}]},
                {"ghg_entry_template_component_id": "rtc_1SBXCOMPELECTR01", "inputs": [
                    {"__typename": "CreateComponentListInput", "input_key": "electricity_used",
                     "datapoint_ids": [DP, "dtp_1BBBBBBBBBBBBBBBBB"]}]}]}))
    body = only_body(bodies, "POST", "/ghg_entries")
    assert "feedstock_type_id" not in body
    kinds = [i["__typename"] for c in body["ghg_entry_template_components"] for i in c["inputs"]]
    assert kinds == ["CreateComponentScalarInput", "CreateComponentListInput"]


def test_a_remove_only_attribution_patch(sent):
    client, bodies = sent
    with pytest.raises(ServerError):
        client.patch_component_attributions("rmv_1AAAAAAAAAAAAAAAAA", m.PatchComponentAttributionsRequest(
            components_to_remove=["cmp_1AAAAAAAAAAAAAAAAA"]))
    body = only_body(bodies, "PATCH", "/ghg_entries/{id}/component_attributions")
    assert body == {"components_to_remove": ["cmp_1AAAAAAAAAAAAAAAAA"]}


def test_a_feedstock_type_request(sent):
    client, bodies = sent
    with pytest.raises(ServerError):
        client.create_feedstock_type(m.CreateFeedstockTypeRequest(name="Sawdust", supplier_reference_id="ftt-1"))
    assert only_body(bodies, "POST", "/feedstock_types") == {"name": "Sawdust", "supplier_reference_id": "ftt-1"}
