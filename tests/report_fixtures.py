"""A realistic RunResult with every kind and status, two entries with lineage, a statement, and hostile cell
text in refs, errors and names, for report tests."""

from __future__ import annotations

import datetime as dt

from importer.results import (
    ComponentLineage,
    DatapointLineage,
    EntryLineage,
    InputLineage,
    ObjectOutcome,
    RunResult,
    SourceLineage,
)

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '"><img src=x onerror="window.__pwned=2">'
FORMULA = "=cmd|' /C calc'!A0"


def hostile_result(*, embedded: bool = True) -> RunResult:
    start = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
    objects = [
        ObjectOutcome("sources", 2, "weighbridge", "source", "demo:sources:weighbridge:abc", "src_1AAAAAAAAAAAAAAA",
                      "created"),
        ObjectOutcome("sources", 3, SCRIPT, "source", "demo:sources:x", None, "failed",
                      error=f"HTTP 422: display_name: {IMG}"),
        ObjectOutcome("datapoints", 2, "biochar-mass", "datapoint", "demo:datapoints:biochar-mass",
                      "dtp_1AAAAAAAAAAAAAAA", "updated", changes=["quantity"]),
        ObjectOutcome("datapoints", 3, FORMULA, "datapoint", "demo:datapoints:f", None, "blocked",
                      blocked_by=f"sources row 3 ({SCRIPT})"),
        ObjectOutcome("datapoints", 4, "locked-dp", "datapoint", "demo:datapoints:locked-dp", "dtp_1BBBBBBBBBBBBBBB",
                      "conflict", error="datapoint is locked (locked_used_in_verified_removal)"),
        ObjectOutcome("entries", 2, "batch-1", "ghg_entry", "demo:entries:batch-1", "rmv_1AAAAAAAAAAAAAAA",
                      "created"),
        ObjectOutcome("entries", 3, "batch-2", "ghg_entry", "demo:entries:batch-2", "rmv_1BBBBBBBBBBBBBBB",
                      "unchanged"),
        ObjectOutcome("project", None, "statement_end_on", "ghg_statement", None, "ggs_1AAAAAAAAAAAAAAA", "created"),
    ]
    source = SourceLineage("weighbridge", "src_1AAAAAAAAAAAAAAA", "Weighbridge", "weighbridge.pdf", "ab" * 32)
    lineage = [
        EntryLineage("batch-1", "rmv_1AAAAAAAAAAAAAAA", "created", "rvt_1SBXPRODBATCH001", "Monthly production batch",
                     "2026-10-01", "2026-10-15", 6532.4, components=[
                         ComponentLineage("Biochar sequestration", "biochar-sequestration", "sequestration", "template",
                                          1.0, inputs=[
                                              InputLineage("biochar_mass", "monitored", [DatapointLineage(
                                                  "biochar-mass", "dtp_1AAAAAAAAAAAAAAA", f"Biochar {SCRIPT}", 4.21,
                                                  "t", [source])]),
                                              InputLineage("permanence_factor", "fixed", [DatapointLineage(
                                                  None, "dtp_1SBXFIXEDPERMAN01", "Permanence", 0.8, "dimensionless")]),
                                          ]),
                         ComponentLineage("Site generator diesel", "fuel-combustion", "energy-use", "extra", 0.5),
                     ]),
        EntryLineage("batch-2", "rmv_1BBBBBBBBBBBBBBB", "unchanged", "rvt_1SBXFIELDAPPL001", "Field application",
                     "2026-10-16", "2026-10-31", -183.8),
    ]
    return RunResult(
        run_id="20261124T100000Z-abc123", mode="run", workbook_path=f"/data/{SCRIPT}.xlsx", workbook_sha256="cd" * 32,
        tool_version="0.1.0", api_url="http://127.0.0.1:8765/mrv/v0", environment="local sandbox (embedded)",
        embedded_sandbox=embedded, operator="analyst", started_at=start, finished_at=start + dt.timedelta(seconds=12),
        objects=objects, lineage=lineage,
        statement={"id": "ggs_1AAAAAAAAAAAAAAA", "status": "DRAFT", "reporting_period_start_at": "2026-10-01",
                   "reporting_period_end_at": "2026-10-31", "pending_total_co2e_removed_kg": 6348.6,
                   "ghg_entry_ids": ["rmv_1AAAAAAAAAAAAAAA", "rmv_1BBBBBBBBBBBBBBB"]},
        messages=[f"note with {IMG}"],
    )
