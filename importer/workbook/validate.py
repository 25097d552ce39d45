"""Offline validation of a workbook: every problem in one pass, each located to its Excel cell.

Order of work: read (`reader`: python-calamine plus the sheet XML's styles, hidden parts and formulas) -> find
sheets and headers -> per cell: formula errors, then parse to the column's type (`coerce`) -> pandera per sheet
(required, lengths, enums, ranges, unique refs, date order) -> cross-sheet references (hash look-ups, "did you
mean") -> units (each distinct unit parsed once) -> evidence files -> supplier_reference_id uniqueness across
sheets -> typed rows (`model.Workbook`). The checks live in `validator`.

This module is the light entry point: it imports neither pandas nor pandera, so `validate_workbook` can start
reading the file before the checks' libraries are loaded. Reading is mostly python-calamine's native parsing,
which runs without the GIL, and importing pandas, pandera and pint costs about a second on first use: done
one after the other they add up, side by side the import hides behind the read.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer import gcpause
from importer.findings import Finding
from importer.workbook.model import Workbook
from importer.workbook.reader import WorkbookUnreadable, read_workbook


@dataclass
class ValidationResult:
    path: Path
    sha256: str | None
    findings: list[Finding]
    counts: dict[str, int]
    workbook: Workbook | None

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


def validate_workbook(path: Path) -> ValidationResult:
    """Validate a workbook offline. Raises WorkbookUnreadable when the file cannot be read at all.

    The file is read in a worker thread while this one imports the checks (see the module's docstring). The
    cyclic garbage collector is paused meanwhile (`importer.gcpause`)."""
    with gcpause.paused(), ThreadPoolExecutor(1, thread_name_prefix="read-workbook") as pool:
        reading = pool.submit(read_workbook, Path(path))
        from importer.workbook.validator import Validator

        return Validator(reading.result()).run()


__all__ = ["ValidationResult", "WorkbookUnreadable", "validate_workbook"]
