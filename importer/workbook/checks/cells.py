"""Each column's cells parsed to the column's type (`coerce`): a whole-column fast path for the usual case, a
cell loop otherwise, and the cells holding formula errors or formulas without a value reported once and skipped."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from contextlib import suppress
from itertools import compress, repeat
from itertools import count as counting
from operator import contains
from typing import TYPE_CHECKING, Any

from importer.findings import column_index_from_string
from importer.workbook import coerce, spec
from importer.workbook.checks.base import Checks
from importer.workbook.reader import EXCEL_ERRORS, RawSheet

if TYPE_CHECKING:
    pass

_TEXT_TYPES = frozenset({"str", "ref", "file", "unit", "refs", "enum"})  # column types whose cells are text


class CellParsing(Checks):
    """A column's cells parsed, each failure a finding at its cell."""

    def special_cells(
        self, sheet: str, raw: RawSheet, columns: dict[str, int], data_rows: list[int]
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
            row, index = int(cell[len(letters) :]), column_index_from_string(letters)
            column = by_index.get(index)
            if column is None or row not in rows:
                continue
            out[column].add(row)
            if error is None:
                self.error("formula_without_value", self.uncached_advice(), sheet=sheet, row=row, column=column)
            else:
                self.error(
                    "formula_error",
                    f"the cell holds the formula error {error}; fix the formula",
                    sheet=sheet,
                    row=row,
                    column=column,
                    value=error,
                )
        return out

    def parse_column(
        self, sheet: str, col: spec.Column, rows: list[int], values: Sequence[Any], raw: RawSheet, skip: set[int]
    ) -> list[object]:
        """Parse one column; common well-formed cells take a fast path, everything else the general parser.

        `values` are the cells as the reader gives them (calamine's values, `RawSheet.rows`): told apart by one
        `type()` per cell, kept in a local, which mypy does not narrow through: typed as the reader types them."""
        fast = self.parse_uniform_column(sheet, col, rows, values, raw, skip)
        if fast is not None:
            return fast
        default = col.default
        text_like = col.type in ("str", "ref", "file", "unit")
        number = col.type == "number"
        refs = col.type == "refs"
        enum = col.type == "enum"
        native = dt.date if col.type == "date" else dt.datetime if col.type == "datetime" else None
        out: list[object] = []
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

    def parse_uniform_column(
        self, sheet: str, col: spec.Column, rows: list[int], values: Sequence[Any], raw: RawSheet, skip: set[int]
    ) -> list[object] | None:
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
                    # a cell of separators alone holds no ref: blank, as the cell parser has it
                    split = {
                        v: (v,)
                        if "," not in v and ";" not in v and "\n" not in v
                        else coerce.split_refs(v) or col.default
                        for v in distinct
                    }
                    out = list(map(split.__getitem__, out))
                else:  # every value a one-ref tuple (at C speed), then the few lists split
                    lists = {i for mark in ",;\n" for i in compress(counting(), map(contains, out, repeat(mark)))}
                    texts, out = out, list(zip(out))
                    for i in lists:
                        out[i] = coerce.split_refs(texts[i]) or col.default
            elif col.type == "enum":
                cased = {v: coerce.enum_value(col.choices, v) for v in set(out)}
                out = list(map(cased.__getitem__, out))
            for i in odd:
                out[i] = self.parse(sheet, rows[i], col, values[i], raw) if values[i].strip() else col.default
        elif col.type == "number" and (types := set(map(type, values))) and types <= {float, int}:
            if not all(map(math.isfinite, values)):
                return None
            out = [float(v) for v in values] if int in types else list(values)
        elif (
            col.type in ("date", "datetime")
            and set(map(type, values)) == {dt.date}
            and min(values) >= coerce.SMALL_SERIAL_END
        ):
            if col.type == "date":
                out = list(values)
            else:
                stamps = {d: dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC) for d in set(values)}
                out = list(map(stamps.__getitem__, values))
        else:
            return None
        return self.skipped(out, rows, skip)

    @staticmethod
    def skipped(out: list[object], rows: list[int], skip: set[int]) -> list[object]:
        """`out` with None for the rows in `skip` (cells already reported: formula errors, formulas without a
        value)."""
        if skip:
            for i, row in enumerate(rows):
                if row in skip:
                    out[i] = None
        return out

    def parse(self, sheet: str, row: int, col: spec.Column, value: object, raw: RawSheet) -> object:
        if isinstance(value, str) and value.strip() in EXCEL_ERRORS:
            self.error(
                "formula_error",
                f"the cell holds the formula error {value.strip()}; fix the formula",
                sheet=sheet,
                row=row,
                column=col.name,
                value=value.strip(),
            )
            return None
        if type(value).__name__ == "CalamineError" or (value is not None and "Error" in type(value).__name__):
            self.error(
                "formula_error",
                f"the cell holds a formula error ({value}); fix the formula",
                sheet=sheet,
                row=row,
                column=col.name,
                value=str(value),
            )
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


__all__ = ["CellParsing"]
