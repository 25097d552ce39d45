"""What every output of a run says about it, computed once from the `RunResult`: the CO2e this import covers, and
the problems grouped by root cause with what to do. The HTML report (run_html.py), the terminal (output.py) and
the CSV of failures (csv_export.py) all read these.

A cause's HTTP status, request ID, field, attempts and time come from the failed row's typed `Failure`
(importer.failures), and its advice from the failure's category: no message is parsed.
"""

from __future__ import annotations

import math
import re
from typing import TypedDict

from importer.failures import CATEGORY_LABELS, Failure, advice
from importer.results import BAD_STATUSES, EntryLineage, ObjectOutcome, RunResult

#: how internal field and setting names read to people
FIELD_LABELS = {
    "statement_end_on": "statement end date",
    "statement_start_on": "statement start date",
    "quantity": "value",
    "magnitude": "value",
    "standard_deviation": "standard deviation",
    "component_group_key": "component group",
    "attribution_factor": "attribution factor",
    "display_name": "name",
    "supplier_reference_id": "supplier reference",
    "source_ids": "evidence sources",
    "source_refs": "evidence sources",
    "datapoint_ids": "datapoints",
    "feedstock_type_id": "feedstock type",
    "started_on": "start date",
    "completed_on": "end date",
    "measured_at": "measured on",
    "published_at": "published on",
    "file uploaded": "file uploaded",
    "resume upload": "file upload resumed",
    "submit for verification": "submitted for verification",
    "removed": "removed",
    "name": "name",
}


class CO2eSummary(TypedDict):
    """`co2e_summary`: this import's CO2e, as the terminal, the report and the run's summary file show it."""

    total: float | None
    total_display: str
    kg_display: str
    sd: float | None
    sd_display: str | None
    sd_missing: int
    entries: int
    counted: int
    uncounted: int
    statement_total: float | None
    statement_total_display: str | None
    share: str | None
    why_none: str | None


class CauseFacts(TypedDict):
    """`cause_facts`: the typed facts of a failed or conflicting row (all None for a cause outside the run)."""

    category: str | None
    category_label: str | None
    http: int | None
    request_id: str | None
    field: str | None
    column: str | None
    attempts: int | None
    elapsed: float | None
    retryable: bool
    advice_kind: str
    advice: str


class CauseRow(TypedDict):
    """A row of a cause: the failed row itself, or one it blocked (`via`: the rows between them)."""

    where: str
    kind: str
    ref: str | None
    status: str
    anchor: str
    via: list[str]


class Cause(CauseFacts):
    """One root cause of `problems`: where, its facts and advice, its own rows and the rows it blocked."""

    status: str
    where: str
    kind: str
    ref: str | None
    id: str | None
    error: str
    anchor: str | None
    changes: list[str]
    rows: list[CauseRow]
    blocked: list[CauseRow]
    n: int  # its place, 1 first (set once the causes are sorted)


PROBLEM_ORDER = {"failed": 0, "conflict": 1, "blocked": 2}
INTERRUPTED_ADVICE = "The run was interrupted before this row: run the same command again to finish."


def humanize(name: str | None) -> str:
    if not name:
        return ""
    return FIELD_LABELS.get(name, name.replace("_", " "))


