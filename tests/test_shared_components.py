"""Emissions shared across GHG entries (#28): project components (one MANUAL, with its shares, and one amortised
over a custom period) and a GHG statement component, imported with the real CLI against the loopback sandbox. Each
entry's CO2e and the statement's pending total are read back over HTTP and compared with figures this test computes
itself under the sandbox's documented rule (`importer.sandbox.amortisation`, restated here with numbers written
here); a re-run sends only GETs; a submitted statement refuses a changed statement component with advice and sends
nothing; a component moved from entry to statement scope leaves its old form as an orphan, pruned with --prune."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from e2e_helpers import api_get, api_nodes, cli_env, run_cli
from workbooks import write

PROJECT = "prj_1SBXBIOCHAR00001"
DIESEL_EF = 2.68  # kgCO2e/L: the sample's diesel-ef datapoint, written here
ENTRIES = {"batch-2026-10-a": (dt.date(2026, 10, 1), dt.date(2026, 10, 15)), "application-2026-10": None}

#: the shared emissions' own figures, written here
KILN_LITRES = 2000.0  # MANUAL, shared 0.25 / 0.1
PLANT_LITRES = 9000.0  # CUSTOM_TIME_PERIOD over its activity period
PLANT_PERIOD = (dt.date(2026, 10, 1), dt.date(2027, 9, 30))
OFFICE_KWH = [3100.0, 2100.0]  # the statement component: sum * grid factor, split evenly
GRID_EF = 0.045
SHARES = {"batch-2026-10-a": 0.25, "application-2026-10": 0.1}

DATAPOINTS = [
    {"ref": "kiln-build-l", "magnitude": KILN_LITRES, "unit": "L"},
    {"ref": "plant-build-l", "magnitude": PLANT_LITRES, "unit": "L"},
    {"ref": "office-kwh-1", "magnitude": OFFICE_KWH[0], "unit": "kWh"},
    {"ref": "office-kwh-2", "magnitude": OFFICE_KWH[1], "unit": "kWh"},
    {"ref": "office-grid-ef", "magnitude": GRID_EF, "unit": "kgCO2e/kWh"},
]


def _shared(sheets: dict[str, list[dict[str, Any]]], *, office_name: str = "Office electricity October") -> None:
    for d in DATAPOINTS:
        sheets["datapoints"].append(
            {
                "display_name": d["ref"],
                "description": f"{d['ref']} (test)",
                "type": "REPORTED",
                "source_refs": "logistics-log",
                **d,
            }
        )

    def component(ref: str, blueprint: str, name: str, start: dt.date, end: dt.date, **extra: Any) -> dict[str, Any]:
        return {
            "ref": ref,
            "action": "add",
            "blueprint_key": blueprint,
            "display_name": name,
            "activity_started_at": start,
            "activity_completed_at": end,
            **extra,
        }

    october = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    sheets["components"] += [
        component(
            "kiln-embodied",
            "fuel-combustion",
            "Kiln construction diesel",
            *october,
            scope="project",
            allocation_strategy="MANUAL",
        ),
        component(
            "plant-construction",
            "fuel-combustion",
            "Plant construction diesel",
            *PLANT_PERIOD,
            scope="project",
            allocation_strategy="CUSTOM_TIME_PERIOD",
        ),
        component("office-electricity", "grid-electricity", office_name, *october, scope="statement"),
    ]
    sheets["component_inputs"] += [
        {"component_ref": "kiln-embodied", "input_key": "fuel_volume", "datapoint_refs": "kiln-build-l"},
        {"component_ref": "kiln-embodied", "input_key": "fuel_emission_factor", "datapoint_refs": "diesel-ef"},
        {"component_ref": "plant-construction", "input_key": "fuel_volume", "datapoint_refs": "plant-build-l"},
        {"component_ref": "plant-construction", "input_key": "fuel_emission_factor", "datapoint_refs": "diesel-ef"},
        {
            "component_ref": "office-electricity",
            "input_key": "electricity_used",
            "datapoint_refs": "office-kwh-1, office-kwh-2",
        },
        {
            "component_ref": "office-electricity",
            "input_key": "grid_emission_factor",
            "datapoint_refs": "office-grid-ef",
        },
    ]
    sheets["project_component_attributions"] = [
        {"component": "kiln-embodied", "entry": entry, "attribution_factor": factor} for entry, factor in SHARES.items()
    ]


def _workbook(folder: Path, *, shared: bool = True, submit: bool = False, **options: Any) -> Path:
    def mutate(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        if shared:
            _shared(sheets, **options)
        if submit:
            project["submit_statement"] = True
            project["ghg_statement_report_url"] = "https://example.org/reports/2026-10.pdf"

    return write(folder, mutate)


def _log(sandbox: Any) -> list[tuple[str, str, int]]:
    return list(sandbox.store.request_log)


def _entries(sandbox: Any, workbook_entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """workbook ref -> the entry as the server answers it (by its derived supplier_reference_id)."""
    prefix = "demo-2026-10"  # the sample's supplier_reference_prefix
    held = {e["supplier_reference_id"]: e for e in api_nodes(sandbox, "/ghg_entries")}
    return {e["ref"]: held[f"{prefix}:entries:{e['ref']}"] for e in workbook_entries}


def _days(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


def _expected_shares(entries: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Each entry's share of the shared emissions (kg CO2e, emissions: to subtract), under the sandbox's rule:
    MANUAL by its factor; CUSTOM_TIME_PERIOD by the days of the entry inside the component's activity period over
    the period's days; the statement component evenly over the statement's entries."""
    plant_days = _days(*PLANT_PERIOD)
    office = sum(OFFICE_KWH) * GRID_EF
    out = {}
    for ref, entry in entries.items():
        start, end = dt.date.fromisoformat(entry["started_on"]), dt.date.fromisoformat(entry["completed_on"])
        inside = _days(max(start, PLANT_PERIOD[0]), min(end, PLANT_PERIOD[1]))
        out[ref] = (
            KILN_LITRES * DIESEL_EF * SHARES[ref]
            + PLANT_LITRES * DIESEL_EF * inside / plant_days
            + office / len(entries)
        )
    return out


