"""Writing format-conformant workbooks (headers from `spec.py`, the project sheet as key/value rows) with
openpyxl's write-only mode, fast enough for 100k-row benchmark workbooks. Used to build the sample
workbooks, test fixtures and benchmark inputs; field teams get theirs from `template.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from openpyxl import Workbook as XlWorkbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from importer.workbook import spec


def write_workbook(
    path: Path, sheets: Mapping[str, Sequence[Mapping[str, object]]], *, project: Mapping[str, object]
) -> Path:
    """Write `sheets` (sheet name -> rows as dicts keyed by column name) and `project` settings to `path`."""
    if set(sheets) - set(spec.SHEETS_BY_NAME):
        spec.plug_ins()  # a sheet a kind declares itself, perhaps
    unknown_sheets = set(sheets) - set(spec.SHEETS_BY_NAME)
    if unknown_sheets:
        raise KeyError(f"not sheets of the workbook format: {sorted(unknown_sheets)}")
    book = XlWorkbook(write_only=True)
    ws = book.create_sheet("project")
    ws.append(["key", "value"])
    for key, value in project.items():
        ws.append([key, "TRUE" if value is True else "FALSE" if value is False else value])
    for sheet in spec.SHEETS:
        if sheet.key_value or (sheet.name not in sheets and not sheet.required):
            continue
        ws = book.create_sheet(sheet.name)
        names = [c.name for c in sheet.columns]
        header = []
        for name in names:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)
        for row in sheets.get(sheet.name, []):
            unknown = set(row) - set(names)
            if unknown:
                raise KeyError(f"{sheet.name}: unknown column(s) {sorted(unknown)}")
            ws.append([row.get(name) for name in names])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
