"""Storage locations (#26), the first kind built on the Kind protocol, end to end: a copy of the sample workbook with a
`storage_locations` sheet imported into the loopback sandbox by the real CLI, every location read back over HTTP
and compared field by field with figures this test computes itself; a second run sends only GETs; a changed name is
a PATCH; a removed row is an orphan that `--prune` deletes, alone; a latitude out of range is refused at its cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from e2e_helpers import api_get, api_nodes, cli_env, run_cli
from workbooks import write

PROJECT = "prj_1SBXBIOCHAR00001"
PREFIX_PATH = f"/projects/{PROJECT}/storage_locations"

LOCATIONS = [
    {
        "ref": "north-field",
        "name": "North field",
        "latitude": 52.0907,
        "longitude": 5.1214,
        "storage_method": "biochar_field",
        "description": "Arable field north of the plant",
    },
    {
        "ref": "south-field",
        "name": "South field",
        "latitude": -33.8688,
        "longitude": 151.2093,
        "storage_method": "biochar_landfill",
        "description": None,
    },
    {
        "ref": "east-field",
        "name": "East field",
        "latitude": 0.5,
        "longitude": -0.1276,
        "storage_method": None,
        "description": "Own reference",
        "supplier_reference_id": "acme-slc-east",
    },
]


def _workbook(folder: Path, rows: list[dict[str, Any]]) -> Path:
    def mutate(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        sheets["storage_locations"] = [dict(r) for r in rows]
        for sheet in ("production_batches", "biochar_applications"):  # the locations alone (the sample's chain
            sheets.pop(sheet, None)  # cites its own fields: tests/test_chain_of_custody.py)

    return write(folder, mutate)


def _prefix(workbook: Path) -> str:
    from importer.workbook.validate import validate_workbook

    result = validate_workbook(workbook)
    assert result.ok, [f.message for f in result.errors()]
    project = result.workbook.project
    return project.supplier_reference_prefix or project.project_id


def _expected(prefix: str, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """supplier_reference_id -> the location the server must hold, computed here (not by the importer's rule)."""
    out = {}
    for r in rows:
        srid = r.get("supplier_reference_id") or f"{prefix}:storage_locations:{r['ref']}"
        out[srid] = {
            "name": r["name"],
            "latitude": float(r["latitude"]),
            "longitude": float(r["longitude"]),
            "storage_method": r["storage_method"] or "biochar_field",  # the sandbox's default
            "description": r["description"],
            "project_id": PROJECT,
            "supplier_reference_id": srid,
        }
    return out


def _held(sandbox: Any) -> dict[str, dict[str, Any]]:
    """What the server holds, read over HTTP: the listing, and each location again by its own path."""
    listed = api_nodes(sandbox, PREFIX_PATH)
    out = {}
    for node in listed:
        one = api_get(sandbox, f"{PREFIX_PATH}/{node['id']}")
        assert one == node
        assert node["id"].startswith("slc_")
        out[node["supplier_reference_id"]] = {
            k: node[k]
            for k in (
                "name",
                "latitude",
                "longitude",
                "storage_method",
                "description",
                "project_id",
                "supplier_reference_id",
            )
        }
    return out


def _log(sandbox: Any) -> list[tuple[str, str, int]]:
    return list(sandbox.store.request_log)


def test_import_reads_back_every_field_and_a_rerun_sends_only_gets(sandbox, tmp_path):
    workbook = _workbook(tmp_path / "wb", LOCATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    first = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    data = first.json()
    assert data["counts"]["storage_location"]["created"] == 3
    assert _held(sandbox) == _expected(_prefix(workbook), LOCATIONS)

    before = len(_log(sandbox))
    second = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert second.code == 0, second.stdout + second.stderr
    sent = _log(sandbox)[before:]
    assert sent and {method for method, _, _ in sent} == {"GET"}, [r for r in sent if r[0] != "GET"]
    assert sum(1 for _, path, _ in sent if path.endswith("/storage_locations")) == 1  # one page, read once
    assert {o["status"] for o in second.json()["objects"] if o["kind"] == "storage_location"} == {"unchanged"}


def test_a_workbook_without_the_sheet_never_asks_for_storage_locations(sandbox, tmp_path):
    def without_chain(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        for sheet in ("storage_locations", "production_batches", "biochar_applications"):
            sheets.pop(sheet, None)

    workbook = write(tmp_path / "wb", without_chain)
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert result.code == 0, result.stdout + result.stderr
    assert "storage_location" not in result.json()["counts"]
    assert not [r for r in _log(sandbox) if "storage_locations" in r[1]]


def test_a_changed_name_is_a_patch_and_a_removed_row_is_pruned_alone(sandbox, tmp_path):
    workbook = _workbook(tmp_path / "wb", LOCATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    prefix = _prefix(workbook)
    ids = {
        srid: node["id"] for srid, node in ((n["supplier_reference_id"], n) for n in api_nodes(sandbox, PREFIX_PATH))
    }

    renamed = [dict(LOCATIONS[0], name="North field (limed)"), *LOCATIONS[1:]]
    workbook = _workbook(tmp_path / "wb", renamed)
    before = len(_log(sandbox))
    result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert result.code == 0, result.stdout + result.stderr
    writes = [r for r in _log(sandbox)[before:] if r[0] != "GET"]
    north = ids[f"{prefix}:storage_locations:north-field"]
    assert writes == [("PATCH", f"/mrv/v0{PREFIX_PATH}/{north}", 200)]
    assert _held(sandbox) == _expected(prefix, renamed)

    kept = renamed[:1] + renamed[2:]  # south-field removed
    workbook = _workbook(tmp_path / "wb", kept)
    plan = run_cli(["plan", str(workbook), "--json", "--quiet"], env)
    assert plan.code == 0, plan.stdout + plan.stderr
    orphans = plan.json()["orphans"]
    assert [(o["kind"], o["supplier_reference_id"]) for o in orphans] == [
        ("storage_location", f"{prefix}:storage_locations:south-field")
    ]

    before = len(_log(sandbox))
    pruned = run_cli(["run", str(workbook), "--prune", "--json", "--quiet"], env)
    assert pruned.code == 0, pruned.stdout + pruned.stderr
    writes = [r for r in _log(sandbox)[before:] if r[0] != "GET"]
    south = ids[f"{prefix}:storage_locations:south-field"]
    assert writes == [("DELETE", f"/mrv/v0{PREFIX_PATH}/{south}", 204)]
    assert _held(sandbox) == _expected(prefix, kept)


def test_a_latitude_out_of_range_is_refused_at_its_cell(sandbox, tmp_path):
    rows = [dict(LOCATIONS[0]), dict(LOCATIONS[1], latitude=91)]
    workbook = _workbook(tmp_path / "wb", rows)
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["validate", str(workbook), "--json", "--no-report"], env)
    assert result.code == 1, result.stdout + result.stderr
    errors = result.json()["errors"]
    assert len(errors) == 1, errors
    found = errors[0]
    assert (found["sheet"], found["row"], found["column"], found["cell"]) == ("storage_locations", 3, "latitude", "C3")
    assert found["code"] == "out_of_range" and "at most 90" in found["message"]
    assert not _log(sandbox)  # validate sent nothing


@pytest.mark.parametrize("status", [403, 404])
def test_an_organisation_without_storage_locations_is_told_so_not_that_its_credentials_fail(status):
    import httpx

    from importer.api import ClientConfig, IsometricClient, NotEnabled

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"detail": "Forbidden" if status == 403 else "Not Found"})

    config = ClientConfig(base_url="http://127.0.0.1:9/mrv/v0", client_secret="s" * 20, access_token="t" * 20)
    with IsometricClient(config, transport=httpx.MockTransport(answer)) as client:
        with pytest.raises(NotEnabled, match="not enabled for this organisation.*not a credentials failure"):
            client.list_storage_locations(PROJECT)
        assert client.refused is None  # the client goes on: other requests are still sent


def test_the_template_offers_the_storage_methods_as_a_dropdown(sandbox, tmp_path):
    import openpyxl

    from importer.workbook.spec import STORAGE_METHODS

    out = tmp_path / "template.xlsx"
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["template", str(out), "--project-id", PROJECT], env)
    assert result.code == 0, result.stdout + result.stderr
    book = openpyxl.load_workbook(out)
    ws = book["storage_locations"]
    header = [c.value for c in ws[1]]
    assert header == ["ref", "name", "latitude", "longitude", "storage_method", "description", "supplier_reference_id"]
    letter = "E"
    (dv,) = [dv for dv in ws.data_validations.dataValidation if f"{letter}2" in str(dv.sqref)]
    assert dv.type == "list" and dv.showErrorMessage  # strict: only the contract's values
    sheet, cells = dv.formula1.split("!")
    column = cells.split(":")[0].replace("$", "").rstrip("0123456789")
    lists = book[sheet.strip("'")]
    offered = [c.value for c in lists[column][1:] if c.value is not None]
    assert offered == list(STORAGE_METHODS)


def test_rollback_deletes_the_locations_the_run_created(sandbox, tmp_path):
    workbook = _workbook(tmp_path / "wb", LOCATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    run = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert run.code == 0, run.stdout + run.stderr
    assert len(api_nodes(sandbox, PREFIX_PATH)) == 3
    done = run_cli(["rollback", run.json()["run_id"], "--yes"], env)
    assert done.code == 0, done.stdout + done.stderr
    assert api_nodes(sandbox, PREFIX_PATH) == []
    deletes = [r for r in _log(sandbox) if r[0] == "DELETE" and "/storage_locations/" in r[1]]
    assert len(deletes) == 3 and {status for _, _, status in deletes} == {204}
