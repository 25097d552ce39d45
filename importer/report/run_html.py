"""The HTML result report of a plan or a run (or of a batch of workbooks). One self-contained file: inline CSS,
inline SVG and a little inline JS, no external URL, every value escaped.

What an auditor asks first comes first: a verdict box (outcome, counts, the CO2e this import covers beside the
statement's total), the problems grouped by cause with what to do, the per-entry table, the changes made, then
the evidence files, every row by sheet, the lineage both ways and the audit stamp. Everything is computed from
the `RunResult` alone: the CO2e summary and the problems by cause in `analysis.py` (shared with the terminal
and the CSV; a cause's HTTP status, request ID, field, attempts and time are its row's typed `Failure`, its
advice the failure's category), the rest here. How the CO2e moved comes from `RunResult.co2e_before` (what the
registry held when the run planned), else from the latest earlier run of the statement in the reports folder.
Fields the result may gain later (`RunResult.retries`, `ObjectOutcome.co2e_before_kg`) are read with `getattr`
and shown when present.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import NotRequired, TypedDict
from urllib.parse import quote

from importer.json_types import JSONObject, JSONValue
from importer.report.analysis import (
    co2e_summary,
    entry_sd,
    fmt_co2e,
    fmt_kg,
    humanize,
    problems,
    row_anchor,
    where,
)
from importer.report.chain import chain_view
from importer.report.csv_export import failed_csv_path
from importer.report.paths import command_seconds
from importer.report.render import render_to
from importer.report.samples import samples_view
from importer.results import (
    BAD_STATUSES,
    KINDS,
    PLAN_STATUSES,
    RUN_STATUSES,
    EntryLineage,
    ObjectOutcome,
    RunResult,
    SampleValueLineage,
)
from importer.workbook import spec


def _sample_cell(value: SampleValueLineage, prefix: str) -> dict[str, object]:
    """A lab value behind a datapoint, for the lineage: the value, its sample, what that was taken from."""
    return {
        "ref": value.ref,
        "anchor": f"{prefix}lab-{value.ref}",
        "sample": value.sample,
        "sample_id": value.sample_id,
        "measured_at": value.measured_at,
        "taken_from": f"{value.taken_from} {value.target}" if value.target else "",
        "target_id": value.target_id if value.target_id != value.target else None,
    }


SHEET_ORDER = (
    "project",
    "sources",
    "datapoints",
    "feedstock_types",
    "storage_locations",
    "production_batches",
    "biochar_applications",
    "measurement_locations",
    "samples",
    "entries",
    "components",
)

#: "Storage locations sheet": every sheet of the workbook's format, named for people
SHEET_LABELS = {sheet.name: sheet.name.replace("_", " ").capitalize() + " sheet" for sheet in spec.SHEETS}
#: status -> (label, icon): the icon carries the meaning without colour
STATUS_META = {
    "created": ("created", "\u2713"),
    "create": ("to create", "+"),
    "updated": ("updated", "\u270e"),
    "update": ("to update", "\u270e"),
    "replaced": ("replaced", "\u21bb"),
    "replace": ("to replace", "\u21bb"),
    "unchanged": ("unchanged", "="),
    "failed": ("failed", "\u2717"),
    "deleted": ("deleted", "\u2212"),
    "delete": ("to delete", "\u2212"),
    "blocked": ("blocked", "\u2298"),
    "conflict": ("conflict", "\u26a0"),
    "not started": ("not started", "\u00b7"),
    "recomputed": ("recomputed", "\u0394"),
}
#: status columns of the totals shown only when some row has them
_WHEN_ANY = frozenset({"not started", "replace", "replaced"})
CHART_MAX_BARS = 40  # entries beyond this are drawn as a histogram
EVIDENCE_LIST_MAX = 12  # datapoints/entries named per evidence file; the rest are counted
BIG_RUN = 300  # objects above which the per-sheet tables start folded and print defaults to the summary


# -- what the template is given (the dicts read back here typed; the view and the lineage tree are only rendered)


class Bar(TypedDict):
    label: str
    full: str
    hint: str
    value: str
    negative: bool
    x: float
    w: float
    y: int
    h: int
    ty: float


class Chart(TypedDict):
    by: str  # "entry" | "histogram"
    bars: list[Bar]
    entries: int
    width: int
    height: int
    zero_x: float
    label_w: int
    value_x: int
    pattern: str
    any_negative: bool


class OutcomePart(TypedDict):
    status: str
    n: int
    label: str
    x: float
    w: float
    color: str
    share: str


class OutcomeBar(TypedDict):
    parts: list[OutcomePart]
    width: int
    height: int
    total: int


class EntryRow(TypedDict):
    ref: str
    id: str | None
    status: str
    shown_status: str
    template: str
    period: str
    net: str
    negative: bool
    sd: str
    credit: str | None
    sense: str | None
    anchor: str
    before: str | None
    delta: str | None
    shared: str | None  # the entry's share of shared emissions (`importer.shared_emissions`), when estimated


class Movement(TypedDict):
    """How the statement's CO2e moved in a run (`_movement`): the entries' figures before, where they come from,
    and the statement's total before and now when both are known."""

    entries: dict[str, float]  # workbook ref -> kg before the run
    source: str
    run_id: JSONValue  # the earlier run's, when the figures come from its summary
    before: NotRequired[float]
    now: NotRequired[float]
    before_display: NotRequired[str]
    now_display: NotRequired[str]
    delta_display: NotRequired[str]


