"""A copy of the workbook a field team can fix on its own: a first sheet "Problems" lists every finding (where,
with a link to the cell, what was found, what is wrong and what is expected), the copy opens on it, the tabs of
sheets with errors are red (amber for warnings only), and every finding is marked at its cell: error cells filled
red, warnings amber, each with a comment. A finding without a cell marks the first cell of its row, or A1 of its
sheet. Columns holding a marked cell are widened to show it (no cut-off refs, no `###` dates when printed). The
original file is never written."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter, quote_sheetname
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from importer.findings import Finding
from importer.workbook.spec import normalise_header

FILLS = {
    "error": PatternFill("solid", fgColor="FFC7CE"),
    "warning": PatternFill("solid", fgColor="FFEB9C"),
    "note": PatternFill("solid", fgColor="DDEBF7"),
}
LABELS = {"error": "ERROR", "warning": "WARNING", "note": "READ AS"}
TAB_COLOURS = {"error": "C00000", "warning": "FFC000"}
PROBLEMS = "Problems"
#: the Problems sheet's columns: header, width
PROBLEM_COLUMNS = (("severity", 10), ("where", 22), ("column", 18), ("found", 26), ("what to do", 70), ("code", 20))
MAX_WIDTH = 60  # a marked column is widened to its longest value, up to this


def _found(value: object) -> str:
    if value is None:
        return ""
    return str(value)


def _problems_sheet(book: openpyxl.Workbook, findings: list[Finding], titles: dict[str, str]) -> Worksheet:
    name = PROBLEMS if PROBLEMS not in book.sheetnames else f"{PROBLEMS} (isometric-import)"
    ws = book.create_sheet(name, 0)
    ws.append([header for header, _ in PROBLEM_COLUMNS])
    for index, (_, width) in enumerate(PROBLEM_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
        ws.cell(row=1, column=index).font = Font(bold=True)
    ordered = sorted(findings, key=lambda f: list(FILLS).index(f.severity) if f.severity in FILLS else 9)
    for finding in ordered:
        title = titles.get((finding.sheet or "").lower())
        cell = finding.cell or (f"A{finding.row}" if finding.row else "A1")
        where = f"{finding.sheet}!{cell}" if title else (finding.location or "(the workbook)")
        ws.append(
            [
                LABELS.get(finding.severity, finding.severity.upper()),
                where,
                finding.column or "",
                _found(finding.value),
                finding.message,
                finding.code,
            ]
        )
        row = ws.max_row
        if title is not None:
            link = ws.cell(row=row, column=2)
            # an internal link (a location, not a URL): Excel and LibreOffice jump to the cell
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"{quote_sheetname(title)}!{cell}")
            link.font = Font(color="0563C1", underline="single")
        ws.cell(row=row, column=1).fill = FILLS.get(finding.severity, FILLS["note"])
        for column in range(1, len(PROBLEM_COLUMNS) + 1):  # found and what to do wrap; every cell reads from the top
            ws.cell(row=row, column=column).alignment = Alignment(wrap_text=column in (4, 5), vertical="top")
        lines = max(
            1,
            -(-len(finding.message) // int(PROBLEM_COLUMNS[4][1] * 1.1)),
            -(-len(_found(finding.value)) // int(PROBLEM_COLUMNS[3][1] * 1.1)),
        )
        ws.row_dimensions[row].height = 15 * lines  # programs that do not measure wrapped text (a PDF export)
    ws.freeze_panes = "A2"
    ws.page_setup.orientation = "landscape"  # printed (or saved as PDF) one page wide
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.auto_filter.ref = f"A1:{get_column_letter(len(PROBLEM_COLUMNS))}{max(1, ws.max_row)}"
    return ws


def _widen(ws: Worksheet, cell: str) -> None:
    """Make the column of a marked cell wide enough to show its value (bounded), as LibreOffice prints it."""
    letter, _row = coordinate_from_string(cell)
    column = column_index_from_string(letter)
    longest = max(
        (len(_found(c.value)) for (c,) in ws.iter_rows(min_col=column, max_col=column, max_row=min(ws.max_row, 5000))),
        default=0,
    )
    wanted = min(MAX_WIDTH, max(12, longest + 2))
    dimension = ws.column_dimensions[letter]
    if (dimension.width or 0) < wanted:
        dimension.width = wanted


def annotate_workbook(source: Path, findings: list[Finding], dest: Path) -> Path:
    if dest.resolve() == source.resolve():
        raise ValueError("the annotated copy must not overwrite the original workbook")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / source.name
        shutil.copyfile(source, copy)  # openpyxl reads a copy: the original is never opened for writing
        book = openpyxl.load_workbook(copy, keep_vba=False)
    titles = {normalise_header(t): t for t in book.sheetnames}  # the validator's own sheet-matching rule
    notes: dict[tuple[str, str], list[Finding]] = {}
    worst: dict[str, str] = {}  # sheet title -> "error" or "warning"
    for finding in findings:
        title = titles.get((finding.sheet or "").lower())
        if title is None:
            continue
        cell = finding.cell or (f"A{finding.row}" if finding.row else "A1")
        notes.setdefault((title, cell), []).append(finding)
        if finding.severity in TAB_COLOURS and worst.get(title) != "error":
            worst[title] = str(finding.severity)
    for (title, cell), items in notes.items():
        ws = book[title]
        target = ws[cell]
        if type(target).__name__ == "MergedCell":
            target = ws.cell(row=target.row, column=1)
        severity = min((f.severity for f in items), key=list(FILLS).index)
        target.fill = FILLS[severity]
        text = "\n".join(f"{LABELS.get(f.severity, f.severity.upper())}: {f.message}" for f in items)
        comment = Comment(text[:30000], "isometric-import validate")
        comment.width, comment.height = 360, min(400, 60 + 18 * len(items))
        target.comment = comment
        _widen(ws, target.coordinate)
    for title, worst_severity in worst.items():
        book[title].sheet_properties.tabColor = TAB_COLOURS[worst_severity]
    problems = _problems_sheet(book, findings, titles)
    for ws in book.worksheets:  # the copy opens on the Problems sheet, and only it is selected
        ws.sheet_view.tabSelected = ws is problems
    book.active = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    book.save(dest)
    return dest
