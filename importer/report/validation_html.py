"""The HTML validation report: workbook name and SHA-256, time, rows per sheet, the checks that ran (and which
passed), then the findings in the workbook's sheet order (project, sources, datapoints, ... as
`importer.workbook.spec.SHEETS`), row by row, grouped by code within each sheet. Every finding keeps its own
line with its cell and what was found; a group's shared wording is printed once, so 100,000 findings of one kind
stay a readable, small file. Every cell value escaped."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from markupsafe import Markup, escape

from importer.findings import by_kind, severity_counts
from importer.redaction import redact
from importer.report.render import render_to

if TYPE_CHECKING:
    from importer.findings import Finding
    from importer.workbook.checks.result import ValidationResult

SEVERITY_RANK = {"error": 0, "warning": 1, "note": 2}
TEMPLATE = "validation_report.html.j2"
FOLD_OVER = 200  # findings in a group above which the group starts folded
AFFIX_OVER = 20  # findings in a group above which their shared wording is printed once
BOUNDARIES = " '\"(:;,"  # a shared wording is cut only at one of these

#: the checks validation runs, by the finding codes they produce (a check passed when none of its codes is found)
CHECKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Every sheet present once, none unknown or hidden",
        ("missing_sheet", "duplicate_sheet", "unknown_sheet", "hidden_sheet"),
    ),
    (
        "Headers: every column present once, none merged or unknown",
        ("missing_column", "duplicate_header", "merged_header", "unknown_column"),
    ),
    (
        "No merged cells, hidden or filtered rows and columns in the data",
        ("merged_cells", "hidden_row", "filtered_row", "hidden_column", "hidden_column_conflict"),
    ),
    ("Formulas have a value and no error", ("formula_error", "formula_without_value")),
    ("Required cells filled", ("required",)),
    (
        "Numbers, dates, yes/no and choices readable",
        (
            "bad_number",
            "bad_date",
            "bad_bool",
            "bad_choice",
            "scaled_number_format",
            "read_percent",
            "percent_unit_mismatch",
        ),
    ),
    ("Values in range, texts not too long, dates in order", ("out_of_range", "too_long", "date_order")),
    ("Units known and compatible", ("bad_unit", "ambiguous_unit", "unit_incompatible", "unit_rewritten")),
    (
        "References: unique refs, every ref and ID found and of the right kind",
        (
            "duplicate_ref",
            "unknown_ref",
            "bad_ref",
            "bad_id",
            "wrong_id_kind",
            "wrong_sheet_ref",
            "duplicate_supplier_reference_id",
            "duplicate_binding",
            "duplicate_list_datapoint",
        ),
    ),
    (
        "Templates, components, groups and inputs exist and are all bound (online)",
        (
            "unknown_template",
            "unknown_template_component",
            "unknown_blueprint",
            "unknown_group",
            "unknown_input_key",
            "missing_monitored_input",
            "missing_component_input",
            "fixed_input",
            "input_shape",
        ),
    ),
    ("Feedstock types exist in the organisation (online)", ("unknown_feedstock_type",)),
    ("Evidence files present and readable, URLs valid", ("bad_file", "bad_url")),
    ("Project settings known and set once", ("unknown_setting", "duplicate_setting")),
    ("GHG statement dates plausible", ("statement_before_entries", "statement_before_start", "statement_empty_months")),
    ("Every row used by another row", ("unused",)),
    ("Macros ignored", ("macros_ignored",)),
)


class FindingGroup(TypedDict):
    """The findings of one kind (severity, code) on one sheet, as the template shows them."""

    severity: str
    code: str
    count: int
    shared: str  # the group's shared wording, printed once
    rows_html: Markup
    fold: bool
    problem_column: bool
    anchor: str


class SheetFindings(TypedDict):
    sheet: str | None
    label: str
    count: int
    counts: dict[str, int]  # error / warning / note -> how many
    groups: list[FindingGroup]
    anchor: str


class CheckRow(TypedDict):
    """A check that ran (`passed` None: not run offline) and the codes it found."""

    title: str
    passed: bool | None
    count: int
    codes: list[str]


def _sheet_order() -> dict[str, int]:
    from importer.workbook.spec import SHEETS

    return {s.name: n for n, s in enumerate(SHEETS, 1)}


def _found(f: Finding) -> str:
    """What the cell held, never blank in the report."""
    if f.value is not None:
        text = str(f.value)
        return text if text.strip() else "(blank)"
    if f.code == "required":
        return "(empty)"
    if f.cell:  # a finding about a cell that did not record its value: never claim the cell was empty
        return "(as the message says)"
    if f.row:
        return "(whole row)"
    return "(whole sheet)" if f.sheet else "(whole workbook)"


def _affixes(messages: list[str]) -> tuple[str, str]:
    """The longest common prefix and suffix of a group's messages (not overlapping in the shortest)."""
    if len(messages) < 2:
        return "", ""
    prefix = os.path.commonprefix(messages)
    suffix = os.path.commonprefix([m[::-1] for m in messages])[::-1]
    shortest = min(len(m) for m in messages)
    if len(prefix) + len(suffix) > shortest:
        suffix = suffix[len(prefix) + len(suffix) - shortest :]
    # never cut inside a word or a quoted value: back off to the last separator
    if prefix and prefix != messages[0]:
        prefix = prefix[: max(prefix.rfind(c) for c in BOUNDARIES) + 1]
    if suffix:
        cut = [i for i in (suffix.find(c) for c in BOUNDARIES) if i >= 0]
        suffix = suffix[min(cut) :] if cut else ""
    return prefix, suffix