def test_shared_components_are_imported_and_counted_in_each_entry_and_the_statement(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    plain = _workbook(tmp_path / "plain", shared=False)
    first = run_cli(["run", str(plain), "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    from workbooks import sample_data

    sheets, _ = sample_data()
    base = {ref: e["co2e_net_removed_kg"] for ref, e in _entries(sandbox, sheets["entries"]).items()}

    workbook = _workbook(tmp_path / "wb")
    second = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert second.code == 0, second.stdout + second.stderr
    statuses = {(o["kind"], o["ref"]): o["status"] for o in second.json()["objects"]}
    assert statuses[("project_component", "kiln-embodied")] == "created"
    assert statuses[("project_component", "plant-construction")] == "created"
    assert statuses[("ghg_statement_component", "office-electricity")] == "created"
    assert statuses[("project_component_attribution", "kiln-embodied@batch-2026-10-a")] == "created"

    # what the server holds: the components by scope, with the strategy, and the MANUAL shares on the entries
    prefix = "demo-2026-10"
    project = {c["supplier_reference_id"]: c for c in api_nodes(sandbox, "/components", scope="PROJECT")}
    assert project[f"{prefix}:project_components:kiln-embodied"]["allocation_strategy"] == "MANUAL"
    assert project[f"{prefix}:project_components:plant-construction"]["allocation_strategy"] == "CUSTOM_TIME_PERIOD"
    statement_scoped = api_nodes(sandbox, "/components", scope="GHG_STATEMENT")
    assert [c["supplier_reference_id"] for c in statement_scoped] == [
        f"{prefix}:statement_components:office-electricity"
    ]
    entries = _entries(sandbox, sheets["entries"])
    kiln = project[f"{prefix}:project_components:kiln-embodied"]["id"]
    for ref, entry in entries.items():
        held = api_nodes(sandbox, f"/ghg_entries/{entry['id']}/component_attributions")
        assert [a["attribution_factor"] for a in held if a["component_id"] == kiln] == [SHARES[ref]]

    shares = _expected_shares(entries)
    for ref, entry in entries.items():
        assert abs(entry["co2e_net_removed_kg"] - (base[ref] - shares[ref])) < 1e-6, (ref, entry, base, shares)
        assert shares[ref] > 0
    statements = [s for s in api_nodes(sandbox, "/ghg_statements") if s["project_id"] == PROJECT]
    assert len(statements) == 1
    held = api_get(sandbox, f"/ghg_statements/{statements[0]['id']}")
    assert sorted(held["ghg_entry_ids"]) == sorted(e["id"] for e in entries.values())
    expected_total = sum(base[ref] - shares[ref] for ref in entries)
    assert abs(held["pending_total_co2e_removed_kg"] - expected_total) < 1e-6

    # the report's estimate of each entry's share (the importer's own arithmetic, from the workbook) agrees with
    # the figures computed here, and the report shows the split of the statement's total, flagged as the rule
    estimate = second.json()["shared"]
    by_entry: dict[str, float] = {}
    for c in estimate["components"]:
        for ref, value in c["shares"].items():
            by_entry[ref] = by_entry.get(ref, 0.0) + value
    assert by_entry.keys() == shares.keys()
    for ref, value in by_entry.items():
        assert abs(value + shares[ref]) < 1e-6, (ref, value, shares[ref])  # signed: an emission lowers the net
    report = Path(second.json()["report"]).read_text(encoding="utf-8")
    assert "co2e-split" in report and "rehearsal assumption" in report and "of which shared" in report

    before = len(_log(sandbox))
    third = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert third.code == 0, third.stdout + third.stderr
    sent = _log(sandbox)[before:]
    assert sent and {m for m, _, _ in sent} == {"GET"}, [r for r in sent if r[0] != "GET"]
    shared_kinds = ("project_component", "ghg_statement_component", "project_component_attribution")
    assert {o["status"] for o in third.json()["objects"] if o["kind"] in shared_kinds} == {"unchanged"}


def test_a_submitted_statement_refuses_a_changed_statement_component_and_sends_nothing(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    workbook = _workbook(tmp_path / "wb", submit=True)
    first = run_cli(["run", str(workbook), "--submit", "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    writes = [(m, p) for m, p, _ in _log(sandbox) if m != "GET"]
    submit = next(i for i, (m, p) in enumerate(writes) if p.endswith("/submit"))
    component = next(i for i, (m, p) in enumerate(writes) if p.endswith("/ghg_statement_components"))
    created = next(i for i, (m, p) in enumerate(writes) if p == "/mrv/v0/ghg_statements")
    assert created < component < submit  # the draft first, then its component, then the submission
    statement = next(s for s in api_nodes(sandbox, "/ghg_statements") if s["project_id"] == PROJECT)
    assert statement["status"] == "AWAITING_VERIFICATION"

    changed = _workbook(tmp_path / "wb", submit=True, office_name="Office and canteen electricity October")
    before = len(_log(sandbox))
    refused = run_cli(["run", str(changed), "--submit", "--json", "--quiet"], env)
    assert refused.code == 1, refused.stdout + refused.stderr
    assert not [r for r in _log(sandbox)[before:] if r[0] != "GET"]  # nothing sent
    row = next(o for o in refused.json()["objects"] if o["kind"] == "ghg_statement_component")
    assert row["status"] == "conflict"
    assert statement["id"] in row["error"] and "AWAITING_VERIFICATION" in row["error"]
    assert "resubmit" in row["error"] and "summary_of_changes" in row["error"]


def test_a_component_moved_from_entry_to_statement_scope_leaves_an_orphan_pruned_with_prune(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    plain = _workbook(tmp_path / "wb", shared=False)
    assert run_cli(["run", str(plain), "--quiet"], env).code == 0
    prefix = "demo-2026-10"
    old = {c["supplier_reference_id"]: c["id"] for c in api_nodes(sandbox, "/components", project_id=PROJECT)}
    old_id = old[f"{prefix}:components:site-generator-2026-10"]

    def moved(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        row = next(r for r in sheets["components"] if r["ref"] == "site-generator-2026-10")
        for column in ("entry_ref", "group", "attribution_factor"):
            row.pop(column, None)
        row["scope"] = "statement"

    workbook = write(tmp_path / "wb", moved)
    plan = run_cli(["plan", str(workbook), "--json", "--quiet"], env)
    assert plan.code == 0, plan.stdout + plan.stderr
    assert [(o["kind"], o["id"]) for o in plan.json()["orphans"]] == [("component", old_id)]
    before = len(_log(sandbox))
    pruned = run_cli(["run", str(workbook), "--prune", "--json", "--quiet"], env)
    assert pruned.code == 0, pruned.stdout + pruned.stderr
    writes = [(m, p) for m, p, _ in _log(sandbox)[before:] if m != "GET"]
    assert ("DELETE", f"/mrv/v0/components/{old_id}") in writes
    assert ("POST", "/mrv/v0/ghg_statement_components") in writes
    now = {c["supplier_reference_id"]: c for c in api_nodes(sandbox, "/components", project_id=PROJECT)}
    assert f"{prefix}:components:site-generator-2026-10" not in now
    assert now[f"{prefix}:statement_components:site-generator-2026-10"]["scope"] == "GHG_STATEMENT"


def test_the_shared_component_checks_locate_each_mistake_to_its_cell(sandbox, tmp_path):
    def mistakes(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        _shared(sheets)
        rows = {r["ref"]: r for r in sheets["components"]}
        rows["kiln-embodied"]["entry_ref"] = "batch-2026-10-a"  # a project component attributed to one entry
        rows["office-electricity"]["allocation_strategy"] = "MANUAL"  # a statement component amortised
        rows["plant-construction"].pop("allocation_strategy")  # a project component without a strategy
        rows["site-generator-2026-10"].pop("entry_ref")  # an entry-scoped component without its entry
        sheets["project_component_attributions"] += [
            {"component": "kiln-embodied", "entry": "application-2026-10", "attribution_factor": 0.8},  # 0.1 + 0.8
            {"component": "office-electricity", "entry": "batch-2026-10-a", "attribution_factor": 0.5},
        ]

    workbook = write(tmp_path / "wb", mistakes)
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["validate", str(workbook), "--json", "--no-report"], env)
    assert result.code == 1, result.stdout + result.stderr
    found = {(e["code"], e["sheet"], e["row"], e["column"]) for e in result.json()["errors"]}
    assert found == {
        ("not_for_scope", "components", 3, "entry_ref"),
        ("not_for_scope", "components", 5, "allocation_strategy"),
        ("required", "components", 4, "allocation_strategy"),
        ("required", "components", 2, "entry_ref"),
        ("duplicate_share", "project_component_attributions", 4, "entry"),
        ("not_manual", "project_component_attributions", 5, "component"),
    }, sorted(found)
    assert all(e["cell"] for e in result.json()["errors"])
    assert not _log(sandbox)


def test_the_shares_of_a_component_sum_to_at_most_one_and_a_tonnage_strategy_fits_the_credit_type(sandbox, tmp_path):
    def over(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        _shared(sheets)
        sheets["project_component_attributions"][1]["attribution_factor"] = 0.8  # 0.25 + 0.8 = 1.05
        rows = {r["ref"]: r for r in sheets["components"]}
        rows["plant-construction"]["allocation_strategy"] = "ESTIMATED_PROJECT_REDUCTION_TONNAGE"

    workbook = write(tmp_path / "wb", over)
    env = cli_env(sandbox, tmp_path / "home")
    offline = run_cli(["validate", str(workbook), "--json", "--no-report"], env)
    assert offline.code == 1, offline.stdout + offline.stderr
    errors = offline.json()["errors"]
    assert [(e["code"], e["sheet"], e["row"], e["column"]) for e in errors] == [
        ("shares_over_one", "project_component_attributions", 3, "attribution_factor")
    ]
    assert "1.05" in errors[0]["message"]

    fixed = write(
        tmp_path / "wb2",
        lambda sheets, project: (over(sheets, project), sheets["project_component_attributions"].pop()),
    )
    online = run_cli(["validate", str(fixed), "--online", "--json", "--no-report"], env)
    assert online.code == 1, online.stdout + online.stderr
    errors = online.json()["errors"]
    assert [(e["code"], e["sheet"], e["row"], e["column"]) for e in errors] == [
        ("strategy_credit_type", "components", 4, "allocation_strategy")
    ]
    assert "ESTIMATED_PROJECT_REMOVAL_TONNAGE" in errors[0]["message"]


def _five_entries(drop: tuple[str, ...] = ()) -> Any:
    """The sample with the shared components, three more field applications (five entries in all), and the MANUAL
    component's shares but those of `drop`."""

    def mutate(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        _shared(sheets)
        for k in range(3):
            for entry in [e for e in sheets["entries"] if e["ref"] == "application-2026-10"]:
                sheets["entries"].append(dict(entry, ref=f"{entry['ref']}-{k}"))
                sheets["entry_inputs"] += [
                    dict(i, entry_ref=f"{entry['ref']}-{k}")
                    for i in list(sheets["entry_inputs"])
                    if i["entry_ref"] == entry["ref"]
                ]
        rows = sheets["project_component_attributions"]
        sheets["project_component_attributions"] = [r for r in rows if r["entry"] not in drop]

    return mutate


def test_a_rerun_reads_the_attributions_of_the_entries_known_to_carry_a_share_not_of_every_entry(sandbox, tmp_path):
    """The API lists attributions one entry at a time, and has no listing of a project component's shares. Once
    this machine made a MANUAL component (or saw its shares whole), a re-run reads only the entries the sheet names
    and those known to carry a share: a share dropped from the sheet is still found and taken away; another machine,
    knowing nothing, reads every entry and finds the same. What the server holds is read over HTTP."""
    env = cli_env(sandbox, tmp_path / "home")
    workbook = write(tmp_path / "wb", _five_entries())
    first = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    entries = {e["supplier_reference_id"].rsplit(":", 1)[1]: e["id"] for e in api_nodes(sandbox, "/ghg_entries")}
    assert len([r for r in entries if r.startswith(("batch-2026-10-a", "application-2026-10"))]) == 5

    def attribution_reads(sent: list[tuple[str, str, int]]) -> set[str]:
        by_id = {v: k for k, v in entries.items()}
        return {by_id[p.split("/")[-2]] for m, p, _ in sent if m == "GET" and p.endswith("/component_attributions")}

    before = len(_log(sandbox))
    again = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert again.code == 0 and {o["status"] for o in again.json()["objects"]} == {"unchanged"}
    # the two entries the sheet names (the batch's entry also has an extra component of its own), not all five
    assert attribution_reads(_log(sandbox)[before:]) == set(SHARES)

    kiln = next(
        c["id"]
        for c in api_nodes(sandbox, "/components", scope="PROJECT")
        if c["supplier_reference_id"].endswith(":kiln-embodied")
    )

    def carrying() -> set[str]:
        return {
            ref
            for ref, entry_id in entries.items()
            if any(
                a["component_id"] == kiln for a in api_nodes(sandbox, f"/ghg_entries/{entry_id}/component_attributions")
            )
        }

    assert carrying() == set(SHARES)
    dropped = write(tmp_path / "dropped", _five_entries(drop=("application-2026-10",)))
    taken = run_cli(["run", str(dropped), "--json", "--quiet"], env)
    assert taken.code == 0, taken.stdout + taken.stderr
    statuses = {(o["kind"], o["ref"]): o["status"] for o in taken.json()["objects"]}
    assert statuses[("project_component_attribution", "kiln-embodied@application-2026-10")] == "deleted"
    assert carrying() == {"batch-2026-10-a"}

    elsewhere = cli_env(sandbox, tmp_path / "other-home")  # another machine: nothing known, every entry read
    before = len(_log(sandbox))
    fresh = run_cli(["run", str(dropped), "--json", "--quiet"], elsewhere)
    assert fresh.code == 0 and {o["status"] for o in fresh.json()["objects"]} == {"unchanged"}
    assert attribution_reads(_log(sandbox)[before:]) == {r for r in entries if r.startswith(("batch", "application"))}
