"""What every stage of the checks shares: the findings so far and how one is added (located to its cell), the
cells already found bad (one finding per mistake), each sheet as read (`CheckedSheet`: its columns and typed
values), the project settings and evidence files found, and the rows of a sheet as records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from importer.findings import Finding, Severity, cell_name
from importer.workbook import coerce, schemas, spec
from importer.workbook.reader import RawBook, RawSheet

if TYPE_CHECKING:
    import pandas as pd

    from importer.workbook.evidence import Evidence


class Place(TypedDict, total=False):
    """Where a finding is: its sheet, Excel row and column."""

    sheet: str | None
    row: int | None
    column: str | None


class Where(Place, total=False):
    """Where a finding is, and the value found there."""

    value: object


@dataclass
class CheckedSheet:
    spec: spec.Sheet
    title: str
    columns: dict[str, int]  # column -> 1-based index
    #: typed values, one list per format column (each of its column's type: `coerce.parse_cell`)
    records: dict[str, list[Any]] = field(default_factory=dict)
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


class Checks:
    """The state of one validation, which the stages (the mixins of `coordinator.Validator`) read and add to."""

    def __init__(self, raw: RawBook) -> None:
        self.raw = raw
        self.folder = raw.path.resolve().parent
        self.findings: list[Finding] = list(raw.findings)
        self.bad_cells: set[tuple[str, int, str]] = set()
        self.sheets: dict[str, CheckedSheet] = {}
        self.project: dict[str, Any] = {}  # setting -> its typed value (by the spec's row type)
        self.project_rows: dict[str, int] = {}
        self.evidence: dict[int, Evidence] = {}  # sources row -> its file, checked
        self.typed_percent: set[tuple[str, int, str]] = set()  # number cells typed as text with a % sign
        #: text numbers two conventions read differently (`1.185`), refused until `settle_numbers` weighs the rest
        self.ambiguous: list[tuple[str, int, str, coerce.AmbiguousNumber, Finding]] = []
        self._folds: dict[str, dict[str, str]] = {}  # sheet -> its refs by `coerce.fold_text`, once asked

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        cell = None
        if sheet in self.sheets and row is not None and column is not None:
            cell = cell_name(row, self.sheets[sheet].columns.get(column))
        elif sheet == "project" and row is not None:
            cell = f"B{row}"
        if value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)
        self.findings.append(
            Finding(
                severity,
                code,
                message,
                sheet=sheet,
                row=row,
                column=column,
                cell=cell,
                value=value,
            )
        )
        if severity == "error" and sheet and row is not None and column:
            self.bad_cells.add((sheet, row, column))

    def note(self, code: str, message: str, **where: Unpack[Where]) -> None:
        """How a value was read where that differs from what the cell stores (a percentage, a unit rewrite)."""
        self.add("note", code, message, **where)

    def error(self, code: str, message: str, **where: Unpack[Where]) -> None:
        self.add("error", code, message, **where)

    def warn(self, code: str, message: str, **where: Unpack[Where]) -> None:
        self.add("warning", code, message, **where)

    def uncached_advice(self) -> str:
        """What to do about a formula saved without its result, for the program that saved the workbook."""
        app = self.raw.application.lower()
        if "libreoffice" in app or "openoffice" in app:
            return (
                "this formula has no stored result although LibreOffice saved the file: in LibreOffice set Tools >"
                " Options > LibreOffice Calc > Formula > 'Recalculation on file load' to Always, press "
                "Ctrl+Shift+F9 (Data > Calculate > Recalculate Hard), then save as .xlsx again; or replace the "
                "formula by its value"
            )
        if "openpyxl" in app or "xlsxwriter" in app or not app:
            return (
                "this formula has no stored result: the file was written by a program that does not calculate "
                "formulas; open it in Excel or LibreOffice and save it, so each result is stored, or replace the "
                "formula by its value"
            )
        return (
            "this formula has no stored result: open the workbook in Excel (with calculation set to Automatic) "
            "and save it, so each result is stored, or replace the formula by its value"
        )

    def rows(self, name: str) -> list[dict[str, Any]]:
        """The sheet's records as one dict a row (its Excel row under "row")."""
        sheet = self.sheets.get(name)
        if sheet is None or not sheet.rows:
            return []
        names = list(sheet.records)
        return [
            dict(zip(names, values, strict=True), row=row)
            for row, values in zip(sheet.rows, zip(*sheet.records.values(), strict=True), strict=True)
        ]


__all__ = ["CheckedSheet", "Checks"]