class ChangedField(TypedDict):
    name: str
    raw: str
    before: str | None
    after: str | None


class AffectedEntry(TypedDict):
    ref: str
    co2e: str
    before: str | None
    anchor: str


class ChangeRow(TypedDict):
    where: str
    kind: str
    ref: str | None
    id: str | None
    anchor: str
    fields: list[ChangedField]
    has_values: bool
    affected: list[AffectedEntry]
    co2e_before: str | None


class EvidenceDatapoint(TypedDict):
    name: str
    anchor: str
    status: str


class EntryLink(TypedDict):
    ref: str
    anchor: str


class EvidenceFile(TypedDict):
    ref: str | None
    id: str | None
    file: str
    name: str | None
    sha256: str | None
    size: str
    description: str
    status: str
    datapoints: list[EvidenceDatapoint]
    more_datapoints: int
    entries: list[EntryLink]
    more_entries: int


class DatapointUser(TypedDict):
    entry: str
    anchor: str
    component: str
    input: str
    entry_status: str


class DatapointUse(TypedDict):
    name: str
    id: str | None
    display: str | None
    anchor: str
    value: str
    status: str
    sources: list[str]
    used_by: list[DatapointUser]


class Held(TypedDict):
    held: int
    from_workbook: int | None


class StatementView(Held):
    """The statement as the API answered or the plan has it: its values are shown as they are."""

    id: object
    status: object
    start: object
    end: object
    period: str
    total: object
    total_display: str | None
    entries: object
    split: SharedSplit | None


class SharedSplit(TypedDict):
    """The statement's total split by where its CO2e comes from (`_split`), with the rule the split follows."""

    entries: str | None
    statement: str
    project: str
    rule: str


class StatusCount(TypedDict):
    status: str
    n: int


def fmt_bytes(size: object) -> str:
    if not isinstance(size, (int, float)):
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _duration(result: RunResult) -> str:
    """The command's time up to this report when the command line ran it (what its user waited), with the
    import's own part (planning and writing); the import's alone otherwise."""
    seconds = result.duration_seconds
    command = command_seconds()
    if command is not None and (seconds is None or command >= seconds):
        part = f"; planning and importing {_seconds(seconds)}" if seconds is not None else ""
        return f"{_seconds(command)} (the whole command up to this report{part})"
    if seconds is None:
        return "-"
    return _seconds(seconds)


def _slug(text: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text or "")[:80]


# -- CO2e ------------------------------------------------------------------------------------------------------


def _credit_type(entry: EntryLineage) -> str | None:
    value = entry.credit_type
    return str(value).upper() if value else None


def _label_width(labels: list[str], *, px_per_char: float = 7.2, least: int = 60, most: int = 330) -> int:
    """Room for the longest label at 12 px (a generous average glyph width), so no label is clipped."""
    longest = max((len(t) for t in labels), default=0)
    return int(min(most, max(least, longest * px_per_char + 12)))


def _chart(result: RunResult, prefix: str) -> Chart | None:
    """Net CO2e as horizontal bars (inline SVG): one bar per entry, largest first, up to `CHART_MAX_BARS`
    entries; beyond that a histogram of the entries' figures, so an outlier stands out as a lone bar far out."""
    items = [e for e in result.lineage if e.co2e_net_removed_kg is not None]
    if not items:
        return None
    values = [float(e.co2e_net_removed_kg or 0.0) for e in items]
    scale_of = max(abs(v) for v in values)
    if len(items) <= CHART_MAX_BARS:
        by = "entry"
        ranked = sorted(zip(items, values, strict=True), key=lambda ev: (-ev[1], ev[0].ref))
        rows = [
            (
                e.ref,
                v,
                fmt_co2e(v, unit_of=scale_of),
                f"{e.template_name or ''} {_period(e.started_on, e.completed_on)}".strip(),
            )
            for e, v in ranked
        ]
    else:
        by = "histogram"
        rows = _histogram(items, values, scale_of)
    shown_labels = [r[0] if len(r[0]) <= 44 else r[0][:43] + "\u2026" for r in rows]
    label_w = _label_width(shown_labels)
    value_w = _label_width([r[2] for r in rows], least=70, most=200)
    plot_w, row_h = 320, 22
    if by == "histogram":
        lo, hi = 0.0, float(max(r[1] for r in rows)) or 1.0
    else:
        lo = min(0.0, min(r[1] for r in rows))
        hi = max(0.0, max(r[1] for r in rows))
    span = (hi - lo) or 1.0
    zero_x = label_w + (-lo / span) * plot_w
    bars: list[Bar] = []
    for i, ((label, value, text, hint), shown) in enumerate(zip(rows, shown_labels, strict=True)):
        x1 = label_w + ((min(value, 0.0) - lo) / span) * plot_w
        x2 = label_w + ((max(value, 0.0) - lo) / span) * plot_w
        bars.append(
            {
                "label": shown,
                "full": label,
                "hint": hint,
                "value": text,
                "negative": value < 0 if by == "entry" else bool(hint.startswith("net emission")),
                "x": round(x1, 1),
                "w": round(max(x2 - x1, 1.0), 1) if value else 0,
                "y": 6 + i * row_h,
                "h": row_h - 8,
                "ty": 6 + i * row_h + row_h / 2 - 1,
            }
        )
    height = 12 + len(rows) * row_h
    return {
        "by": by,
        "bars": bars,
        "entries": len(items),
        "width": label_w + plot_w + value_w,
        "height": height,
        "zero_x": round(zero_x, 1),
        "label_w": label_w,
        "value_x": label_w + plot_w + 6,
        "pattern": f"{prefix}hatch",
        "any_negative": any(b["negative"] for b in bars),
    }


