"""Reading a workbook fast and safely, keeping every value's Excel row and column.

python-calamine (Rust) reads the cell values: several times faster than openpyxl on large sheets. What it
does not tell (formulas without a cached value, merged ranges are told) comes from a cheap look at the
sheet's XML, only when the XML has formulas at all. Before anything is parsed the file is vetted: an xlsx is
a ZIP, so a CSV, an encrypted (OLE) file, a ZIP of something else or a zip bomb is refused with a plain
sentence; XML with DOCTYPE/ENTITY declarations is refused (defusedxml parses what we parse ourselves).
Macros in an .xlsm are never run: their presence is reported and the data read like any other.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from importer.findings import Finding, cell_name

MAX_UNCOMPRESSED = 1 << 30  # 1 GiB of XML is no monthly workbook
MAX_RATIO = 200  # a member expanding more than 200x (with > 10 MiB) is a bomb
MAX_FILE = 40 * 1024 * 1024  # 100k datapoint rows take about 6 MiB; a monthly import fitting 40 MiB is plenty
EXCEL_ERRORS = frozenset({"#REF!", "#DIV/0!", "#N/A", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                          "#GETTING_DATA"})
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_VALUE = re.compile(rb"<v>(.*?)</v>", re.S)


class WorkbookUnreadable(Exception):
    """The file cannot be read as a workbook at all (exit code 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class RawSheet:
    title: str  # as named in the workbook
    rows: list[list[Any]]  # from A1, as calamine returns them
    hidden: bool = False
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # 1-based r0, c0, r1, c1
    uncached_formulas: set[str] = field(default_factory=set)  # A1 names of formula cells without a value
    error_cells: dict[str, str] = field(default_factory=dict)  # A1 name -> cached error value ("#REF!")


@dataclass
class RawBook:
    path: Path
    sha256: str
    sheets: dict[str, RawSheet]  # by title
    has_macros: bool = False
    findings: list[Finding] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _vet_container(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise WorkbookUnreadable(f"{path}: no such file")
    if path.is_dir():
        raise WorkbookUnreadable(f"{path} is a folder, not a workbook")
    size = path.stat().st_size
    if size == 0:
        raise WorkbookUnreadable(f"{path.name} is empty (0 bytes), not a workbook")
    if size > MAX_FILE:
        raise WorkbookUnreadable(f"{path.name} is {size / 2**20:.0f} MiB; workbooks over {MAX_FILE / 2**20:.0f} MiB "
                                 "are refused (split the import into several workbooks)")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise WorkbookUnreadable(f"{path.name} is password-protected (encrypted) or an old .xls file; save it "
                                 "unprotected as .xlsx in Excel (File > Info > Protect Workbook)")
    if not head.startswith(b"PK"):
        kind = "a text/CSV file" if all(32 <= b < 127 or b in (9, 10, 13) for b in head) else "not a ZIP-based file"
        raise WorkbookUnreadable(f"{path.name} is {kind}, not an Excel .xlsx workbook; open it in Excel and save "
                                 "as .xlsx")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookUnreadable(f"{path.name} is corrupt: {exc}") from None
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        archive.close()
        raise WorkbookUnreadable(f"{path.name} is a ZIP archive but not an Excel workbook (no xl/workbook.xml)")
    total = 0
    for info in archive.infolist():
        total += info.file_size
        ratio = info.file_size / max(1, info.compress_size)
        if total > MAX_UNCOMPRESSED or (info.file_size > 10 * 2**20 and ratio > MAX_RATIO):
            archive.close()
            raise WorkbookUnreadable(f"{path.name} expands to more than it plausibly holds ({info.filename}: "
                                     f"{info.file_size / 2**20:.0f} MiB from {info.compress_size / 2**10:.0f} KiB); "
                                     "refusing a possible zip bomb")
    return archive


def _parse_xml(archive: zipfile.ZipFile, name: str) -> Any:
    data = archive.read(name)
    try:
        return SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise WorkbookUnreadable(f"{name} inside the workbook declares XML entities or a DTD ({type(exc).__name__});"
                                 " refusing it") from None
    except SafeET.ParseError as exc:
        raise WorkbookUnreadable(f"{name} inside the workbook is not valid XML: {exc}") from None


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> its XML part name."""
    book = _parse_xml(archive, "xl/workbook.xml")
    rels = _parse_xml(archive, "xl/_rels/workbook.xml.rels")
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    out = {}
    for sheet in book.iter(f"{{{_NS['m']}}}sheet"):
        target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
        target = target.lstrip("/")
        out[sheet.get("name", "")] = target if target.startswith("xl/") else f"xl/{target}"
    return out


def _formula_detail(xml: bytes) -> tuple[set[str], dict[str, str]]:
    """Formula cells without a cached value, and cells holding a cached error value, from the sheet XML.
    Only sheets that have formulas or error cells at all are scanned."""
    if b"<f" not in xml and b't="e"' not in xml:
        return set(), {}
    uncached, errors = set(), {}
    for match in _CELL.finditer(xml):
        attrs, body = match.group(2) or b"", match.group(3) or b""
        name = match.group(1).decode()
        if b't="e"' in attrs:
            value = _VALUE.search(body)
            errors[name] = value.group(1).decode(errors="replace") if value else "#ERROR"
        elif b"<f" in body and (b"<v>" not in body or b"<v></v>" in body):
            uncached.add(name)
    return uncached, errors


def read_workbook(path: Path) -> RawBook:
    """Read every sheet's values (from A1) plus the detail validation needs; raises WorkbookUnreadable."""
    archive = _vet_container(path)
    try:
        names = set(archive.namelist())
        for name in names:
            if name.endswith((".xml", ".rels")):
                with archive.open(name) as member:
                    head = member.read(4096)  # a DTD can only come first: no need to inflate the whole part
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise WorkbookUnreadable(f"{name} inside the workbook declares a DTD or XML entities; refusing it")
        parts = _sheet_parts(archive)
        has_macros = any(n.lower().endswith("vbaproject.bin") for n in names)
        details = {}
        for title, part in parts.items():
            xml = archive.read(part) if part in names else b""
            details[title] = _formula_detail(xml)
    finally:
        archive.close()

    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        sheets: dict[str, RawSheet] = {}
        for meta in book.sheets_metadata:
            sheet = book.get_sheet_by_name(meta.name)
            merged = [(r0 + 1, c0 + 1, r1 + 1, c1 + 1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
            sheets[meta.name] = RawSheet(
                title=meta.name, rows=sheet.to_python(skip_empty_area=False),
                hidden=not str(meta.visible).lower().endswith(".visible"), merged=merged,
                uncached_formulas=details.get(meta.name, (set(), {}))[0],
                error_cells=details.get(meta.name, (set(), {}))[1])
    except (CalamineError, ValueError, OSError) as exc:
        raise WorkbookUnreadable(f"{path.name} could not be read: {exc}") from None
    raw = RawBook(path=path, sha256=_sha256(path), sheets=sheets, has_macros=has_macros)
    if has_macros:
        raw.findings.append(Finding("warning", "macros_ignored",
                                    f"{path.name} contains macros (VBA); they were not run, only the cell values "
                                    "are read"))
    return raw


__all__ = ["EXCEL_ERRORS", "RawBook", "RawSheet", "WorkbookUnreadable", "cell_name", "read_workbook"]
