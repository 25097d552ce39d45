"""Issue #7: the generated fill-in workbook, batch runs over several workbooks, rollback and history, and the
`--online` and `--debug` polish, all against the sandbox over loopback."""

from __future__ import annotations

import json
import shutil

import openpyxl
import pytest

from e2e_helpers import api_nodes, cli_env, copy_samples, run_cli
from workbooks import row, sample_data, write

pytestmark = pytest.mark.slow


def test_template_has_sheets_comments_dropdowns_and_prelisted_inputs(sandbox, tmp_path):
    out = tmp_path / "fill-me.xlsx"
    result = run_cli(["template", str(out), "--project-id", "prj_1SBXBIOCHAR00001"], cli_env(sandbox, tmp_path / "h"))
    assert result.code == 0, result.stdout + result.stderr
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:2] == ["README", "project"] and "_lists" in book.sheetnames
    assert book["_lists"].sheet_state == "hidden"
    datapoints = book["datapoints"]
    assert datapoints.freeze_panes == "A2"
    assert "REPORTED" in datapoints["D1"].comment.text  # the type column explains its choices
    ranges = {str(dv.sqref): dv.formula1 for dv in datapoints.data_validations.dataValidation}
    assert ranges["D2:D5000"].startswith("'_lists'!$A$2")  # datapoint type dropdown
    assert ranges["I2:I5000"] == "'sources'!$A$2:$A$5000"  # source_refs point at the sources' refs
    inputs = book["entry_inputs"]
    rows = [tuple(c.value for c in r[:6]) for r in inputs.iter_rows(min_row=2)]
    monitored = {(r[1], r[2]) for r in rows}
    assert ("Biochar sequestration", "organic_carbon_fraction") in monitored
    assert ("Pyrolysis electricity", "electricity_used") in monitored
    assert ("Biochar sequestration", "permanence_factor") not in monitored  # fixed: never listed
    electricity = next(r for r in rows if r[2] == "electricity_used")
    assert electricity[4:] == ("kWh", "list")
    entry_dv = {str(dv.sqref): dv.formula1 for dv in inputs.data_validations.dataValidation}
    assert entry_dv["A2:A5000"] == "'entries'!$A$2:$A$5000"
    templates = [r[1] for r in book["entries"].iter_rows(min_row=2, values_only=True)]
    assert templates == ["Monthly production batch", "Field application"]
    # the feedstock_types sheet offers the organisation's types, as the server lists them
    listed = api_nodes(sandbox, "/feedstock_types")
    feed = {str(dv.sqref): dv.formula1 for dv in book["feedstock_types"].data_validations.dataValidation}
    lists = book["_lists"]
    offered = {}
    for ref in (feed["B2:B5000"], feed["C2:C5000"]):  # feedstock_type_id, name
        letter = ref.split("!")[1].split("$")[1]
        offered[ref] = sorted(c.value for c in lists[letter][1:] if c.value is not None)
    assert offered[feed["B2:B5000"]] == sorted(t["id"] for t in listed)
    assert offered[feed["C2:C5000"]] == sorted(t["name"] for t in listed)


def test_template_round_trip_fill_validate_run(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "h")
    out = tmp_path / "site" / "october.xlsx"
    made = run_cli(
        ["template", str(out), "--project-id", "prj_1SBXBIOCHAR00001", "--template", "Monthly production batch"], env
    )
    assert made.code == 0, made.stdout + made.stderr
    shutil.copytree(copy_samples(tmp_path / "src").parent / "evidence", out.parent / "evidence")
    values = {
        "distance": ("km", "46"),
        "mass": ("t", "18.4"),
        "electricity_used": ("kWh", "1210.5"),
        "feedstock_mass": ("t", "14.9"),
        "biochar_mass": ("t", "4.21"),
        "organic_carbon_fraction": ("%", "78.4"),
    }
    book = openpyxl.load_workbook(out)
    book["sources"].append(["ticket", "Weighbridge ticket", "evidence/weighbridge-2026-10.pdf", "2026-10-31"])
    entries = book["entries"]
    entries["C2"], entries["D2"] = "2026-10-01", "2026-10-15"
    inputs = book["entry_inputs"]
    for line in inputs.iter_rows(min_row=2):
        key = line[2].value
        unit, magnitude = values[key]
        book["datapoints"].append(
            [f"dp-{key}", key, f"{key} of October", "REPORTED", magnitude, unit, None, None, "ticket"]
        )
        line[3].value = f"dp-{key}"
    project = book["project"]
    for line in project.iter_rows(min_row=2):
        if line[0].value == "supplier_reference_prefix":
            line[1].value = "roundtrip"
    book.save(out)
    validated = run_cli(["validate", str(out), "--online", "--json"], env)
    assert validated.code == 0, validated.stdout + validated.stderr
    ran = run_cli(["run", str(out), "--json", "--quiet"], env)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert ran.json()["counts"]["ghg_entry"]["created"] == 1


def test_validate_online_locates_template_problems(sandbox, tmp_path):
    path = write(
        tmp_path,
        lambda s, p: (
            s["entries"][0].update(template="Monthly production btch"),
            s["entry_inputs"][0].update(input_key="emission_factor"),
        ),
    )
    result = run_cli(["validate", str(path), "--online", "--json"], cli_env(sandbox, tmp_path / "h"))
    assert result.code == 1
    errors = {(e["code"], e["sheet"], e["cell"]) for e in result.json()["errors"]}
    assert ("unknown_template", "entries", "B2") in errors


