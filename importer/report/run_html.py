"""The HTML result report of a plan or a run (or of a batch of workbooks): audit stamp, totals, a table per
sheet, the lineage of every GHG entry with CO2e as the API reported it, and a status filter. One
self-contained file: inline CSS and a little inline JS, no external URL, every value escaped."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from importer.report.render import render_to
from importer.results import BAD_STATUSES, KINDS, PLAN_STATUSES, RUN_STATUSES, RunResult

SHEET_ORDER = ("sources", "datapoints", "feedstock_types", "entries", "components", "project")


def _duration(result: RunResult) -> str:
    seconds = result.duration_seconds
    if seconds is None:
        return "-"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _statement(result: RunResult) -> dict[str, Any] | None:
    st = result.statement
    if not st:
        return None
    return {"id": st.get("id"), "status": st.get("status"),
            "start": st.get("reporting_period_start_at") or st.get("start_on"),
            "end": st.get("reporting_period_end_at") or st.get("end_on"),
            "total": st.get("pending_total_co2e_removed_kg"), "entries": st.get("ghg_entry_ids") or []}


def _view(result: RunResult) -> dict[str, Any]:
    sheets: dict[str, list[Any]] = defaultdict(list)
    for obj in result.objects:
        sheets[obj.sheet].append(obj)
    ordered = [(s, sheets[s]) for s in SHEET_ORDER if s in sheets] + [
        (s, rows) for s, rows in sheets.items() if s not in SHEET_ORDER]
    return {
        "workbook_name": Path(result.workbook_path).name, "workbook_path": result.workbook_path,
        "workbook_sha256": result.workbook_sha256, "run_id": result.run_id, "mode": result.mode,
        "api_url": result.api_url, "environment": result.environment, "embedded_sandbox": result.embedded_sandbox,
        "tool_version": result.tool_version, "operator": result.operator,
        "started_at": result.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "finished_at": result.finished_at.strftime("%Y-%m-%d %H:%M:%S UTC") if result.finished_at else None,
        "duration": _duration(result), "counts": result.counts(), "ok": result.ok, "interrupted": result.interrupted,
        "problem_count": sum(o.status in BAD_STATUSES for o in result.objects), "sheets": ordered,
        "lineage": [asdict(e) for e in result.lineage], "statement": _statement(result), "messages": result.messages,
    }


def _render(results: list[RunResult], path: Path, *, title: str, subtitle: str) -> Path:
    mode = results[0].mode if results else "run"
    statuses = list(PLAN_STATUSES if mode == "plan" else RUN_STATUSES)
    grand: dict[str, dict[str, int]] = {kind: dict.fromkeys(statuses, 0) for kind in KINDS}
    for result in results:
        for kind, row in result.counts().items():
            for status, n in row.items():
                grand[kind][status] = grand[kind].get(status, 0) + n
    return render_to(path, "run_report.html.j2", title=title, subtitle=subtitle, results=[_view(r) for r in results],
                     statuses=statuses, grand_totals=grand, any_rehearsal=any(r.embedded_sandbox for r in results))


def write_run_report(result: RunResult, path: Path) -> Path:
    verb = "Import plan" if result.mode == "plan" else "Import report"
    state = "OK" if result.ok else ("interrupted" if result.interrupted else "needs attention")
    return _render([result], path, title=f"{verb}: {Path(result.workbook_path).name}",
                   subtitle=f"{state} - {result.environment} - run {result.run_id}")


def write_batch_report(results: list[RunResult], path: Path) -> Path:
    ok = sum(r.ok for r in results)
    verb = "Import plan" if results and results[0].mode == "plan" else "Import report"
    return _render(results, path, title=f"{verb}: {len(results)} workbooks",
                   subtitle=f"{ok} of {len(results)} OK")