def fmt_kg(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


def fmt_co2e(value: float | None, *, unit_of: float | None = None) -> str:
    """`183.8 kg CO2e` or `6.53 t CO2e` (t from 1,000 kg; `unit_of` picks the unit from another figure)."""
    if value is None:
        return "not reported"
    scale = abs(unit_of if unit_of is not None else value)
    if scale >= 1000:
        return f"{value / 1000:,.2f} t CO2e"
    return f"{value:,.1f} kg CO2e"


def where(o: ObjectOutcome) -> str:
    if o.sheet == "project":
        return "Project sheet"
    return f"{o.sheet} row {o.row}" if o.row else o.sheet


def describe(o: ObjectOutcome) -> str:
    """As importer.planning.describe names a culprit in `blocked_by`: `datapoints row 7 (ref)`."""
    loc = f"{o.sheet} row {o.row}" if o.row else o.sheet
    return f"{loc} ({o.ref})" if o.ref else loc


def row_anchor(prefix: str, o: ObjectOutcome) -> str:
    return f"{prefix}row-{o.sheet}-{o.row or 0}-{o.kind}"


# -- CO2e ------------------------------------------------------------------------------------------------------


def entry_sd(entry: EntryLineage) -> float | None:
    value = entry.co2e_net_removed_standard_deviation_kg
    return float(value) if isinstance(value, (int, float)) else None


def co2e_summary(result: RunResult) -> CO2eSummary:
    """This import's net CO2e (sum over its entries), its standard deviation (root of the sum of squares) and
    its share of the statement's total."""
    with_value = [e for e in result.lineage if e.co2e_net_removed_kg is not None]
    total = sum(e.co2e_net_removed_kg for e in with_value) if with_value else None  # type: ignore[misc]
    sds = [entry_sd(e) for e in with_value]
    known = [s for s in sds if s is not None]
    sd = math.sqrt(sum(s * s for s in known)) if known else None
    st = result.statement or {}
    st_total = st.get("pending_total_co2e_removed_kg")
    st_total = st_total if isinstance(st_total, (int, float)) else None
    share = (total / st_total * 100) if (total is not None and st_total) else None
    return {
        "total": total,
        "total_display": fmt_co2e(total),
        "kg_display": fmt_kg(total),
        "sd": sd,
        "sd_display": fmt_co2e(sd, unit_of=total) if sd is not None else None,
        "sd_missing": len(sds) - len(known),
        "entries": len(result.lineage),
        "counted": len(with_value),
        "uncounted": len(result.lineage) - len(with_value),
        "statement_total": st_total,
        "statement_total_display": fmt_co2e(st_total) if st_total is not None else None,
        "share": f"{share:,.0f}%" if share is not None and 0 <= share <= 1000 else None,
        "why_none": _why_no_co2e(result) if total is None else None,
    }


def _why_no_co2e(result: RunResult) -> str:
    """Why a result shows no CO2e, as it happened: no entries, entries never created (blocked, failed, not
    started: nothing to report), a plan (known after the run), or entries the API holds without a figure."""
    entries = result.lineage
    if not entries:
        return "This workbook has no GHG entries."
    n = len(entries)
    noun = f"{n} GHG entr{'y' if n == 1 else 'ies'}"
    if result.mode == "plan":
        return f"The API computes the CO2e of the {noun} of this workbook when a run writes them."
    never = [e for e in entries if not e.id or e.status in ("failed", "blocked", "not started", "conflict")]
    if never:
        by: dict[str, int] = {}
        for e in never:
            by[e.status] = by.get(e.status, 0) + 1
        how = ", ".join(f"{k} {s}" for s, k in by.items())
        if len(never) == n:
            return (
                f"None of the {noun} of this workbook was created ({how}), so there is no CO2e to report: "
                "fix the problems below and run again."
            )
        return (
            f"{len(never)} of the {noun} of this workbook were not created ({how}); the API reported no CO2e for "
            "the others."
        )
    return f"The API reported no CO2e for the {noun} of this workbook."


# -- problems --------------------------------------------------------------------------------------------------


def failure_of(o: ObjectOutcome) -> Failure:
    """The row's typed failure. A conflict or failure recorded without one (a result built by hand) is taken by
    its status: a conflict is the registry's, anything else a row to check in the workbook."""
    if o.failure is not None:
        return o.failure
    return Failure("conflict" if o.status == "conflict" else "workbook", o.error or "")


def interrupted(o: ObjectOutcome) -> bool:
    """Not started: the run was interrupted (or stopped) before the row began, not because a row failed."""
    return o.status == "not started"


def root_causes(result: RunResult) -> dict[int, tuple[ObjectOutcome | None, list[ObjectOutcome]]]:
    """id() of every problem row -> (the row that caused it: itself unless blocked; None when its culprit is not
    a row of this run) and the chain of rows from it to that cause."""
    by_name: dict[str, list[ObjectOutcome]] = {}
    by_where: dict[str, list[ObjectOutcome]] = {}
    for obj in result.objects:  # one row may hold two objects (a component and its attribution)
        by_name.setdefault(describe(obj), []).append(obj)
        if obj.row:
            by_where.setdefault(where(obj), []).append(obj)

    def culprit(o: ObjectOutcome) -> ObjectOutcome | None:
        name = o.blocked_by or ""
        found = by_name.get(name) or by_where.get(re.sub(r"\s*\(.*\)$", "", name)) or []
        others = [c for c in found if c is not o]
        return next((c for c in others if c.status in BAD_STATUSES), others[0] if others else None)

    def root(o: ObjectOutcome) -> tuple[ObjectOutcome | None, list[ObjectOutcome]]:
        seen: list[ObjectOutcome] = []
        current = o
        while current.status == "blocked":
            nxt = culprit(current)
            if nxt is None or nxt in seen or nxt is current:
                return None, seen
            seen.append(nxt)
            current = nxt
        return current, seen

    return {id(o): ((o, []) if o.status != "blocked" else root(o)) for o in result.objects if o.status in BAD_STATUSES}


def cause_facts(o: ObjectOutcome) -> CauseFacts:
    """The typed facts of a failed or conflicting row, and what to do (from its failure's category)."""
    failure = failure_of(o)
    return {
        "category": failure.category,
        "category_label": CATEGORY_LABELS.get(failure.category, failure.category),
        "http": failure.status,
        "request_id": failure.request_id,
        "field": failure.field,
        "column": failure.column,
        "attempts": failure.attempts,
        "elapsed": failure.elapsed_seconds,
        "retryable": failure.retryable,
        "advice_kind": failure.category,
        "advice": advice(failure, o.sheet, o.row),
    }


def problems(result: RunResult, prefix: str) -> list[Cause]:
    """The problem rows grouped by root cause (failed first, then conflicts, then blocked causes), each cause with
    its typed facts, what to do, its own rows and the rows it blocked."""
    roots = root_causes(result)
    causes: dict[int | str, Cause] = {}
    order: list[int | str] = []
    for o in result.objects:
        if o.status not in BAD_STATUSES:
            continue
        cause_obj, chain = roots[id(o)]
        key: int | str = id(cause_obj) if cause_obj is not None else f"text:{o.blocked_by}"
        if key not in causes:
            order.append(key)
            if cause_obj is not None:
                causes[key] = {
                    "status": cause_obj.status,
                    "where": where(cause_obj),
                    "kind": result.noun(cause_obj.kind),
                    "ref": cause_obj.ref,
                    "id": cause_obj.id,
                    "error": cause_obj.error or "",
                    "anchor": row_anchor(prefix, cause_obj),
                    **cause_facts(cause_obj),
                    "changes": [humanize(c) for c in cause_obj.changes],
                    "rows": [],
                    "blocked": [],
                    "n": 0,
                }
            else:
                text = o.blocked_by or "an earlier row"
                stopped = interrupted(o)
                causes[key] = {
                    "status": "blocked",
                    "where": text,
                    "kind": "",
                    "ref": None,
                    "id": None,
                    "error": "",
                    "anchor": None,
                    "http": None,
                    "attempts": None,
                    "elapsed": None,
                    "request_id": None,
                    "field": None,
                    "column": None,
                    "category": None,
                    "category_label": None,
                    "retryable": stopped,
                    "advice_kind": "interrupted" if stopped else "external",
                    "advice": INTERRUPTED_ADVICE
                    if stopped
                    else f"Blocked by {text}, which is not a row of this run: check it, then run again.",
                    "changes": [],
                    "rows": [],
                    "blocked": [],
                    "n": 0,
                }
        entry: CauseRow = {
            "where": where(o),
            "kind": result.noun(o.kind),
            "ref": o.ref,
            "status": o.status,
            "anchor": row_anchor(prefix, o),
            "via": [describe(c) for c in chain[:-1]],
        }
        if o is cause_obj:
            causes[key]["rows"].append(entry)
        else:
            causes[key]["blocked"].append(entry)
    groups = [causes[k] for k in order]
    groups.sort(key=lambda g: (PROBLEM_ORDER.get(g["status"], 3), -len(g["blocked"])))
    for n, group in enumerate(groups, 1):
        group["n"] = n
    return groups


__all__ = [
    "FIELD_LABELS",
    "CO2eSummary",
    "Cause",
    "CauseFacts",
    "CauseRow",
    "co2e_summary",
    "describe",
    "entry_sd",
    "failure_of",
    "fmt_co2e",
    "fmt_kg",
    "humanize",
    "interrupted",
    "problems",
    "root_causes",
    "row_anchor",
    "where",
]