HISTOGRAM_MAX_BINS = 20


def _histogram(items: list[EntryLineage], values: list[float], scale_of: float) -> list[tuple[str, float, str, str]]:
    """Bins of equal width over the entries' net CO2e (Sturges' count, at most `HISTOGRAM_MAX_BINS`): label
    `from to to`, the number of entries, and the entries by name when a bin holds three or fewer."""
    import math

    lo, hi = min(values), max(values)
    bins = max(1, min(HISTOGRAM_MAX_BINS, math.ceil(math.log2(len(values)) + 1)))
    width = (hi - lo) / bins or 1.0
    members: list[list[tuple[EntryLineage, float]]] = [[] for _ in range(bins)]
    for e, v in zip(items, values, strict=True):
        members[min(bins - 1, int((v - lo) / width))].append((e, v))
    rows = []
    for n, inside in enumerate(members):
        start, stop = lo + n * width, lo + (n + 1) * width
        label = f"{_bare(fmt_co2e(start, unit_of=scale_of))} to {_bare(fmt_co2e(stop, unit_of=scale_of))}"
        count = len(inside)
        named = ", ".join(sorted(e.ref for e, _ in inside)) if 0 < count <= 3 else ""
        hint = ("net emission" if stop <= 0 else "") + (f"{'; ' if stop <= 0 else ''}{named}" if named else "")
        rows.append((label, float(count), f"{count:,} entr{'y' if count == 1 else 'ies'}", hint))
    return rows


def _outcome_bar(result: RunResult) -> OutcomeBar | None:
    """One stacked bar of the rows' outcomes (inline SVG): a segment per outcome, as wide as its share, in the
    outcome's colour, each named with its count in the legend beneath."""
    totals: dict[str, int] = {}
    for o in result.objects:
        totals[o.status] = totals.get(o.status, 0) + 1
    if not totals:
        return None
    order = [s for s in OUTCOME_ORDER if s in totals] + [s for s in totals if s not in OUTCOME_ORDER]
    width, height = 640.0, 22.0
    whole = sum(totals.values())
    x = 0.0
    parts: list[OutcomePart] = []
    for status in order:
        w = width * totals[status] / whole
        parts.append(
            {
                "status": status,
                "n": totals[status],
                "label": STATUS_META.get(status, (status, ""))[0],
                "x": round(x, 2),
                "w": round(max(w, 2.0), 2),
                "color": OUTCOME_COLOURS.get(status, "#8a93a0"),
                "share": f"{100 * totals[status] / whole:.0f}%",
            }
        )
        x += w
    return {"parts": parts, "width": int(width), "height": int(height), "total": whole}


#: the outcomes in the stacked bar, problems first
OUTCOME_ORDER = (
    "failed",
    "conflict",
    "blocked",
    "not started",
    "created",
    "create",
    "updated",
    "update",
    "replaced",
    "replace",
    "deleted",
    "delete",
    "unchanged",
)
OUTCOME_COLOURS = {
    "failed": "#b3261e",
    "conflict": "#7b2d8b",
    "blocked": "#a86f00",
    "not started": "#c3c8cf",
    "created": "#1e6b30",
    "create": "#1e6b30",
    "updated": "#1a55a0",
    "update": "#1a55a0",
    "replaced": "#4f7fc0",
    "replace": "#4f7fc0",
    "deleted": "#3d4450",
    "delete": "#3d4450",
    "unchanged": "#8a93a0",
}


