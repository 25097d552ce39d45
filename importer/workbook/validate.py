"""Offline validation of a workbook: every problem in one pass, each located to its Excel cell.

Order of work: read (`reader`: python-calamine plus the sheet XML's styles, hidden parts and formulas) -> find
sheets and headers -> per cell: formula errors, then parse to the column's type (`coerce`) -> each sheet's schema
(required, lengths, enums, ranges, unique refs, date order) -> cross-sheet references (hash look-ups, "did you
mean") -> units (each distinct unit parsed once) -> evidence files -> supplier_reference_id uniqueness across
sheets -> typed rows (`model.Workbook`). The checks live in `validator`.

This module is the light entry point, so `validate_workbook` starts reading the file at once and checks each
sheet while the next is read. Reading is mostly python-calamine's native parsing, which runs without the GIL;
the checks of a 100k-row sheet take about half a second: done one after the other they add up, side by side
they hide behind the read. pandas and pandera (0.7 s to import) load only when a sheet may break a schema
rule, and pint only when a unit is converted (`schemas`, `units`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer import gcpause
from importer.findings import Finding
from importer.workbook import reader
from importer.workbook.model import Workbook
from importer.workbook.reader import WorkbookUnreadable, reading
from importer.workbook.spec import SHEETS


@dataclass
class ValidationResult:
    path: Path
    sha256: str | None
    findings: list[Finding]
    counts: dict[str, int]
    workbook: Workbook | None  # the typed rows: None when there are errors (or when not asked for them)

    @property
    def ok(self) -> bool:
        return not self.errors()

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def notes(self) -> list[Finding]:
        """How values were read where that differs from what the cells store (percentages, unit rewrites)."""
        return [f for f in self.findings if f.severity == "note"]

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "workbook": str(self.path), "sha256": self.sha256,
                "errors": [f.to_json() for f in self.errors()], "warnings": [f.to_json() for f in self.warnings()],
                "notes": [f.to_json() for f in self.notes()], "counts": self.counts}


#: the order the checks take the sheets in, which is the order they are read in
CONSUMPTION_ORDER = tuple(s.name for s in SHEETS)


def prefetch(path: Path) -> None:
    """Begin reading `path` for a `validate_workbook(path)` still to come, which takes the read over if the
    file is unchanged by then (`reader.prefetch`): the console script's head start."""
    reader.prefetch(Path(path), first=CONSUMPTION_ORDER)


def validate_workbook(path: Path, *, typed_rows: bool = True) -> ValidationResult:
    """Validate a workbook offline. Raises WorkbookUnreadable when the file cannot be read at all.

    `typed_rows=False` is for a caller that reports the findings and nothing more (the `validate` command):
    the rows are checked alike, but not built into `ValidationResult.workbook` (about 0.06 s at 100k rows),
    which is then None, as for a workbook with errors; `ok` says which.

    The sheets are read by worker threads (`reader.reading`) in the order the checks take them, while this
    thread imports the checks and then checks each sheet as it arrives (see the module's docstring). The cyclic
    garbage collector is paused meanwhile (`importer.gcpause`)."""
    with gcpause.paused(), reading(Path(path), first=CONSUMPTION_ORDER) as raw:
        from importer.workbook.validator import Validator

        return Validator(raw).run(typed_rows=typed_rows)


__all__ = ["CONSUMPTION_ORDER", "ValidationResult", "WorkbookUnreadable", "prefetch", "validate_workbook"]
