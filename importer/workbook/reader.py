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
import os
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from importer.findings import Finding, cell_name

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")  # what a folder of workbooks, or a command line, offers as workbooks
MAX_UNCOMPRESSED = 1 << 30  # 1 GiB of XML is no monthly workbook
MAX_RATIO = 200  # a member expanding more than 200x (with > 10 MiB) is a bomb
MAX_FILE = 40 * 1024 * 1024  # 100k datapoint rows take about 6 MiB; a monthly import fitting 40 MiB is plenty
EXCEL_ERRORS = frozenset({"#REF!", "#DIV/0!", "#N/A", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                          "#GETTING_DATA"})
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_VALUE = re.compile(rb"<v>(.*?)</v>", re.S)
_EMPTY_VALUE = re.compile(rb"<v\s*/>|<v></v>")


@dataclass(frozen=True)
class NumberFormat:
    """A cell's number format where it changes what the stored number means to a reader: a percentage
    (stored 0.812, shown 81.2%) or a scaled format (`#,##0,` shows 1234000 as 1,234)."""

    code: str  # the format code as stored, e.g. "0.0%"
    kind: str  # "percent" or "scaled"
    scale: float = 1.0  # what the stored value is multiplied by on screen (100 for percent, 0.001 for `#,##0,`)
    decimals: int = 0  # digits shown after the decimal mark

    def display(self, stored: float) -> str:
        """The text the cell shows for `stored` (thousands grouped, rounded as the format rounds)."""
        shown = Decimal(repr(stored)) * Decimal(repr(self.scale))  # Excel rounds half away from zero
        rounded = shown.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP)
        return f"{rounded:,}" + ("%" if self.kind == "percent" else "")


_BUILTIN_FORMATS = {9: "0%", 10: "0.00%"}  # ECMA-376 18.8.30: the built-in percent formats
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_SCALING_COMMAS = re.compile(r"[0#?](,+)(?=[^0#?,]|$)")


def classify_number_format(code: str) -> NumberFormat | None:
    """Percent or scaling formats (first section, quoted text and escapes ignored); None for the others."""
    section = _QUOTED.sub("", code.split(";")[0])
    decimals = len(re.findall(r"[0#?]", section.split(".", 1)[1])) if "." in section else 0
    if "%" in section:
        return NumberFormat(code, "percent", 100.0 ** section.count("%"), decimals)
    match = _SCALING_COMMAS.search(section)
    if match:
        return NumberFormat(code, "scaled", 1000.0 ** -len(match.group(1)), decimals)
    return None


def _meaningful_styles(archive: zipfile.ZipFile, names: set[str]) -> dict[int, NumberFormat]:
    """cellXfs index -> its format, for the styles whose format is percent or scaled (usually none)."""
    if "xl/styles.xml" not in names:
        return {}
    root = _parse_xml(archive, "xl/styles.xml")
    custom = {int(f.get("numFmtId", -1)): f.get("formatCode", "")
              for f in root.iter(f"{{{_NS['m']}}}numFmt")}
    codes = {**_BUILTIN_FORMATS, **custom}
    out: dict[int, NumberFormat] = {}
    xfs = root.find(f"{{{_NS['m']}}}cellXfs")
    for index, xf in enumerate(xfs if xfs is not None else []):
        code = codes.get(int(xf.get("numFmtId", 0) or 0))
        found = classify_number_format(code) if code else None
        if found is not None:
            out[index] = found
    return out


def _styled_cells(xml: bytes, styles: dict[int, NumberFormat]) -> dict[str, NumberFormat]:
    """A1 name -> format of the cells carrying one of `styles`, found by a substring search per style (the
    sheet is not parsed cell by cell: a sheet without such cells costs one `find` per style)."""
    out: dict[str, NumberFormat] = {}
    for index, fmt in styles.items():
        needle = b' s="%d"' % index
        pos = xml.find(needle)
        while pos != -1:
            start = xml.rfind(b"<c ", 0, pos)
            end = xml.find(b">", pos)
            if start != -1 and b">" not in xml[start:pos]:
                ref = re.search(rb'\br="([A-Z]+[0-9]+)"', xml[start:end])
                if ref:
                    out[ref.group(1).decode()] = fmt
            pos = xml.find(needle, pos + 1)
    return out


