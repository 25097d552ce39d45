"""Feedstock batches, the first kind that declares its own sheet and API resource (#25): `importer/planning/
feedstock_batches.py`, `importer/sandbox/feedstock_batches.py` and this file are all it took. End to end with the
real CLI against the loopback sandbox: every batch read back over HTTP (each feedstock type's listing, and each batch
by its own path) and compared with figures this test computes itself; a re-run sends only GETs; a changed mass is
refused without --replace and replaced with it (DELETE, then POST); a removed row is an orphan that --prune deletes,
alone; a rollback deletes what the run made. The sheet's refusals are located to their cell by `validate` in a fresh
interpreter, which loads the kind's sheet only because the workbook names it; the template carries the sheet; the
request model is the live document's."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from e2e_helpers import REPO, api_get, api_nodes, cli_env, run_cli
from workbooks import write

SAWMILL = "ftt_1SBXSAWMILLOFF01"  # the seeded type the sample's feedstock_types sheet names ("Sawmill offcuts")
FOREST = "ftt_1SBXFORESTRES001"  # another seeded type, given here by its ID
TYPES = (SAWMILL, FOREST)

BATCHES = [
    {
        "ref": "offcuts-10-03",
        "feedstock_type": "sawmill-offcuts",  # a ref of the feedstock_types sheet
        "display_name": "Offcuts, 3 October",
        "delivery_date": "2026-10-03",
        "mass": 22.5,
        "unit": "t",
        "standard_deviation": 0.2,
    },
    {
        "ref": "residue-10-17",
        "feedstock_type": FOREST,
        "display_name": "Forest residue, 17 October",
        "delivery_date": "2026-10-17",
        "mass": 9800,
        "unit": "kg",
        "standard_deviation": None,
        "supplier_reference_id": "acme-ftb-residue-17",
    },
]


def _workbook(folder: Path, rows: list[dict[str, Any]], *, name: str = "wb.xlsx") -> Path:
    def mutate(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        sheets["feedstock_batches"] = [dict(r) for r in rows]

    return write(folder, mutate, name=name)


def _expected(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """supplier_reference_id -> the batch the server must hold, computed here: the derived reference by the rule
    the README states (`<prefix>:<sheet>:<ref>`, the sample's prefix), the type resolved by hand."""
    out = {}
    for r in rows:
        srid = r.get("supplier_reference_id") or f"demo-2026-10:feedstock_batches:{r['ref']}"
        out[srid] = {
            "feedstock_type_id": SAWMILL if r["feedstock_type"] == "sawmill-offcuts" else r["feedstock_type"],
            "display_name": r["display_name"],
            "delivery_date": r["delivery_date"],
            "mass": {"magnitude": float(r["mass"]), "unit": r["unit"], "standard_deviation": r["standard_deviation"]},
        }
    return out


def _held(sandbox: Any) -> dict[str, dict[str, Any]]:
    """What the server holds, over HTTP: each type's listing, and each batch again by its own path."""
    out = {}
    for ftt in TYPES:
        for node in api_nodes(sandbox, f"/feedstock_types/{ftt}/feedstock_batches"):
            assert node["id"].startswith("ftb_") and node["feedstock_type_id"] == ftt
            assert api_get(sandbox, f"/feedstock_batches/{node['id']}") == node
            out[node["supplier_reference_id"]] = {
                k: node[k] for k in ("feedstock_type_id", "display_name", "delivery_date", "mass")
            }
    return out


def _ids(sandbox: Any) -> dict[str, str]:
    return {
        n["supplier_reference_id"]: n["id"]
        for ftt in TYPES
        for n in api_nodes(sandbox, f"/feedstock_types/{ftt}/feedstock_batches")
    }


def _writes(sandbox: Any, since: int) -> list[tuple[str, str, int]]:
    return [r for r in list(sandbox.store.request_log)[since:] if r[0] != "GET"]


def test_import_reads_back_every_field_and_a_rerun_sends_only_gets(sandbox, tmp_path):
    workbook = _workbook(tmp_path / "wb", BATCHES)
    env = cli_env(sandbox, tmp_path / "home")
    first = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    assert first.json()["counts"]["feedstock_batch"]["created"] == 2
    assert _held(sandbox) == _expected(BATCHES)

    before = len(sandbox.store.request_log)
    second = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert second.code == 0, second.stdout + second.stderr
    assert not _writes(sandbox, before)
    assert {o["status"] for o in second.json()["objects"] if o["kind"] == "feedstock_batch"} == {"unchanged"}


def test_a_changed_mass_asks_for_replace_then_is_replaced_and_a_removed_row_is_pruned_alone(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(_workbook(tmp_path / "wb", BATCHES)), "--quiet"], env).code == 0
    ids = _ids(sandbox)
    residue = ids["acme-ftb-residue-17"]

    heavier = [BATCHES[0], dict(BATCHES[1], mass=10250)]
    workbook = _workbook(tmp_path / "wb", heavier)
    before = len(sandbox.store.request_log)
    refused = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert refused.code != 0, refused.stdout
    row = next(o for o in refused.json()["objects"] if o["kind"] == "feedstock_batch" and o["ref"] == "residue-10-17")
    assert row["status"] == "conflict" and "--replace" in json.dumps(row), row
    assert not _writes(sandbox, before)  # nothing sent for a conflict
    assert _held(sandbox) == _expected(BATCHES)

    replaced = run_cli(["run", str(workbook), "--replace", "--json", "--quiet"], env)
    assert replaced.code == 0, replaced.stdout + replaced.stderr
    writes = _writes(sandbox, before)
    assert [(m, p.rsplit("/", 1)[0] if m == "DELETE" else p) for m, p, _ in writes] == [
        ("DELETE", "/mrv/v0/feedstock_batches"),
        ("POST", "/mrv/v0/feedstock_batches"),
    ]
    assert writes[0][1].endswith("/" + residue)
    assert _held(sandbox) == _expected(heavier)

    kept = heavier[1:]
    workbook = _workbook(tmp_path / "wb", kept)
    plan = run_cli(["plan", str(workbook), "--json", "--quiet"], env)
    assert plan.code == 0, plan.stdout + plan.stderr
    offcuts = "demo-2026-10:feedstock_batches:offcuts-10-03"
    assert [(o["kind"], o["supplier_reference_id"]) for o in plan.json()["orphans"]] == [("feedstock_batch", offcuts)]
    before = len(sandbox.store.request_log)
    pruned = run_cli(["run", str(workbook), "--prune", "--json", "--quiet"], env)
    assert pruned.code == 0, pruned.stdout + pruned.stderr
    assert _writes(sandbox, before) == [("DELETE", f"/mrv/v0/feedstock_batches/{ids[offcuts]}", 204)]
    assert _held(sandbox) == _expected(kept)