def _entries(
    result: RunResult, prefix: str, status_of: dict[tuple[str, str | None], str], move: Movement | None = None
) -> list[EntryRow]:
    recomputed = _recomputed(result, move)
    before_of = move["entries"] if move else {}
    rows: list[EntryRow] = []
    for e in result.lineage:
        value = e.co2e_net_removed_kg
        credit = _credit_type(e)
        sense = None
        if value is not None:
            sense = "net removal" if value >= 0 else "net emission"
        before = before_of.get(e.ref)
        rows.append(
            {
                "ref": e.ref,
                "id": e.id,
                "status": e.status,
                "shown_status": "recomputed" if e.ref in recomputed else e.status,
                "template": e.template_name or e.template_id or "",
                "period": _period(e.started_on, e.completed_on),
                "net": fmt_kg(value),
                "negative": (value or 0) < 0,
                "sd": fmt_kg(entry_sd(e)),
                "shared": fmt_kg(result.shared.entry_share(e.ref)) if result.shared is not None else None,
                "credit": credit,
                "sense": sense,
                "anchor": f"{prefix}entry-{_slug(e.ref)}",
                "before": fmt_kg(before) if before is not None else None,
                "delta": _signed_kg(value - before) if value is not None and before is not None else None,
            }
        )
    return rows


def _kg_text(value: object) -> str:
    """A kg figure from a record (an orphan's, a statement entry's): `fmt_kg` of a number, empty otherwise."""
    return fmt_kg(value) if isinstance(value, (int, float)) else ""


def _signed_kg(value: float) -> str:
    return "0.0" if round(value, 1) == 0 else f"{value:+,.1f}"


def _bare(text: str) -> str:
    """`6.35 t` of `6.35 t CO2e`: the headline names CO2e once, at its end."""
    return text.removesuffix(" CO2e")


def _signed_co2e(value: float, *, unit_of: float) -> str:
    text = fmt_co2e(abs(value), unit_of=unit_of)
    return ("+" if value > 0 else "\u2212" if value < 0 else "\u00b1") + text


def _recomputed(result: RunResult, move: Movement | None) -> set[str]:
    """The GHG entries this run did not write but whose CO2e the API recomputed: a datapoint they use, or a
    component or attribution of theirs, was updated (or their figure moved since the run before)."""
    if result.mode == "plan":
        return set()
    dp_entries, _ = _uses(result)
    touched: set[str] = set()
    for o in result.objects:
        if o.status != "updated":
            continue
        if o.kind == "datapoint":
            touched |= dp_entries.get(o.ref or "", set()) | dp_entries.get(o.id or "", set())
        elif o.kind in ("component", "component_attribution") and o.ref:
            touched.add(o.ref)
    before_of = move["entries"] if move else {}
    out = set()
    for e in result.lineage:
        if e.status != "unchanged":
            continue
        before, now = before_of.get(e.ref), e.co2e_net_removed_kg
        if e.ref in touched or (before is not None and now is not None and round(before - now, 1) != 0):
            out.add(e.ref)
    return out


def _movement(result: RunResult, previous: JSONObject | None) -> Movement | None:
    """How the statement's CO2e moved in this run: was, now, the difference, and where "was" comes from (the
    registry as the run found it, when the result records it; else the latest earlier run of the same
    statement in this reports folder). None when nothing earlier is known (a first run)."""
    if result.mode == "plan":
        return None
    recorded = result.co2e_before
    entries: dict[str, float] = {}
    was: object = None  # the statement's total before, as recorded
    source = None
    if isinstance(recorded, dict):
        was = recorded.get("statement_total_kg")
        held = recorded.get("entries")
        if isinstance(held, dict):
            entries.update({str(k): float(v) for k, v in held.items() if isinstance(v, (int, float))})
        source = "the registry as this run found it"
    for x in result.statement_entries:  # as planned: the registry's figure, when given
        kg = x.get("co2e_net_removed_kg") if isinstance(x, dict) and x.get("group") == "workbook" else None
        if isinstance(kg, (int, float)):
            entries.setdefault(str(x.get("ref")), float(kg))
    if source is None and previous:
        was = previous.get("statement_total_kg")
        before = previous.get("entries")
        if isinstance(before, dict):
            entries.update({k: v for k, v in before.items() if isinstance(v, (int, float))})
        when = str(previous.get("started_at") or "")[:16].replace("T", " ")
        source = (
            f"run {previous.get('run_id')} of {when} UTC, the latest earlier run of this statement in this reports "
            "folder (a change made elsewhere since would not show)"
        )
    if source is None:
        return None
    st = result.statement or {}
    now = st.get("pending_total_co2e_removed_kg")
    now = float(now) if isinstance(now, (int, float)) else None
    total = float(was) if isinstance(was, (int, float)) else None
    move: Movement = {"entries": entries, "source": source, "run_id": (previous or {}).get("run_id")}
    if total is not None and now is not None:
        scale = max(abs(total), abs(now))
        move["before"] = total
        move["now"] = now
        move["before_display"] = _bare(fmt_co2e(total, unit_of=scale))
        move["now_display"] = _bare(fmt_co2e(now, unit_of=scale))
        move["delta_display"] = _signed_co2e(now - total, unit_of=scale)
    return move


def _period(start: object, end: object) -> str:
    if start and end:
        return f"{start} \u2013 {end}"
    return str(start or end or "")


# -- changes ---------------------------------------------------------------------------------------------------


