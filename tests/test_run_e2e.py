"""End-to-end: the real CLI as a subprocess against the local sandbox over HTTP on loopback (issue #4)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from request_contract import checked_sandbox

from e2e_helpers import api_get, api_nodes, assert_exactly, cli_env, copy_samples, expected_references, run_cli

pytestmark = pytest.mark.slow
PROJECT = "prj_1SBXBIOCHAR00001"


@pytest.fixture()
def sandbox(tmp_path: Path) -> Iterator[Any]:
    """The local sandbox with every request checked against the published document: a test whose importer
    sends anything the document does not declare fails (listing the violations and the operations seen)."""
    with checked_sandbox(tmp_path / "sandbox.sqlite3") as server:
        yield server
        server.contract.assert_clean()


@pytest.fixture()
def workbook(tmp_path: Path) -> Path:
    return copy_samples(tmp_path)


def _set_cell(workbook: Path, sheet: str, ref: str, column: str, value: object) -> None:
    """Change one cell of the row whose `ref` (first column) is `ref`."""
    book = openpyxl.load_workbook(workbook)
    ws = book[sheet]
    headers = [c.value for c in ws[1]]
    col = headers.index(column) + 1
    for row in ws.iter_rows(min_row=2):
        if row[0].value == ref:
            ws.cell(row=row[0].row, column=col).value = value  # cell(value=None) would leave the cell as it was
            break
    else:
        raise AssertionError(f"no row {ref!r} in {sheet}")
    book.save(workbook)


def _project_value(workbook: Path, key: str, value: object) -> None:
    book = openpyxl.load_workbook(workbook)
    ws = book["project"]
    for row in ws.iter_rows(min_row=1):
        if str(row[0].value).strip() == key:
            ws.cell(row=row[0].row, column=2, value=value)
            break
    else:
        ws.append([key, value])
    book.save(workbook)


def test_full_import_creates_exactly_the_workbook_and_a_rerun_creates_nothing(sandbox, workbook, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    first = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    data = first.json()
    assert data["ok"] is True
    assert data["api"]["url"] == sandbox.base_url and data["api"]["embedded_sandbox"] is False
    expected = expected_references(workbook)
    for kind, srids in expected.items():
        assert data["counts"][kind]["created"] == len(srids), kind
    assert_exactly(sandbox, workbook)
    statements = [s for s in sandbox.store.list("ghg_statement") if s["project_id"] == "prj_1SBXBIOCHAR00001"]
    assert len(statements) == 1 and statements[0]["status"] == "DRAFT"
    assert data["statement"]["id"] == statements[0]["id"]
    # every uploaded file is byte-identical to the evidence on disk
    for obj in data["objects"]:
        if obj["kind"] == "source":
            assert sandbox.store.stored_file_sha256(obj["id"]) is not None

    second = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert second.code == 0, second.stdout + second.stderr
    again = second.json()
    statuses = {o["status"] for o in again["objects"]}
    assert statuses == {"unchanged"}, [o for o in again["objects"] if o["status"] != "unchanged"]
    assert_exactly(sandbox, workbook)


def test_changed_datapoint_value_is_patched_not_duplicated(sandbox, workbook, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    book = openpyxl.load_workbook(workbook, read_only=True)
    ws = book["datapoints"]
    headers = [c.value for c in next(ws.iter_rows(max_row=1))]
    first_row = next(ws.iter_rows(min_row=2, max_row=2, values_only=True))
    ref, old = first_row[0], first_row[headers.index("magnitude")]
    book.close()
    new_value = float(old) * 1.5 + 1
    _set_cell(workbook, "datapoints", ref, "magnitude", new_value)

    plan = run_cli(["plan", str(workbook), "--json", "--quiet"], env)
    assert plan.code == 0, plan.stdout + plan.stderr
    planned = {(o["kind"], o["ref"]): o["status"] for o in plan.json()["objects"]}
    assert planned[("datapoint", ref)] == "update"

    result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert result.code == 0, result.stdout + result.stderr
    outcome = next(o for o in result.json()["objects"] if o["kind"] == "datapoint" and o["ref"] == ref)
    assert outcome["status"] == "updated"
    held = next(d for d in sandbox.store.list("datapoint") if d["id"] == outcome["id"])
    assert held["quantity"]["magnitude"] == pytest.approx(new_value)
    assert_exactly(sandbox, workbook)


def test_server_side_error_blocks_only_dependants(sandbox, workbook, tmp_path):
    """A datapoint citing a well-formed but unknown source ID passes offline validation, fails on the server,
    and blocks exactly the entry (and statement) that use it; independent rows still go through."""
    env = cli_env(sandbox, tmp_path / "home")
    book = openpyxl.load_workbook(workbook)
    inputs = book["entry_inputs"]
    headers = [c.value for c in inputs[1]]
    entry_col, refs_col = headers.index("entry_ref"), headers.index("datapoint_refs")
    rows = [r for r in inputs.iter_rows(min_row=2, values_only=True) if r[0]]
    victim_entry, victim_dp = rows[0][entry_col], str(rows[0][refs_col]).split(",")[0].strip()
    book.close()
    _set_cell(workbook, "datapoints", victim_dp, "source_refs", "src_0000000000000000NOPE")

    result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert result.code == 1, result.stdout + result.stderr
    objects = result.json()["objects"]
    by_key = {(o["kind"], o["ref"]): o for o in objects}
    failed = by_key[("datapoint", victim_dp)]
    assert failed["status"] == "failed" and failed["error"]
    assert by_key[("ghg_entry", victim_entry)]["status"] == "blocked"
    others = [o for o in objects if o["kind"] == "datapoint" and o["ref"] != victim_dp]
    assert others and all(o["status"] == "created" for o in others)
    assert all(o["status"] == "created" for o in objects if o["kind"] == "source")
    other_entries = [o for o in objects if o["kind"] == "ghg_entry" and o["ref"] != victim_entry]
    assert all(o["status"] == "created" for o in other_entries)
    report = Path(result.json()["report"])
    csv_files = list(report.parent.glob("*-failed.csv"))
    assert csv_files and victim_dp in csv_files[0].read_text()


def test_statement_is_created_and_submitted_and_report_carries_api_figures(sandbox, workbook, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    _project_value(workbook, "ghg_statement_report_url", "https://example.org/reports/2026-10.pdf")
    report_path = tmp_path / "report.html"
    result = run_cli(["run", str(workbook), "--submit", "--json", "--quiet", "--report", str(report_path)], env)
    assert result.code == 0, result.stdout + result.stderr
    data = result.json()
    statement = data["statement"]
    assert statement["status"] == "AWAITING_VERIFICATION"
    held = next(s for s in sandbox.store.list("ghg_statement") if s["id"] == statement["id"])
    assert held["status"] == "AWAITING_VERIFICATION"
    entry_ids = {o["id"] for o in data["objects"] if o["kind"] == "ghg_entry"}
    assert entry_ids <= set(held["ghg_entry_ids"])
    html = report_path.read_text()
    for entry in sandbox.store.list("ghg_entry"):
        if entry["id"] in entry_ids:
            assert entry["id"] in html
            figure = f"{entry['co2e_net_removed_kg']:,.1f}"
            assert figure in html, f"CO2e {figure} of {entry['id']} not in the report"
    # submitted: a second run with a changed value is a conflict, never a silent change
    book = openpyxl.load_workbook(workbook, read_only=True)
    first_entry = next(book["entries"].iter_rows(min_row=2, max_row=2, values_only=True))
    book.close()
    _set_cell(workbook, "entries", first_entry[0], "completed_on", "2026-10-14")
    again = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert again.code == 1
    entry = next(o for o in again.json()["objects"] if o["kind"] == "ghg_entry" and o["ref"] == first_entry[0])
    assert entry["status"] == "conflict"


def test_lost_responses_never_duplicate(sandbox, workbook, tmp_path):
    from importer.sandbox import FaultConfig

    sandbox.set_faults(FaultConfig(seed=7, rate_lost_response=0.3))
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    sandbox.set_faults(FaultConfig())
    assert result.code == 0, result.stdout + result.stderr
    assert_exactly(sandbox, workbook)


def test_no_secret_in_any_output(sandbox, workbook, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    report = tmp_path / "r.html"
    outputs = []
    for args in (
        ["run", str(workbook), "--json", "--report", str(report)],
        ["plan", str(workbook)],
        ["run", str(workbook), "--api-url", sandbox.base_url + "/nope"],
    ):
        result = run_cli(args, env)
        outputs += [result.stdout, result.stderr]
    outputs.append(report.read_text())
    outputs += [
        p.read_text(errors="replace")
        for p in (tmp_path / "home").rglob("*")
        if p.is_file() and p.suffix in (".json", ".csv", ".html", ".log")
    ]
    for text in outputs:
        assert sandbox.client_secret not in text
        assert sandbox.access_token not in text
    # the third run's API URL is wrong on purpose: its requests are outside the document by design
    sandbox.contract.violations[:] = [v for v in sandbox.contract.violations if " /mrv/v0/nope/" not in v]


def test_validation_errors_send_nothing(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    broken = Path(__file__).resolve().parent.parent / "sample_workbooks" / "biochar-2026-10-broken.xlsx"
    before = {k: len(sandbox.store.list(k)) for k in ("source", "datapoint", "ghg_entry")}
    result = run_cli(["run", str(broken), "--json"], env)
    assert result.code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert {k: len(sandbox.store.list(k)) for k in ("source", "datapoint", "ghg_entry")} == before


# -- re-bound monitored inputs, read back over HTTP ---------------------------------------------------------


def _rows(workbook: Path, sheet: str) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(workbook, read_only=True)
    rows = list(book[sheet].iter_rows(values_only=True))
    book.close()
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:] if r[0] is not None]


def _set_input(workbook: Path, entry_ref: str, input_key: str, refs: list[str]) -> None:
    book = openpyxl.load_workbook(workbook)
    ws = book["entry_inputs"]
    headers = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[headers.index("entry_ref")].value == entry_ref and row[headers.index("input_key")].value == input_key:
            row[headers.index("datapoint_refs")].value = ", ".join(refs)
            break
    else:
        raise AssertionError(f"no input {input_key} of {entry_ref}")
    book.save(workbook)


def _expected_inputs(workbook: Path, entry_ref: str) -> dict[str, dict[str, list[str]]]:
    """template component name -> input key -> datapoint display names, as the workbook now says."""
    names = {r["ref"]: r["display_name"] for r in _rows(workbook, "datapoints")}
    out: dict[str, dict[str, list[str]]] = {}
    for r in _rows(workbook, "entry_inputs"):
        if r["entry_ref"] == entry_ref:
            refs = [x.strip() for x in str(r["datapoint_refs"]).split(",")]
            out.setdefault(r["template_component"], {})[r["input_key"]] = [names[x] for x in refs]
    return out


def _assert_server_inputs(sandbox: Any, workbook: Path, entry_ref: str) -> None:
    """GET the entry's components over HTTP and compare each monitored input's datapoint IDs with the IDs of
    the datapoints the workbook names (found by display name, over HTTP)."""
    entries = {r["ref"]: r for r in _rows(workbook, "entries")}
    row = entries[entry_ref]
    entry = next(
        e
        for e in api_nodes(sandbox, "/ghg_entries")
        if e["started_on"] == row["started_on"].date().isoformat()
        and e["completed_on"] == row["completed_on"].date().isoformat()
    )
    template = next(
        t
        for t in api_nodes(sandbox, f"/projects/{PROJECT}/ghg_entry_templates")
        if t["display_name"] == row["template"]
    )
    rtc = {c["display_name"]: c["id"] for g in template["groups"] for c in g["components"]}
    by_name: dict[str, list[str]] = {}
    for dp in api_nodes(sandbox, "/datapoints", project_id=PROJECT):
        by_name.setdefault(dp["display_name"], []).append(dp["id"])
    components = api_nodes(sandbox, "/components", ghg_entry_id=entry["id"])
    for comp_name, inputs in _expected_inputs(workbook, entry_ref).items():
        comp = next(c for c in components if c["removal_template_component_id"] == rtc[comp_name])
        held = {i["input_key"]: i.get("datapoint_ids") or [i["datapoint_id"]] for i in comp["inputs"]}
        for key, display_names in inputs.items():
            wanted = []
            for name in display_names:
                assert len(by_name[name]) == 1, f"{name!r} names {by_name[name]}"
                wanted += by_name[name]
            assert sorted(held[key]) == sorted(wanted), (comp_name, key, held[key], display_names)


def test_rebound_inputs_are_patched_and_read_back(sandbox, workbook, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    entry = "batch-2026-10-a"
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    _assert_server_inputs(sandbox, workbook, entry)

    def run_and_check(what: str) -> dict:
        result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
        assert result.code == 0, what + "\n" + result.stdout + result.stderr
        data = result.json()
        outcome = next(o for o in data["objects"] if o["kind"] == "ghg_entry" and o["ref"] == entry)
        assert outcome["status"] == "updated", (what, outcome)
        _assert_server_inputs(sandbox, workbook, entry)
        again = run_cli(["plan", str(workbook), "--json", "--quiet"], env)
        held = next(o for o in again.json()["objects"] if o["kind"] == "ghg_entry" and o["ref"] == entry)
        assert held["status"] == "unchanged", (what, held)  # the server now holds what the workbook says
        return data

    # a scalar input re-bound to another datapoint
    _set_input(workbook, entry, "mass", ["feedstock-dry-t"])
    run_and_check("scalar re-bound")
    # a list input shrunk
    _set_input(workbook, entry, "electricity_used", ["kwh-period-1", "kwh-period-3"])
    run_and_check("list shrunk")
    # a list input extended, with a datapoint new to the workbook
    book = openpyxl.load_workbook(workbook)
    book["datapoints"].append(
        [
            "kwh-period-4",
            "Pyrolysis electricity 16-20 Oct",
            "Sub-meter PYRO-A",
            "REPORTED",
            1250,
            "kWh",
            None,
            None,
            "meter-readings",
            None,
            None,
        ]
    )
    book.save(workbook)
    _set_input(workbook, entry, "electricity_used", ["kwh-period-1", "kwh-period-2", "kwh-period-3", "kwh-period-4"])
    run_and_check("list extended")
    # an input pointed at a renamed datapoint (a new ref and display name: a new datapoint on the server)
    book = openpyxl.load_workbook(workbook)
    ws = book["datapoints"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "biochar-mass-t":
            row[0].value, row[1].value = "biochar-mass-reweighed-t", "Biochar produced (dry, reweighed)"
    book.save(workbook)
    _set_input(workbook, entry, "biochar_mass", ["biochar-mass-reweighed-t"])
    data = run_and_check("renamed datapoint")
    # the figures reported are the server's after the last write
    held = api_get(sandbox, f"/ghg_statements/{data['statement']['id']}")["pending_total_co2e_removed_kg"]
    assert data["statement"]["pending_total_co2e_removed_kg"] == pytest.approx(held)
    server_entry = next(e for e in api_nodes(sandbox, "/ghg_entries") if e["id"] == data["lineage"][0]["id"])
    assert data["lineage"][0]["co2e_net_removed_kg"] == pytest.approx(server_entry["co2e_net_removed_kg"])


# -- figures, feedstock types, uploads -------------------------------------------------------------------


def test_reported_statement_total_is_read_after_the_last_write(sandbox, workbook, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    first = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    before = first.json()["statement"]["pending_total_co2e_removed_kg"]
    _set_cell(workbook, "datapoints", "biochar-mass-t", "magnitude", 6.5)
    result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert result.code == 0, result.stdout + result.stderr
    data = result.json()
    held = api_get(sandbox, f"/ghg_statements/{data['statement']['id']}")["pending_total_co2e_removed_kg"]
    assert held != pytest.approx(before)  # the change moved the total...
    assert data["statement"]["pending_total_co2e_removed_kg"] == pytest.approx(held)  # ...and the report says so
    assert data["source_descriptions"]["weighbridge"] == "Scanned weighbridge tickets of feedstock and biochar"


def test_a_cleared_feedstock_type_is_a_planned_conflict_and_nothing_is_sent(sandbox, workbook, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    held = {e["id"]: e["feedstock_type_id"] for e in api_nodes(sandbox, "/ghg_entries")}
    assert any(held.values())
    _set_cell(workbook, "entries", "batch-2026-10-a", "feedstock_type", None)
    plan = run_cli(["plan", str(workbook), "--json", "--quiet"], env)
    entry = next(o for o in plan.json()["objects"] if o["kind"] == "ghg_entry" and o["ref"] == "batch-2026-10-a")
    assert entry["status"] == "conflict"
    assert "cannot clear a GHG entry's feedstock type" in entry["error"] and "new ref" in entry["error"]
    patches = sandbox.contract.seen["PATCH /ghg_entries/{id}"]
    result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert result.code == 1
    assert sandbox.contract.seen["PATCH /ghg_entries/{id}"] == patches  # nothing sent for the entry
    assert {e["id"]: e["feedstock_type_id"] for e in api_nodes(sandbox, "/ghg_entries")} == held


def _accessible(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("__typename") == "SourcePrivateUrlInfo":
            return {**node, "is_accessible": True}
        return {k: _accessible(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_accessible(v) for v in node]
    return node


class _RefuseUploads:
    """Object storage refusing every signed URL (as S3 does an expired one) while `refusing` is set; and
    sources described as the document defines `url_info.is_accessible` (a private source visible to the caller:
    true for one's own, uploaded or not), whatever the sandbox says."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.refusing = True

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.refusing and scope["path"].startswith("/_storage/upload/"):
            await send(
                {"type": "http.response.start", "status": 403, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": b'{"detail": "AccessDenied: Request has expired"}'})
            return
        if scope["type"] != "http" or not scope["path"].startswith("/mrv/v0/sources"):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            with contextlib.suppress(ValueError):
                body = json.dumps(_accessible(json.loads(body))).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def test_an_interrupted_upload_is_resumed_from_the_signed_url_answer_alone(workbook, tmp_path):
    """Sources created but never uploaded are found again; whether their file is there is decided only by a
    fresh signed-URL request (a URL: PUT it, then a 409 confirms), never by `url_info.is_accessible`."""
    storage: list[_RefuseUploads] = []

    def refusing(app: Any) -> Any:
        storage.append(_RefuseUploads(app))
        return storage[0]

    with checked_sandbox(tmp_path / "sandbox.sqlite3", inner=refusing) as sandbox:
        env = cli_env(sandbox, tmp_path / "home")
        first = run_cli(["run", str(workbook), "--json", "--quiet"], env)
        assert first.code == 1
        sources = [o for o in first.json()["objects"] if o["kind"] == "source"]
        assert sources and all(o["status"] == "failed" and o["id"] for o in sources)
        assert all(sandbox.store.stored_file_sha256(o["id"]) is None for o in sources)
        assert all(src["url_info"]["is_accessible"] for src in api_nodes(sandbox, "/sources", project_id=PROJECT))
        # a datapoint needs its source's ID, not its document: they landed; the statement waits for every
        # document and is blocked by the first that failed (nothing submitted with evidence missing)
        objects = first.json()["objects"]
        assert {o["status"] for o in objects if o["kind"] == "datapoint"} == {"created"}
        statement = next(o for o in objects if o["kind"] == "ghg_statement")
        assert statement["status"] == "blocked" and statement["blocked_by"].startswith("sources row")
        assert api_nodes(sandbox, "/ghg_statements") == []

        storage[0].refusing = False
        second = run_cli(["run", str(workbook), "--json", "--quiet"], env)
        assert second.code == 0, second.stdout + second.stderr
        resumed = {o["ref"]: o for o in second.json()["objects"] if o["kind"] == "source"}
        assert {o["status"] for o in resumed.values()} == {"updated"}
        for o in resumed.values():
            assert o["id"] == next(s["id"] for s in sources if s["ref"] == o["ref"])  # the same source, not a new one
            assert sandbox.store.stored_file_sha256(o["id"]) is not None
        assert_exactly(sandbox, workbook)

        puts = sum(sandbox.contract.skipped.values())
        third = run_cli(["run", str(workbook), "--json", "--quiet"], env)
        assert third.code == 0
        assert {o["status"] for o in third.json()["objects"] if o["kind"] == "source"} == {"unchanged"}
        assert sum(sandbox.contract.skipped.values()) == puts  # already there: nothing uploaded again
        sandbox.contract.assert_clean()
