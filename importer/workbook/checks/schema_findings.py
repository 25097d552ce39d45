"""Each sheet's schema (required, lengths, enums, ranges, unique refs, date order): asked of whole columns first,
pandera only when that cannot promise a pass (`importer.workbook.schemas`); pandera's failure cases made findings."""

from __future__ import annotations

import difflib
from typing import Protocol

from importer.workbook import schemas
from importer.workbook.checks.base import CheckedSheet, Checks


class FailureCase(Protocol):
    """One row of pandera's `failure_cases` (a row of the frame's itertuples)."""

    @property
    def check(self) -> object: ...
    @property
    def column(self) -> object: ...
    @property
    def index(self) -> int | float | None: ...  # the frame's index (the Excel row); NaN or None: no row
    @property
    def failure_case(self) -> object: ...


class SchemaChecks(Checks):
    """A sheet's schema checked."""

    def run_schema(self, sheet: CheckedSheet) -> None:
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

    def schema_finding(self, sheet: CheckedSheet, case: FailureCase) -> None:
        import pandas as pd

        name = sheet.spec.name
        check = str(case.check)
        column = case.column if isinstance(case.column, str) and case.column in sheet.columns else None
        row = int(case.index) if case.index is not None and not pd.isna(case.index) else None
        value = case.failure_case
        if row is None:  # a check that could not run (it raised): the sheet is not known to pass, so say so
            self.error(
                "check_failed",
                f"the {check} check could not be completed on this sheet ({value}), so the "
                "sheet is not known to be valid; please report this to the importer's maintainers with the "
                "workbook",
                sheet=name,
                column=column,
            )
            return
        if check.startswith("order:"):
            _, first, second = check.split(":")
            frame = sheet.frame
            if row is not None and row in frame.index and (name, row, second) not in self.bad_cells:
                found = frame.at[row, second]
                self.error(
                    "date_order",
                    f"{second} ({found}) is before {first} ({frame.at[row, first]})",
                    sheet=name,
                    row=row,
                    column=second,
                    value=str(found),
                )  # what the cell holds, shown
            return
        if column is None or row is None or (name, row, column) in self.bad_cells:
            return
        col = sheet.spec.column(column)
        if check == "not_nullable":
            self.error("required", f"{column} is required", sheet=name, row=row, column=column)
        elif check.startswith(("max_length:", "str_length")):
            self.error(
                "too_long",
                f"{column} is {len(str(value))} characters long; at most {col.max_length} allowed",
                sheet=name,
                row=row,
                column=column,
                value=value,
            )
        elif check == "choices" or check.startswith("isin"):
            close = difflib.get_close_matches(str(value), list(col.choices), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.error(
                "bad_choice",
                f"{value!r} is not one of {', '.join(col.choices)}{hint}",
                sheet=name,
                row=row,
                column=column,
                value=value,
            )
        elif check == "field_uniqueness":
            others = [int(r) for r in sheet.frame.index[sheet.frame[column] == value] if int(r) != row]
            self.error(
                "duplicate_ref",
                f"{column} {value!r} is used more than once (also on row "
                f"{', '.join(map(str, others))}); each row needs its own",
                sheet=name,
                row=row,
                column=column,
                value=value,
            )
        elif check.startswith(("ge:", "gt:", "le:", "greater_than", "less_than")):
            words = (
                "at least"
                if check.startswith(("ge:", "greater_than_or_equal"))
                else "greater than"
                if check.startswith(("gt:", "greater_than"))
                else "at most"
            )
            bound = f"{col.minimum:g}" if words != "at most" else f"{col.maximum:g}"
            self.error(
                "out_of_range",
                f"{column} must be {words} {bound}, found {value}",
                sheet=name,
                row=row,
                column=column,
                value=value,
            )
        else:
            self.error(
                "invalid",
                f"{column}: failed check {check} with {value!r}",
                sheet=name,
                row=row,
                column=column,
                value=value,
            )


__all__ = ["SchemaChecks"]
