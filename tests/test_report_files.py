"""What a run leaves in the reports folder beside its HTML report (#29): the CSV of what was created (each row's
Isometric ID, as Data Loader's success file), and `index.html`, every run of the folder with its verdict and CO2e
and the trend of the statement periods. Real CLI over loopback; every ID is read back from the server."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from e2e_helpers import api_get, cli_env, copy_samples, run_cli
from workbooks import sample_data

PATHS = {
    "source": "/sources",
    "datapoint": "/datapoints",
    "ghg_entry": "/ghg_entries",
    "component": "/components",
    "ghg_statement": "/ghg_statements",
    "feedstock_type": "/feedstock_types",
}
SHEETS = {"source": "sources", "datapoint": "datapoints", "ghg_entry": "entries", "component": "components"}


def test_the_created_csv_maps_every_row_to_its_id(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["run", str(copy_samples(tmp_path)), "--json", "--quiet"], env)
    assert result.code == 0, result.stdout + result.stderr
    reports = tmp_path / "home" / "reports"
    (created,) = reports.glob("*-created.csv")
    rows = list(csv.DictReader(created.open(encoding="utf-8")))
    sheets, project = sample_data()
    prefix = project["supplier_reference_prefix"]
    expected = {("sources", r["ref"]) for r in sheets["sources"]} | {
        ("datapoints", r["ref"]) for r in sheets["datapoints"]
    }
    assert expected <= {(r["sheet"], r["ref"]) for r in rows}
    for row in rows:
        if row["kind"] not in PATHS:
            continue  # attributions have no object of their own to read
        held = api_get(sandbox, f"{PATHS[row['kind']]}/{row['isometric_id']}")
        if row["kind"] in SHEETS and row["action"] == "created":
            srid = held["supplier_reference_id"]
            assert srid.startswith(f"{prefix}:{SHEETS[row['kind']]}:{row['ref']}"), (row, srid)
    assert {r["action"] for r in rows} <= {"created", "unchanged", "updated", "deleted"}
    assert any(r["kind"] == "feedstock_type" and r["action"] == "unchanged" for r in rows)  # matched, not created


def test_the_index_lists_every_run_with_its_co2e(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    book = copy_samples(tmp_path)
    first = run_cli(["run", str(book), "--json", "--quiet"], env).json()
    second = run_cli(["run", str(book), "--json", "--quiet"], env).json()
    index = (tmp_path / "home" / "reports" / "index.html").read_text(encoding="utf-8")
    for run in (first, second):
        assert run["run_id"] in index
    statement = api_get(sandbox, f"/ghg_statements/{second['statement']['id']}")
    total = f"{statement['pending_total_co2e_removed_kg']:,.1f}"
    assert total in index  # the statement's total as the server holds it
    assert "<svg" in index and str(statement["reporting_period_end_at"]) in index
    links = re.findall(r'href="([^"]+-run\.html)"', index)
    assert links and all((tmp_path / "home" / "reports" / link).exists() for link in links)
    assert len(list(Path(tmp_path / "home" / "reports").glob("*-summary.json"))) == 2
