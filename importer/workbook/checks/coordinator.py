"""The checks of offline validation (`importer.workbook.validate` is the entry point): every problem in one pass,
each located to its Excel cell. The entry point imports this module while the workbook is being read.

Order of work: read (calamine) -> find sheets and headers -> per cell: formula errors, then parse to the
column's type (`coerce`) -> the sheet's schema (required, lengths, enums, ranges, unique refs, date order:
asked of whole columns first, pandera when that cannot promise a pass; see `schemas`) ->
cross-sheet references (hash look-ups, "did you mean") -> units (each distinct unit parsed once) ->
evidence files -> supplier_reference_id uniqueness across sheets -> typed rows (`model.Workbook`).

A cell that already failed to parse is not reported again by later checks (one finding per mistake).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from itertools import count as counting
from operator import attrgetter, contains, itemgetter
from typing import TYPE_CHECKING, Any

from importer.findings import Finding, cell_name, column_index_from_string, get_column_letter
from importer.identity import workbook_references
from importer.ids import KIND_BY_PREFIX, has_id_prefix, id_kind
from importer.units import DIMENSIONLESS, PERCENT, CanonicalUnit, UnitError, canonical_unit, non_negative_kind
from importer.workbook import coerce, schemas, spec
from importer.workbook.evidence import EvidenceError, EvidenceFolder
from importer.workbook.model import (
    ComponentInputRow,
    ComponentRow,
    DatapointRow,
    EntryInputRow,
    EntryRow,
    FeedstockTypeRow,
    ProjectSettings,
    SourceRow,
    Workbook,
)
from importer.workbook.reader import EXCEL_ERRORS, RawBook, RawSheet
from importer.workbook.validate import ValidationResult

if TYPE_CHECKING:
    import pandas as pd

IGNORED_SHEETS = {"readme", "_lists"}  # the template's own README and hidden dropdown-lists sheets, as titled
SHEET_ORDER = {s.name: i for i, s in enumerate(spec.SHEETS)}
SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}
#: hidden data is named before everything else: a reviewer must know the workbook holds more than it shows
SHOWN_FIRST = frozenset({"hidden_column", "hidden_row", "filtered_row", "struck_row", "hidden_sheet"})
_TEXT_TYPES = frozenset({"str", "ref", "file", "unit", "refs", "enum"})  # column types whose cells are text
_FIRST_FOUR = itemgetter(slice(None, 4))  # where an ID has its prefix (`src_`, `dtp_`...: `ids.KIND_BY_PREFIX`)

@dataclass
class _Sheet:
    spec: spec.Sheet
    title: str
    columns: dict[str, int]  # column -> 1-based index
    records: dict[str, list[Any]] = field(default_factory=dict)  # typed values, one list per format column
    rows: list[int] = field(default_factory=list)  # Excel row of each record
    raw: RawSheet | None = None
    headers: dict[int, str] = field(default_factory=dict)  # 1-based column -> header text as written
    _frame: pd.DataFrame | None = None

    @property
    def frame(self) -> pd.DataFrame:
        """The records as the DataFrame pandera validates (index = Excel row), built only when pandera runs."""
        if self._frame is None:
            self._frame = schemas.frame_of(self.records, self.rows)
        return self._frame

def _id_like(refs: set[str]) -> set[str]:
    """The refs that start with an Isometric ID's prefix (`src_`...): usually none, told without a loop."""
    if KIND_BY_PREFIX.keys().isdisjoint(map(_FIRST_FOUR, refs)):
        return set()
    return {ref for ref in refs if ref[:4] in KIND_BY_PREFIX}


