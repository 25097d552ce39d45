"""Every request the importer sends over a whole journey (first run, update runs, plan, rollback, submit) is
held against the published document by `request_contract.ContractMiddleware` around the sandbox; any
violation fails the test and is printed with the operations seen. Guard tests prove the check does flag what
production would refuse or silently drop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openpyxl
import pytest
from request_contract import RequestContract, checked_sandbox

from e2e_helpers import cli_env, copy_samples, run_cli

PROJECT = "prj_1SBXBIOCHAR00001"
HEADERS = {"x-client-secret": "s", "authorization": "Bearer t", "content-type": "application/json"}


@pytest.fixture()
def contract_sandbox(tmp_path: Path) -> Iterator[object]:
    """A fresh local sandbox whose every request goes through the contract check (`.contract`)."""
    with checked_sandbox(tmp_path / "sandbox.sqlite3") as server:
        yield server


def _check(method: str, path: str, body: object = None, query: list[tuple[str, str]] | None = None) -> list[str]:
    raw = json.dumps(body).encode() if body is not None else None
    return RequestContract().check(method, "/mrv/v0" + path, query=query, headers=HEADERS, body=raw)


# -- the check itself ---------------------------------------------------------------------------------------

SOURCE = {
    "__typename": "CreateDocumentSourceRequest",
    "supplier_reference_id": "s-1",
    "display_name": "Ticket",
    "published_at": "2026-10-31",
    "file_name": "t.pdf",
    "content_type": "application/pdf",
    "content_length": 10,
    "project_id": PROJECT,
    "is_public": False,
}


def test_the_check_accepts_a_request_the_document_declares():
    assert _check("POST", "/sources", SOURCE) == []
    assert _check("GET", "/components", query=[("ghg_entry_id", "rmv_1AAAAAAAAAAAAAAAAA"), ("first", "50")]) == []
    assert _check("PATCH", "/ghg_entries/rmv_1AAAAAAAAAAAAAAAAA", {"feedstock_type_id": "ftt_1AAAAAAAAAAAAAAAAA"}) == []


def test_the_check_flags_an_undeclared_body_field():
    assert _check("POST", "/sources", {**SOURCE, "description": "scanned tickets"}) == []  # declared since July
    problems = _check("POST", "/sources", {**SOURCE, "notes": "scanned tickets"})
    assert any("notes" in p and "not allowed" in p for p in problems), problems
    problems = _check(
        "POST",
        "/ghg_entries",
        {
            "supplier_reference_id": "e",
            "project_id": PROJECT,
            "started_on": "2026-10-01",
            "completed_on": "2026-10-31",
            "ghg_entry_template_id": "rvt_1AAAAAAAAAAAAAAAAA",
            "process_key": "x",
        },
    )
    assert any("process_key" in p for p in problems), problems  # gone from the live CreateGhgEntryRequest


def test_the_check_flags_an_operation_the_live_document_lacks():
    problems = _check("POST", "/feedstock_types", {"name": "Sawdust", "supplier_reference_id": "f"})
    assert any("method not declared" in p for p in problems), problems


def test_the_check_flags_a_null_where_the_document_allows_none():
    problems = _check("PATCH", "/ghg_entries/rmv_1AAAAAAAAAAAAAAAAA", {"feedstock_type_id": None})
    assert any(p.startswith("body feedstock_type_id") for p in problems), problems
    problems = _check("PATCH", "/datapoints/dtp_1AAAAAAAAAAAAAAAAA", {"description": None})
    assert any(p.startswith("body description") for p in problems), problems


def test_the_check_flags_paths_methods_queries_and_nested_fields():
    assert _check("GET", "/nowhere")
    assert any("method not declared" in p for p in _check("PUT", "/datapoints/dtp_1AAAAAAAAAAAAAAAAA", {}))
    deprecated_query = [("removal_id", "rmv_1AAAAAAAAAAAAAAAAA")]
    assert any("'removal_id'" in p for p in _check("GET", "/components", query=deprecated_query))
    assert any("'colour'" in p for p in _check("GET", "/sources", query=[("colour", "red")]))
    assert any("first" in p for p in _check("GET", "/sources", query=[("first", "500")]))
    assert any("deprecated" in p for p in _check("GET", "/removals"))
    assert any("path id" in p for p in _check("GET", "/sources/short"))
    scalar = {
        "__typename": "CreateComponentScalarInput",
        "input_key": "mass",
        "datapoint_id": "dtp_1AAAAAAAAAAAAAAAAA",
        "unit": "t",
    }
    entry = {
        "supplier_reference_id": "e",
        "project_id": PROJECT,
        "started_on": "2026-10-01",
        "completed_on": "2026-10-31",
        "ghg_entry_template_id": "rvt_1AAAAAAAAAAAAAAAAA",
        "ghg_entry_template_components": [
            {"ghg_entry_template_component_id": "rtc_1AAAAAAAAAAAAAAAAA", "inputs": [scalar]}
        ],
    }
    assert _check("POST", "/ghg_entries", entry)  # an undeclared field two levels down
    assert any("date" in p for p in _check("POST", "/ghg_statements", {"project_id": PROJECT, "end_on": "31/10/2026"}))
    no_token = RequestContract().check("GET", "/mrv/v0/projects", headers={"x-client-secret": "s"})
    assert any("no Bearer" in p for p in no_token)


def test_signed_upload_puts_are_skipped_explicitly():
    contract = RequestContract()
    assert contract.check("PUT", "/_storage/upload/abc", headers={}, body=b"%PDF") == []
    assert contract.skipped and not contract.seen and not contract.violations
    assert contract.check("PUT", "/elsewhere/abc", headers={}, body=b"x")


def test_the_middleware_sees_requests_over_http(contract_sandbox):
    """Wired in: a request with an undeclared field, sent over loopback, is recorded as a violation."""
    s = contract_sandbox
    headers = {"X-Client-Secret": s.client_secret, "Authorization": f"Bearer {s.access_token}"}
    with httpx.Client(base_url=s.base_url, headers=headers) as http:
        http.get("/projects", params={"first": 50})
        http.post("/sources", json={**SOURCE, "notes": "not in the document"})
    assert s.contract.seen["GET /projects"] == 1 and s.contract.seen["POST /sources"] == 1
    assert len(s.contract.violations) == 1 and "notes" in s.contract.violations[0]


# -- the importer's requests over a whole journey ----------------------------------------------------------


def _rows(book: openpyxl.Workbook, sheet: str) -> tuple[list[str], list[tuple]]:
    ws = book[sheet]
    headers = [c.value for c in ws[1]]
    return headers, [r for r in ws.iter_rows(min_row=2) if r[0].value is not None]


def _set(workbook: Path, sheet: str, match: dict[str, object], **values: object) -> None:
    book = openpyxl.load_workbook(workbook)
    headers, rows = _rows(book, sheet)
    hits = [r for r in rows if all(r[headers.index(k)].value == v for k, v in match.items())]
    assert len(hits) == 1, (sheet, match, len(hits))
    for column, value in values.items():
        hits[0][headers.index(column)].value = value
    book.save(workbook)


def _append(workbook: Path, sheet: str, **values: object) -> None:
    book = openpyxl.load_workbook(workbook)
    headers = [c.value for c in book[sheet][1]]
    book[sheet].append([values.get(h) for h in headers])
    book.save(workbook)


def _project(workbook: Path, key: str, value: object) -> None:
    book = openpyxl.load_workbook(workbook)
    ws = book["project"]
    for row in ws.iter_rows(min_row=1):
        if str(row[0].value).strip() == key:
            ws.cell(row=row[0].row, column=2, value=value)
            break
    else:
        ws.append([key, value])
    book.save(workbook)


def _run(args: list[str], env: dict[str, str], *, code: int = 0) -> dict:
    result = run_cli([*args, "--json", "--quiet"] if args[0] in ("run", "plan") else args, env)
    assert result.code == code, result.stdout + result.stderr
    return result.json() if args[0] in ("run", "plan") else {}


def _status(data: dict, kind: str, ref: str) -> dict:
    return next(o for o in data["objects"] if o["kind"] == kind and o["ref"] == ref)


def test_every_request_of_a_whole_journey_fits_the_document(contract_sandbox, tmp_path):
    s = contract_sandbox
    workbook = copy_samples(tmp_path)
    env = cli_env(s, tmp_path / "home")

    # a first run of the sample, then a no-op plan
    first = _run(["run", str(workbook)], env)
    assert first["ok"] is True
    plan = _run(["plan", str(workbook)], env)
    assert {o["status"] for o in plan["objects"]} == {"unchanged"}

    # a changed datapoint value
    _set(workbook, "datapoints", {"ref": "feedstock-haul-km"}, magnitude=52)
    assert _status(_run(["run", str(workbook)], env), "datapoint", "feedstock-haul-km")["status"] == "updated"

    # a cleared feedstock type: refused by the plan, nothing sent for the entry
    _set(workbook, "entries", {"ref": "batch-2026-10-a"}, feedstock_type=None)
    cleared = _run(["run", str(workbook)], env, code=1)
    entry = _status(cleared, "ghg_entry", "batch-2026-10-a")
    assert entry["status"] == "conflict" and "cannot clear" in entry["error"]
    _set(workbook, "entries", {"ref": "batch-2026-10-a"}, feedstock_type="sawmill-offcuts")

    # re-bound inputs: a scalar to another datapoint, a list shrunk then extended
    _set(
        workbook,
        "entry_inputs",
        {"entry_ref": "batch-2026-10-a", "input_key": "mass"},
        datapoint_refs="feedstock-dry-t",
    )
    _set(
        workbook,
        "entry_inputs",
        {"entry_ref": "batch-2026-10-a", "input_key": "electricity_used"},
        datapoint_refs="kwh-period-1, kwh-period-2",
    )
    assert _status(_run(["run", str(workbook)], env), "ghg_entry", "batch-2026-10-a")["status"] == "updated"
    _set(
        workbook,
        "entry_inputs",
        {"entry_ref": "batch-2026-10-a", "input_key": "electricity_used"},
        datapoint_refs="kwh-period-1, kwh-period-2, kwh-period-3",
    )
    assert _status(_run(["run", str(workbook)], env), "ghg_entry", "batch-2026-10-a")["status"] == "updated"

    # a changed source, feedstock type and extra component (PATCHes of each kind)
    _set(
        workbook,
        "sources",
        {"ref": "weighbridge"},
        display_name="Weighbridge tickets Oct 2026 (rescanned)",
        description="Rescanned at 600 dpi",
    )
    # a rename is given beside the type's ID (by name alone, the new name would match nothing)
    _set(
        workbook,
        "feedstock_types",
        {"ref": "sawmill-offcuts"},
        name="Sawmill offcuts (spruce)",
        feedstock_type_id="ftt_1SBXSAWMILLOFF01",
    )
    _set(workbook, "components", {"ref": "site-generator-2026-10"}, description=None, display_name="Generator")
    _set(workbook, "entries", {"ref": "application-2026-10"}, started_on="2026-10-17")
    updated = _run(["run", str(workbook)], env)
    assert _status(updated, "source", "weighbridge")["status"] == "updated"
    assert _status(updated, "feedstock_type", "sawmill-offcuts")["status"] == "updated"
    assert _status(updated, "component", "site-generator-2026-10")["status"] == "updated"
    assert _status(updated, "ghg_entry", "application-2026-10")["status"] == "updated"

    # a removed template component
    _append(
        workbook,
        "components",
        ref="no-decay",
        entry_ref="application-2026-10",
        action="remove",
        template_component="Spreader fuel",
    )
    removed = _run(["run", str(workbook)], env)
    assert _status(removed, "component_attribution", "no-decay")["status"] == "updated"

    # a plan, then a rollback of the first run
    _run(["plan", str(workbook)], env)
    history = run_cli(["history", "--json"], env)
    assert history.code == 0, history.stderr
    assert first["run_id"] in {r["run_id"] for r in json.loads(history.stdout)}
    rolled = run_cli(["rollback", first["run_id"], "--yes"], env)
    # a datapoint still used by the detached template component (and its sources) cannot go: exit 1 is fair;
    # what matters here is that every DELETE fits the document
    assert rolled.code in (0, 1) and "deleted" in rolled.stdout, rolled.stdout + rolled.stderr
    assert not [e for e in s.store.list("ghg_entry") if not str(e.get("supplier_reference_id")).startswith("seed")]

    # the whole workbook again, then submitted
    _project(workbook, "ghg_statement_report_url", "https://example.org/reports/2026-10.pdf")
    again = _run(["run", str(workbook)], env)
    assert again["ok"] is True
    submitted = _run(["run", str(workbook), "--submit"], env)
    assert submitted["statement"]["status"] == "AWAITING_VERIFICATION"

    print("\n" + s.contract.summary())
    s.contract.assert_clean()
    for operation in (
        "POST /sources",
        "POST /sources/{id}/signed_upload_url",
        "PATCH /sources/{id}",
        "PATCH /datapoints/{id}",
        "PATCH /feedstock_types/{id}",
        "PATCH /components/{id}",
        "PATCH /ghg_entries/{id}",
        "PATCH /ghg_entries/{id}/component_attributions",
        "DELETE /ghg_entries/{id}",
        "POST /ghg_statements/{id}/submit",
        "GET /ghg_statements/{id}",
    ):
        assert s.contract.seen[operation], (operation, s.contract.summary())
    assert s.contract.skipped