def test_a_rollback_deletes_the_batches_the_run_made(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    run = run_cli(["run", str(_workbook(tmp_path / "wb", BATCHES)), "--json", "--quiet"], env)
    assert run.code == 0, run.stdout + run.stderr
    made = set(_ids(sandbox).values())
    assert len(made) == 2
    back = run_cli(["rollback", run.json()["run_id"], "--yes"], env)
    assert back.code == 0, back.stdout + back.stderr
    assert not _held(sandbox)
    deleted = {
        p.rsplit("/", 1)[1] for m, p, _ in sandbox.store.request_log if m == "DELETE" and "/feedstock_batches/" in p
    }
    assert deleted == made


def test_a_workbook_without_the_sheet_never_asks_for_feedstock_batches(sandbox, tmp_path):
    workbook = write(tmp_path / "wb")
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert result.code == 0, result.stdout + result.stderr
    assert "feedstock_batch" not in result.json()["counts"]
    assert not [r for r in sandbox.store.request_log if "feedstock_batches" in r[1]]


def _validate_fresh(workbook: Path) -> tuple[int, dict[str, Any], bool]:
    """`validate --json` in a fresh interpreter through the library, and whether it imported the planner."""
    code = (
        "import json, sys\n"
        "from importer import library\n"
        f"result = library.validate({str(workbook)!r})\n"
        "print(json.dumps({'errors': [f.to_json() for f in result.errors()], 'counts': result.counts, "
        "'planner': 'importer.planning' in sys.modules}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return len(data["errors"]), data, data["planner"]


def test_the_sheets_refusals_are_located_to_their_cells_in_a_fresh_interpreter(tmp_path):
    rows = [
        dict(BATCHES[0], unit="m"),  # not a mass
        dict(BATCHES[1], feedstock_type="sawmil-offcuts", mass=-3),  # a ref of no row, a mass below zero
    ]
    count, data, planner = _validate_fresh(_workbook(tmp_path / "wb", rows))
    found = {(e["sheet"], e["cell"], e["code"]) for e in data["errors"]}
    assert found == {
        ("feedstock_batches", "F2", "incompatible_unit"),
        ("feedstock_batches", "B3", "unknown_ref"),
        ("feedstock_batches", "E3", "out_of_range"),
    }, data["errors"]
    unit = next(e for e in data["errors"] if e["code"] == "incompatible_unit")
    assert "'m'" in unit["message"] and "a unit of mass" in unit["message"]
    assert planner  # the sheet is the kind's: validation loaded it

    plain = write(tmp_path / "plain")
    clean, data, planner = _validate_fresh(plain)
    assert clean == 0, data
    assert not planner  # a workbook of the format's own sheets never imports the planner

    import importer
    from importer import library

    importer.register_kinds()  # here the kinds are loaded: the result is the same, no empty sheet of theirs added
    assert library.validate(plain).counts == data["counts"]
    assert "feedstock_batches" not in data["counts"]


def test_the_template_carries_the_sheet_and_says_what_it_is_for(sandbox, tmp_path):
    from openpyxl import load_workbook

    env = cli_env(sandbox, tmp_path / "home")
    out = tmp_path / "template.xlsx"
    result = run_cli(["template", str(out), "--project-id", "prj_1SBXBIOCHAR00001"], env)
    assert result.code == 0, result.stdout + result.stderr
    book = load_workbook(out)
    assert [c.value for c in book["feedstock_batches"][1]] == [
        "ref",
        "feedstock_type",
        "display_name",
        "delivery_date",
        "mass",
        "unit",
        "standard_deviation",
        "supplier_reference_id",
    ]
    readme = [row[0] for row in book["README"].iter_rows(values_only=True) if row[0]]
    assert any(str(line).startswith("10. feedstock_batches: Feedstock batches") for line in readme), readme


def test_the_request_and_answer_are_the_live_documents():
    from importer.planning.feedstock_batches import CreateFeedstockBatchRequest, FeedstockBatch

    document = json.loads((REPO.parent / "shared" / "isometric" / "mrv.openapi.json").read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    create = schemas["CreateFeedstockBatchRequest"]
    fields = CreateFeedstockBatchRequest.model_fields
    assert set(fields) == set(create["properties"])
    assert {n for n, f in fields.items() if f.is_required()} == set(create["required"])
    assert set(FeedstockBatch.model_fields) - {"created_at"} <= set(schemas["FeedstockBatch"]["properties"])
    paths = document["paths"]
    assert "post" in paths["/feedstock_batches"] and {"get", "delete"} <= set(paths["/feedstock_batches/{id}"])
    assert "get" in paths["/feedstock_types/{feedstock_type_id}/feedstock_batches"]


def test_a_sample_taken_from_a_batch_by_its_ref_is_sent_with_the_batch_the_run_made(sandbox, tmp_path):
    """The samples sheet names a feedstock batch by its ref: the batch is created first, the sample is sent with the
    batch's new ID (read from the server's own record: the API's answer carries no feedstock_batch_id), and the
    batch cannot be pruned before the sample that cites it."""
    import datetime as dt

    def mutate(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        sheets["feedstock_batches"] = [dict(r) for r in BATCHES]
        sheets["samples"] = [
            {
                "ref": "feed-1",
                "measurement_type": "ew_mineral_feedstock",
                "measured_at": dt.datetime(2026, 10, 4, 9, 30),
                "feedstock_batch": "offcuts-10-03",
            }
        ]
        sheets["sample_values"] = [
            {
                "ref": "feed-moisture",
                "sample": "feed-1",
                "quantity_kind": "mass_fraction",
                "qualifier": None,
                "magnitude": 0.31,
                "unit": "dimensionless",
            }
        ]

    workbook = write(tmp_path / "wb", mutate)
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert result.code == 0, result.stdout + result.stderr
    batch = _ids(sandbox)["demo-2026-10:feedstock_batches:offcuts-10-03"]
    samples = [s for s in sandbox.store.all("measurement_sample") if s["supplier_reference_id"].endswith(":feed-1")]
    assert [s["_feedstock_batch_id"] for s in samples] == [batch]
    posts = [p for m, p, _ in sandbox.store.request_log if m == "POST"]
    assert posts.index("/mrv/v0/feedstock_batches") < posts.index("/mrv/v0/measurement_samples")
    listed = api_nodes(sandbox, "/measurement_samples")
    assert [n["id"] for n in listed if n["supplier_reference_id"].endswith(":feed-1")] == [samples[0]["id"]]


def test_a_plan_saved_when_samples_took_a_batch_by_its_id_alone_still_decodes_to_that_id():
    from importer.planning import saved
    from importer.planning.measurement_samples import MeasurementSamplePayload
    from importer.planning.model import IdRef

    written = {  # as `plan --out` wrote a sample's payload before samples took batches by ref
        "__type__": "MeasurementSamplePayload",
        "measurement_type": "ew_mineral_feedstock",
        "measured_at": "2026-10-04T09:30:00Z",
        "production_batch": None,
        "storage_location": None,
        "measurement_location": None,
        "feedstock_batch": "ftb_1SBXOLDPLANBATCH1",
        "values": [],
        "sources": [],
    }
    payload = saved.decode(written)
    assert isinstance(payload, MeasurementSamplePayload)
    assert payload.feedstock_batch == IdRef("ftb_1SBXOLDPLANBATCH1")
    assert saved.decode(saved.encode(payload)) == payload


FIXTURES = REPO / "tests" / "fixtures" / "feedstock_batches"
#: what the field team typed into the fixtures (tests/fixtures/feedstock_batches/make_fixtures.py), as it must land:
#: the batches above, the second without its own supplier_reference_id
TYPED = [BATCHES[0], {k: v for k, v in BATCHES[1].items() if k != "supplier_reference_id"}]


@pytest.mark.parametrize(
    "name",
    ["lo-de-DE-feedstock-batches.xlsx", "lo-en-US-feedstock-batches.xlsx", "gnumeric-de-DE-feedstock-batches.xlsx"],
)
def test_the_sheet_as_libreoffice_and_gnumeric_store_it_lands_as_typed(sandbox, tmp_path, name):
    """The sheet added and typed in LibreOffice (German dates `3.10.2026` and thousands `9.800`; US dates
    `10/3/2026` and thousands `9,800`), and the German file saved again by Gnumeric: each lands as typed."""
    folder = tmp_path / "wb"
    shutil.copytree(FIXTURES / "evidence", folder / "evidence")
    workbook = folder / name
    shutil.copyfile(FIXTURES / name, workbook)
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert result.code == 0, result.stdout + result.stderr
    assert _held(sandbox) == _expected(TYPED)


def test_a_saved_plan_of_batches_applies_exactly_in_a_fresh_process_and_an_edited_one_is_refused(sandbox, tmp_path):
    """`plan --out` then `apply` in a fresh interpreter: the saved plan's batch payloads decode (the kind registers
    its payload type like every kind) and land as planned; the same file with a batch's mass edited is refused
    before anything is sent."""
    workbook = _workbook(tmp_path / "wb", BATCHES)
    env = cli_env(sandbox, tmp_path / "home")
    out = tmp_path / "plan.json"
    made = run_cli(["plan", str(workbook), "--out", str(out), "--quiet"], env)
    assert made.code == 0, made.stdout + made.stderr

    edited = tmp_path / "edited.json"
    body = json.loads(out.read_text(encoding="utf-8"))
    payloads = [
        a["payload"]
        for plan in body["plans"]
        for a in plan["actions"]
        if a["kind"] == "feedstock_batch" and a["ref"] == "offcuts-10-03"
    ]
    assert len(payloads) == 1 and payloads[0]["mass"] == 22.5, payloads
    payloads[0]["mass"] = 225.0
    edited.write_text(json.dumps(body), encoding="utf-8")
    before = len(sandbox.store.request_log)
    refused = run_cli(["apply", str(edited), "--json", "--quiet"], env, subprocess_=True)
    assert refused.code == 1, refused.stdout + refused.stderr
    assert "nothing was sent" in refused.stdout and "offcuts-10-03" in refused.stdout
    assert not _writes(sandbox, before)

    applied = run_cli(["apply", str(out), "--json", "--quiet"], env, subprocess_=True)
    assert applied.code == 0, applied.stdout + applied.stderr
    assert _held(sandbox) == _expected(BATCHES)


def test_a_create_whose_answer_was_lost_is_found_not_sent_again(sandbox, tmp_path):
    """Every POST's answer lost after the server made the batch (a network fault): the client looks each batch up
    by its supplier_reference_id among its type's batches before sending again, so each is held once."""
    from importer.sandbox import FaultConfig

    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(write(tmp_path / "plain")), "--quiet"], env).code == 0  # the rest exists already
    workbook = _workbook(tmp_path / "wb", BATCHES)
    before = len(sandbox.store.request_log)
    sandbox.set_faults(FaultConfig(seed=1, rate_lost_response=1.0, methods=["POST"]))
    try:
        result = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    finally:
        sandbox.set_faults(FaultConfig())
    assert result.code == 0, result.stdout + result.stderr
    posts = [p for m, p, _ in list(sandbox.store.request_log)[before:] if m == "POST"]
    assert posts == ["/mrv/v0/feedstock_batches"] * 2, posts  # each sent once: found before a second send
    listed = [n for ftt in TYPES for n in api_nodes(sandbox, f"/feedstock_types/{ftt}/feedstock_batches")]
    assert sorted(n["supplier_reference_id"] for n in listed) == sorted(_expected(BATCHES))
    assert _held(sandbox) == _expected(BATCHES)
    statuses = {o["ref"]: o["status"] for o in result.json()["objects"] if o["kind"] == "feedstock_batch"}
    assert statuses == {"offcuts-10-03": "created", "residue-10-17": "created"}, statuses