def test_batch_run_over_a_folder_with_a_combined_report(sandbox, tmp_path):
    folder = tmp_path / "2026-10"
    write(folder, lambda s, p: p.update(supplier_reference_prefix="site-a"), name="a-site.xlsx")

    def site_b(s, p):
        p.update(supplier_reference_prefix="site-b", statement_end_on=None)
        for entry in s["entries"]:
            entry["started_on"], entry["completed_on"] = entry["started_on"], entry["completed_on"]

    write(folder, site_b, name="b-site.xlsx")
    env = cli_env(sandbox, tmp_path / "h")
    report = tmp_path / "batch.html"
    result = run_cli(["run", str(folder), "--json", "--quiet", "--report", str(report)], env)
    assert result.code == 0, result.stdout + result.stderr
    data = result.json()
    assert [w["workbook"].rsplit("/", 1)[-1] for w in data["workbooks"]] == ["a-site.xlsx", "b-site.xlsx"]
    html = report.read_text()
    assert "Grand totals (2 workbooks)" in html and "a-site.xlsx" in html and "b-site.xlsx" in html


def test_batch_refuses_cross_workbook_duplicate_references(sandbox, tmp_path):
    folder = tmp_path / "dups"
    write(folder, name="one.xlsx")
    write(folder, name="two.xlsx")  # same prefix, same refs: same supplier_reference_ids
    result = run_cli(["run", str(folder), "--quiet"], cli_env(sandbox, tmp_path / "h"))
    assert result.code == 1
    assert "must be unique across the workbooks of a batch" in result.stdout
    assert not [s for s in sandbox.store.list("source") if s.get("supplier_reference_id")]


def test_history_and_rollback(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "h")
    workbook = copy_samples(tmp_path)
    run = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert run.code == 0
    run_id = run.json()["run_id"]
    history = json.loads(run_cli(["history", "--json"], env).stdout)
    # what the server holds under the workbook's prefix, plus its statement (no feedstock type: never created)
    kinds = ("source", "datapoint", "ghg_entry", "component", "feedstock_type")
    chain = ("storage_location", "production_batch", "biochar_application")
    held = sum(
        1
        for kind in (*kinds, *chain)
        for o in sandbox.store.list(kind)
        if str(o.get("supplier_reference_id") or "").startswith("demo")
    )
    held += len(sandbox.store.list("ghg_statement"))
    sheets, _ = sample_data()  # what the workbook defines, counted from its own rows
    rows = ("sources", "datapoints", "entries", "components", "storage_locations", "production_batches")
    assert held == sum(len(sheets[s]) for s in (*rows, "biochar_applications")) + 1
    assert history[0]["run_id"] == run_id and history[0]["created"] == held and history[0]["outcome"] == "ok"
    assert history[0]["report"] and history[0]["report"].endswith("-run.html")  # where the report went
    table = run_cli(["history"], env).stdout
    assert run_id in table.splitlines()[0] and "report" in table
    dry = run_cli(["rollback", run_id, "--dry-run"], env)
    # every object but the statement (no DELETE in the API): kept, never "would delete ... kept"
    assert dry.code == 0 and dry.stdout.count("would delete") == held - 1, dry.stdout
    assert "= kept" in dry.stdout and "would delete ghg statement" not in dry.stdout
    assert f"Plan: {held - 1} to delete, 1 kept." in dry.stdout
    assert len([s for s in sandbox.store.list("source") if s.get("supplier_reference_id")]) == 5  # nothing deleted
    done = run_cli(["rollback", run_id, "--yes"], env)
    assert done.code == 0, done.stdout + done.stderr
    for kind in ("source", "datapoint", "ghg_entry", "component", "feedstock_type"):
        assert not [o for o in sandbox.store.list(kind) if str(o.get("supplier_reference_id") or "").startswith("demo")]
    assert "GHG statements cannot be deleted" in done.stdout


def test_rollback_is_refused_once_submitted(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "h")
    workbook = write(tmp_path, lambda s, p: p.update(ghg_statement_report_url="https://example.org/r.pdf"))
    run = run_cli(["run", str(workbook), "--submit", "--json", "--quiet"], env)
    assert run.code == 0, run.stdout + run.stderr
    refused = run_cli(["rollback", run.json()["run_id"], "--yes"], env)
    assert refused.code == 1 and "submitted statements cannot be rolled back" in refused.stdout
    assert len([s for s in sandbox.store.list("source") if s.get("supplier_reference_id")]) == 5


def test_debug_output_and_failures_never_show_secrets(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "h")
    workbook = write(
        tmp_path, lambda s, p: row(s, "datapoints", "biochar-mass-t").update(source_refs="src_0000000000000000NOPE")
    )
    outputs = []
    for args in (
        ["--debug", "run", str(workbook), "--json"],
        ["--debug", "plan", str(workbook)],
        ["--debug", "run", str(workbook), "--api-url", sandbox.base_url.replace("/mrv/v0", "/nowhere")],
    ):
        result = run_cli(args, env)
        outputs.append(result.stdout + result.stderr)
    assert "HTTP Request" in outputs[0] or "DEBUG" in outputs[0]  # --debug really logs
    for text in outputs:
        assert sandbox.client_secret not in text and sandbox.access_token not in text
    for path in (tmp_path / "h").rglob("*"):
        if path.is_file() and path.suffix in (".html", ".csv", ".json"):
            text = path.read_text(errors="replace")
            assert sandbox.client_secret not in text and sandbox.access_token not in text
