"""The CSV of rows that need attention, beside the HTML report. Cells are neutralised against formula
injection: a spreadsheet opening the file must show text, never run `=cmd|...`."""

from __future__ import annotations

import csv
from pathlib import Path

from importer.redaction import redact
from importer.results import BAD_STATUSES, RunResult

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ("sheet", "row", "ref", "kind", "supplier_reference_id", "status", "error", "blocked_by")


def neutralise_csv_cell(text: object) -> str:
    """Prefix a single quote to any cell that a spreadsheet would read as a formula."""
    value = "" if text is None else str(text)
    return "'" + value if value.startswith(DANGEROUS_START) else value


def failed_csv_path(result: RunResult, report_path: Path) -> Path:
    """Where the CSV of failed rows goes: beside the HTML report, named after the workbook and the run (the report
    links to it by this name, the terminal summary prints it)."""
    return report_path.with_name(f"{Path(result.workbook_path).stem}-{result.run_id}-failed.csv")


def write_failed_csv(result: RunResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for obj in result.objects:
            if obj.status in BAD_STATUSES:
                values = [getattr(obj, c) for c in COLUMNS]
                writer.writerow([neutralise_csv_cell(redact("" if v is None else str(v))) for v in values])
    return path