def _template(f: Finding) -> str | None:
    """The message with what was found replaced by a marker, when the message quotes it: as its repr, as the
    repr of its text, or as its text, the first found (each spelling computed only when the one before is not
    in the message: 100,000 warnings are common)."""
    value, message = f.value, f.message
    if value is None:
        return None
    text = str(value)
    if text == "":
        return None
    quoted = repr(value)
    if quoted not in message and (type(value) is str or (quoted := repr(text)) not in message):
        quoted = text
        if quoted not in message:
            return None
    masked: str = message.replace(quoted, "‹found›")
    return masked


_CELL_BREAK, _ROW_BREAK = "\x00", "\x01"  # never in cell text: XML 1.0 cannot carry them


def _cells(group: list[Finding]) -> tuple[list[str], list[str], list[str]]:
    """Each finding's where, column and what was found, as three columns."""
    return [f.location or "-" for f in group], [f.column or "" for f in group], [_found(f) for f in group]


def _rows_html(*columns: Sequence[str]) -> Markup:
    """A group's table rows as HTML from its columns (where, column, found[, problem]):
    `<tr><td>cell<td>column<td>found[<td>problem]` per finding.

    A warned 100k-row workbook has 300,000 such values; rendered through the template one by one (finalize,
    redact, escape per value) they took most of a second. Here they are joined with two control characters no
    cell can hold, redacted and escaped once as one text, and the separators turned into tags: the same bytes as
    escaping each value, since neither separator is touched by escaping or by any secret."""
    count = len(columns[0])
    if not count:
        return Markup("")
    text = _ROW_BREAK.join(map(_CELL_BREAK.join, zip(*columns, strict=True)))
    if text.count(_CELL_BREAK) != (len(columns) - 1) * count or text.count(_ROW_BREAK) != count - 1:
        # a value held a separator after all: the slow way, one value at a time
        return Markup(
            "".join("<tr>" + "".join(f"<td>{escape(redact(v))}" for v in row) for row in zip(*columns, strict=True))
        )
    safe = str(escape(redact(text)))
    return Markup("<tr><td>" + safe.replace(_CELL_BREAK, "<td>").replace(_ROW_BREAK, "<tr><td>"))


