"""The CSV of rows that need attention, beside the HTML report. Cells are neutralised against formula
injection: a spreadsheet opening the file must show text, never run `=cmd|...`.

Each row carries its typed failure (importer.failures): category, HTTP status, request ID, the field the API named
and its column, attempts and time, and what to do. A blocked row takes the category and the advice of the row that
blocked it (its root cause); its own status, request ID and field stay empty (no request of its own failed)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from importer.redaction import redact
from importer.results import BAD_STATUSES, RunResult

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "sheet",
    "row",
    "ref",
    "kind",
    "supplier_reference_id",
    "status",
    "error",
    "blocked_by",
    "category",
    "http_status",
    "request_id",
    "field",
    "column",
    "attempts",
    "elapsed_seconds",
    "advice",
)


def neutralise_csv_cell(text: object) -> str:
    """Prefix a single quote to any cell that a spreadsheet would read as a formula."""
    value = "" if text is None else str(text)
    return "'" + value if value.startswith(DANGEROUS_START) else value


def beside_report(result: RunResult, report_path: Path, suffix: str) -> Path:
    """A file of the run beside its HTML report, named after the workbook and the run (`-failed.csv`...)."""
    return report_path.with_name(f"{Path(result.workbook_path).stem}-{result.run_id}{suffix}")


def failed_csv_path(result: RunResult, report_path: Path) -> Path:
    """Where the CSV of failed rows goes (the report links to it by this name, the terminal summary prints it)."""
    return beside_report(result, report_path, "-failed.csv")


def write_safe_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """A CSV whose every cell is redacted and neutralised against formula injection (None is an empty cell)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for values in rows:
            writer.writerow([neutralise_csv_cell(redact("" if v is None else str(v))) for v in values])
    return path


def write_failed_csv(result: RunResult, path: Path) -> Path:
    return write_safe_csv(path, COLUMNS, ([values[c] for c in COLUMNS] for values in failed_rows(result)))


def failed_rows(result: RunResult) -> list[dict[str, object]]:
    """The CSV's rows as values by column (before neutralising; each written as its text)."""
    from importer.report.analysis import INTERRUPTED_ADVICE, cause_facts, describe, interrupted, root_causes

    roots = root_causes(result)
    rows = []
    for obj in result.objects:
        if obj.status not in BAD_STATUSES:
            continue
        values: dict[str, object] = {c: getattr(obj, c, None) for c in COLUMNS[:8]}
        cause, _chain = roots[id(obj)]
        if cause is obj:
            facts = cause_facts(obj)
            values.update(
                category=facts["category"],
                http_status=facts["http"],
                request_id=facts["request_id"],
                field=facts["field"],
                column=facts["column"],
                attempts=facts["attempts"],
                elapsed_seconds=facts["elapsed"],
                advice=facts["advice"],
            )
        elif cause is not None:
            facts = cause_facts(cause)
            values.update(category=facts["category"], advice=f"Blocked by {describe(cause)}: {facts['advice']}")
        else:
            values["advice"] = (
                INTERRUPTED_ADVICE
                if interrupted(obj)
                else (
                    f"Blocked by {obj.blocked_by or 'an earlier row'}, which is not a row of this run: check it, then "
                    "run "
                    "again."
                )
            )
        rows.append({c: values.get(c) for c in COLUMNS})
    return rows
