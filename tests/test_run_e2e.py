"""End-to-end: the real CLI as a subprocess against the local sandbox over HTTP on loopback (issue #4)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from e2e_helpers import assert_exactly, cli_env, copy_samples, expected_references, run_cli

pytestmark = pytest.mark.slow


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
            ws.cell(row=row[0].row, column=col, value=value)
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
    for args in (["run", str(workbook), "--json", "--report", str(report)], ["plan", str(workbook)],
                 ["run", str(workbook), "--api-url", sandbox.base_url + "/nope"]):
        result = run_cli(args, env)
        outputs += [result.stdout, result.stderr]
    outputs.append(report.read_text())
    outputs += [p.read_text(errors="replace") for p in (tmp_path / "home").rglob("*") if p.is_file()
                and p.suffix in (".json", ".csv", ".html", ".log")]
    for text in outputs:
        assert sandbox.client_secret not in text
        assert sandbox.access_token not in text


def test_validation_errors_send_nothing(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    broken = Path(__file__).resolve().parent.parent / "sample_workbooks" / "biochar-2026-10-broken.xlsx"
    before = {k: len(sandbox.store.list(k)) for k in ("source", "datapoint", "ghg_entry")}
    result = run_cli(["run", str(broken), "--json"], env)
    assert result.code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert {k: len(sandbox.store.list(k)) for k in ("source", "datapoint", "ghg_entry")} == before
