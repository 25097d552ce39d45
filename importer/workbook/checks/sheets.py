"""Each data sheet read: headers (unknown, duplicate, missing), merged cells, blank rows, hidden columns and
hidden, filtered or struck rows, then every column parsed (`cells`) and read as shown (`readings`)."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from importer.findings import Finding, cell_name, get_column_letter
from importer.workbook import coerce, spec
from importer.workbook.checks.base import CheckedSheet
from importer.workbook.checks.cells import CellParsing
from importer.workbook.checks.readings import Readings
from importer.workbook.reader import RawSheet

if TYPE_CHECKING:
    pass


class SheetReading(CellParsing, Readings):
    """A data sheet read into typed columns."""

    def read_sheet(self, sheet_spec: spec.Sheet, raw: RawSheet) -> CheckedSheet | None:
        name = sheet_spec.name
        rows = raw.rows
        header = rows[0] if rows else []
        columns: dict[str, int] = {}
        self.sheets[name] = CheckedSheet(sheet_spec, raw.title, columns, raw=raw)
        known = {c.name for c in sheet_spec.columns}
        for r0, c0, r1, c1 in raw.merged:
            span = f"{cell_name(r0, c0)}:{cell_name(r1, c1)}"
            if r0 == 1:
                self.error(
                    "merged_header",
                    f"header cells {span} are merged; unmerge them so each column has its own header",
                    sheet=name,
                    row=1,
                )
            else:
                self.findings.append(
                    Finding(
                        "error",
                        "merged_cells",
                        f"cells {span} are merged across data; unmerge them and give each cell its own value",
                        sheet=name,
                        row=r0,
                        cell=cell_name(r0, c0),
                    )
                )
        for index, title in enumerate(header, start=1):
            text = coerce.as_text(title)
            if text is None:
                continue
            norm = spec.normalise_header(text)
            self.sheets[name].headers[index] = text
            if norm in columns:
                self.findings.append(
                    Finding(
                        "error",
                        "duplicate_header",
                        f"column {norm!r} appears twice (also in {cell_name(1, columns[norm])}); keep one",
                        sheet=name,
                        row=1,
                        column=norm,
                        cell=cell_name(1, index),
                        value=text,
                    )
                )
            elif norm in known:
                columns[norm] = index
            else:
                close = difflib.get_close_matches(norm, sorted(known), n=1, cutoff=0.75)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.findings.append(
                    Finding(
                        "warning",
                        "unknown_column",
                        f"column {text!r} is not part of the {name} sheet and was ignored{hint}",
                        sheet=name,
                        row=1,
                        column=norm,
                        cell=cell_name(1, index),
                        value=text,
                    )
                )
        missing = [c.name for c in sheet_spec.columns if c.required and c.name not in columns]
        if missing:
            self.error(
                "missing_column",
                f"the {name} sheet has no {', '.join(repr(m) for m in missing)} column "
                f"(row 1 must hold the headers; found: {', '.join(str(h) for h in header if h) or 'none'})",
                sheet=name,
                row=1,
            )
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
            self.findings.append(
                Finding(
                    "warning",
                    "hidden_column",
                    f"column {letter} ({header or 'no header'}) is hidden but holds data; it was read like the others",
                    sheet=name,
                    row=1,
                    column=column,
                    cell=f"{letter}1",
                    value=header,
                )
            )
            if column is None:
                continue
            for other, text in sheet.headers.items():
                if other in raw.hidden_columns or other == index:
                    continue
                norm = spec.normalise_header(text)
                if norm != column and (
                    norm.startswith(column)
                    or column in norm.split("_")
                    or difflib.SequenceMatcher(None, norm, column).ratio() >= 0.75
                ):
                    self.findings.append(
                        Finding(
                            "error",
                            "hidden_column_conflict",
                            f"column {letter} ({column}) is hidden while the visible "
                            f"column {get_column_letter(other)} is headed {text!r}: the importer reads {column} and "
                            "cannot "
                            f"know which one you meant; delete the one you do not mean, or unhide {letter}",
                            sheet=name,
                            row=1,
                            column=column,
                            cell=f"{letter}1",
                            value=text,
                        )
                    )
        kept = set(rows)
        for code, hidden, how in (
            ("hidden_row", raw.hidden_rows, "hidden"),
            ("filtered_row", raw.filtered_rows, "filtered out (by a filter)"),
            ("struck_row", raw.struck_rows, "struck through (a cancelled entry?)"),
        ):
            for row in sorted(hidden & kept):
                self.findings.append(
                    Finding(
                        "warning",
                        code,
                        f"row {row} is {how} but holds data; it was read like the others",
                        sheet=name,
                        row=row,
                        cell=f"A{row}",
                    )
                )


__all__ = ["SheetReading"]
