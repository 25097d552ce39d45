"""Offline validation of a workbook: every problem in one pass, each located to its Excel cell.

Order of work: read (`reader`: python-calamine plus the sheet XML's styles, hidden parts and formulas) -> find
sheets and headers -> per cell: formula errors, then parse to the column's type (`coerce`) -> each sheet's schema
(required, lengths, enums, ranges, unique refs, date order) -> cross-sheet references (hash look-ups, "did you
mean") -> units (each distinct unit parsed once) -> evidence files -> supplier_reference_id uniqueness across
sheets -> typed rows (`model.Workbook`). The checks live in `importer.workbook.checks`, one module per stage,
run by `checks.coordinator.Validator`; what they return is `checks.result.ValidationResult`, re-exported here.

This module is the light entry point, so `validate_workbook` starts reading the file at once and checks each
sheet while the next is read. Reading is mostly python-calamine's native parsing, which runs without the GIL;
the checks of a 100k-row sheet take about half a second: done one after the other they add up, side by side
they hide behind the read. pandas and pandera (0.7 s to import) load only when a sheet may break a schema
rule, and pint only when a unit is converted (`schemas`, `units`).
"""

from __future__ import annotations

from pathlib import Path

from importer import process_wide
from importer.workbook.checks.result import ValidationResult
from importer.workbook.reader import WorkbookUnreadable, reading
from importer.workbook.spec import SHEETS

#: the order the checks take the sheets in, which is the order they are read in
CONSUMPTION_ORDER = tuple(s.name for s in SHEETS)


def prefetch(path: Path) -> None:
    """Begin reading `path` for a `validate_workbook(path)` still to come, which takes the read over if the
    file is unchanged by then (`process_wide.prefetch`): the console script's head start."""
    process_wide.prefetch(Path(path), first=CONSUMPTION_ORDER)


def validate_workbook(path: Path, *, typed_rows: bool = True) -> ValidationResult:
    """Validate a workbook offline. Raises WorkbookUnreadable when the file cannot be read at all.

    `typed_rows=False` is for a caller that reports the findings and nothing more (the `validate` command):
    the rows are checked alike, but not built into `ValidationResult.workbook` (about 0.06 s at 100k rows),
    which is then None, as for a workbook with errors; `ok` says which.

    The sheets are read by worker threads (`reader.reading`) in the order the checks take them, while this
    thread imports the checks and then checks each sheet as it arrives (see the module's docstring). The cyclic
    garbage collector is paused meanwhile, and a read of this file begun ahead is taken over (`process_wide`):
    both leave the process as they found them."""
    path = Path(path)
    begun = process_wide.adopt(path, CONSUMPTION_ORDER)
    with process_wide.paused(), reading(path, first=CONSUMPTION_ORDER, begun=begun) as raw:
        from importer.workbook.checks.coordinator import Validator

        return Validator(raw).run(typed_rows=typed_rows)


__all__ = ["CONSUMPTION_ORDER", "ValidationResult", "WorkbookUnreadable", "prefetch", "validate_workbook"]
