"""The files a plan or run leaves beside each other in the reports folder: the HTML report, the CSV of rows that
need attention, the CSV of what was created (as Data Loader's success file: each row's new Isometric ID), a small
JSON summary of the run, and `index.html`, the folder's index of every run it holds (date, workbook, verdict,
CO2e) with the month-to-month CO2e trend, rebuilt from the summaries after each run.

A file that cannot be written, or whose path is one of the command's inputs (`is_input`), is a warning on stderr:
whatever broke, the run it reports on is unaffected."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from importer.json_types import JSONObject
from importer.report.csv_export import beside_report, failed_csv_path, write_failed_csv, write_safe_csv
from importer.report.render import render_to, strict_writes, warn_not_written
from importer.results import RunResult

log = logging.getLogger(__name__)

CREATED_COLUMNS = ("sheet", "row", "ref", "kind", "isometric_id", "action")
#: the outcomes the created CSV lists, each as its action (rows that failed, were blocked or never started have no ID)
ACTIONS = frozenset({"created", "updated", "replaced", "unchanged", "deleted"})
SUMMARY_SUFFIX = "-summary.json"
INDEX = "index.html"


class RunSummary(TypedDict):
    """The JSON summary of a run kept beside its report: what the folder's index shows, and the next run's CO2e
    "before" (read back as a `JSONObject`: a file on disk may have been written by another version)."""

    run_id: str
    mode: str
    workbook: str
    started_at: str
    verdict: str
    environment: str
    api_url: str
    co2e_kg: float | None
    statement_end_on: str | None
    statement_total_kg: float | None
    report: str
    statement_id: object  # as the statement holds it (the API's ID)
    entries: dict[str, float]  # each GHG entry's net CO2e after the run (workbook ref -> kg)


class TrendPoint(TypedDict):
    end_on: str
    kg: float


class ChartPoint(TypedDict):
    x: float
    y: float
    label: str
    value: str


class TrendChart(TypedDict):
    width: int
    height: int
    points: list[ChartPoint]
    zero: float
    path: str


def created_csv_path(result: RunResult, report_path: Path) -> Path:
    return beside_report(result, report_path, "-created.csv")


def write_created_csv(result: RunResult, path: Path) -> Path:
    """Each row that has an Isometric ID after the run (created, updated, unchanged, deleted), with that ID."""
    rows = ((o.sheet, o.row, o.ref, o.kind, o.id, o.status) for o in result.objects if o.status in ACTIONS and o.id)
    return write_safe_csv(path, CREATED_COLUMNS, rows)


def summary(result: RunResult, report_path: Path) -> RunSummary:
    """What the index shows of one run (kept beside its report)."""
    from importer.report.analysis import co2e_summary

    co2e = co2e_summary(result)
    statement = result.statement or {}
    return {
        "run_id": result.run_id,
        "mode": result.mode,
        "workbook": Path(result.workbook_path).name,
        "started_at": result.started_at.isoformat()
        if isinstance(result.started_at, dt.datetime)
        else str(result.started_at),
        "verdict": "interrupted" if result.interrupted else ("ok" if result.ok else "problems"),
        "environment": result.environment,
        "api_url": result.api_url,
        "co2e_kg": co2e["total"],
        "statement_end_on": str(statement.get("reporting_period_end_at") or statement.get("end_on") or "") or None,
        "statement_total_kg": co2e["statement_total"],
        "report": report_path.name,
        "statement_id": statement.get("id"),
        #: each GHG entry's net CO2e after the run (workbook ref -> kg): the next run's "before"
        "entries": {e.ref: kg for e in result.lineage if (kg := e.co2e_net_removed_kg) is not None},
    }


def previous_summary(folder: Path, result: RunResult) -> JSONObject | None:
    """The summary of the latest earlier run of the same GHG statement in this reports folder: what its CO2e
    was before this run, as far as this folder knows (another tool may have changed it since; the report says
    where the figure comes from)."""
    statement_id = (result.statement or {}).get("id")
    if not statement_id:
        return None
    started = result.started_at.isoformat() if isinstance(result.started_at, dt.datetime) else str(result.started_at)
    found: JSONObject | None = None
    for path in folder.glob(f"*{SUMMARY_SUFFIX}"):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            isinstance(run, dict)
            and run.get("statement_id") == statement_id
            and run.get("run_id") != result.run_id
            and str(run.get("started_at")) < started
            and (found is None or str(run.get("started_at")) > str(found.get("started_at")))
        ):
            found = run
    return found


def write_outputs(results: list[RunResult], *, report: Path, mode: str, is_input: Callable[[Path], str | None]) -> None:
    """Everything the reports folder gets for these results (see the module docstring)."""
    from importer.report.run_html import write_batch_report, write_run_report

    consequence = f"; the {mode} itself is unaffected"
    if is_input(report):
        warn_not_written(report, OSError("it is one of this command's inputs, left as it is"), consequence)
        return
    previous = [previous_summary(report.parent, r) if mode == "run" else None for r in results]
    try:
        with strict_writes():
            if len(results) == 1:
                write_run_report(results[0], report, previous=previous[0])
            else:
                write_batch_report(results, report, previous=previous)
    except Exception as exc:  # whatever broke, the summary must still be printed
        log.debug("report %s not written", report, exc_info=True)
        warn_not_written(report, exc, consequence)
        return
    for result in results:
        result.report_path = str(report)
    if mode != "run":
        return
    for result in results:
        files: list[tuple[Path, Callable[[RunResult, Path], Path]]] = [
            (created_csv_path(result, report), write_created_csv)
        ]
        if not result.ok:
            files.append((failed_csv_path(result, report), write_failed_csv))
        for path, write in files:
            why = is_input(path)
            if why:
                warn_not_written(path, OSError(why), consequence)
                continue
            try:
                write(result, path)
            except Exception as exc:  # likewise
                log.debug("%s not written", path, exc_info=True)
                warn_not_written(path, exc, consequence)
        try:
            side = beside_report(result, report, SUMMARY_SUFFIX)
            side.write_text(json.dumps(summary(result, report), indent=2, default=str), encoding="utf-8")
        except OSError as exc:
            warn_not_written(report.with_name("(summary)"), exc, consequence)
    write_index(report.parent)


def write_index(folder: Path) -> Path | None:
    """`index.html` of the folder: every run whose summary lies there, newest first, and the CO2e of each
    statement period over time (the latest run per period)."""
    runs: list[JSONObject] = []
    for path in sorted(folder.glob(f"*{SUMMARY_SUFFIX}")):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.debug("summary %s unreadable", path, exc_info=True)
            continue
        if isinstance(run, dict):  # a summary is an object (anything else is not one of ours)
            runs.append(run)
        else:
            log.debug("summary %s is not a JSON object", path)
    if not runs:
        return None
    runs.sort(key=lambda r: str(r.get("started_at")), reverse=True)
    periods: dict[str, float] = {}  # statement period end -> its total
    for run in reversed(runs):  # oldest first: the latest run of a period wins
        end, total = run.get("statement_end_on"), run.get("statement_total_kg")
        if end and isinstance(total, (int, float)) and run.get("verdict") == "ok":
            periods[str(end)] = float(total)
    trend: list[TrendPoint] = [{"end_on": end, "kg": kg} for end, kg in sorted(periods.items())]
    return render_to(folder / INDEX, "reports_index.html.j2", runs=runs, trend=trend, chart=_trend_chart(trend))


def _trend_chart(trend: list[TrendPoint]) -> TrendChart | None:
    """Points of an inline SVG line chart (no script, no network): statement period end -> tonnes CO2e."""
    if not trend:
        return None
    width, height, pad = 640, 200, 40
    values = [t["kg"] / 1000 for t in trend]
    low, high = min(0.0, *values), max(0.0, *values)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(1, len(trend) - 1)
    points: list[ChartPoint] = [
        {
            "x": round(pad + i * step, 1),
            "y": round(height - pad - (v - low) / span * (height - 2 * pad), 1),
            "label": t["end_on"],
            "value": f"{v:,.2f} t",
        }
        for i, (t, v) in enumerate(zip(trend, values, strict=True))
    ]
    zero = round(height - pad - (0 - low) / span * (height - 2 * pad), 1)
    return {
        "width": width,
        "height": height,
        "points": points,
        "zero": zero,
        "path": " ".join(f"{p['x']},{p['y']}" for p in points),
    }
