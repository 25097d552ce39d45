"""`ValidationResult`: what an offline validation returns (findings in the order shown, counts, typed rows), with
its JSON. Re-exported by `importer.workbook.validate`, the entry point."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from importer.findings import Finding
from importer.workbook.model import Workbook


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

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "workbook": str(self.path),
            "sha256": self.sha256,
            "errors": [f.to_json() for f in self.errors()],
            "warnings": [f.to_json() for f in self.warnings()],
            "notes": [f.to_json() for f in self.notes()],
            "counts": self.counts,
        }


__all__ = ["ValidationResult"]
