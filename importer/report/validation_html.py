"""The HTML validation report: workbook name and SHA-256, time, rows per sheet, findings grouped by sheet
with their cells, every cell value escaped."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Any

from importer.report.render import render_to


def write_validation_report(result: Any, path: Path) -> Path:
    rank = {"error": 0, "warning": 1, "note": 2}
    findings = sorted(result.findings, key=lambda f: (f.sheet or "", rank.get(f.severity, 3), f.row or 0))
    grouped = [(sheet, list(items)) for sheet, items in groupby(findings, key=lambda f: f.sheet or "")]
    return render_to(path, "validation_report.html.j2", name=Path(result.path).name, workbook_path=str(result.path),
                     sha256=result.sha256, counts=result.counts, errors=result.errors(), warnings=result.warnings(),
                     notes=result.notes(),
                     grouped=grouped)
