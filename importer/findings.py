"""Findings: what validation (and later stages) say about a workbook, each located to an Excel cell.

A finding with a `cell` names the exact spot a field team must fix (`datapoints!D7`); one without names
the sheet or file. Errors stop an import before anything is sent; warnings do not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from importer.json_types import JSONObject

Severity = Literal["error", "warning", "note"]  # a note says how a value was read

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LETTER_VALUE = {letter: n for n, letter in enumerate(_LETTERS, 1)}


def get_column_letter(col_idx: int) -> str:
    """Excel column letters of a 1-based column index (1 -> A, 27 -> AA), as openpyxl's function of this name
    (without importing openpyxl: validation reads with calamine and writes nothing)."""
    if not 1 <= col_idx <= 18278:
        raise ValueError(f"Invalid column index {col_idx}")
    letters = ""
    while col_idx:
        col_idx, remainder = divmod(col_idx - 1, 26)
        letters = _LETTERS[remainder] + letters
    return letters


def column_index_from_string(col: str) -> int:
    """1-based column index of Excel column letters (A -> 1, AA -> 27, ZZZ at most), as openpyxl's function."""
    error = f"'{col}' is not a valid column name. Column names are from A to ZZZ"
    if len(col) > 3:
        raise ValueError(error)
    index = 0
    for letter in col.upper():
        value = _LETTER_VALUE.get(letter)
        if value is None:
            raise ValueError(error)
        index = index * 26 + value
    if not 0 < index < 18279:
        raise ValueError(error)
    return index


def cell_name(row: int | None, col_index: int | None) -> str | None:
    """A1-style name of a cell from its 1-based Excel row and column (None when either is unknown)."""
    if row is None or col_index is None:
        return None
    return f"{get_column_letter(col_index)}{row}"


@dataclass(slots=True)
class Finding:
    severity: Severity
    code: str  # stable, machine-readable: "unknown_ref", "required", "bad_unit", ...
    message: str  # plain words, says what was found and what was expected
    sheet: str | None = None
    row: int | None = None  # Excel row number
    column: str | None = None  # header name as in the format
    cell: str | None = None  # A1 form, e.g. "D7"
    value: object = None  # what was found (shown; to_json gives any but a JSON scalar as text)

    @property
    def location(self) -> str:
        """`datapoints!D7`, `datapoints row 7`, `datapoints`, or the empty string."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        if self.sheet and self.row:
            return f"{self.sheet} row {self.row}"
        return self.sheet or ""

    def to_json(self) -> JSONObject:
        data = asdict(self)
        data.pop("severity")
        value = data["value"]
        if value is not None and not isinstance(value, (str, int, float, bool)):
            data["value"] = str(value)
        return data


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def warnings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "warning"]


_KIND = attrgetter("severity", "code")
_SEVERITY = attrgetter("severity")


def severity_counts(findings: list[Finding]) -> Counter[str]:
    """How many errors, warnings and notes (0 for a severity absent), counted at C speed."""
    return Counter(map(_SEVERITY, findings))


def by_kind(findings: list[Finding]) -> dict[tuple[str, str], list[Finding]]:
    """The findings grouped by (severity, code), groups in order of first appearance, each in the given order.
    One kind only (a warning on every row, say) is told without a look-up per finding, its group being the
    given list itself."""
    kinds = list(map(_KIND, findings))
    if len(set(kinds)) == 1:
        return {kinds[0]: findings}
    groups: dict[tuple[str, str], list[Finding]] = {}
    for kind, finding in zip(kinds, findings, strict=True):
        groups.setdefault(kind, []).append(finding)
    return groups
