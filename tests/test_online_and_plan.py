"""Online checks and planning against in-memory stand-ins of the project and the registry (no HTTP)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace as NS

from importer.identity import derived_reference, reference_for, workbook_references
from importer.online import check_against_project
from importer.planning import RegistryState, build_plan

from fakes import PROJECT, context, workbook


def _state(**kwargs) -> RegistryState:
    base = dict(sources={}, datapoints={}, feedstock_types={}, ghg_entries={}, components={}, statements=[])
    base.update(kwargs)
    return RegistryState(**base)


def test_identity_is_deterministic_bounded_and_file_sensitive():
    a = derived_reference("acme", "sources", "ticket", file_sha256="ab" * 32)
    assert a == derived_reference("acme", "sources", "ticket", file_sha256="ab" * 32)
    assert a != derived_reference("acme", "sources", "ticket", file_sha256="cd" * 32)
    assert a.endswith(":abababababab")
    long = derived_reference("p" * 90, "datapoints", "r" * 50)
    assert len(long) == 100 and long != derived_reference("p" * 90, "datapoints", "r" * 49 + "x")
    assert reference_for("mine", "acme", "datapoints", "x") == "mine"


def test_a_clean_workbook_has_no_online_findings(tmp_path):
    assert check_against_project(workbook(tmp_path), context()) == []


def test_online_checks_locate_each_problem(tmp_path):
    wb = workbook(tmp_path)
    wb.entries[0] = dataclasses.replace(wb.entries[0], template="Monthly production btch")
    findings = check_against_project(wb, context())
    assert [(f.code, f.sheet, f.cell) for f in findings] == [("unknown_template", "entries", "B2")]
    assert "did you mean 'Monthly production batch'" in findings[0].message

    wb = workbook(tmp_path)
    wb.entry_inputs[0] = dataclasses.replace(wb.entry_inputs[0], input_key="emission_factor")
    wb.entry_inputs[2] = dataclasses.replace(wb.entry_inputs[2], datapoint_refs=("kwh-a", "diesel"))
    wb.component_inputs.pop()
    codes = {(f.code, f.sheet, f.cell) for f in check_against_project(wb, context())}
    assert ("fixed_input", "entry_inputs", "C2") in codes
    assert ("unit_incompatible", "entry_inputs", "D4") in codes  # litres are not kWh
    assert ("missing_monitored_input", "entries", "A2") in codes  # distance is now unbound
    assert ("missing_component_input", "components", "D2") in codes


def test_scalar_input_with_two_datapoints_is_refused(tmp_path):
    wb = workbook(tmp_path)
    wb.entry_inputs[1] = dataclasses.replace(wb.entry_inputs[1], datapoint_refs=("mass", "mass"))
    findings = check_against_project(wb, context())
    assert [(f.code, f.cell) for f in findings] == [("input_shape", "D3")]


def test_plan_for_an_empty_registry_creates_everything_in_dependency_order(tmp_path):
    wb = workbook(tmp_path)
    plan = build_plan(wb, context(), _state(), submit=False)
    kinds = [a.kind for a in plan.actions]
    assert kinds == sorted(
        kinds,
        key=[
            "source",
            "datapoint",
            "feedstock_type",
            "ghg_entry",
            "component",
            "component_attribution",
            "ghg_statement",
        ].index,
    )
    assert {a.op for a in plan.actions} == {"create"}
    entry = plan.action(("ghg_entry", "batch-1"))
    assert set(entry.depends_on) == {("datapoint", r) for r in ("distance", "mass", "kwh-a", "kwh-b")}
    assert plan.action(("ghg_statement", "statement")).payload.start_on == "2026-10-01"
    srids = {srid for _, _, srid in workbook_references(wb)}
    assert {a.supplier_reference_id for a in plan.actions if a.kind in ("source", "datapoint")} <= srids


def _existing_dp(row, *, magnitude=None, locked="not_locked", source_ids=("src_1EXISTING0000000",)):
    return NS(
        id=f"dtp_1EXIST{row.ref.upper():0<14}"[:20],
        supplier_reference_id=None,
        display_name=row.display_name,
        description=row.description,
        type="REPORTED",
        quantity=NS(
            magnitude=row.magnitude if magnitude is None else magnitude, unit=row.unit, standard_deviation=None
        ),
        source_ids=list(source_ids),
        measured_at=None,
        uncertainty_justification=None,
        locked_status=locked,
    )


def test_plan_classifies_unchanged_update_and_locked_conflict(tmp_path):
    wb = workbook(tmp_path)
    prefix = "t"
    src_srid = reference_for(None, prefix, "sources", "ticket", file_sha256=wb.sources[0].sha256)
    source = NS(
        id="src_1EXISTING0000000",
        supplier_reference_id=src_srid,
        display_name="Ticket",
        published_at=dt.date(2026, 10, 31),
        is_public=False,
        description=wb.sources[0].description,
        url_info=NS(__typename="SourcePrivateUrlInfo", is_accessible=True),
    )
    dps = {}
    for row in wb.datapoints:
        srid = reference_for(None, prefix, "datapoints", row.ref)
        if row.ref == "distance":
            dps[srid] = _existing_dp(row, magnitude=41.0)  # changed value, unlocked -> update
        elif row.ref == "mass":
            dps[srid] = _existing_dp(row, magnitude=17.0, locked="locked_used_in_verified_removal")  # -> conflict
        else:
            dps[srid] = _existing_dp(row)  # identical -> unchanged
    plan = build_plan(wb, context(), _state(sources={src_srid: source}, datapoints=dps), submit=False)
    status = {a.key: a.op for a in plan.actions}
    assert status[("source", "ticket")] == "unchanged"
    assert status[("datapoint", "distance")] == "update"
    distance = plan.action(("datapoint", "distance"))
    assert distance.payload.magnitude == 42.0
    assert [c.describe() for c in distance.changes] == ["quantity: 41 km -> 42 km"]  # before -> after
    assert status[("datapoint", "mass")] == "conflict"
    assert "locked" in plan.action(("datapoint", "mass")).reason
    assert status[("datapoint", "kwh-a")] == "unchanged"
    # the entry uses the conflicting datapoint: blocked, and the statement waiting for it too
    assert status[("ghg_entry", "batch-1")] == "blocked"
    assert "datapoints row 3 (mass)" in plan.action(("ghg_entry", "batch-1")).blocked_by
    assert status[("ghg_statement", "statement")] == "blocked"
    # the extra component does not depend on the entry's datapoints: still planned
    assert status[("component", "generator")] == "create"


def test_statement_overlap_and_closed_period_are_refused(tmp_path):
    wb = workbook(tmp_path)
    later = NS(
        id="ggs_1LATER0000000000",
        project_id=PROJECT,
        status="DRAFT",
        reporting_period_start_at="2026-10-01",
        reporting_period_end_at="2026-11-30",
    )
    plan = build_plan(wb, context(), _state(statements=[later]), submit=False)
    step = plan.action(("ghg_statement", "statement"))
    assert step.op == "conflict" and "overlap" in step.reason

    earlier = NS(
        id="ggs_1EARLY0000000000",
        project_id=PROJECT,
        status="AWAITING_VERIFICATION",
        reporting_period_start_at="2026-09-01",
        reporting_period_end_at="2026-10-20",
    )
    plan = build_plan(wb, context(), _state(statements=[earlier]), submit=False)
    assert plan.action(("ghg_statement", "statement")).payload.start_on == "2026-10-21"
    entry = plan.action(("ghg_entry", "batch-1"))
    assert entry.op == "conflict" and "closed period" in entry.reason