class Validator:
    def __init__(self, raw: RawBook) -> None:
        self.raw = raw
        self.folder = raw.path.resolve().parent
        self.findings: list[Finding] = list(raw.findings)
        self.bad_cells: set[tuple[str, int, str]] = set()
        self.sheets: dict[str, _Sheet] = {}
        self.project: dict[str, Any] = {}
        self.project_rows: dict[str, int] = {}
        self.evidence: dict[int, Any] = {}
        self.typed_percent: set[tuple[str, int, str]] = set()  # number cells typed as text with a % sign
        #: text numbers two conventions read differently (`1.185`), refused until `settle_numbers` weighs the rest
        self.ambiguous: list[tuple[str, int, str, coerce.AmbiguousNumber, Finding]] = []
        self._folds: dict[str, dict[str, str]] = {}  # sheet -> its refs by `coerce.fold_text`, once asked

    # -- findings ---------------------------------------------------------------------------------------
    def add(self, severity: str, code: str, message: str, sheet: str | None = None, row: int | None = None,
            column: str | None = None, value: Any = None) -> None:
        cell = None
        if sheet in self.sheets and row is not None and column is not None:
            cell = cell_name(row, self.sheets[sheet].columns.get(column))
        elif sheet == "project" and row is not None:
            cell = f"B{row}"
        if value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)
        self.findings.append(Finding(severity, code, message, sheet=sheet, row=row, column=column,  # type: ignore[arg-type]
                                     cell=cell, value=value))
        if severity == "error" and sheet and row is not None and column:
            self.bad_cells.add((sheet, row, column))

    def note(self, code: str, message: str, **where: Any) -> None:
        """How a value was read where that differs from what the cell stores (a percentage, a unit rewrite)."""
        self.add("note", code, message, **where)

    def error(self, code: str, message: str, **where: Any) -> None:
        self.add("error", code, message, **where)

    def warn(self, code: str, message: str, **where: Any) -> None:
        self.add("warning", code, message, **where)

    # -- sheets and headers -----------------------------------------------------------------------------
    def find_sheets(self) -> dict[str, RawSheet]:
        by_norm: dict[str, RawSheet] = {}
        for title, sheet in self.raw.sheets.items():
            norm = spec.normalise_header(title)
            if norm in spec.SHEETS_BY_NAME:
                if norm in by_norm:
                    self.error("duplicate_sheet", f"two sheets are named {spec.SHEETS_BY_NAME[norm].name!r} "
                               f"({by_norm[norm].title!r} and {title!r}); keep one", sheet=title)
                    continue
                by_norm[norm] = sheet
                if sheet.hidden:  # an error, as a hidden column beside a visible look-alike: a stale copy hides so
                    alike = [t for t, s in self.raw.sheets.items() if not s.hidden and t != title
                             and spec.normalise_header(t) not in spec.SHEETS_BY_NAME
                             and (spec.normalise_header(t).startswith(norm)
                                  or difflib.SequenceMatcher(None, spec.normalise_header(t), norm).ratio() >= 0.75)]
                    beside = (f" while the visible sheet {alike[0]!r} looks like it: the importer reads {title!r} and "
                              "cannot know which one you meant; delete the one you do not mean, or unhide it"
                              if alike else " but the importer reads it like the others; unhide it if its rows are "
                              "meant to be imported, or delete it")
                    self.error("hidden_sheet", f"sheet {title!r} is hidden{beside}", sheet=title)
            elif norm not in IGNORED_SHEETS and title.strip().lower() not in IGNORED_SHEETS:
                close = difflib.get_close_matches(norm, list(spec.SHEETS_BY_NAME), n=1, cutoff=0.75)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.warn("unknown_sheet", f"sheet {title!r} is not part of the workbook format and was ignored{hint}",
                          sheet=title)
        for sheet_spec in spec.SHEETS:
            if sheet_spec.required and sheet_spec.name not in by_norm:
                self.error("missing_sheet", f"the workbook has no {sheet_spec.name!r} sheet; it is required "
                           f"(sheets found: {', '.join(self.raw.sheets) or 'none'})", sheet=sheet_spec.name)
        return by_norm

    def read_project(self, sheet: RawSheet) -> None:
        known = {c.name: c for c in spec.PROJECT.columns}
        for index, row in enumerate(sheet.rows, start=1):
            key = coerce.as_text(row[0] if row else None)
            if key is None or (index == 1 and spec.normalise_header(key) == "key"):
                continue
            norm = spec.normalise_header(key)
            value = row[1] if len(row) > 1 else None
            if f"B{index}" in sheet.uncached_formulas:
                self.error("formula_without_value", self.uncached_advice(), sheet="project", row=index, column=norm)
                continue
            if norm not in known:
                self.warn("unknown_setting", f"unknown setting {key!r} ignored (known: {', '.join(known)})",
                          sheet="project", row=index, column=norm, value=key)
                continue
            if norm in self.project:
                self.error("duplicate_setting", f"setting {norm!r} appears twice (first on row "
                           f"{self.project_rows[norm]})", sheet="project", row=index, column=norm)
                continue
            col = known[norm]
            self.project_rows[norm] = index
            if coerce.as_text(value) is None:
                self.project[norm] = col.default
                continue
            try:
                if col.type == "date":
                    self.project[norm] = coerce.as_date(value)
                elif col.type == "bool":
                    self.project[norm] = coerce.as_bool(value)
                else:
                    text = coerce.as_text(value)
                    if col.max_length is not None and text is not None and len(text) > col.max_length:
                        raise coerce.CellError("too_long", f"{norm} is {len(text)} characters long; at most "
                                               f"{col.max_length} allowed")
                    self.project[norm] = text
            except coerce.CellError as exc:
                self.error(exc.code, exc.message, sheet="project", row=index, column=norm, value=coerce.as_text(value))
        pid = self.project.get("project_id")
        if not pid:
            self.error("required", "the project sheet needs a project_id row (key project_id, value prj_...)",
                       sheet="project")
        elif id_kind(pid) != "project":
            self.error("bad_id", f"project_id {pid!r} is not a project ID (prj_ followed by 16+ characters)",
                       sheet="project", row=self.project_rows["project_id"], column="project_id", value=pid)
        url = self.project.get("ghg_statement_report_url")
        if self.project.get("submit_statement"):
            if not url:
                self.error("required", "submit_statement is TRUE, so ghg_statement_report_url is required (the "
                           "verifier must be able to open the report)", sheet="project",
                           row=self.project_rows.get("submit_statement"), column="submit_statement")
            if not self.project.get("statement_end_on"):
                self.error("required", "submit_statement is TRUE, so statement_end_on is required", sheet="project",
                           row=self.project_rows.get("submit_statement"), column="submit_statement")
        if url and not str(url).startswith("https://"):
            self.error("bad_url", f"ghg_statement_report_url must be an https:// URL, found {url!r}",
                       sheet="project", row=self.project_rows["ghg_statement_report_url"],
                       column="ghg_statement_report_url", value=url)

    def read_sheet(self, sheet_spec: spec.Sheet, raw: RawSheet) -> _Sheet | None:
        name = sheet_spec.name
        rows = raw.rows
        header = rows[0] if rows else []
        columns: dict[str, int] = {}
        self.sheets[name] = _Sheet(sheet_spec, raw.title, columns, raw=raw)
        known = {c.name for c in sheet_spec.columns}
        for r0, c0, r1, c1 in raw.merged:
            span = f"{cell_name(r0, c0)}:{cell_name(r1, c1)}"
            if r0 == 1:
                self.error("merged_header", f"header cells {span} are merged; unmerge them so each column has its "
                           "own header", sheet=name, row=1)
            else:
                self.findings.append(Finding("error", "merged_cells", f"cells {span} are merged across data; unmerge "
                                             "them and give each cell its own value", sheet=name, row=r0,
                                             cell=cell_name(r0, c0)))
        for index, title in enumerate(header, start=1):
            text = coerce.as_text(title)
            if text is None:
                continue
            norm = spec.normalise_header(text)
            self.sheets[name].headers[index] = text
            if norm in columns:
                self.findings.append(Finding("error", "duplicate_header", f"column {norm!r} appears twice (also in "
                                             f"{cell_name(1, columns[norm])}); keep one", sheet=name, row=1,
                                             column=norm, cell=cell_name(1, index), value=text))
            elif norm in known:
                columns[norm] = index
            else:
                close = difflib.get_close_matches(norm, sorted(known), n=1, cutoff=0.75)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.findings.append(Finding("warning", "unknown_column", f"column {text!r} is not part of the "
                                             f"{name} sheet and was ignored{hint}", sheet=name, row=1,
                                             column=norm, cell=cell_name(1, index), value=text))
        missing = [c.name for c in sheet_spec.columns if c.required and c.name not in columns]
        if missing:
            self.error("missing_column", f"the {name} sheet has no {', '.join(repr(m) for m in missing)} column "
                       f"(row 1 must hold the headers; found: {', '.join(str(h) for h in header if h) or 'none'})",
                       sheet=name, row=1)
            return None
        body = rows[1:]
        widths = set(map(len, body))
        width = max(widths, default=0)
        if len(widths) > 1:  # calamine's rows are rectangular; be safe with any other shape
            body = [list(r) + [None] * (width - len(r)) for r in body]
        by_position = list(zip(*body, strict=True)) if body else []  # rows -> columns in one C-level pass
        first = by_position[0] if by_position else ()
        blank: set[int] = set()
        if "" in first or None in first:  # only rows without a column-A value can be blank
            blank = {i for i, v in enumerate(first) if v == "" or v is None}
            blank = {i for i in blank if body[i].count("") + body[i].count(None) == len(body[i])}
        if blank:  # blank rows are allowed anywhere: drop them from every column
            keep = [i for i in range(len(body)) if i not in blank]
            by_position = [tuple(column[i] for i in keep) for column in by_position]
            index_rows = [i + 2 for i in keep]
        else:
            index_rows = list(range(2, len(body) + 2))
        self.check_hidden(name, raw, by_position, index_rows)
        special = self.special_cells(name, raw, columns, index_rows)
        records: dict[str, list[Any]] = {}
        for col in sheet_spec.columns:
            position = columns.get(col.name)
            if position is None:
                records[col.name] = [col.default] * len(index_rows)
                continue
            cells = by_position[position - 1] if position <= len(by_position) else (None,) * len(index_rows)
            records[col.name] = self.parse_column(name, col, index_rows, cells, raw, special.get(col.name, set()))
        if self.ambiguous:
            self.settle_numbers(name, records, index_rows, by_position)
        self.honour_formats(name, records, index_rows, raw)
        self.sheets[name].records = records
        self.sheets[name].rows = index_rows
        return self.sheets[name]

    def uncached_advice(self) -> str:
        """What to do about a formula saved without its result, for the program that saved the workbook."""
        app = self.raw.application.lower()
        if "libreoffice" in app or "openoffice" in app:
            return ("this formula has no stored result although LibreOffice saved the file: in LibreOffice set Tools >"
                    " Options > LibreOffice Calc > Formula > 'Recalculation on file load' to Always, press "
                    "Ctrl+Shift+F9 (Data > Calculate > Recalculate Hard), then save as .xlsx again; or replace the "
                    "formula by its value")
        if "openpyxl" in app or "xlsxwriter" in app or not app:
            return ("this formula has no stored result: the file was written by a program that does not calculate "
                    "formulas; open it in Excel or LibreOffice and save it, so each result is stored, or replace the "
                    "formula by its value")
        return ("this formula has no stored result: open the workbook in Excel (with calculation set to Automatic) "
                "and save it, so each result is stored, or replace the formula by its value")

    def check_hidden(self, name: str, raw: RawSheet, by_position: list[Any], rows: list[int]) -> None:
        """Hidden columns and hidden or filtered-out rows that hold data are read like the others, and each is
        named in a warning shown first; a hidden recognised column beside a visible look-alike is an error."""
        if not (raw.hidden_columns or raw.hidden_rows or raw.filtered_rows or raw.struck_rows):
            return
        sheet = self.sheets[name]
        names = {index: col for col, index in sheet.columns.items()}
        for index in sorted(raw.hidden_columns):
            if index > len(by_position) or all(v is None or v == "" for v in by_position[index - 1]):
                continue
            letter = get_column_letter(index)
            header = sheet.headers.get(index, "")
            column = names.get(index)
            self.findings.append(Finding(
                "warning", "hidden_column", f"column {letter} ({header or 'no header'}) is hidden but holds data; "
                "it was read like the others", sheet=name, row=1, column=column, cell=f"{letter}1", value=header))
            if column is None:
                continue
            for other, text in sheet.headers.items():
                if other in raw.hidden_columns or other == index:
                    continue
                norm = spec.normalise_header(text)
                if norm != column and (norm.startswith(column) or column in norm.split("_")
                                       or difflib.SequenceMatcher(None, norm, column).ratio() >= 0.75):
                    self.findings.append(Finding(
                        "error", "hidden_column_conflict", f"column {letter} ({column}) is hidden while the visible "
                        f"column {get_column_letter(other)} is headed {text!r}: the importer reads {column} and cannot "
                        f"know which one you meant; delete the one you do not mean, or unhide {letter}",
                        sheet=name, row=1, column=column, cell=f"{letter}1", value=text))
        kept = set(rows)
        for code, hidden, how in (("hidden_row", raw.hidden_rows, "hidden"),
                                  ("filtered_row", raw.filtered_rows, "filtered out (by a filter)"),
                                  ("struck_row", raw.struck_rows, "struck through (a cancelled entry?)")):
            for row in sorted(hidden & kept):
                self.findings.append(Finding(
                    "warning", code, f"row {row} is {how} but holds data; it was read like the others",
                    sheet=name, row=row, cell=f"A{row}"))

    def honour_formats(self, name: str, records: dict[str, list[Any]], rows: list[int], raw: RawSheet) -> None:
        """What lands is what the cell shows. Number formats that change a number's meaning on screen are
        honoured (a percentage) or refused (a scaled format such as `#,##0,`), and units are rewritten to their
        canonical spelling, refusing ambiguous ones. Every reading that differs from the stored value is a note."""
        sheet = self.sheets[name]
        numbers = {sheet.columns[c.name]: c.name for c in sheet.spec.columns
                   if c.type == "number" and c.name in sheet.columns}
        position: dict[int, int] | None = None
        percent: dict[tuple[int, str], str] = {}  # (row, column) -> how the cell says it is a percentage
        if raw.number_formats and numbers:
            position = {row: i for i, row in enumerate(rows)}
            for a1, fmt in raw.number_formats.items():
                letters = a1.rstrip("0123456789")
                column = numbers.get(column_index_from_string(letters))
                row = int(a1[len(letters):])
                if column is None or row not in position or records[column][position[row]] is None:
                    continue
                value = records[column][position[row]]
                if fmt.kind == "scaled":
                    self.error("scaled_number_format", f"the cell's number format {fmt.code!r} shows the value divided "
                               f"by {1 / fmt.scale:,.0f} (it shows {fmt.display(value)} for the stored {value:,}); "
                               "the importer would send the stored value, not what you see: give the cell a plain "
                               "number format and type the value in the unit of the unit column",
                               sheet=name, row=row, column=column, value=fmt.display(value))
                    records[column][position[row]] = None
                else:
                    percent[(row, column)] = f"number format {fmt.code!r}"
        for sheet_name, row, column in self.typed_percent:
            if sheet_name == name:
                percent[(row, column)] = "typed with a % sign"
        if name == "datapoints":
            self.canonical_units(records, rows)
        if not percent:
            return
        position = position or {row: i for i, row in enumerate(rows)}
        for (row, column), how in sorted(percent.items()):
            i = position[row]
            value = records[column][i]
            shown = coerce.stored_to_shown(value, 100.0)
            if name != "datapoints":  # a fraction column (attribution_factor): 50% is 0.5
                self.note("read_percent", f"shows {shown:g}% ({how}); read as the fraction {value:g}", sheet=name,
                          row=row, column=column, value=value)
                continue
            unit = records["unit"][i]
            if (name, row, "unit") in self.bad_cells or unit is None:
                continue
            if unit == PERCENT:
                records[column][i] = shown
                self.note("read_percent", f"shows {shown:g}% ({how}; stored {value:g}); sent as {shown:g} %",
                          sheet=name, row=row, column=column, value=shown)
            elif unit == DIMENSIONLESS:
                self.note("read_percent", f"shows {shown:g}% ({how}); unit dimensionless, so sent as the fraction "
                          f"{value:g}", sheet=name, row=row, column=column, value=value)
            else:
                self.error("percent_unit_mismatch", f"the cell shows {shown:g}% ({how}) but the unit is {unit!r}: a "
                           f"percentage needs the unit % (sent as {shown:g}) or dimensionless (sent as the fraction "
                           f"{value:g}); fix the unit, or the cell's number format", sheet=name, row=row,
                           column=column, value=f"{shown:g}%")
                records[column][i] = None

    def settle_numbers(self, name: str, records: dict[str, list[Any]], rows: list[int], by_position: list[Any]
                       ) -> None:
        """A number stored as text that two conventions read differently (`1.185`: 1.185 with a dot as decimal
        mark, 1185 with a dot between thousands; `1,185` the other way round) is refused by the parser. Here the
        other text numbers of its column (of its sheet when the column has none) are weighed: a dot as decimal
        mark (`2.75`, `0.5`, `1,234.5`) settles it the en way, read with a note; a comma as decimal mark (`20,5`,
        `1.234,5`) says it means the de reading, which the importer does not take from text (comma decimals are
        refused), so it stays refused and the message says what it means; both kinds, or neither, leave it
        refused with what was found and what is expected."""
        pending = [item for item in self.ambiguous if item[0] == name]
        if not pending:
            return
        sheet = self.sheets[name]
        evidence: dict[str, dict[str, tuple[str, str]]] = {}  # column -> style -> (cell, text) first showing it
        for col in sheet.spec.columns:
            position = sheet.columns.get(col.name)
            if col.type != "number" or position is None or position > len(by_position):
                continue
            letter = get_column_letter(position)
            found: dict[str, tuple[str, str]] = {}
            for row, value in zip(rows, by_position[position - 1], strict=True):
                style = coerce.number_style(value) if type(value) is str else None
                if style is not None and style not in found:
                    found[style] = (f"{letter}{row}", value.strip())
            evidence[col.name] = found
        index = {row: i for i, row in enumerate(rows)}
        withdrawn: set[int] = set()
        for _, row, column, exc, finding in pending:
            shown, scope = evidence.get(column, {}), f"{column} column"
            if not shown:
                scope = f"{name} sheet"
                for found in evidence.values():
                    for style, seen in found.items():
                        shown.setdefault(style, seen)
            example = {style: f"{text!r} at {cell}" for style, (cell, text) in shown.items()}
            en, de = exc.reading("en"), exc.reading("de")
            if set(shown) == {"en"}:
                records[column][index[row]] = exc.stored("en")
                withdrawn.add(id(finding))
                self.bad_cells.discard((name, row, column))
                if exc.scale != 1.0:
                    self.typed_percent.add((name, row, column))
                self.note("read_number", f"read {exc.text!r} as {en:g}: the other numbers stored as text in the "
                          f"{scope} use a dot as decimal mark ({example['en']}), so it is read that way too (a dot as "
                          "decimal mark, commas between thousands)", sheet=name, row=row, column=column, value=en)
            elif set(shown) == {"de"}:
                finding.message = (
                    f"found {exc.text!r} stored as text; the other numbers stored as text in the {scope} use a comma "
                    f"as decimal mark ({example['de']}), so it means {de:g} here, not {en:g}, but the importer reads "
                    f"a dot as the decimal mark and does not guess: expected {exc.written('de')} (a dot as decimal "
                    "mark, no thousands separators), or the value stored as a number")
            elif shown:
                finding.message = (
                    f"found {exc.text!r} stored as text: {en:g} as en-US writes numbers, {de:g} as de-DE does, and "
                    f"the {scope} writes numbers both ways ({example['en']}, {example['de']}), so nothing says which; "
                    f"expected the value stored as a number, or text that reads only one way ({exc.written('de')} or "
                    f"{exc.written('en')}, a dot as decimal mark, no thousands separators)")
        if withdrawn:
            self.findings = [f for f in self.findings if id(f) not in withdrawn]
        self.ambiguous = [item for item in self.ambiguous if item[0] != name]

    def canonical_units(self, records: dict[str, list[Any]], rows: list[int]) -> None:
        """Each distinct unit spelling is looked up once; refused ones are errors at their cells, accepted ones
        are rewritten to the canonical spelling sent to the API, with one note per rewrite."""
        units = records.get("unit", [])
        outcome: dict[str, CanonicalUnit | UnitError] = {}
        distinct = set(units)
        for unit in distinct:
            if not isinstance(unit, str):
                continue
            try:
                outcome[unit] = canonical_unit(unit)
            except UnitError as exc:
                outcome[unit] = exc
        first: dict[str, tuple[int, int]] = {}
        if not any(isinstance(found, UnitError) for found in outcome.values()):
            # nothing refused (the usual case): the rewrite and notes of the loop below, done per spelling
            spelled = {unit: found.canonical for unit, found in outcome.items()}  # type: ignore[union-attr]
            rewritten = sorted((units.index(unit), unit) for unit, found in outcome.items()
                               if found.rewritten)  # type: ignore[union-attr]
            for i, unit in rewritten:  # in order of first appearance, as the loop adds them
                first[unit] = (rows[i], units.count(unit))
            if any(unit != canonical for unit, canonical in spelled.items()):
                units[:] = (map(spelled.__getitem__, units) if len(spelled) == len(distinct)  # all strings
                            else [spelled[unit] if isinstance(unit, str) else unit for unit in units])
        else:
            for i, (row, unit) in enumerate(zip(rows, units, strict=True)):
                found = outcome.get(unit) if isinstance(unit, str) else None
                if found is None:
                    continue
                if isinstance(found, UnitError):
                    hint = "" if found.code == "ambiguous_unit" else (
                        "; use units such as t, kg, kWh, MJ, km, L, m3, %, dimensionless, kgCO2e/kWh")
                    self.error(found.code, found.message + hint, sheet="datapoints", row=row, column="unit",
                               value=unit)
                    continue
                units[i] = found.canonical
                if found.rewritten:
                    seen = first.setdefault(unit, (row, 0))
                    first[unit] = (seen[0], seen[1] + 1)
        for unit, (row, count) in first.items():
            canonical = outcome[unit].canonical  # type: ignore[union-attr]
            more = f" ({count} cells, the first shown here)" if count > 1 else ""
            self.note("unit_rewritten", f"unit {unit!r} is sent as {canonical!r}{more}", sheet="datapoints", row=row,
                      column="unit", value=f"{unit} -> {canonical}")

    def check_signs(self) -> None:
        """A quantity that cannot be negative is an error at its magnitude cell when it is: a mass (CO2e masses
        too), volume, length, area, energy, duration, fraction or percentage, told by the unit's dimensions
        (`units.non_negative_kind`; temperatures, pressures, rates and emission factors may be signed). A
        negative standard_deviation is refused by the sheet's schema (>= 0). The datapoints sheet is the one
        holding quantities (component_inputs and entry_inputs cite datapoints; attribution_factor has its own
        range). One `min` over the column tells the usual case (nothing negative): pint is not loaded for it."""
        sheet = self.sheets.get("datapoints")
        if sheet is None or not sheet.rows or "magnitude" not in sheet.columns:
            return
        magnitudes = sheet.records["magnitude"]
        if min(filter(None, magnitudes), default=0.0) >= 0:  # None and 0.0 dropped: neither is negative
            return
        units = sheet.records["unit"]
        for i in [i for i, magnitude in enumerate(magnitudes) if magnitude is not None and magnitude < 0]:
            row, unit = sheet.rows[i], units[i]
            if not isinstance(unit, str) or {("datapoints", row, "unit"), ("datapoints", row, "magnitude")
                                             } & self.bad_cells:
                continue
            kind = non_negative_kind(unit)
            if kind is None:
                continue
            article = "an" if kind[0] in "aeiou" else "a"
            self.error("negative_quantity", f"found {magnitudes[i]:g} {unit}, expected {article} {kind} of 0 or "
                       f"more: {article} {kind} cannot be negative; check the sign, and the order of any formula "
                       "subtracting two readings (a swapped pair gives a negative)", sheet="datapoints",
                       row=row, column="magnitude", value=magnitudes[i])

    def check_list_duplicates(self) -> None:
        """The same datapoint twice in one input would be counted twice."""
        for name in ("entry_inputs", "component_inputs"):
            sheet = self.sheets.get(name)
            if sheet is None or not sheet.rows:
                continue
            column = sheet.records.get("datapoint_refs", [])
            lists = column if set(map(type, column)) <= {tuple} else [v for v in column if isinstance(v, tuple)]
            if sum(map(len, lists)) == sum(map(len, map(set, lists))):
                continue  # no list names a datapoint twice (the usual case), told without a look at each row
            for row, refs in zip(sheet.rows, column, strict=True):
                if not isinstance(refs, tuple) or len(refs) == len(set(refs)):
                    continue
                twice = sorted({r for r in refs if refs.count(r) > 1})
                self.error("duplicate_list_datapoint", f"{', '.join(map(repr, twice))} appears more than once in this "
                           "list; each datapoint would be counted once per mention: list it once", sheet=name, row=row,
                           column="datapoint_refs", value=", ".join(refs))

    def special_cells(self, sheet: str, raw: RawSheet, columns: dict[str, int], data_rows: list[int]
                      ) -> dict[str, set[int]]:
        """Formula cells without a cached value and cells with a cached error, by column: reported here, once,
        and skipped by the parser (so the per-cell loop never computes A1 names)."""
        if not raw.uncached_formulas and not raw.error_cells:
            return {}
        rows = set(data_rows)
        by_index = {index: name for name, index in columns.items()}
        out: dict[str, set[int]] = defaultdict(set)
        for cell, error in [(c, None) for c in raw.uncached_formulas] + list(raw.error_cells.items()):
            letters = cell.rstrip("0123456789")
            row, index = int(cell[len(letters):]), column_index_from_string(letters)
            column = by_index.get(index)
            if column is None or row not in rows:
                continue
            out[column].add(row)
            if error is None:
                self.error("formula_without_value", self.uncached_advice(), sheet=sheet, row=row, column=column)
            else:
                self.error("formula_error", f"the cell holds the formula error {error}; fix the formula", sheet=sheet,
                           row=row, column=column, value=error)
        return out

    def parse_column(self, sheet: str, col: spec.Column, rows: list[int], values: Sequence[Any], raw: RawSheet,
                     skip: set[int]) -> list[Any]:
        """Parse one column; common well-formed cells take a fast path, everything else the general parser."""
        fast = self.parse_uniform_column(sheet, col, rows, values, raw, skip)
        if fast is not None:
            return fast
        default = col.default
        text_like = col.type in ("str", "ref", "file", "unit")
        number = col.type == "number"
        refs = col.type == "refs"
        enum = col.type == "enum"
        native = dt.date if col.type == "date" else dt.datetime if col.type == "datetime" else None
        out: list[Any] = []
        append = out.append
        midnights: dict[dt.date, dt.datetime] = {}
        for row, value in zip(rows, values, strict=True):
            if row in skip:
                append(None)
                continue
            kind = type(value)
            if kind is str:
                text = value.strip()
                if text and text[0] != "#":
                    if text_like:
                        append(text)
                        continue
                    if refs and "," not in text and ";" not in text and "\n" not in text:
                        append((text,))
                        continue
                    if enum:
                        append(coerce.enum_value(col.choices, text))
                        continue
                elif not text:
                    append(default)
                    continue
            elif kind is dt.date and native is not None and value >= coerce.SMALL_SERIAL_END:
                if native is dt.date:
                    append(value)
                else:  # a plain date in a date-time column: midnight UTC, computed once per distinct date
                    stamp = midnights.get(value)
                    if stamp is None:
                        stamp = midnights[value] = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
                    append(stamp)
                continue
            elif value is None:
                append(default)
                continue
            elif kind is float and number and value - value == 0.0:  # finite
                append(value)
                continue
            append(self.parse(sheet, row, col, value, raw))
        return out

    def parse_uniform_column(self, sheet: str, col: spec.Column, rows: list[int], values: Sequence[Any],
                             raw: RawSheet, skip: set[int]) -> list[Any] | None:
        """Whole-column fast path for the usual case (every cell of one Python type), done with C-level `map`,
        `zip` and set operations; odd cells (empty, '#...') still go through `parse`. None: not uniform, use the
        cell loop."""
        out: list[Any] | None = None
        if values and col.type in _TEXT_TYPES:
            with suppress(TypeError):  # one pass strips every cell and tells that each is text (others raise)
                out = list(map(str.strip, values))
        if out is not None:
            odd: list[int] = []
            if min(out) < "$":  # some cell is empty or starts with '#' (or another rare low character)
                if out.count("") == len(out):  # an optional column left blank: its default, as each cell's below
                    return self.skipped([col.default] * len(out), rows, skip)
                odd = [i for i, v in enumerate(out) if not v or v[0] == "#"]
            if col.type == "refs":
                distinct = set(out)
                if len(distinct) * 2 < len(out):  # each distinct list split once (values are immutable tuples)
                    split = {v: (v,) if "," not in v and ";" not in v and "\n" not in v else coerce.split_refs(v)
                             for v in distinct}
                    out = list(map(split.__getitem__, out))
                else:  # every value a one-ref tuple (at C speed), then the few lists split
                    lists = {i for mark in ",;\n" for i in compress(counting(), map(contains, out, repeat(mark)))}
                    texts, out = out, list(zip(out))
                    for i in lists:
                        out[i] = coerce.split_refs(texts[i])
            elif col.type == "enum":
                cased = {v: coerce.enum_value(col.choices, v) for v in set(out)}
                out = list(map(cased.__getitem__, out))
            for i in odd:
                out[i] = self.parse(sheet, rows[i], col, values[i], raw) if values[i].strip() else col.default
        elif col.type == "number" and (types := set(map(type, values))) and types <= {float, int}:
            if not all(map(math.isfinite, values)):
                return None
            out = [float(v) for v in values] if int in types else list(values)
        elif (col.type in ("date", "datetime") and set(map(type, values)) == {dt.date}
              and min(values) >= coerce.SMALL_SERIAL_END):
            if col.type == "date":
                out = list(values)
            else:
                stamps = {d: dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC) for d in set(values)}
                out = list(map(stamps.__getitem__, values))
        else:
            return None
        return self.skipped(out, rows, skip)

    @staticmethod
    def skipped(out: list[Any], rows: list[int], skip: set[int]) -> list[Any]:
        """`out` with None for the rows in `skip` (cells already reported: formula errors, formulas without a
        value)."""
        if skip:
            for i, row in enumerate(rows):
                if row in skip:
                    out[i] = None
        return out

    def parse(self, sheet: str, row: int, col: spec.Column, value: Any, raw: RawSheet) -> Any:
        if isinstance(value, str) and value.strip() in EXCEL_ERRORS:
            self.error("formula_error", f"the cell holds the formula error {value.strip()}; fix the formula",
                       sheet=sheet, row=row, column=col.name, value=value.strip())
            return None
        if type(value).__name__ == "CalamineError" or (value is not None and "Error" in type(value).__name__):
            self.error("formula_error", f"the cell holds a formula error ({value}); fix the formula", sheet=sheet,
                       row=row, column=col.name, value=str(value))
            return None
        try:
            parsed = coerce.parse_cell(col.type, value, choices=col.choices, default=col.default)
        except coerce.CellError as exc:
            self.error(exc.code, exc.message, sheet=sheet, row=row, column=col.name, value=coerce.as_text(value))
            if isinstance(exc, coerce.AmbiguousNumber):
                self.ambiguous.append((sheet, row, col.name, exc, self.findings[-1]))
            return None
        if col.type == "number" and isinstance(value, str) and value.strip().endswith("%"):
            self.typed_percent.add((sheet, row, col.name))
        return parsed

    # -- pandera ----------------------------------------------------------------------------------------
    def run_schema(self, sheet: _Sheet) -> None:
        """pandera's verdict on the sheet, asked only when the whole-column check cannot promise a pass."""
        name = sheet.spec.name
        if not sheet.rows or schemas.certainly_passes(sheet.spec, sheet.records):
            return
        import pandera.errors as pa_errors

        try:
            schemas.schema_for(name).validate(sheet.frame, lazy=True)
        except pa_errors.SchemaErrors as exc:
            cases = exc.failure_cases
            for case in cases.itertuples(index=False):
                self.schema_finding(sheet, case)

    def schema_finding(self, sheet: _Sheet, case: Any) -> None:
        import pandas as pd

        name = sheet.spec.name
        check = str(case.check)
        column = case.column if isinstance(case.column, str) and case.column in sheet.columns else None
        row = int(case.index) if case.index is not None and not pd.isna(case.index) else None
        value = case.failure_case
        if row is None:  # a check that could not run (it raised): the sheet is not known to pass, so say so
            self.error("check_failed", f"the {check} check could not be completed on this sheet ({value}), so the "
                       "sheet is not known to be valid; please report this to the importer's maintainers with the "
                       "workbook", sheet=name, column=column)
            return
        if check.startswith("order:"):
            _, first, second = check.split(":")
            frame = sheet.frame
            if row is not None and row in frame.index and (name, row, second) not in self.bad_cells:
                self.error("date_order", f"{second} ({frame.at[row, second]}) is before {first} "
                           f"({frame.at[row, first]})", sheet=name, row=row, column=second)
            return
        if column is None or row is None or (name, row, column) in self.bad_cells:
            return
        col = sheet.spec.column(column)
        if check == "not_nullable":
            self.error("required", f"{column} is required", sheet=name, row=row, column=column)
        elif check.startswith(("max_length:", "str_length")):
            self.error("too_long", f"{column} is {len(str(value))} characters long; at most {col.max_length} allowed",
                       sheet=name, row=row, column=column, value=value)
        elif check == "choices" or check.startswith("isin"):
            close = difflib.get_close_matches(str(value), list(col.choices), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.error("bad_choice", f"{value!r} is not one of {', '.join(col.choices)}{hint}", sheet=name, row=row,
                       column=column, value=value)
        elif check == "field_uniqueness":
            others = [int(r) for r in sheet.frame.index[sheet.frame[column] == value] if int(r) != row]
            self.error("duplicate_ref", f"{column} {value!r} is used more than once (also on row "
                       f"{', '.join(map(str, others))}); each row needs its own", sheet=name, row=row, column=column,
                       value=value)
        elif check.startswith(("ge:", "gt:", "le:", "greater_than", "less_than")):
            words = ("at least" if check.startswith(("ge:", "greater_than_or_equal")) else "greater than"
                     if check.startswith(("gt:", "greater_than")) else "at most")
            bound = f"{col.minimum:g}" if words != "at most" else f"{col.maximum:g}"
            self.error("out_of_range", f"{column} must be {words} {bound}, found {value}", sheet=name, row=row,
                       column=column, value=value)
        else:
            self.error("invalid", f"{column}: failed check {check} with {value!r}", sheet=name, row=row, column=column,
                       value=value)

    # -- cross-sheet --------------------------------------------------------------------------------------
    def refs_of(self, sheet: str) -> set[str]:
        found = self.sheets.get(sheet)
        if found is None or not found.rows or "ref" not in found.records:
            return set()
        refs = found.records["ref"]
        return set(refs) if set(map(type, refs)) == {str} else {r for r in refs if isinstance(r, str)}

    def check_references(self) -> dict[str, set[str]]:
        """Every ref resolves to the right sheet (or is an ID of the right kind); returns used refs per sheet."""
        all_refs = {name: self.refs_of(name) for name in self.sheets}
        id_like: dict[str, set[str]] = {}  # per target sheet, once some column refers to it
        used: dict[str, set[str]] = defaultdict(set)
        for name, sheet in self.sheets.items():
            if not sheet.rows:
                continue  # absent, empty, or unreadable (its own findings say why)
            for col in sheet.spec.columns:
                if col.type not in ("ref", "refs") or col.name not in sheet.columns or not col.ref_sheet:
                    continue
                targets = all_refs.get(col.ref_sheet, set())
                bad = {row for s, row, c in self.bad_cells if s == name and c == col.name}
                column = sheet.records[col.name]
                kept = [v for row, v in zip(sheet.rows, column, strict=True) if row not in bad] if bad else column
                kinds = set(map(type, kept))
                if kinds <= {tuple}:  # a list column (a one-ref cell is a tuple too)
                    refs = set(chain.from_iterable(kept))
                elif tuple not in kinds:  # a one-ref column, blanks None
                    refs = set(kept)
                    refs.discard(None)
                else:
                    refs = set(chain.from_iterable(v for v in kept if isinstance(v, tuple)))
                    refs.update(v for v in kept if v is not None and not isinstance(v, tuple))
                used[col.ref_sheet].update(refs)
                # a ref of the target sheet without an ID prefix passes `check_ref` silently: only the others
                # (IDs, unknown refs, anything not text) are looked at cell by cell, in row order
                doubtful = refs - targets
                if refs:
                    if col.ref_sheet not in id_like:
                        id_like[col.ref_sheet] = _id_like(targets)
                    doubtful.update(refs & id_like[col.ref_sheet])
                if doubtful:
                    for row, value in zip(sheet.rows, column, strict=True):
                        if value is None or row in bad:
                            continue
                        for ref in (value if isinstance(value, tuple) else (value,)):
                            if ref in doubtful:
                                self.check_ref(name, row, col, ref, targets, all_refs)
        return used

    def check_ref(self, sheet: str, row: int, col: spec.Column, ref: str, targets: set[str],
                  all_refs: dict[str, set[str]]) -> None:
        if has_id_prefix(ref):
            kind = id_kind(ref)
            if col.id_kind is None:
                self.error("bad_ref", f"{ref!r} looks like an Isometric ID, but {col.name} takes a ref of the "
                           f"{col.ref_sheet} sheet", sheet=sheet, row=row, column=col.name, value=ref)
            elif kind is None:
                self.error("bad_id", f"{ref!r} is not a well-formed Isometric ID (prefix plus 16-33 characters)",
                           sheet=sheet, row=row, column=col.name, value=ref)
            elif kind != col.id_kind:
                self.error("wrong_id_kind", f"{ref!r} is a {kind.replace('_', ' ')} ID; {col.name} needs a "
                           f"{col.id_kind.replace('_', ' ')} ID or a ref of the {col.ref_sheet} sheet", sheet=sheet,
                           row=row, column=col.name, value=ref)
            return
        if ref in targets:
            return
        elsewhere = [s for s, refs in all_refs.items() if ref in refs and s != col.ref_sheet]
        if elsewhere:
            self.error("wrong_sheet_ref", f"{ref!r} is a row of the {elsewhere[0]} sheet; {col.name} needs a ref of "
                       f"the {col.ref_sheet} sheet", sheet=sheet, row=row, column=col.name, value=ref)
            return
        twin = self.twin(col.ref_sheet or "", ref, targets)
        if twin is not None:
            close = [twin]
        else:
            close = difflib.get_close_matches(ref, list(targets), n=1, cutoff=0.6) if len(targets) < 20000 else []
        hint = "; " + coerce.did_you_mean(ref, close[0], there=f"the {col.ref_sheet} sheet's ref") if close else ""
        self.error("unknown_ref", f"no row {ref!r} in the {col.ref_sheet} sheet{hint}", sheet=sheet, row=row,
                   column=col.name, value=ref)

    def twin(self, sheet: str, ref: str, targets: set[str]) -> str | None:
        """The ref of `sheet` that looks the same as `ref` (`coerce.fold_text`: accents encoded otherwise, a no-break
        or zero-width space, a look-alike character, letter case), found by one look-up in a fold of the sheet's
        refs made on the first unknown ref that asks."""
        folds = self._folds.get(sheet)
        if folds is None:
            folds = self._folds[sheet] = {coerce.fold_text(target): target for target in targets}
        return folds.get(coerce.fold_text(ref))

    def check_evidence(self) -> None:
        sheet = self.sheets.get("sources")
        if sheet is None or not sheet.rows:
            return
        folder = EvidenceFolder(self.folder)
        for row, written in zip(sheet.rows, sheet.records["file"], strict=True):
            if not isinstance(written, str):
                continue
            try:
                self.evidence[int(row)] = folder.check(written)
            except EvidenceError as exc:
                self.error("bad_file", str(exc), sheet="sources", row=int(row), column="file", value=written)

    def check_components(self) -> None:
        sheet = self.sheets.get("components")
        if sheet is None or not sheet.rows:
            return
        for rec in self.rows("components"):
            row = rec["row"]
            action = rec["action"] or "add"
            needed = (("template_component",) if action == "remove" else
                      ("blueprint_key", "display_name", "activity_started_at", "activity_completed_at", "group"))
            for column in needed:
                if rec[column] is None and (sheet.spec.name, int(row), column) not in self.bad_cells:
                    self.error("required", f"{column} is required for action {action!r}", sheet="components",
                               row=int(row), column=column)
        removed = {r for r, a in zip(sheet.records["ref"], sheet.records["action"], strict=True) if a == "remove"}
        inputs = self.sheets.get("component_inputs")
        if inputs is not None and inputs.rows:
            for row, ref in zip(inputs.rows, inputs.records["component_ref"], strict=True):
                if ref in removed:
                    self.error("bad_ref", f"component {ref!r} has action remove; it takes no inputs",
                               sheet="component_inputs", row=int(row), column="component_ref", value=ref)

    def check_feedstock_types(self) -> None:
        """A feedstock_types row names an existing type (the API creates none): by a well-formed ftt_ ID, or by
        name. Which type it is, is looked up online (`importer.online`)."""
        sheet = self.sheets.get("feedstock_types")
        if sheet is None or not sheet.rows:
            return
        for rec in self.rows("feedstock_types"):
            row, given = int(rec["row"]), rec["feedstock_type_id"]
            if given is not None and ("feedstock_types", row, "feedstock_type_id") not in self.bad_cells:
                if id_kind(given) != "feedstock_type":
                    self.error("bad_id", f"{given!r} is not a feedstock type ID: expected ftt_ and 16-33 letters or "
                               "digits (20-37 characters), copied from the Certify UI", sheet="feedstock_types",
                               row=row, column="feedstock_type_id", value=given)
            elif rec["name"] is None and ("feedstock_types", row, "name") not in self.bad_cells:
                self.error("required", "give the feedstock type's ftt_ ID or its name as Isometric shows it (the "
                           "API cannot create feedstock types: create it in the Certify UI first)",
                           sheet="feedstock_types", row=row, column="name")

    def warn_unused(self, used: dict[str, set[str]]) -> None:
        for name, label in (("sources", "source"), ("datapoints", "datapoint")):
            sheet = self.sheets.get(name)
            if sheet is None or not sheet.rows:
                continue
            # as `self.warn` would add them, built directly: there can be one per row
            refs = sheet.records["ref"]
            unused = set(refs).difference(used.get(name, ()))
            if not any(isinstance(ref, str) for ref in unused):
                continue  # every row used (the usual case), told without a look at each row
            letter = get_column_letter(sheet.columns["ref"])
            # fields given by position (severity, code, message, sheet, row, column, cell, value): a third faster
            # than by keyword, with one per row
            self.findings += [Finding("warning", "unused", f"{label} {ref!r} is not used by any other row", name, row,
                                      "ref", f"{letter}{row}", ref)
                              for row, ref in zip(sheet.rows, refs, strict=True)
                              if ref in unused and isinstance(ref, str)]

    # -- model ------------------------------------------------------------------------------------------
    def rows(self, name: str) -> list[dict[str, Any]]:
        sheet = self.sheets.get(name)
        if sheet is None or not sheet.rows:
            return []
        names = list(sheet.records)
        return [dict(zip(names, values, strict=True), row=row)
                for row, values in zip(sheet.rows, zip(*sheet.records.values(), strict=True), strict=True)]

    def typed(self, name: str, cls: type, **columns: list[Any]) -> list[Any]:
        """Rows of a sheet as `cls` instances, built positionally from the column lists (fast for 100k rows);
        `columns` replaces or adds column lists (e.g. cleaned-up values)."""
        sheet = self.sheets.get(name)
        if sheet is None or not sheet.rows:
            return []
        lists = [sheet.rows] + [columns[f.name] if f.name in columns else sheet.records[f.name]
                                for f in dataclasses.fields(cls) if f.name != "row"]
        if len(set(map(len, lists))) == 1:
            return list(map(cls, *lists))
        return [cls(*values) for values in zip(*lists, strict=True)]  # raises as it always did

    def build(self) -> Workbook:
        sources = []
        for rec in self.rows("sources"):
            ev = self.evidence[rec["row"]]
            sources.append(SourceRow(row=rec["row"], ref=rec["ref"], display_name=rec["display_name"], file=ev.path,
                                     file_name=ev.file_name, published_at=rec["published_at"],
                                     description=rec["description"], is_public=bool(rec["is_public"]),
                                     supplier_reference_id=rec["supplier_reference_id"], content_type=ev.content_type,
                                     content_length=ev.content_length, sha256=ev.sha256))
        dp_sources = [r or () for r in self.sheets["datapoints"].records.get("source_refs", [])]
        components = self.sheets["components"].records
        return Workbook(
            path=self.raw.path, sha256=self.raw.sha256,
            project=ProjectSettings(
                project_id=self.project["project_id"], statement_end_on=self.project.get("statement_end_on"),
                submit_statement=bool(self.project.get("submit_statement")),
                ghg_statement_report_url=self.project.get("ghg_statement_report_url"),
                supplier_reference_prefix=self.project.get("supplier_reference_prefix")),
            sources=sources,
            datapoints=self.typed("datapoints", DatapointRow, source_refs=dp_sources),
            feedstock_types=self.typed("feedstock_types", FeedstockTypeRow),
            entries=self.typed("entries", EntryRow),
            entry_inputs=self.typed("entry_inputs", EntryInputRow),
            components=self.typed(
                "components", ComponentRow,
                action=[a or "add" for a in components.get("action", [])],
                attribution_factor=[float(f or 1.0) for f in components.get("attribution_factor", [])]),
            component_inputs=self.typed("component_inputs", ComponentInputRow),
            columns={name: dict(s.columns) for name, s in self.sheets.items()},
            project_rows=dict(self.project_rows),
        )

    def supplier_references_given(self) -> bool:
        """Whether some row gives its own supplier_reference_id. When none does, every ID is derived
        (`<prefix>:<sheet>:<ref>`, sources adding their file's hash, long ones hashed): distinct, since refs are
        unique within a sheet (checked before) and sheets are named apart."""
        given = [self.sheets[name].records.get("supplier_reference_id", []) for name in
                 ("sources", "datapoints", "feedstock_types", "entries", "components") if name in self.sheets]
        return not all(column.count(None) == len(column) for column in given)

    def check_supplier_references(self, wb: Workbook) -> None:
        """supplier_reference_id unique across the workbook (called when some row gives its own)."""
        references = workbook_references(wb)
        if len({srid for _, _, srid in references}) == len(references):
            return  # all distinct: the usual case, told without a look-up per row
        seen: dict[str, tuple[str, int]] = {}
        for sheet, row, srid in references:
            if srid in seen:
                first_sheet, first_row = seen[srid]
                column = "supplier_reference_id" if self.sheets[sheet].columns.get("supplier_reference_id") else "ref"
                self.error("duplicate_supplier_reference_id", f"supplier_reference_id {srid!r} is also used by "
                           f"{first_sheet} row {first_row}; it must be unique for every object", sheet=sheet, row=row,
                           column=column, value=srid)
            else:
                seen[srid] = (sheet, row)

    # -- all ----------------------------------------------------------------------------------------------
    def run(self, *, typed_rows: bool = True) -> ValidationResult:
        found = self.find_sheets()
        if "project" in found:
            self.read_project(self.raw.wait(found["project"].title))
        for sheet_spec in spec.SHEETS:
            if sheet_spec.key_value or sheet_spec.name not in found:
                continue
            sheet = self.read_sheet(sheet_spec, self.raw.wait(found[sheet_spec.name].title))
            if sheet is not None:
                self.run_schema(sheet)
                if sheet_spec.name == "sources":  # the evidence files are looked at while the next sheet is read
                    self.check_evidence()
        self.check_signs()
        for sheet_spec in spec.SHEETS:  # optional sheets that are absent are empty
            if sheet_spec.name not in self.sheets and not sheet_spec.key_value:
                self.sheets[sheet_spec.name] = _Sheet(sheet_spec, sheet_spec.name, {})
        used = self.check_references()
        self.check_list_duplicates()
        self.check_components()
        self.check_feedstock_types()
        self.warn_unused(used)
        counts = {name: len(s.rows) for name, s in self.sheets.items()}
        workbook = None
        if not any(f.severity == "error" for f in self.findings):
            given = self.supplier_references_given()
            if typed_rows or given:  # the uniqueness of given IDs is checked on the typed rows
                workbook = self.build()
                if given:
                    self.check_supplier_references(workbook)
            if not typed_rows or any(f.severity == "error" for f in self.findings):
                workbook = None
        self.findings.sort(key=self.finding_order())
        return ValidationResult(path=self.raw.path, sha256=self.raw.sha256, findings=self.findings, counts=counts,
                                workbook=workbook)

    def finding_order(self) -> Callable[[Finding], tuple[tuple[bool, int, int], int, int]]:
        """The sort key of the findings: hidden data first, then by severity, sheet (in the format's order), row
        and column (as the sheet has it). All but the row depend on (code, severity, sheet, column) alone, which
        few findings differ in: that part is computed once per combination, not once per finding (100,000
        findings of one kind are common)."""
        ranks: dict[tuple[str, str, str | None, str | None], tuple[tuple[bool, int, int], int]] = {}
        fields = attrgetter("code", "severity", "sheet", "column")

        def rank(kind: tuple[str, str, str | None, str | None]) -> tuple[tuple[bool, int, int], int]:
            code, severity, sheet_name, column = kind
            sheet = self.sheets.get(sheet_name or "")
            found = ranks[kind] = ((code not in SHOWN_FIRST, SEVERITY_ORDER[severity],
                                    SHEET_ORDER.get(sheet_name or "", 99)),
                                   sheet.columns.get(column or "", 0) if sheet else 0)
            return found

        def key(finding: Finding) -> tuple[tuple[bool, int, int], int, int]:
            kind = fields(finding)
            first, column = ranks.get(kind) or rank(kind)
            return first, finding.row or 0, column

        return key


__all__ = ["Validator"]
