"""The chain of custody (#26): production batches and biochar applications beside storage locations, end to end with
the real CLI against the loopback sandbox. Every object is read back over HTTP and compared field by field with
figures this test computes itself (units converted here with factors written here, never the importer's); a second
run sends only GETs; a changed batch mass is refused without --replace and replaced with it (its applications too);
a departure mass over the arrival mass is refused at its cell; pruning a removed application deletes only it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from e2e_helpers import api_get, api_nodes, cli_env, run_cli
from workbooks import write

PROJECT = "prj_1SBXBIOCHAR00001"
FACILITY = "fcl_1SBXKILNFACILITY1"  # the sandbox's seeded facility, as the README names it
SAWMILL = "ftt_1SBXSAWMILLOFF01"  # the seeded "Sawmill offcuts", the sample's feedstock_types row
UTC = dt.UTC

LOCATIONS = [
    {
        "ref": "north-field",
        "name": "North field",
        "latitude": 52.09,
        "longitude": 5.12,
        "storage_method": "biochar_field",
    },
    {"ref": "south-field", "name": "South field", "latitude": 51.5, "longitude": 5.3, "storage_method": None},
]
BATCHES = [
    {
        "ref": "kiln-oct-a",
        "display_name": "Kiln 1, 1-14 October",
        "facility_id": None,  # the project sheet's default
        "feedstock_types": "sawmill-offcuts",
        "started_at": dt.datetime(2026, 10, 1, 6, 0),
        "ended_at": dt.datetime(2026, 10, 14, 18, 0),
        "mass": 4.21,
        "unit": "t",
        "standard_deviation": 0.05,
    },
    {
        "ref": "kiln-oct-b",
        "display_name": None,
        "facility_id": FACILITY,
        "feedstock_types": f"sawmill-offcuts, {SAWMILL}",
        "started_at": dt.datetime(2026, 10, 15, 6, 0),
        "ended_at": dt.datetime(2026, 10, 20, 6, 0),
        "mass": 1500,
        "unit": "kg",
        "standard_deviation": None,
    },
]
APPLICATIONS = [
    {
        "ref": "spread-north-1",
        "production_batch": "kiln-oct-a",
        "storage_location": "north-field",
        "application_date": dt.date(2026, 10, 20),
        "application_rate": 10,
        "application_rate_unit": "t/ha",
        "truck_mass_on_arrival": 18.4,
        "truck_mass_on_departure": 16.3,
        "truck_mass_unit": "t",
        "source_refs": "weighbridge",
        "entry": "batch-2026-10-a",
    },
    {
        "ref": "spread-north-2",
        "production_batch": "kiln-oct-a",
        "storage_location": "north-field",
        "application_date": dt.date(2026, 10, 21),
        "application_rate": 1.2,
        "application_rate_unit": "kg/m2",
        "truck_mass_on_arrival": 14200,
        "truck_mass_on_departure": 12090,
        "truck_mass_unit": "kg",
        "source_refs": None,
        "entry": "batch-2026-10-a",
    },
    {
        "ref": "spread-south-1",
        "production_batch": "kiln-oct-b",
        "storage_location": "south-field",
        "application_date": dt.date(2026, 10, 22),
        "application_rate": 8,
        "application_rate_unit": "t/ha",
        "truck_mass_on_arrival": 1.5,
        "truck_mass_on_departure": 0,  # no weighbridge: the net mass as arrival, 0 departure
        "truck_mass_unit": "t",
        "source_refs": None,
        "entry": None,
    },
]
#: kilograms per unit, written here (not taken from the importer) for the read-back comparison
KG = {"t": 1000.0, "kg": 1.0, "metric_ton": 1000.0, "kilogram": 1.0}


def _workbook(folder: Path, batches: list[dict[str, Any]], applications: list[dict[str, Any]]) -> Path:
    def mutate(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        project["facility_id"] = FACILITY
        sheets["storage_locations"] = [dict(r) for r in LOCATIONS]
        sheets["production_batches"] = [dict(r) for r in batches]
        sheets["biochar_applications"] = [dict(r) for r in applications]

    return write(folder, mutate)


def _prefix(workbook: Path) -> str:
    from importer.workbook.validate import validate_workbook

    result = validate_workbook(workbook)
    assert result.ok, [f.message for f in result.errors()]
    project = result.workbook.project
    return project.supplier_reference_prefix or project.project_id


def _log(sandbox: Any) -> list[tuple[str, str, int]]:
    return list(sandbox.store.request_log)


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _kg(q: dict[str, Any]) -> float:
    return q["magnitude"] * KG[q["unit"]]


def _held(sandbox: Any, path: str) -> dict[str, dict[str, Any]]:
    """supplier_reference_id -> the object as the server holds it (listing and item path agree)."""
    out = {}
    for node in api_nodes(sandbox, path):
        assert api_get(sandbox, f"{path}/{node['id']}") == node
        out[node["supplier_reference_id"]] = node
    return out


def _check_batches(held: dict[str, dict[str, Any]], prefix: str, batches: list[dict[str, Any]]) -> dict[str, str]:
    ids = {}
    assert set(held) == {f"{prefix}:production_batches:{b['ref']}" for b in batches}
    for b in batches:
        node = held[f"{prefix}:production_batches:{b['ref']}"]
        assert node["id"].startswith("ptb_")
        assert node["facility_id"] == (b["facility_id"] or FACILITY)
        written = [t.strip() for t in b["feedstock_types"].split(",")]
        assert sorted(node["feedstock_type_ids"]) == sorted(SAWMILL if t == "sawmill-offcuts" else t for t in written)
        assert node["kind"] == "biochar"
        assert _instant(node["started_at"]) == b["started_at"].replace(tzinfo=UTC)
        assert _instant(node["ended_at"]) == b["ended_at"].replace(tzinfo=UTC)
        assert abs(_kg(node["mass"]) - b["mass"] * KG[b["unit"]]) < 1e-6
        if b["standard_deviation"] is None:
            assert node["mass"]["standard_deviation"] is None
        else:
            sd = node["mass"]["standard_deviation"] * KG[node["mass"]["unit"]]
            assert abs(sd - b["standard_deviation"] * KG[b["unit"]]) < 1e-6
        if b["display_name"]:
            assert node["display_name"] == b["display_name"]
        else:
            assert node["display_name"]  # named by Isometric (the sandbox: after the facility)
        ids[b["ref"]] = node["id"]
    return ids


def _check_applications(
    held: dict[str, dict[str, Any]],
    prefix: str,
    applications: list[dict[str, Any]],
    batch_ids: dict[str, str],
    location_ids: dict[str, str],
) -> None:
    assert set(held) == {f"{prefix}:biochar_applications:{a['ref']}" for a in applications}
    for a in applications:
        node = held[f"{prefix}:biochar_applications:{a['ref']}"]
        assert node["id"].startswith("bse_")
        assert node["production_batch_id"] == batch_ids[a["production_batch"]]
        assert node["storage_location_id"] == location_ids[a["storage_location"]]
        assert node["application_date"] == a["application_date"].isoformat()
        assert node["ghg_entry_id"] is None  # set by Isometric, never by the importer
        unit = a["truck_mass_unit"]
        assert abs(_kg(node["truck_mass_on_arrival"]) - a["truck_mass_on_arrival"] * KG[unit]) < 1e-6
        assert abs(_kg(node["truck_mass_on_departure"]) - a["truck_mass_on_departure"] * KG[unit]) < 1e-6
        rate = node["average_application_rate"]
        per_m2 = {"t/ha": 1000.0 / 10_000, "kg/m2": 1.0}
        assert (
            abs(rate["magnitude"] * per_m2[rate["unit"]] - a["application_rate"] * per_m2[a["application_rate_unit"]])
            < 1e-9
        )


def _location_ids(sandbox: Any, prefix: str) -> dict[str, str]:
    held = _held(sandbox, f"/projects/{PROJECT}/storage_locations")
    return {r["ref"]: held[f"{prefix}:storage_locations:{r['ref']}"]["id"] for r in LOCATIONS}


def test_import_reads_back_every_field_and_a_rerun_sends_only_gets(sandbox, tmp_path):
    workbook = _workbook(tmp_path / "wb", BATCHES, APPLICATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    first = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    counts = first.json()["counts"]
    assert counts["production_batch"]["created"] == 2 and counts["biochar_application"]["created"] == 3
    prefix = _prefix(workbook)
    batch_ids = _check_batches(_held(sandbox, "/production_batches"), prefix, BATCHES)
    _check_applications(
        _held(sandbox, "/biochar_applications"), prefix, APPLICATIONS, batch_ids, _location_ids(sandbox, prefix)
    )

    before = len(_log(sandbox))
    second = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert second.code == 0, second.stdout + second.stderr
    sent = _log(sandbox)[before:]
    assert sent and {method for method, _, _ in sent} == {"GET"}, [r for r in sent if r[0] != "GET"]
    chain = {o["status"] for o in second.json()["objects"] if o["kind"] in ("production_batch", "biochar_application")}
    assert chain == {"unchanged"}


def test_a_changed_batch_mass_is_refused_without_replace_and_replaced_with_it(sandbox, tmp_path):
    workbook = _workbook(tmp_path / "wb", BATCHES, APPLICATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    prefix = _prefix(workbook)
    old = _held(sandbox, "/production_batches")
    old_a = old[f"{prefix}:production_batches:kiln-oct-a"]["id"]
    old_apps = _held(sandbox, "/biochar_applications")

    heavier = [dict(BATCHES[0], mass=4.35), BATCHES[1]]
    workbook = _workbook(tmp_path / "wb", heavier, APPLICATIONS)
    before = len(_log(sandbox))
    refused = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert refused.code == 1, refused.stdout + refused.stderr
    assert not [r for r in _log(sandbox)[before:] if r[0] != "GET"]  # nothing written
    batch = next(o for o in refused.json()["objects"] if o["kind"] == "production_batch" and o["ref"] == "kiln-oct-a")
    assert batch["status"] == "conflict" and "--replace" in batch["error"] and old_a in batch["error"]
    assert "4.21 t -> 4.35 t" in batch["error"]

    before = len(_log(sandbox))
    replaced = run_cli(["run", str(workbook), "--replace", "--json", "--quiet"], env)
    assert replaced.code == 0, replaced.stdout + replaced.stderr
    writes = [(m, p) for m, p, _ in _log(sandbox)[before:] if m != "GET"]
    # the two applications citing batch a go first, then the batch; then the batch anew, then its applications
    cited = [a["id"] for a in old_apps.values() if a["production_batch_id"] == old_a]
    assert len(cited) == 2
    deletes = [p for m, p in writes if m == "DELETE"]
    assert sorted(deletes[:2]) == sorted(f"/mrv/v0/biochar_applications/{i}" for i in cited)
    assert deletes[2:] == [f"/mrv/v0/production_batches/{old_a}"]
    posts = [p for m, p in writes if m == "POST"]
    assert posts == ["/mrv/v0/production_batches", "/mrv/v0/biochar_applications", "/mrv/v0/biochar_applications"]
    assert writes.index(("DELETE", f"/mrv/v0/production_batches/{old_a}")) < writes.index(
        ("POST", "/mrv/v0/production_batches")
    )
    batch_ids = _check_batches(_held(sandbox, "/production_batches"), prefix, heavier)
    assert batch_ids["kiln-oct-a"] != old_a
    _check_applications(
        _held(sandbox, "/biochar_applications"), prefix, APPLICATIONS, batch_ids, _location_ids(sandbox, prefix)
    )
    statuses = {(o["kind"], o["ref"]): o["status"] for o in replaced.json()["objects"]}
    assert statuses[("production_batch", "kiln-oct-a")] == "replaced"
    assert statuses[("biochar_application", "spread-north-1")] == "replaced"
    assert statuses[("biochar_application", "spread-south-1")] == "unchanged"


def test_a_departure_mass_over_the_arrival_mass_is_refused_at_its_cell(sandbox, tmp_path):
    swapped = [dict(APPLICATIONS[0], truck_mass_on_arrival=16.3, truck_mass_on_departure=18.4), *APPLICATIONS[1:]]
    workbook = _workbook(tmp_path / "wb", BATCHES, swapped)
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["validate", str(workbook), "--json", "--no-report"], env)
    assert result.code == 1, result.stdout + result.stderr
    errors = result.json()["errors"]
    assert [(e["sheet"], e["row"], e["column"], e["cell"]) for e in errors] == [
        ("biochar_applications", 2, "truck_mass_on_departure", "H2")
    ]
    assert "18.4" in errors[0]["message"] and "16.3" in errors[0]["message"]
    assert not _log(sandbox)


def test_the_chain_checks_locate_each_mistake_to_its_cell(sandbox, tmp_path):
    long_batch = dict(BATCHES[0], ended_at=dt.datetime(2026, 11, 2, 6, 0))  # 32 days
    backwards = dict(BATCHES[1], ended_at=dt.datetime(2026, 10, 14, 6, 0))
    sound = dict(BATCHES[0], ref="kiln-oct-c")  # ends 2026-10-14 18:00
    early = dict(APPLICATIONS[2], production_batch="kiln-oct-c", application_date=dt.date(2026, 10, 10))
    wrong_units = dict(APPLICATIONS[0], application_rate_unit="t", truck_mass_unit="km")
    typo = dict(APPLICATIONS[1], storage_location="north-feild")
    workbook = _workbook(tmp_path / "wb", [long_batch, backwards, sound], [wrong_units, typo, early])
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["validate", str(workbook), "--json", "--no-report"], env)
    assert result.code == 1, result.stdout + result.stderr
    found = {(e["sheet"], e["cell"]): e for e in result.json()["errors"]}
    assert set(found) == {
        ("production_batches", "F2"),  # longer than a month
        ("production_batches", "F3"),  # ends before it starts
        ("biochar_applications", "F2"),  # a rate in t: not mass per area
        ("biochar_applications", "I2"),  # a truck weighed in km
        ("biochar_applications", "C3"),  # unknown location, with a did-you-mean
        ("biochar_applications", "D4"),  # spread before batch c's production ended (2026-10-14)
    }, sorted(found)
    assert "month" in found[("production_batches", "F2")]["message"]
    assert "north-field" in found[("biochar_applications", "C3")]["message"]
    assert "2026-10-14" in found[("biochar_applications", "D4")]["message"]
    # a batch whose own end is wrong is not used to judge its applications' dates (one finding per mistake)


def test_pruning_a_removed_application_deletes_only_it(sandbox, tmp_path):
    workbook = _workbook(tmp_path / "wb", BATCHES, APPLICATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    prefix = _prefix(workbook)
    gone = _held(sandbox, "/biochar_applications")[f"{prefix}:biochar_applications:spread-north-2"]["id"]

    kept = [APPLICATIONS[0], APPLICATIONS[2]]
    workbook = _workbook(tmp_path / "wb", BATCHES, kept)
    plan = run_cli(["plan", str(workbook), "--json", "--quiet"], env)
    assert plan.code == 0, plan.stdout + plan.stderr
    assert [(o["kind"], o["id"]) for o in plan.json()["orphans"]] == [("biochar_application", gone)]
    before = len(_log(sandbox))
    pruned = run_cli(["run", str(workbook), "--prune", "--json", "--quiet"], env)
    assert pruned.code == 0, pruned.stdout + pruned.stderr
    writes = [(m, p, s) for m, p, s in _log(sandbox)[before:] if m != "GET"]
    assert writes == [("DELETE", f"/mrv/v0/biochar_applications/{gone}", 204)]
    held = _held(sandbox, "/biochar_applications")
    assert set(held) == {f"{prefix}:biochar_applications:{a['ref']}" for a in kept}
    assert len(_held(sandbox, "/production_batches")) == 2


def test_rollback_deletes_the_chain_the_run_created(sandbox, tmp_path):
    workbook = _workbook(tmp_path / "wb", BATCHES, APPLICATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    run = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert run.code == 0, run.stdout + run.stderr
    done = run_cli(["rollback", run.json()["run_id"], "--yes"], env)
    assert done.code == 0, done.stdout + done.stderr
    assert api_nodes(sandbox, "/biochar_applications") == []
    assert api_nodes(sandbox, "/production_batches") == []


def test_the_report_shows_each_entrys_chain_the_net_mass_and_a_map_of_the_locations(sandbox, tmp_path):
    import re

    workbook = _workbook(tmp_path / "wb", BATCHES, APPLICATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    run = run_cli(["run", str(workbook), "--json", "--quiet", "--report", str(tmp_path / "run.html")], env)
    assert run.code == 0, run.stdout + run.stderr
    page = (tmp_path / "run.html").read_text()
    section = re.search(r'<section id="[^"]*chain" class="detail">(.*?)</section>', page, re.S)
    assert section, "no chain-of-custody section"
    chain = section.group(1)
    net_kg = sum(
        (a["truck_mass_on_arrival"] - a["truck_mass_on_departure"]) * KG[a["truck_mass_unit"]] for a in APPLICATIONS
    )
    assert f"Net biochar applied this month: <strong>{net_kg / 1000:,.3f} t</strong>" in chain
    # the entry named by two applications shows batch a, then both applications, then where they went
    entry = chain.split("GHG entry batch-2026-10-a", 1)[1].split("<h3>", 1)[0]
    assert "Production batch kiln-oct-a" in entry and "kiln-oct-b" not in entry
    assert entry.index("spread-north-1") < entry.index("spread-north-2")
    assert "North field" in entry
    first_net = (APPLICATIONS[0]["truck_mass_on_arrival"] - APPLICATIONS[0]["truck_mass_on_departure"]) * 1.0
    assert f"{first_net:,.6g} t" in entry
    # the spreading that names no entry is listed apart
    assert "Applications not linked to an entry" in chain and "spread-south-1" in chain
    # the map: one point per location, north above south, each linking to an element of the page
    svg = re.search(r"<svg.*?</svg>", chain, re.S).group(0)
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no tiles, nothing fetched
    points = re.findall(r'<a href="#([^"]+)"><title>([^<]+)</title><circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert len(points) == len(LOCATIONS)
    ids = set(re.findall(r'id="([^"]+)"', page))
    assert all(target in ids for target, *_ in points), [t for t, *_ in points if t not in ids]
    y_of = {title.split(" (")[0]: float(cy) for _, title, _, cy in points}
    assert y_of["North field"] < y_of["South field"]  # 52.09 N is drawn above 51.5 N


def test_an_entrys_biochar_mass_unlike_its_applications_net_mass_is_a_warning_naming_both(sandbox, tmp_path):
    # the sample's entry batch-2026-10-a binds biochar_mass to a datapoint of 4.21 t; these two spread 2.1 + 2.11
    workbook = _workbook(tmp_path / "wb", BATCHES, APPLICATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    agrees = run_cli(["validate", str(workbook), "--json", "--no-report"], env)
    assert agrees.code == 0, agrees.stdout + agrees.stderr
    assert not [w for w in agrees.json()["warnings"] if w["code"] == "biochar_mass_differs"]

    lighter = [dict(APPLICATIONS[0], truck_mass_on_departure=17.3), *APPLICATIONS[1:]]  # net 1.1 t, not 2.1 t
    workbook = _workbook(tmp_path / "wb2", BATCHES, lighter)
    differs = run_cli(["validate", str(workbook), "--json", "--no-report"], env)
    assert differs.code == 0, differs.stdout + differs.stderr
    (warning,) = [w for w in differs.json()["warnings"] if w["code"] == "biochar_mass_differs"]
    assert warning["sheet"] == "entry_inputs" and warning["column"] == "datapoint_refs"
    net_t = ((18.4 - 17.3) * 1000 + (14200 - 12090)) / 1000
    assert "4.21 t" in warning["message"] and f"{net_t:g} t" in warning["message"], warning["message"]


def test_the_template_has_the_three_sheets_with_dropdowns_of_the_refs_they_cite(sandbox, tmp_path):
    import openpyxl

    from importer.workbook import spec

    out = tmp_path / "template.xlsx"
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["template", str(out), "--project-id", PROJECT], env)
    assert result.code == 0, result.stdout + result.stderr
    book = openpyxl.load_workbook(out)
    for sheet in ("storage_locations", "production_batches", "biochar_applications"):
        header = [c.value for c in book[sheet][1]]
        assert header == [c.name for c in spec.SHEETS_BY_NAME[sheet].columns]
        assert all(c.comment is not None and c.comment.text for c in book[sheet][1])  # each column explained
    ws = book["biochar_applications"]
    header = [c.value for c in ws[1]]

    def offered(column: str) -> str:
        letter = openpyxl.utils.get_column_letter(header.index(column) + 1)
        (dv,) = [dv for dv in ws.data_validations.dataValidation if f"{letter}2" in str(dv.sqref)]
        return str(dv.formula1)

    assert offered("production_batch").replace("'", "").startswith("production_batches!$A$2")
    assert offered("storage_location").replace("'", "").startswith("storage_locations!$A$2")
    assert offered("entry").replace("'", "").startswith("entries!$A$2")
    batches = book["production_batches"]
    letter = openpyxl.utils.get_column_letter([c.value for c in batches[1]].index("feedstock_types") + 1)
    (dv,) = [dv for dv in batches.data_validations.dataValidation if f"{letter}2" in str(dv.sqref)]
    assert str(dv.formula1).replace("'", "").startswith("feedstock_types!$A$2")
    readme = " ".join(str(c.value) for row in book["README"].iter_rows() for c in row if c.value)
    assert "--replace" in readme and "facility" in readme


def test_a_saved_plan_with_replace_is_applied_as_reviewed_and_a_no_op_rerun_stays_within_its_request_budget(
    sandbox, tmp_path
):
    import math

    from workbooks import sample_data

    workbook = _workbook(tmp_path / "wb", BATCHES, APPLICATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    # a no-op re-run reads, one page each: the project's templates, blueprints, statements, sources, datapoints and
    # components, the organisation's feedstock types and GHG entries (8, as before the chain), and the three
    # listings of the chain the API cannot filter (storage locations, production batches, applications): nothing
    # per object, nothing written. The attributions of the entry whose extra component the workbook attaches were
    # read after the run attached it, and are known (`importer.planning.known`); another machine reads them.
    sheets, _ = sample_data()
    objects = sum(len(sheets[s]) for s in ("sources", "datapoints", "entries", "components"))
    objects += len(LOCATIONS) + len(BATCHES) + len(APPLICATIONS)
    attached = len({c["entry_ref"] for c in sheets["components"]})
    before = len(_log(sandbox))
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    sent = _log(sandbox)[before:]
    assert {m for m, _, _ in sent} == {"GET"}
    assert len(sent) == math.ceil(objects / 50) * (8 + 3) <= math.ceil(objects / 50) + 10, sent
    before = len(_log(sandbox))
    assert run_cli(["run", str(workbook), "--quiet"], cli_env(sandbox, tmp_path / "elsewhere")).code == 0
    elsewhere = _log(sandbox)[before:]

    def attribution_reads(log: list[tuple[str, str, int]]) -> int:
        return sum(1 for m, p, _ in log if m == "GET" and p.endswith("/component_attributions"))

    assert attribution_reads(sent) == 0 and attribution_reads(elsewhere) == attached, elsewhere
    assert sum(1 for _, p, _ in sent if p.endswith(("/production_batches", "/biochar_applications"))) == 2

    prefix = _prefix(workbook)
    old = _held(sandbox, "/production_batches")[f"{prefix}:production_batches:kiln-oct-b"]["id"]
    moved = [BATCHES[0], dict(BATCHES[1], started_at=dt.datetime(2026, 10, 15, 8, 0))]
    workbook = _workbook(tmp_path / "wb", moved, APPLICATIONS)
    saved = tmp_path / "plan.json"
    planned = run_cli(["plan", str(workbook), "--replace", "--out", str(saved), "--quiet"], env)
    assert planned.code == 0, planned.stdout + planned.stderr
    assert (
        "-/+ replace" in planned.stdout and "started_at: 2026-10-15T06:00:00Z -> 2026-10-15T08:00:00Z" in planned.stdout
    )
    assert "2 to replace" in planned.stdout  # the batch, and spread-south-1 that cites it
    applied = run_cli(["apply", str(saved), "--json", "--quiet"], env)
    assert applied.code == 0, applied.stdout + applied.stderr
    batches = _held(sandbox, "/production_batches")
    assert old not in {b["id"] for b in batches.values()}
    _check_batches(batches, prefix, moved)


def test_the_mass_and_area_factors_told_without_pint_are_pints():
    from importer.units import AREA_M2, MASS_KG, conversion_factor, measures

    for unit, kg in MASS_KG.items():
        assert abs(conversion_factor(unit, "kg") - kg) <= 1e-12 * kg, unit
        assert measures(unit, "mass") and not measures(unit, "mass per area")
    for area, m2 in AREA_M2.items():
        assert abs(conversion_factor(area, "m2") - m2) <= 1e-9 * m2, area
        for unit in MASS_KG:
            assert measures(f"{unit}/{area}", "mass per area") and not measures(f"{unit}/{area}", "mass")
    assert not measures("km", "mass") and not measures("t", "mass per area")


def test_update_only_refuses_a_replace_as_it_refuses_a_create(sandbox, tmp_path):
    workbook = _workbook(tmp_path / "wb", BATCHES, APPLICATIONS)
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    heavier = [dict(BATCHES[0], mass=4.35), BATCHES[1]]
    workbook = _workbook(tmp_path / "wb", heavier, APPLICATIONS)
    before = len(_log(sandbox))
    refused = run_cli(["run", str(workbook), "--replace", "--update-only", "--quiet"], env)
    assert refused.code == 1, refused.stdout + refused.stderr
    assert "--update-only" in refused.stdout + refused.stderr and "production batch" in refused.stdout + refused.stderr
    assert not [r for r in _log(sandbox)[before:] if r[0] != "GET"]  # nothing deleted, nothing created


def test_a_batch_carries_the_projects_storage_locations_from_one_workbook_to_the_next(sandbox, tmp_path):
    """Storage locations are registered once and cited for months, and the API lists them whole: within a batch the
    second workbook reads only what is new since the first's listing (one page from the cursor), not every page
    again; what it plans against is still what the server holds (its fields, read back over HTTP)."""

    def month(folder: str, prefix: str, fields: int) -> Path:
        def mutate(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
            project["facility_id"] = FACILITY
            project["supplier_reference_prefix"] = prefix
            project["statement_end_on"] = None  # two workbooks of one month: no statement between them
            sheets["storage_locations"] = [
                {"ref": f"field-{i}", "name": f"{prefix} field {i}", "latitude": 52 + i / 1000, "longitude": 5.1}
                for i in range(fields)
            ]
            sheets["production_batches"], sheets["biochar_applications"] = [], []

        return write(tmp_path / folder, mutate)

    env = cli_env(sandbox, tmp_path / "home")
    first, second = month("a", "carry-a", 120), month("b", "carry-b", 3)  # 120 fields: three pages of 50
    assert run_cli(["run", str(first), "--quiet"], env).code == 0
    before = len(_log(sandbox))
    result = run_cli(["run", str(first), str(second), "--quiet"], env)  # a batch: one session for both
    assert result.code == 0, result.stdout + result.stderr
    listings = [p for m, p, _ in _log(sandbox)[before:] if m == "GET" and p.endswith("/storage_locations")]
    assert len(listings) == 3 + 1  # the first workbook reads its three pages, the second one page from the cursor
    held = {n["supplier_reference_id"]: n for n in api_nodes(sandbox, f"/projects/{PROJECT}/storage_locations")}
    wanted = {f"carry-a:storage_locations:field-{i}" for i in range(120)}
    wanted |= {f"carry-b:storage_locations:field-{i}" for i in range(3)}
    assert {s for s in held if s.startswith("carry-")} == wanted
