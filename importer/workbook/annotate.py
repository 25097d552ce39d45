"""A copy of the workbook with every finding marked where a field team will see it: error cells filled red,
warnings amber, each with a comment saying what was found and what was expected. A finding without a cell
marks the first cell of its row, or A1 of its sheet. The original file is never written."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from importer.findings import Finding
from importer.workbook.spec import normalise_header

FILLS = {"error": PatternFill("solid", fgColor="FFC7CE"), "warning": PatternFill("solid", fgColor="FFEB9C"),
         "note": PatternFill("solid", fgColor="DDEBF7")}
LABELS = {"error": "ERROR", "warning": "WARNING", "note": "READ AS"}


def annotate_workbook(source: Path, findings: list[Finding], dest: Path) -> Path:
    if dest.resolve() == source.resolve():
        raise ValueError("the annotated copy must not overwrite the original workbook")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / source.name
        shutil.copyfile(source, copy)  # openpyxl reads a copy: the original is never opened for writing
        book = openpyxl.load_workbook(copy, keep_vba=False)
    titles = {normalise_header(t): t for t in book.sheetnames}  # the validator's own sheet-matching rule
    notes: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        title = titles.get((finding.sheet or "").lower())
        if title is None:
            continue
        cell = finding.cell or (f"A{finding.row}" if finding.row else "A1")
        notes.setdefault((title, cell), []).append(finding)
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
    dest.parent.mkdir(parents=True, exist_ok=True)
    book.save(dest)
    return dest