_HIDDEN_COL = re.compile(rb'<col\b[^>]*>')
_HIDDEN_ROW = re.compile(rb'<row\b[^>]*\bhidden="(?:1|true)"[^>]*>')
_ROW_NUMBER = re.compile(rb'\br="([0-9]+)"')


def _hidden_parts(xml: bytes) -> tuple[set[int], set[int], bool]:
    """Hidden columns (1-based), hidden rows, and whether the sheet has a filter (autoFilter or a table)."""
    head = xml[: xml.find(b"<sheetData")] if b"<sheetData" in xml else b""
    columns: set[int] = set()
    for match in _HIDDEN_COL.finditer(head):
        tag = match.group(0)
        if re.search(rb'\bhidden="(?:1|true)"', tag):
            low = re.search(rb'\bmin="([0-9]+)"', tag)
            high = re.search(rb'\bmax="([0-9]+)"', tag)
            if low and high:
                columns.update(range(int(low.group(1)), min(int(high.group(1)), 16384) + 1))
    rows: set[int] = set()
    if b'hidden="' in xml:  # one pass where `hidden="1"` or `hidden="true"` took two; the pattern decides
        for match in _HIDDEN_ROW.finditer(xml):
            number = _ROW_NUMBER.search(match.group(0))
            if number:
                rows.add(int(number.group(1)))
    filtered = b"<autoFilter" in xml or b"<tablePart" in xml
    return columns, rows, filtered


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
    number_formats: dict[str, NumberFormat] = field(default_factory=dict)  # A1 name -> a format that changes
    # what a number means on screen (percent, scaled); cells with ordinary formats are not listed
    hidden_columns: set[int] = field(default_factory=set)  # 1-based column indexes
    hidden_rows: set[int] = field(default_factory=set)  # Excel row numbers hidden by hand
    filtered_rows: set[int] = field(default_factory=set)  # Excel row numbers hidden by a filter


@dataclass
class RawBook:
    path: Path
    sha256: str
    sheets: dict[str, RawSheet]  # by title; from `reading()`, a sheet's cells are there once `wait` returns it
    has_macros: bool = False
    application: str = ""  # the program that last saved it (docProps/app.xml), e.g. "LibreOffice/7.4..."
    findings: list[Finding] = field(default_factory=list)
    arrival: Callable[[str], RawSheet] | None = field(default=None, repr=False, compare=False)

    def wait(self, title: str) -> RawSheet:
        """The sheet with its cells: at once for a book read whole, once it is read for a book still being read
        (`reading()`); raises WorkbookUnreadable when it could not be."""
        return self.arrival(title) if self.arrival is not None else self.sheets[title]


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
        mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
        archive.close()
        if b"opendocument" in mimetype or path.suffix.lower() in (".ods", ".fods"):
            raise WorkbookUnreadable(f"{path.name} is an OpenDocument spreadsheet (.ods), not an Excel workbook; "
                                     "open it in LibreOffice and save it as .xlsx (File > Save As > Excel "
                                     "2007-365)")
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
        elif b"<f" in body and (b"<v" not in body or (b't="str"' not in attrs and _EMPTY_VALUE.search(body))):
            # a string result cached as `<v></v>` (t="str", as Excel and LibreOffice store "") is a blank cell;
            # an empty value of any other type (openpyxl's `<v />`) is no result at all
            uncached.add(name)
    return uncached, errors


def _application(archive: zipfile.ZipFile, names: set[str]) -> str:
    if "docProps/app.xml" not in names:
        return ""
    found = _parse_xml(archive, "docProps/app.xml").find(
        "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}Application")
    return (found.text or "").strip() if found is not None else ""


def _consumption_order(titles: list[str], first: tuple[str, ...]) -> list[str]:
    """`titles` with those named in `first` (compared without case or spaces) leading, in that order."""
    rank = {name: n for n, name in enumerate(first)}
    return sorted(titles, key=lambda t: rank.get(t.strip().lower().replace(" ", "_"), len(rank)))


