"""The live contract (July 2026) end to end: feedstock types are looked up, never created; sources carry their
description; the document's limits are refused at their cells before anything is sent; the sandbox follows
each difference API-NOTES.md lists under "Changes from the June 2026 contract". Real CLI, real HTTP on loopback;
what the server holds is read back over HTTP and compared with what the test itself expects."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

import importer
from importer.sandbox import seed
from importer.workbook import spec

from contract import document, errors_of, request_schema
from e2e_helpers import api_get, api_nodes, cli_env, copy_samples, run_cli
from sandbox_requests import PROJECT, datapoint, production_entry_body, ui_feedstock_type
from workbooks import row, write

pytestmark = pytest.mark.slow


def _writes(sandbox) -> list[tuple[str, str, int]]:
    return [r for r in sandbox.store.request_log if r[0] in ("POST", "PUT", "PATCH", "DELETE")]


def _cell(output: str, sheet: str) -> list[str]:
    return re.findall(rf"{sheet}!([A-Z]+\d+)", output)


# -- feedstock types: references, never creates -----------------------------------------------------------------
def test_the_sample_imports_with_no_feedstock_type_created(sandbox, tmp_path):
    book = copy_samples(tmp_path)
    before = {t["id"] for t in api_nodes(sandbox, "/feedstock_types")}
    result = run_cli(["run", str(book), "--json"], cli_env(sandbox, tmp_path / "home"))
    assert result.code == 0, result.stdout + result.stderr
    assert not [r for r in sandbox.store.request_log if r[1].endswith("/feedstock_types") and r[0] == "POST"]
    assert {t["id"] for t in api_nodes(sandbox, "/feedstock_types")} == before
    # the entry citing the sheet's row holds the seeded type named "Sawmill offcuts" (what the Certify UI made)
    entries = {e["supplier_reference_id"]: e for e in api_nodes(sandbox, "/ghg_entries")}
    assert entries["demo-2026-10:entries:batch-2026-10-a"]["feedstock_type_id"] == seed.SAWMILL_OFFCUTS_ID
    # the sources' descriptions landed as the workbook gives them (read from the sample's own rows)
    from workbooks import sample_data

    sheets, _project = sample_data()
    wanted = {r["display_name"]: r.get("description") for r in sheets["sources"]}
    held = {s["display_name"]: s["description"] for s in api_nodes(sandbox, "/sources", project_id=PROJECT)}
    assert held == wanted and all(held.values())


def _feedstock(folder: Path, rows: list[dict]) -> Path:
    def mutate(sheets, _project):
        sheets["feedstock_types"] = rows

    return write(folder, mutate)


def test_an_unknown_feedstock_type_is_refused_at_its_cell_and_nothing_is_sent(sandbox, tmp_path):
    book = _feedstock(tmp_path, [{"ref": "sawmill-offcuts", "name": "Sawmil offcuts"}])
    env = cli_env(sandbox, tmp_path / "home")
    for command in (["validate", str(book), "--online"], ["plan", str(book)], ["run", str(book)]):
        result = run_cli([*command, "--json"], env)
        assert result.code == 1, (command, result.stdout, result.stderr)
        found = [f for f in _findings(result.json()) if f["code"] == "unknown_feedstock_type"]
        # the name column of the first data row, what was found, the near miss and what to do
        assert [(f["sheet"], f["cell"], f["value"]) for f in found] == [("feedstock_types", "C2", "Sawmil offcuts")]
        assert "did you mean 'Sawmill offcuts'?" in found[0]["message"]
        assert "Certify UI" in found[0]["message"] and "ftt_" in found[0]["message"]
    assert _writes(sandbox) == []


def _findings(value) -> list[dict]:
    """Every finding anywhere in a --json answer (validate, plan and run nest them differently)."""
    if isinstance(value, dict):
        here = [value] if {"code", "sheet", "cell", "message"} <= set(value) else []
        return here + [f for v in value.values() for f in _findings(v)]
    if isinstance(value, list):
        return [f for v in value for f in _findings(v)]
    return []


def test_a_feedstock_type_is_found_by_id_reference_or_exact_name(sandbox, tmp_path):
    pine = sandbox.add_feedstock_type("Pine sawdust", "acme-pine")
    case = sandbox.add_feedstock_type("Wood chips")
    rows = [
        {"ref": "sawmill-offcuts", "feedstock_type_id": seed.SAWMILL_OFFCUTS_ID},
        {"ref": "pine", "supplier_reference_id": "acme-pine", "name": "Pine (old name)"},
        {"ref": "chips", "name": "  Wood chips "},  # trimmed
    ]
    book = _feedstock(tmp_path, rows)
    result = run_cli(["run", str(book), "--json"], cli_env(sandbox, tmp_path / "home"))
    assert result.code == 0, result.stdout + result.stderr
    assert not [w for w in _writes(sandbox) if "feedstock_types" in w[1]]  # all matched as they are
    held = {t["id"]: t for t in api_nodes(sandbox, "/feedstock_types")}
    assert held[pine["id"]]["name"] == "Pine sawdust" and held[case["id"]]["name"] == "Wood chips"
    # case matters: "wood chips" is a near miss, not a match
    book2 = _feedstock(tmp_path / "b", [{"ref": "sawmill-offcuts", "name": "wood chips"}])
    refused = run_cli(["validate", str(book2), "--online", "--json"], cli_env(sandbox, tmp_path / "home"))
    assert refused.code == 1
    assert ["did you mean 'Wood chips'?" in f["message"] for f in _findings(refused.json())] == [True]


def test_a_changed_name_beside_an_id_or_a_new_reference_is_a_patch(sandbox, tmp_path):
    rows = [
        {
            "ref": "sawmill-offcuts",
            "feedstock_type_id": seed.SAWMILL_OFFCUTS_ID,
            "name": "Sawmill offcuts (oak)",
            "supplier_reference_id": "acme-offcuts",
        }
    ]
    book = _feedstock(tmp_path, rows)
    env = cli_env(sandbox, tmp_path / "home")
    plan = run_cli(["plan", str(book), "--json"], env)
    assert plan.code == 0, plan.stdout + plan.stderr
    changes = [a for a in plan.json()["objects"] if a["kind"] == "feedstock_type"]
    assert [(a["status"], a["id"]) for a in changes] == [("update", seed.SAWMILL_OFFCUTS_ID)], changes
    assert "Sawmill offcuts (oak)" in str(changes) and "acme-offcuts" in str(changes)
    result = run_cli(["run", str(book)], env)
    assert result.code == 0, result.stdout + result.stderr
    patched = api_get(sandbox, f"/feedstock_types/{seed.SAWMILL_OFFCUTS_ID}")
    assert patched == {
        "id": seed.SAWMILL_OFFCUTS_ID,
        "name": "Sawmill offcuts (oak)",
        "supplier_reference_id": "acme-offcuts",
    }
    assert [w[0] for w in _writes(sandbox) if "feedstock_types" in w[1]] == ["PATCH"]
    again = run_cli(["run", str(book)], env)  # the second run finds it by ID, unchanged
    assert again.code == 0 and [w[0] for w in _writes(sandbox) if "feedstock_types" in w[1]] == ["PATCH"]


def test_a_feedstock_type_is_never_an_orphan_and_never_pruned(sandbox, tmp_path):
    made = sandbox.add_feedstock_type("Husks", "demo-2026-10:feedstock_types:husks")
    book = copy_samples(tmp_path)
    result = run_cli(["run", str(book), "--prune"], cli_env(sandbox, tmp_path / "home"))
    assert result.code == 0, result.stdout + result.stderr
    assert api_get(sandbox, f"/feedstock_types/{made['id']}")["name"] == "Husks"


def test_sandbox_admin_path_adds_types_as_the_ui_would(sandbox, api):
    assert api.post("/feedstock_types", json={"name": "X"}).status_code == 405
    made = ui_feedstock_type(api, "Rice husks", "acme-rice")
    assert made["id"].startswith("ftt_") and 20 <= len(made["id"]) <= 37
    listed = api_nodes(sandbox, "/feedstock_types", supplier_reference_id="acme-rice")
    assert listed == [made]
    # a reference is as unique as everywhere else
    assert (
        api.post(
            api.base_url.copy_with(path="/_sandbox/feedstock_types"),
            json={"name": "Other", "supplier_reference_id": "acme-rice"},
        ).status_code
        == 422
    )


# -- limits of the document, at their cells ---------------------------------------------------------------------
def test_a_long_description_and_report_url_are_refused_at_their_cells(sandbox, tmp_path):
    def mutate(sheets, project):
        row(sheets, "datapoints", "feedstock-delivered-t")["description"] = "d" * 501
        row(sheets, "datapoints", "kwh-period-1")["description"] = "m" * 500  # the limit itself passes
        project["ghg_statement_report_url"] = "https://reports.example.org/" + "u" * (2049 - 28)

    book = write(tmp_path, mutate)
    result = run_cli(["validate", str(book), "--json"], cli_env(sandbox, tmp_path / "home"))
    assert result.code == 1
    found = {(f["sheet"], f["column"], f["cell"], f["code"]) for f in result.json()["errors"]}
    rows = _sample_rows()
    assert found == {
        ("datapoints", "description", f"C{rows['feedstock-delivered-t']}", "too_long"),
        ("project", "ghg_statement_report_url", _project_cell("ghg_statement_report_url"), "too_long"),
    }
    assert _writes(sandbox) == []


def _sample_rows() -> dict[str, int]:
    from workbooks import sample_data

    sheets, _ = sample_data()
    return {r["ref"]: n for n, r in enumerate(sheets["datapoints"], start=2)}


def _project_cell(key: str) -> str:
    from workbooks import sample_data

    _, project = sample_data()
    return f"B{list(project).index(key) + 2}"


#: workbook column -> (the document's schema, property) it is sent as
SENT_AS = {
    ("sources", "display_name"): ("CreateDocumentSourceRequest", "display_name"),
    ("sources", "supplier_reference_id"): ("CreateDocumentSourceRequest", "supplier_reference_id"),
    ("datapoints", "display_name"): ("CreateDatapointRequest", "display_name"),
    ("datapoints", "description"): ("CreateDatapointRequest", "description"),
    ("datapoints", "type"): ("CreateDatapointRequest", "type"),
    ("datapoints", "supplier_reference_id"): ("CreateDatapointRequest", "supplier_reference_id"),
    ("feedstock_types", "name"): ("PatchFeedstockType", "name"),
    ("feedstock_types", "supplier_reference_id"): ("PatchFeedstockType", "supplier_reference_id"),
    ("feedstock_types", "feedstock_type_id"): ("FeedstockType", "id"),
    ("entries", "supplier_reference_id"): ("CreateGhgEntryRequest", "supplier_reference_id"),
    ("entry_inputs", "input_key"): ("CreateComponentScalarInput", "input_key"),
    ("components", "display_name"): ("CreateComponentRequest", "display_name"),
    ("components", "supplier_reference_id"): ("CreateComponentRequest", "supplier_reference_id"),
    ("components", "attribution_factor"): ("GhgEntryComponentToAttribute", "attribution_factor"),
    ("component_inputs", "input_key"): ("CreateComponentScalarInput", "input_key"),
    ("project", "ghg_statement_report_url"): ("SubmitGhgStatementRequest", "ghg_statement_report_url"),
    ("project", "project_id"): ("CreateGhgStatementRequest", "project_id"),
    ("storage_locations", "name"): ("CreateStorageLocationRequest", "name"),
    ("storage_locations", "supplier_reference_id"): ("CreateStorageLocationRequest", "supplier_reference_id"),
    ("storage_locations", "storage_method"): ("CreateStorageLocationRequest", "storage_method"),
    ("production_batches", "display_name"): ("CreateProductionBatchRequest", "display_name"),
    ("production_batches", "supplier_reference_id"): ("CreateProductionBatchRequest", "supplier_reference_id"),
    ("production_batches", "facility_id"): ("CreateProductionBatchRequest", "facility_id"),
    ("biochar_applications", "supplier_reference_id"): ("CreateBiocharApplicationRequest", "supplier_reference_id"),
    ("biochar_applications", "production_batch"): ("CreateBiocharApplicationRequest", "production_batch_id"),
    ("biochar_applications", "storage_location"): ("CreateBiocharApplicationRequest", "storage_site_id"),
    ("measurement_locations", "supplier_reference_id"): ("CreateMeasurementLocationRequest", "supplier_reference_id"),
    ("measurement_locations", "latitude"): ("CreateMeasurementLocationRequest", "latitude"),
    ("measurement_locations", "longitude"): ("CreateMeasurementLocationRequest", "longitude"),
    ("samples", "supplier_reference_id"): ("CreateMeasurementSampleRequest", "supplier_reference_id"),
    ("samples", "measurement_type"): ("CreateMeasurementSampleRequest", "measurement_type"),
    ("samples", "production_batch"): ("CreateMeasurementSampleRequest", "production_batch_id"),
    ("samples", "storage_location"): ("CreateMeasurementSampleRequest", "storage_location_id"),
    ("samples", "measurement_location"): ("CreateMeasurementSampleRequest", "measurement_location_id"),
    ("samples", "feedstock_batch"): ("CreateMeasurementSampleRequest", "feedstock_batch_id"),
    ("sample_values", "quantity_kind"): ("MeasurementProperty", "quantity_kind"),
    ("sample_values", "qualifier"): ("MeasurementProperty", "qualifier"),
}
importer.register_kinds()  # the sheets kinds declare themselves say what each column is sent as (`Column.sent_as`)
SENT_AS.update(
    {
        (sheet.name, col.name): (col.sent_as.split(".")[0], col.sent_as.split(".")[1])
        for sheet in spec.SHEETS
        for col in sheet.columns
        if col.sent_as is not None
    }
)


def _resolved(schema: dict) -> dict:
    out: dict = {}
    for part in [schema, *schema.get("anyOf", [])]:
        if "$ref" in part:
            part = document()["components"]["schemas"][part["$ref"].rsplit("/", 1)[1]]
        for key in ("maxLength", "minLength", "maximum", "minimum", "exclusiveMinimum", "enum"):
            if key in part:
                out[key] = part[key]
    return out


@pytest.mark.parametrize("where", list(SENT_AS), ids=[f"{s}.{c}" for s, c in SENT_AS])
def test_the_workbook_format_holds_the_documents_limits(where):
    """Each column's limits are the document's: the same maximum length, enum and range (IDs: the 20-37
    character pattern of the ID checks), so a value the API would refuse is refused at its cell first."""
    sheet, column = where
    name, prop = SENT_AS[where]
    theirs = _resolved(document()["components"]["schemas"][name]["properties"][prop])
    col = spec.SHEETS_BY_NAME[sheet].column(column)
    if col.type == "ref" and col.id_kind:
        from importer.ids import ID_MAX_LENGTH, ID_MIN_LENGTH

        assert (theirs["minLength"], theirs["maxLength"]) == (ID_MIN_LENGTH, ID_MAX_LENGTH)
        return
    assert col.max_length == theirs.get("maxLength"), (where, col.max_length, theirs)
    if "enum" in theirs:
        assert set(col.choices) == set(theirs["enum"]), (where, col.choices, theirs["enum"])
    if "maximum" in theirs:
        assert col.maximum == theirs["maximum"]
    if "exclusiveMinimum" in theirs:
        assert (col.minimum, col.exclusive_minimum) == (theirs["exclusiveMinimum"], True)


def test_every_column_sent_with_a_limit_is_mapped():
    """A new column with a maximum length must say which field of the document it is sent as."""
    limited = {(s.name, c.name) for s in spec.SHEETS for c in s.columns if c.max_length is not None}
    unmapped = (
        limited
        - set(SENT_AS)
        - {(s.name, "ref") for s in spec.SHEETS}  # refs are the workbook's own names, never sent
        - {("project", "supplier_reference_prefix")}  # a part of derived references, each held to 100
    )
    assert not unmapped, unmapped


# -- the sandbox follows each difference of the change list -------------------------------------------------------
@pytest.fixture()
def api(sandbox):
    headers = {"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"}
    with httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=30) as client:
        yield client


def test_change_no_post_feedstock_types(api):
    assert "post" not in document()["paths"]["/feedstock_types"]
    response = api.post("/feedstock_types", json={"name": "N", "supplier_reference_id": "n"})
    assert response.status_code == 405


def test_change_source_description(api):
    body = {
        "__typename": "CreateDocumentSourceRequest",
        "supplier_reference_id": "desc-src",
        "display_name": "D",
        "published_at": "2026-10-31",
        "file_name": "a.txt",
        "content_type": "text/plain",
        "content_length": 5,
        "project_id": PROJECT,
        "description": "weighbridge tickets",
    }
    assert not errors_of(request_schema("POST", "/sources"), body)
    made = api.post("/sources", json=body).json()["source"]
    assert api.get(f"/sources/{made['id']}").json()["description"] == "weighbridge tickets"
    assert api.patch(f"/sources/{made['id']}", json={"description": "scans"}).json()["description"] == "scans"
    assert api.patch(f"/sources/{made['id']}", json={"display_name": "E"}).json()["description"] == "scans"
    assert api.patch(f"/sources/{made['id']}", json={"description": None}).json()["description"] is None
    without = api.post("/sources", json={**body, "supplier_reference_id": "desc-2", "description": None}).json()
    assert without["source"]["description"] is None


def test_change_datapoint_description_at_most_500(api):
    ok = datapoint(api, "d500")
    assert ok["description"]
    base = {
        "supplier_reference_id": "d501",
        "display_name": "N",
        "type": "REPORTED",
        "quantity": {"magnitude": 1, "unit": "t"},
        "source_ids": [],
        "project_id": PROJECT,
    }
    assert api.post("/datapoints", json={**base, "description": "x" * 500}).status_code == 200
    refused = api.post("/datapoints", json={**base, "supplier_reference_id": "d502", "description": "x" * 501})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "description"]


def test_change_report_url_at_most_2048(api):
    assert api.post("/ghg_entries", json=production_entry_body(api, "url-entry")).status_code == 200
    statement = api.post("/ghg_statements", json={"project_id": PROJECT, "end_on": "2026-10-31"}).json()
    for length, status in ((2049, 422), (2048, 200)):
        url = "https://r.example.org/" + "u" * (length - 22)
        response = api.post(f"/ghg_statements/{statement['id']}/submit", json={"ghg_statement_report_url": url})
        assert response.status_code == status, response.text
        if status == 422:
            assert response.json()["detail"][0]["loc"] == ["body", "ghg_statement_report_url"]


def test_change_ghg_entry_template_required_and_deprecated_fields_gone(api):
    body = production_entry_body(api, "tmpl-req")
    for without in (
        {k: v for k, v in body.items() if k != "ghg_entry_template_id"},
        {**body, "ghg_entry_template_id": None},
    ):
        assert errors_of(request_schema("POST", "/ghg_entries"), without)
        refused = api.post("/ghg_entries", json=without)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"] == ["body", "ghg_entry_template_id"]
    # process_key and steps are not fields of CreateGhgEntryRequest any more: ignored, like any unknown field
    assert "process_key" not in document()["components"]["schemas"]["CreateGhgEntryRequest"]["properties"]
    made = api.post("/ghg_entries", json={**body, "process_key": "biochar", "steps": [{"x": 1}]})
    assert made.status_code == 200 and "process_key" not in made.json()


def test_change_patch_ghg_entry_dates_not_nullable_and_no_component_fields(api):
    entry = api.post("/ghg_entries", json=production_entry_body(api, "patch-dates")).json()
    for field in ("started_on", "completed_on"):
        refused = api.patch(f"/ghg_entries/{entry['id']}", json={field: None})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][:2] == ["body", field]
    before = api.get(f"/ghg_entries/{entry['id']}/component_attributions").json()["total_count"]
    # add_components / delete_component_ids are gone from PatchGhgEntryRequest: not acted on
    ignored = api.patch(
        f"/ghg_entries/{entry['id']}",
        json={"delete_component_ids": [entry["id"]], "add_components": [{"component_id": "x"}]},
    )
    assert ignored.status_code == 200, ignored.text
    assert api.get(f"/ghg_entries/{entry['id']}/component_attributions").json()["total_count"] == before


def test_change_component_types(api):
    allowed = set(document()["components"]["schemas"]["ComponentType"]["enum"])
    assert "COUNTERFACTUAL" in allowed and "REDUCTION" in allowed and "REMOVAL_COUNTERFACTUAL" not in allowed
    types = {b["type"] for b in api.get("/component_blueprints", params={"first": 50}).json()["nodes"]}
    assert types <= allowed and "COUNTERFACTUAL" in types


def test_change_entries_and_statements_carry_credit_allocation(api):
    entry = api.post("/ghg_entries", json=production_entry_body(api, "alloc")).json()
    assert {"credit_allocation", "risk_of_reversal_percentage", "credit_type"} <= set(entry)
    statement = api.post("/ghg_statements", json={"project_id": PROJECT, "end_on": "2026-10-31"}).json()
    assert "credit_allocation" in statement


def test_change_datapoints_filter_by_ghg_entry_and_template(api):
    """`used_in_ghg_entry` and `used_in_ghg_entry_template` (new names; the removal ones deprecated) filter alike,
    and an ID outside the 20-37 characters is refused."""
    entry = api.post("/ghg_entries", json=production_entry_body(api, "used-in")).json()
    by_new = api.get("/datapoints", params={"used_in_ghg_entry": entry["id"], "first": 50}).json()["nodes"]
    by_old = api.get("/datapoints", params={"used_in_removal": entry["id"], "first": 50}).json()["nodes"]
    assert by_new and {d["id"] for d in by_new} == {d["id"] for d in by_old}
    template = api.get("/datapoints", params={"used_in_ghg_entry_template": "rvt_1SBXPRODBATCH001"}).json()
    assert template["total_count"] >= 1 and all(d["locked_status"] != "not_locked" for d in template["nodes"])
    assert api.get("/datapoints", params={"used_in_ghg_entry": "0" * 38}).status_code == 422