def _groups(findings: list[Finding]) -> list[SheetFindings]:
    order = _sheet_order()

    def sheet_key(sheet: str | None) -> tuple[int, str]:
        if not sheet:
            return (0, "")
        return (order.get(sheet, len(order) + 1), sheet)

    by_sheet: dict[str | None, list[Finding]] = {}
    sheet_of = list(map(attrgetter("sheet"), findings))
    if len(set(sheet_of)) == 1:  # findings of one sheet, as a warning on every row of one is
        by_sheet[sheet_of[0]] = list(findings)
    else:
        for sheet, f in zip(sheet_of, findings, strict=True):
            by_sheet.setdefault(sheet, []).append(f)
    sheets: list[SheetFindings] = []
    for sheet in sorted(by_sheet, key=sheet_key):
        items = by_sheet[sheet]
        severities = severity_counts(items)
        if (
            len(severities) == 1
            and None not in map(attrgetter("row"), items)
            and None not in map(attrgetter("cell"), items)
        ):
            ordered = sorted(items, key=attrgetter("row", "cell"))  # the key below, when it reduces to this
        else:
            ordered = sorted(items, key=lambda f: (f.row or 0, f.cell or "", SEVERITY_RANK.get(f.severity, 3)))
        groups: list[FindingGroup] = []
        for (severity, code), group in sorted(
            by_kind(ordered).items(), key=lambda kv: (SEVERITY_RANK.get(kv[0][0], 3), kv[1][0].row or 0)
        ):
            messages: list[str] = list(map(attrgetter("message"), group))
            cells = _cells(group)
            problems: list[str] = []  # per finding, what its message says beyond the group's shared wording
            one_message = len(set(messages)) == 1
            templates = set() if one_message else {_template(f) for f in group}
            one_template = next(iter(templates)) if len(templates) == 1 else None  # None: none, or several
            if one_message:
                shared = messages[0]
            elif one_template is not None:  # one template for all
                shared = one_template
            else:
                # small groups keep whole messages; big ones print the shared wording once
                prefix, suffix = _affixes(messages) if len(group) > AFFIX_OVER else ("", "")
                shared = (prefix + "\u2026" + suffix) if (prefix or suffix) else ""
                for found, message in zip(cells[2], messages, strict=True):
                    middle = message[len(prefix) : len(message) - len(suffix)] if shared else message
                    if middle.strip(" '\"") in (found, "") or middle == repr(found):
                        middle = ""
                    problems.append(middle)
            problem = not shared or any(problems)
            rows_html = _rows_html(*cells, problems or [""] * len(group)) if problem else _rows_html(*cells)
            groups.append(
                {
                    "severity": severity,
                    "code": code,
                    "count": len(group),
                    "shared": shared,
                    "rows_html": rows_html,
                    "fold": len(group) > FOLD_OVER,
                    "problem_column": problem,
                    "anchor": f"g-{sheet or 'workbook'}-{code}",
                }
            )
        counts = {s: severities[s] for s in ("error", "warning", "note")}
        sheets.append(
            {
                "sheet": sheet,
                "label": sheet or "workbook",
                "count": len(items),
                "counts": counts,
                "groups": groups,
                "anchor": f"s-{sheet or 'workbook'}",
            }
        )
    return sheets


#: what `validate --online` adds (against the live project): offline these checks did not run, and say so
ONLINE_ONLY = frozenset(title for title, _ in CHECKS if title.endswith("(online)"))
NOT_CHECKED_OFFLINE = (
    "not checked offline: templates and their inputs, feedstock types, units and signs against "
    "the blueprints; `validate --online` (or `plan`) checks them against the project"
)


def _checks(findings: list[Finding], *, online: bool = False) -> list[CheckRow]:
    found = Counter(map(attrgetter("code"), findings))
    known = {code for _, codes in CHECKS for code in codes}
    out: list[CheckRow] = []
    for title, codes in CHECKS:
        n = sum(found.get(c, 0) for c in codes)
        if title in ONLINE_ONLY and not online:
            out.append({"title": title, "passed": None, "count": 0, "codes": []})
            continue
        out.append({"title": title, "passed": n == 0, "count": n, "codes": [c for c in codes if found.get(c)]})
    other = {c: n for c, n in found.items() if c not in known}
    if other:
        out.append({"title": "Other checks", "passed": False, "count": sum(other.values()), "codes": sorted(other)})
    return out


def write_validation_report(result: ValidationResult, path: Path, *, online: bool = False) -> Path:
    """The report; `online` says whether the checks against the live project ran (else they are "not checked")."""
    findings = list(result.findings)
    severities = severity_counts(findings)
    return render_to(
        path,
        TEMPLATE,
        name=Path(result.path).name,
        workbook_path=str(result.path),
        sha256=result.sha256,
        counts=result.counts,
        error_count=severities["error"],
        warning_count=severities["warning"],
        note_count=severities["note"],
        total=len(findings),
        sheets=_groups(findings),
        checks=_checks(findings, online=online),
        online=online,
        not_checked=NOT_CHECKED_OFFLINE,
    )