class _Read:
    """One read under way: the book at once (sheet titles, hidden flags, macros, application, hash), its sheets'
    cells arriving from two worker threads (see `reading`). Raises WorkbookUnreadable for a container that is not
    a safe workbook; a sheet that cannot be read raises it from `RawBook.wait`.

    The workers are daemon threads, not a pool's: a read begun ahead (`prefetch`) that nothing adopts must not
    hold the process at exit until python-calamine finishes a sheet nobody will look at."""

    def __init__(self, path: Path, first: tuple[str, ...]) -> None:
        from python_calamine import CalamineError, CalamineWorkbook

        archive = _vet_container(path)
        try:
            names = set(archive.namelist())
            for name in names:
                if name.endswith((".xml", ".rels")):
                    with archive.open(name) as member:
                        head = member.read(4096)  # a DTD can only come first: no need to inflate the whole part
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise WorkbookUnreadable(f"{name} inside the workbook declares a DTD or XML entities; "
                                                 "refusing it")
            parts = _sheet_parts(archive)
            has_macros = any(n.lower().endswith("vbaproject.bin") for n in names)
            styles = _meaningful_styles(archive, names)
            application = _application(archive, names)
            try:
                book = CalamineWorkbook.from_path(str(path))  # opened once: the values worker parses from it
                metadata = [(m.name, not str(m.visible).lower().endswith(".visible")) for m in book.sheets_metadata]
            except (CalamineError, ValueError, OSError) as exc:
                raise WorkbookUnreadable(f"{path.name} could not be read: {exc}") from None
        except BaseException:
            archive.close()
            raise
        order = _consumption_order([title for title, _ in metadata], first)
        sheets = {title: RawSheet(title=title, rows=[], hidden=hidden) for title, hidden in metadata}
        values: dict[str, Future[tuple[list[list[Any]], list[tuple[int, int, int, int]]]]] = {
            t: Future() for t in order}
        details: dict[str, Future[tuple[Any, ...]]] = {t: Future() for t in order}
        stop = self.stop = threading.Event()

        def parse_values(title: str) -> tuple[list[list[Any]], list[tuple[int, int, int, int]]]:
            sheet = book.get_sheet_by_name(title)
            merged = [(r0 + 1, c0 + 1, r1 + 1, c1 + 1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
            return sheet.to_python(skip_empty_area=False), merged

        def scan_details(title: str) -> tuple[Any, ...]:
            part = parts.get(title, "")
            xml = archive.read(part) if part in names else b""
            return _formula_detail(xml), _styled_cells(xml, styles) if styles else {}, _hidden_parts(xml)

        def fill(futures: dict[str, Future[Any]], read_one: Callable[[str], Any]) -> None:
            """Each sheet's future set to `read_one(title)`, in order; on a failure every one still pending fails."""
            try:
                for title in order:
                    if stop.is_set():
                        raise WorkbookUnreadable("reading stopped")
                    futures[title].set_result(read_one(title))
            except BaseException as exc:
                failure = exc if isinstance(exc, WorkbookUnreadable) else WorkbookUnreadable(
                    f"{path.name} could not be read: {exc}")
                for pending in futures.values():
                    if not pending.done():
                        pending.set_exception(failure)

        def scan_all_details() -> None:
            try:
                fill(details, scan_details)
            finally:
                archive.close()

        lock = threading.Lock()
        assembled: set[str] = set()

        def arrival(title: str) -> RawSheet:
            rows, merged = values[title].result()
            (uncached, errors), formats, (hidden_columns, hidden_rows, filtered) = details[title].result()
            with lock:
                sheet = sheets[title]
                if title not in assembled:
                    assembled.add(title)
                    sheet.rows, sheet.merged = rows, merged
                    sheet.uncached_formulas, sheet.error_cells, sheet.number_formats = uncached, errors, formats
                    sheet.hidden_columns = hidden_columns
                    sheet.hidden_rows, sheet.filtered_rows = (set(), hidden_rows) if filtered else (hidden_rows, set())
            return sheet

        self.workers = [threading.Thread(target=fill, args=(values, parse_values), name="read-workbook-values",
                                         daemon=True),
                        threading.Thread(target=scan_all_details, name="read-workbook-details", daemon=True)]
        for worker in self.workers:
            worker.start()
        try:  # hashed while the workers read (hashlib releases the GIL on large chunks)
            digest = _sha256(path)
        except BaseException:
            stop.set()
            raise
        self.raw = RawBook(path=path, sha256=digest, sheets=sheets, has_macros=has_macros, application=application,
                           arrival=arrival)
        if has_macros:
            self.raw.findings.append(Finding("warning", "macros_ignored", f"{path.name} contains macros (VBA); they "
                                             "were not run, only the cell values are read"))

    def close(self, *, wait: bool = True) -> None:
        """The workers stop after the sheet each is on (what was not waited for stays unread); `wait` for them."""
        self.stop.set()
        if wait:
            for worker in self.workers:
                worker.join()
        self.raw.arrival = None


def _file_key(path: Path, first: tuple[str, ...]) -> tuple[Any, ...]:
    """What makes a read begun ahead the read asked for now: the same path, order of sheets, and file (device,
    inode, size, modification time)."""
    st = os.stat(path)
    return os.path.abspath(path), first, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


_AHEAD: dict[tuple[Any, ...], _Read] = {}  # at most one read begun ahead, by `_file_key`
_AHEAD_LOCK = threading.Lock()


def _drop_ahead() -> None:
    """Every read begun ahead stopped (not waited for) and forgotten; the caller holds `_AHEAD_LOCK`."""
    for read in _AHEAD.values():
        read.close(wait=False)
    _AHEAD.clear()


def prefetch(path: Path, first: tuple[str, ...] = ()) -> None:
    """Begin reading `path` now, for a `reading(path, first)` still to come: that call adopts this read when the
    file is still the same (`_file_key`), and starts its own otherwise. The console script calls this before the
    command-line layer loads (about 0.15 s of imports and option parsing that then overlap python-calamine's
    parse). A file that cannot be read is left for `reading` to refuse, with its own message."""
    with _AHEAD_LOCK:
        _drop_ahead()
        try:
            key = _file_key(path, first)
            _AHEAD[key] = _Read(path, first)
        except (WorkbookUnreadable, OSError):
            return


def _adopt(path: Path, first: tuple[str, ...]) -> _Read | None:
    """The read begun ahead for this very file, if any (any other one is stopped and dropped)."""
    if not _AHEAD:
        return None
    with _AHEAD_LOCK:
        try:
            ahead = _AHEAD.pop(_file_key(path, first), None)
        except OSError:
            ahead = None
        _drop_ahead()
    if ahead is not None:
        ahead.raw.path = path  # as the caller names it
    return ahead


@contextmanager
def reading(path: Path, first: tuple[str, ...] = ()) -> Iterator[RawBook]:
    """The book at once (sheet titles, hidden flags, macros, application, hash), its sheets' cells arriving
    while the caller works: `RawBook.wait(title)` returns a sheet once it is read. Raises WorkbookUnreadable
    for a container that is not a safe workbook; a sheet that cannot be read raises it from `wait`.

    Two workers share the read: python-calamine parses the values (natively, the GIL released), sheet by sheet
    in the order of `first` (the order the caller consumes them), and the other scans the same sheets' XML for
    styles, hidden parts and formulas. A caller validating sheet by sheet works on one sheet while the next is
    parsed; the libraries it imports meanwhile load while the first is. A read of this file begun ahead
    (`prefetch`) is taken over rather than started again."""
    read = _adopt(path, first) or _Read(path, first)
    try:
        yield read.raw
    finally:
        read.close()


def read_workbook(path: Path) -> RawBook:
    """Read every sheet's values (from A1) plus the detail validation needs; raises WorkbookUnreadable."""
    with reading(path) as raw:
        for title in raw.sheets:
            raw.wait(title)
    return raw


__all__ = ["EXCEL_ERRORS", "WORKBOOK_SUFFIXES", "NumberFormat", "RawBook", "RawSheet", "WorkbookUnreadable",
           "cell_name", "prefetch", "read_workbook", "reading"]