def _value_text(value: object) -> str:
    if isinstance(value, dict):
        magnitude, unit = value.get("magnitude"), value.get("unit")
        if magnitude is not None:
            return f"{_num(magnitude)} {unit or ''}".strip()
        return ", ".join(f"{humanize(k)} {v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return _num(value)
    return "" if value is None else str(value)


def _num(value: object) -> str:
    if isinstance(value, float):
        text = f"{value:,.6f}".rstrip("0").rstrip(".")
        return text or "0"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _uses(result: RunResult) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """datapoint ref/id -> entry refs, source ref/id/file -> datapoint refs/ids (from the lineage)."""
    dp_entries: dict[str, set[str]] = defaultdict(set)
    src_dps: dict[str, set[str]] = defaultdict(set)
    for e in result.lineage:
        for c in e.components:
            for i in c.inputs:
                for d in i.datapoints:
                    name = d.ref or d.id or ""
                    dp_entries[name].add(e.ref)
                    for s in d.sources:
                        src_dps[s.ref or s.id or s.file_name or ""].add(name)
    return dp_entries, src_dps


def _changes(result: RunResult, prefix: str, move: Movement | None = None) -> list[ChangeRow]:
    dp_entries, _ = _uses(result)
    before_of = move["entries"] if move else {}
    dp_values = {}
    for e in result.lineage:
        for c in e.components:
            for i in c.inputs:
                for d in i.datapoints:
                    if d.ref:
                        dp_values[d.ref] = d
    entry_co2e = {e.ref: e.co2e_net_removed_kg for e in result.lineage}
    rows: list[ChangeRow] = []
    for o in result.objects:
        if o.status not in ("updated", "update"):
            continue
        before, after = o.before, o.after
        names = list(dict.fromkeys(list(o.changes) + [k for k in after if k not in o.changes]))
        fields: list[ChangedField] = []
        for name in names:
            b = before.get(name)
            a = after.get(name)
            if a is None and o.kind == "datapoint" and name in ("quantity", "magnitude", "unit") and o.ref in dp_values:
                d = dp_values[o.ref]
                a = f"{_num(d.magnitude)} {d.unit or ''}".strip() if d.magnitude is not None else None
            fields.append(
                {
                    "name": humanize(name),
                    "raw": name,
                    "before": _value_text(b) if b is not None else None,
                    "after": _value_text(a) if a is not None else None,
                }
            )
        affected: list[str] = []
        if o.kind == "datapoint":
            refs = dp_entries.get(o.ref or "", set()) | dp_entries.get(o.id or "", set())
            affected = sorted(refs)
        elif (
            o.kind in ("ghg_entry", "component", "component_attribution") and o.ref is not None and o.ref in entry_co2e
        ):
            affected = [o.ref]
        co2e_before = getattr(o, "co2e_before_kg", None)
        rows.append(
            {
                "where": where(o),
                "kind": result.noun(o.kind),
                "ref": o.ref,
                "id": o.id,
                "anchor": row_anchor(prefix, o),
                "fields": fields,
                "has_values": any(f["before"] for f in fields),
                "affected": [
                    {
                        "ref": r,
                        "co2e": fmt_co2e(entry_co2e.get(r)) if entry_co2e.get(r) is not None else "not reported",
                        "before": fmt_co2e(before_of[r], unit_of=entry_co2e.get(r))
                        if before_of.get(r) is not None
                        else None,
                        "anchor": f"{prefix}entry-{_slug(r)}",
                    }
                    for r in affected
                ],
                "co2e_before": fmt_co2e(co2e_before) if isinstance(co2e_before, (int, float)) else None,
            }
        )
    return rows


# -- evidence and reverse lineage ------------------------------------------------------------------------------


def _evidence(result: RunResult, prefix: str, status_of: dict[tuple[str, str | None], str]) -> list[EvidenceFile]:
    dp_entries, src_dps = _uses(result)
    seen: dict[str, EvidenceFile] = {}
    for e in result.lineage:
        for c in e.components:
            for i in c.inputs:
                for d in i.datapoints:
                    for s in d.sources:
                        key = s.ref or s.id or s.file_name or ""
                        if key in seen:
                            continue
                        dps = sorted(src_dps.get(key, set()))
                        entries = sorted({r for dp in dps for r in dp_entries.get(dp, set())})
                        seen[key] = {
                            "ref": s.ref,
                            "id": s.id,
                            "file": s.file_name or s.display_name or s.id or "",
                            "name": s.display_name,
                            "sha256": s.sha256,
                            "size": fmt_bytes(s.size_bytes),
                            "description": s.description or result.source_descriptions.get(s.ref or "", ""),
                            "status": status_of.get(("source", s.ref), "") if s.ref else "",
                            "datapoints": [
                                {
                                    "name": dp,
                                    "anchor": f"{prefix}dp-{_slug(dp)}",
                                    "status": status_of.get(("datapoint", dp), ""),
                                }
                                for dp in dps[:EVIDENCE_LIST_MAX]
                            ],
                            "more_datapoints": max(0, len(dps) - EVIDENCE_LIST_MAX),
                            "entries": [
                                {"ref": r, "anchor": f"{prefix}entry-{_slug(r)}"} for r in entries[:EVIDENCE_LIST_MAX]
                            ],
                            "more_entries": max(0, len(entries) - EVIDENCE_LIST_MAX),
                        }
    # sources of the run that no lineage reaches (e.g. failed before any datapoint used them)
    for o in result.objects:
        if o.kind == "source" and (o.ref or o.id) not in seen:
            seen[o.ref or o.id or ""] = {
                "ref": o.ref,
                "id": o.id,
                "file": o.ref or "",
                "name": None,
                "sha256": None,
                "size": "",
                "description": result.source_descriptions.get(o.ref or "", ""),
                "status": o.status,
                "datapoints": [],
                "entries": [],
                "more_datapoints": 0,
                "more_entries": 0,
            }
    return list(seen.values())


def _datapoint_uses(result: RunResult, prefix: str, status_of: dict[tuple[str, str | None], str]) -> list[DatapointUse]:
    """Lineage the other way: each datapoint -> the entries (component, input) using it."""
    uses: dict[str, DatapointUse] = {}
    for e in result.lineage:
        for c in e.components:
            for i in c.inputs:
                for d in i.datapoints:
                    name = d.ref or d.id or ""
                    item = uses.setdefault(
                        name,
                        {
                            "name": name,
                            "id": d.id,
                            "display": d.display_name,
                            "anchor": f"{prefix}dp-{_slug(name)}",
                            "value": f"{_num(d.magnitude)} {d.unit or ''}".strip() if d.magnitude is not None else "",
                            "status": status_of.get(("datapoint", d.ref), "") if d.ref else "",
                            "sources": [s.file_name or s.display_name or s.id or "" for s in d.sources],
                            "used_by": [],
                        },
                    )
                    item["used_by"].append(
                        {
                            "entry": e.ref,
                            "anchor": f"{prefix}entry-{_slug(e.ref)}",
                            "component": c.display_name,
                            "input": i.input_key,
                            "entry_status": e.status,
                        }
                    )
    return sorted(uses.values(), key=lambda u: u["name"])


# -- the view --------------------------------------------------------------------------------------------------


def _statement(result: RunResult) -> StatementView | None:
    st = result.statement
    if not st:
        return None
    total = st.get("pending_total_co2e_removed_kg")
    start = st.get("reporting_period_start_at") or st.get("start_on")
    end = st.get("reporting_period_end_at") or st.get("end_on")
    return {
        "id": st.get("id"),
        "status": st.get("status"),
        "start": start,
        "end": end,
        "period": _period(start, end),
        "total": total,
        "total_display": fmt_co2e(total) if isinstance(total, (int, float)) else None,
        "entries": st.get("ghg_entry_ids") or [],
        **_held(result),
        "split": _split(result, total),
    }


def _split(result: RunResult, total: object) -> SharedSplit | None:
    """The statement's total split into its entries' own figures, the statement components and the project
    components' share for the period (shared: `importer.shared_emissions`, the sandbox's rule, flagged as such)."""
    shared = result.shared
    if shared is None:
        return None
    statement, project = shared.total("statement"), shared.total("project")
    own = float(total) - (statement or 0.0) - (project or 0.0) if isinstance(total, (int, float)) else None
    return {
        "entries": fmt_co2e(own) if own is not None else None,
        "statement": fmt_co2e(statement) if statement is not None else "not estimated",
        "project": fmt_co2e(project) if project is not None else "not estimated",
        "rule": shared.rule,
    }


def _held(result: RunResult) -> Held:
    """How many GHG entries the statement holds (a run: as the server says, else as planned) or will hold (a
    plan), and how many of them are this workbook's: the figures the terminal prints."""
    st = result.statement or {}
    planned = [x for x in result.statement_entries if isinstance(x, dict)]
    ids = st.get("ghg_entry_ids")
    if result.mode != "plan" and isinstance(ids, list) and (ids or not planned):
        ours = {x.get("id") for x in planned if x.get("group") == "workbook"} | {e.id for e in result.lineage if e.id}
        return {"held": len(ids), "from_workbook": sum(1 for i in ids if i in ours) if ours else None}
    if planned:
        return {"held": len(planned), "from_workbook": sum(1 for x in planned if x.get("group") == "workbook")}
    return {"held": len(ids) if isinstance(ids, list) else 0, "from_workbook": None}


def _verdict(result: RunResult, problems: int) -> dict[str, str]:
    plan = result.mode == "plan"
    stopped = getattr(result, "stopped", None)
    if stopped:
        return {
            "state": "interrupted",
            "icon": "\u23f8",
            "title": "Stopped early: the import did not finish",
            "text": f"{stopped}. Fix that and run the same command again: what was created is found again.",
        }
    if result.interrupted:
        return {
            "state": "interrupted",
            "icon": "\u23f8",
            "title": "Interrupted: the import did not finish",
            "text": "Run the same command again to finish: what was created is found again, not duplicated.",
        }
    if problems:
        noun = "row needs" if problems == 1 else "rows need"
        if plan:
            return {
                "state": "bad",
                "icon": "\u2717",
                "title": f"Plan: {problems} {noun} attention before a run",
                "text": "Nothing was written. The problems below would stop these rows.",
            }
        return {
            "state": "bad",
            "icon": "\u2717",
            "title": f"Finished with problems: {problems} {noun} attention",
            "text": "Everything else was imported. Fix the causes below and run the same command again.",
        }
    if plan:
        return {
            "state": "good",
            "icon": "\u2713",
            "title": "Plan ready: nothing was written yet",
            "text": "Every row can be imported as planned.",
        }
    return {
        "state": "good",
        "icon": "\u2713",
        "title": "Import succeeded",
        "text": "Every row was imported or already up to date.",
    }


def _counts_line(result: RunResult, statuses: list[str]) -> list[StatusCount]:
    totals = dict.fromkeys(statuses, 0)
    for o in result.objects:
        totals[o.status] = totals.get(o.status, 0) + 1
    return [{"status": s, "n": n} for s, n in totals.items() if n]


def _view(
    result: RunResult,
    index: int,
    report_path: Path | None,
    statuses: list[str],
    previous: JSONObject | None = None,
) -> dict[str, object]:
    """What the template shows of one result (only rendered, as `chain_view`'s)."""
    prefix = f"w{index}-"
    move = _movement(result, previous)
    recomputed = _recomputed(result, move)
    status_of = {(o.kind, o.ref): o.status for o in result.objects}
    sheets: dict[str, list[ObjectOutcome]] = defaultdict(list)
    for obj in result.objects:
        sheets[obj.sheet].append(obj)
    ordered = [(s, sheets[s]) for s in SHEET_ORDER if s in sheets] + [
        (s, rows) for s, rows in sheets.items() if s not in SHEET_ORDER
    ]
    causes = problems(result, prefix)
    problem_count = sum(o.status in BAD_STATUSES for o in result.objects)
    csv_name = None
    if report_path is not None and result.mode == "run" and problem_count:
        csv_name = failed_csv_path(result, report_path).name
    lineage: list[dict[str, object]] = []
    for e in result.lineage:
        comps: list[dict[str, object]] = []
        for c in e.components:
            inputs: list[dict[str, object]] = []
            for i in c.inputs:
                dps: list[dict[str, object]] = [
                    {
                        "name": d.ref or d.id or "",
                        "display": d.display_name,
                        "id": d.id,
                        "value": _num(d.magnitude) if d.magnitude is not None else "",
                        "unit": d.unit or "",
                        "status": status_of.get(("datapoint", d.ref), "") if d.ref else "",
                        "anchor": f"{prefix}dp-{_slug(d.ref or d.id)}",
                        "sample": _sample_cell(d.sample, prefix) if d.sample is not None else None,
                        "sources": [
                            {
                                "file": s.file_name or s.display_name or "",
                                "id": s.id,
                                "sha256": s.sha256,
                                "status": status_of.get(("source", s.ref), "") if s.ref else "",
                            }
                            for s in d.sources
                        ],
                    }
                    for d in i.datapoints
                ]
                inputs.append({"key": i.input_key, "kind": i.kind, "datapoints": dps})
            comps.append(
                {
                    "name": c.display_name,
                    "key": c.blueprint_key,
                    "group": c.group,
                    "origin": c.origin,
                    "factor": _num(c.attribution_factor) if c.attribution_factor is not None else "",
                    "inputs": inputs,
                }
            )
        lineage.append(
            {
                "ref": e.ref,
                "id": e.id,
                "status": e.status,
                "shown_status": "recomputed" if e.ref in recomputed else e.status,
                "template": e.template_name or "",
                "template_id": e.template_id,
                "period": _period(e.started_on, e.completed_on),
                "co2e": fmt_kg(e.co2e_net_removed_kg),
                "negative": (e.co2e_net_removed_kg or 0) < 0,
                "anchor": f"{prefix}entry-{_slug(e.ref)}",
                "components": comps,
            }
        )
    retries = getattr(result, "retries", None)
    return {
        "prefix": prefix,
        "index": index,
        "workbook_name": Path(result.workbook_path).name,
        "workbook_path": result.workbook_path,
        "workbook_sha256": result.workbook_sha256,
        "run_id": result.run_id,
        "mode": result.mode,
        "api_url": result.api_url,
        "environment": result.environment,
        "embedded_sandbox": result.embedded_sandbox,
        "tool_version": result.tool_version,
        "operator": result.operator,
        "started_at": result.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "finished_at": result.finished_at.strftime("%Y-%m-%d %H:%M:%S UTC") if result.finished_at else None,
        "duration": _duration(result),
        "duration_short": _duration(result).split(" (")[0],
        "settled_rates": result.settled_rates,
        "rate_source": result.rate_source,
        "rate_stated": result.rate_stated,
        "throttled": result.throttled,
        "counts": result.counts(),
        "ok": result.ok,
        "interrupted": result.interrupted,
        "object_count": len(result.objects),
        "count_line": _counts_line(result, statuses),
        "problem_count": problem_count,
        "problems": causes,
        "csv_name": csv_name,
        "csv_href": quote(csv_name) if csv_name else None,
        "verdict": _verdict(result, problem_count),
        "co2e": co2e_summary(result),
        "chart": _chart(result, prefix),
        "outcome_bar": _outcome_bar(result),
        "entries": _entries(result, prefix, status_of, move),
        "changes": _changes(result, prefix, move),
        "move": move,
        "has_before": bool(move and move["entries"]),
        "evidence": _evidence(result, prefix, status_of),
        "dp_uses": _datapoint_uses(result, prefix, status_of),
        "sheets": ordered,
        "fold_sheets": len(result.objects) > BIG_RUN,
        "lineage": lineage,
        "chain": chain_view(result.chain, result.lineage, prefix),
        "lab": samples_view(result.samples, prefix),
        "statement": _statement(result),
        "messages": result.messages,
        "retries": retries if isinstance(retries, list) else None,
        "orphans": [
            {
                "kind": result.noun(str(x.get("kind"))),
                "id": x.get("id"),
                "srid": x.get("supplier_reference_id"),
                "co2e": _kg_text(x.get("co2e_net_removed_kg")),
                "deletable": x.get("deletable"),
                "why_not": x.get("why_not"),
            }
            for x in result.orphans
            if isinstance(x, dict)
        ],
        "readings": [x for x in result.readings if isinstance(x, dict)],
        "statement_entries": [
            {
                "group": STATEMENT_GROUPS.get(str(x.get("group")), x.get("group")),
                "ref": x.get("ref"),
                "id": x.get("id"),
                "completed_on": x.get("completed_on"),
                "co2e": _kg_text(x.get("co2e_net_removed_kg")),
            }
            for x in result.statement_entries
            if isinstance(x, dict)
        ],
        "has_credit_types": any(_credit_type(e) for e in result.lineage),
        "has_sd": any(entry_sd(e) is not None for e in result.lineage),
    }


def _render(
    results: list[RunResult],
    path: Path,
    *,
    title: str,
    subtitle: str,
    previous: list[JSONObject | None] | None = None,
) -> Path:
    mode = results[0].mode if results else "run"
    statuses = list(PLAN_STATUSES if mode == "plan" else RUN_STATUSES)
    grand: dict[str, dict[str, int]] = {kind: dict.fromkeys(statuses, 0) for kind in KINDS}
    for result in results:
        for kind, row in result.counts().items():
            for status, n in row.items():
                totals = grand.setdefault(kind, dict.fromkeys(statuses, 0))
                totals[status] = totals.get(status, 0) + n
    # the columns people look for first come first (and stay visible on a phone)
    bad_first = [s for s in ("failed", "blocked", "conflict") if s in statuses] + [
        s
        for s in statuses
        if s not in ("failed", "blocked", "conflict")
        and (s not in _WHEN_ANY or any(row.get(s) for row in grand.values()))
    ]  # "not started" only when a run was cut short, a replace only when there is one (A4 holds eight columns)
    before = previous or [None] * len(results)
    views = [_view(r, i, path, statuses, before[i - 1]) for i, r in enumerate(results, 1)]
    total_objects = sum(len(r.objects) for r in results)
    return render_to(
        path,
        "run_report.html.j2",
        title=title,
        subtitle=subtitle,
        results=views,
        statuses=statuses,
        columns=bad_first,
        grand_totals=grand,
        any_rehearsal=any(r.embedded_sandbox for r in results),
        kind_labels={kind: r.plural(kind) for r in results for kind in {*r.kind_names, *r.counts()}},
        kind_names={kind: r.noun(kind) for r in results for kind in {*r.kind_names, *r.counts()}},
        sheet_labels=SHEET_LABELS,
        status_meta=STATUS_META,
        humanize=humanize,
        summary_print_default=total_objects > BIG_RUN,
        batch=len(results) > 1,
    )


STATEMENT_GROUPS = {
    "workbook": "this workbook",
    "orphan": "orphan of this workbook's prefix",
    "elsewhere": "elsewhere (UI, other workbooks or projects)",
}


def write_run_report(result: RunResult, path: Path, *, previous: JSONObject | None = None) -> Path:
    """`previous`: the summary of the run before of the same statement (`files.previous_summary`), whose CO2e
    this report shows as "was" when the result does not record it."""
    verb = "Import plan" if result.mode == "plan" else "Import report"
    return _render(
        [result],
        path,
        title=f"{verb}: {Path(result.workbook_path).name}",
        subtitle=f"{result.environment} \u00b7 run {result.run_id}",
        previous=[previous],
    )


def write_batch_report(
    results: list[RunResult], path: Path, *, previous: list[JSONObject | None] | None = None
) -> Path:
    ok = sum(r.ok for r in results)
    verb = "Import plan" if results and results[0].mode == "plan" else "Import report"
    return _render(
        results,
        path,
        title=f"{verb}: {len(results)} workbooks",
        subtitle=f"{ok} of {len(results)} OK",
        previous=previous,
    )
