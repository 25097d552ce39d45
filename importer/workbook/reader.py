"""Reading a workbook fast and safely, keeping every value's Excel row and column.

python-calamine (Rust) reads the cell values: several times faster than openpyxl on large sheets. What it
does not tell (formulas without a cached value, merged ranges are told) comes from a cheap look at the
sheet's XML, only when the XML has formulas at all. Before anything is parsed the file is vetted: an xlsx is
a ZIP, so a CSV, an encrypted (OLE) file, a ZIP of something else or a zip bomb is refused with a plain
sentence; XML with DOCTYPE/ENTITY declarations is refused (defusedxml parses what we parse ourselves).
Macros in an .xlsm are never run: their presence is reported and the data read like any other.

No file hangs or exhausts us (#24): python-calamine trusts what it reads, so before it reads a part the part is
inflated here with a hard cap (`_inflate`: never more than the ZIP directory declares, whose sizes and ratios
were vetted), and before it parses a sheet the sheet's extent is told (`_extent`: at most MAX_SHEET_CELLS rows x
columns from A1, as python-calamine allocates them). A part that does not inflate or decode, or a workbook saved
as Strict Open XML (whose styles this reader would miss), is WorkbookUnreadable naming the part. Every scan of
sheet XML here is linear: no pattern runs past a tag's end or a cell's `</c>`.
"""

from __future__ import annotations

import hashlib
import queue
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from importer.findings import Finding, cell_name

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")  # what a folder of workbooks, or a command line, offers as workbooks
MAX_UNCOMPRESSED = 512 * 2**20  # declared, all parts together: 100k datapoint rows take about 80 MiB of XML
MAX_PART = 256 * 2**20  # declared, one part (a sheet of 100k datapoint rows is about 52 MiB)
MAX_RATIO = 200  # a part over 1 MiB expanding more than 200x is a bomb (sheets of real workbooks: 10-15x)
MAX_SHEET_CELLS = 5_000_000  # rows x columns from A1 that python-calamine allocates for one sheet (~45 bytes a
# cell while it is read: 5M cells peak at about 240 MiB); 100k datapoint rows are 1.1M
MAX_ELEMENTS = MAX_SHEET_CELLS + 1_048_576  # row and cell tags a sheet within the bound can hold (empty rows too)
MAX_BOOK_CELLS = 10_000_000  # the same, all sheets together
MAX_FILE = 40 * 1024 * 1024  # 100k datapoint rows take about 6 MiB; a monthly import fitting 40 MiB is plenty
EXCEL_ERRORS = frozenset(
    {"#REF!", "#DIV/0!", "#N/A", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA"}
)
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}
_STRICT = b"http://purl.oclc.org/ooxml/"  # Excel's "Strict Open XML Spreadsheet" namespaces start so
# every scan below is linear: no pattern can run past a tag's `<`/`>` or a cell's `</c>`, whatever the bytes hold
_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^<>]*?)(?:/>|>((?:[^<]|<(?!/?c[\s>/]))*?)</c>)')
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


def _styles(archive: zipfile.ZipFile, names: set[str]) -> tuple[dict[int, NumberFormat], frozenset[int]]:
    """cellXfs index -> its format, for the styles whose format is percent or scaled (usually none); and the
    cellXfs indexes whose font is struck through (usually none)."""
    if "xl/styles.xml" not in names:
        return {}, frozenset()
    root = _parse_xml(archive, "xl/styles.xml")
    if not root.tag.startswith(f"{{{_NS['m']}}}"):
        raise WorkbookUnreadable(_foreign_namespace("xl/styles.xml", root.tag))
    try:
        custom = {int(f.get("numFmtId", -1)): f.get("formatCode", "") for f in root.iter(f"{{{_NS['m']}}}numFmt")}
        codes = {**_BUILTIN_FORMATS, **custom}
        fonts = root.find(f"{{{_NS['m']}}}fonts")
        struck_fonts = {
            index
            for index, font in enumerate(fonts if fonts is not None else [])
            if any(s.get("val", "1").lower() not in ("0", "false") for s in font.iter(f"{{{_NS['m']}}}strike"))
        }
        out: dict[int, NumberFormat] = {}
        struck: set[int] = set()
        xfs = root.find(f"{{{_NS['m']}}}cellXfs")
        for index, xf in enumerate(xfs if xfs is not None else []):
            code = codes.get(int(xf.get("numFmtId", 0) or 0))
            found = classify_number_format(code) if code else None
            if found is not None:
                out[index] = found
            if struck_fonts and int(xf.get("fontId", 0) or 0) in struck_fonts:
                struck.add(index)
    except (ValueError, TypeError) as exc:  # numFmtId="abc"
        raise WorkbookUnreadable(f"xl/styles.xml inside the workbook is not valid: {exc}") from None
    return out, frozenset(struck)


def _foreign_namespace(part: str, tag: str) -> str:
    if _STRICT.decode() in tag:
        return (
            "the workbook is saved as 'Strict Open XML Spreadsheet', which this importer does not read "
            f"(found in {part}); open it in Excel and save it as 'Excel Workbook (.xlsx)'"
        )
    return (
        f"{part} inside the workbook is not SpreadsheetML (root element {tag!r}); open it in Excel and save "
        "it as 'Excel Workbook (.xlsx)'"
    )


_TAG_REST = re.compile(rb"[^<>]*")  # the rest of a tag: stops at its `>` (or at a stray `<`)
_REF = re.compile(rb'\br="([A-Za-z]+)([0-9]+)"')


def _style_pattern(indices: frozenset[int] | set[int]) -> re.Pattern[bytes]:
    """Cell start tags carrying one of `indices` as their style, attributes in any order: one pass over the
    sheet, whatever the number of styles (more than 64 are matched as any number and filtered)."""
    numbers = b"|".join(b"%d" % i for i in sorted(indices)) if len(indices) <= 64 else rb"[0-9]+"
    return re.compile(rb'<c\s[^<>]*?\bs="(' + numbers + rb')"')


def _tags_with_style(xml: bytes, indices: frozenset[int] | set[int]) -> Iterator[tuple[int, bytes, int]]:
    """(offset, whole start tag, style) of each cell whose style is one of `indices`; linear in the sheet."""
    for match in _style_pattern(indices).finditer(xml):
        style = int(match.group(1))
        if style in indices:
            rest = _TAG_REST.match(xml, match.end())
            yield match.start(), xml[match.start() : rest.end() if rest else match.end()], style


def _styled_cells(xml: bytes, styles: dict[int, NumberFormat]) -> dict[str, NumberFormat]:
    """A1 name -> format of the cells carrying one of `styles`, found in one linear pass (a sheet without such
    cells costs one regex search)."""
    out: dict[str, NumberFormat] = {}
    for _, tag, style in _tags_with_style(xml, set(styles)):
        ref = _REF.search(tag)
        if ref:
            out[(ref.group(1).upper() + ref.group(2)).decode()] = styles[style]
    return out


_ROW_START = re.compile(rb"<row\b[^<>]*")
_CELL_ANY = re.compile(rb"<c(?=[\s>/])([^<>]*?)(/>|>((?:[^<]|<(?!/?c[\s>/]|/row>))*?)(?:</c>|(?=</row>)))")
_S_ATTR = re.compile(rb'\bs="([0-9]+)"')


def _struck_rows(xml: bytes, struck: frozenset[int]) -> set[int]:
    """Rows whose every non-empty cell is struck through (and that have one): where a struck cell is, its row's
    cells are looked at, so a sheet without struck cells costs one regex search."""
    rows: set[int] = set()
    row_end = -1
    for position, _, _ in _tags_with_style(xml, struck):
        if position < row_end:
            continue  # this row is decided
        start = xml.rfind(b"<row", max(0, row_end), position)
        end = xml.find(b"</row>", position)
        if end == -1:
            break  # no row ends after this cell: nothing more to decide (and no search runs to the end again)
        if start == -1:
            row_end = position + 1
            continue
        row_end = end
        tag = _ROW_START.match(xml, start)
        number = _ROW_NUMBER.search(tag.group(0)) if tag else None
        if number is None:
            continue
        values = [
            (attrs, body)
            for attrs, _, body in _CELL_ANY.findall(xml, start, end)
            if body and (b"<v>" in body or b"<is>" in body or b"<v " in body)
        ]
        if values and all((s := _S_ATTR.search(attrs)) and int(s.group(1)) in struck for attrs, _ in values):
            rows.add(int(number.group(1)))
    return rows


_HIDDEN_COL = re.compile(rb"<col\b[^<>]*>")
_HIDDEN_ROW = re.compile(rb'<row\b[^<>]*?\bhidden="(?:1|true)"')
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
            rest = _TAG_REST.match(xml, match.end())
            number = _ROW_NUMBER.search(xml, match.start(), rest.end() if rest else match.end())
            if number:
                rows.add(int(number.group(1)))
    filtered = b"<autoFilter" in xml or b"<tablePart" in xml
    return columns, rows, filtered


# -- the extent of a sheet, told before python-calamine allocates it ---------------------------------------------
_DIMENSION = re.compile(rb'<dimension\b[^<>]*?\bref="(?:[A-Za-z]+[0-9]+:)?([A-Za-z]+)([0-9]+)"')
_ANY_CELL_OR_ROW = re.compile(  # a row or cell start tag, any prefix, and its `r` in any spelling
    rb"""<(?:[A-Za-z_][\w.\-]*:)?(row|c)(?=[\s/>])(?:[^<>]*?\br\s*=\s*["']\s*([A-Za-z]*)([0-9]*))?"""
)
_PREFIXED_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*):worksheet\b")
_PREFIXED = re.compile(rb":c[\s>/]")  # a cell element with a namespace prefix (python-calamine reads `<x:c>` too)


def column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _letters(column: int) -> str:
    """The column's name (any size: a hostile sheet can place a cell past XFD)."""
    out = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        out = chr(65 + rest) + out
    return out or "A"


def _at_most(value: str, digits: bool, *, first: bool = True) -> str:
    """A regex matching exactly the numerals (digits, no leading zero) or column names (letters, either case) of
    `value`'s length that are not greater than `value`, as a tree (one character looked at per step)."""
    low = ("1" if first else "0") if digits else "A"
    head = value[0]

    def span(start: str, end: str) -> str:
        return f"[{start}-{end}]" if digits else f"[{start}-{end}{start.lower()}-{end.lower()}]"

    parts = (
        [f"{span(low, chr(ord(head) - 1))}{'[0-9]' if digits else '[A-Za-z]'}{{{len(value) - 1}}}"]
        if head > low
        else []
    )
    same = head if digits else f"[{head}{head.lower()}]"
    parts.append(same if len(value) == 1 else f"{same}(?:{_at_most(value[1:], digits, first=False)})")
    return "|".join(parts)


def _beyond(rows: int, columns: int) -> re.Pattern[bytes]:
    """A cell tag that is not `<c r="A1"` (`r` first, no leading zero) with its column at most `columns` and its
    row at most `rows`: one regex whose negative lookahead looks at a few characters of each cell."""
    letters, numeral = _letters(columns), str(rows)
    shorter_columns = f"[A-Za-z]{{1,{len(letters) - 1}}}|" if len(letters) > 1 else ""
    shorter_rows = f"[1-9][0-9]{{0,{len(numeral) - 2}}}|" if len(numeral) > 1 else ""
    usual = f"(?:{shorter_columns}{_at_most(letters, False)})(?:{shorter_rows}{_at_most(numeral, True)})"
    return re.compile(f'<c(?=[\\s>/])(?! r="{usual}")'.encode())


def _exact_extent(xml: bytes, title: str = "") -> tuple[int, int, str]:
    """The last row and column python-calamine places a cell in (a cell without `r` follows the one before it,
    a row without `r` the row before it), and the farthest cell's name. Used when the fast test cannot tell:
    one step per element (about 1 s per 50 MB), for workbooks no usual program writes."""
    row = column = far_row = far_column = farthest = 0
    far = "A1"
    columns: dict[bytes, int] = {}
    for count, match in enumerate(_ANY_CELL_OR_ROW.finditer(xml)):  # not findall: a list of 60M tuples is GBs
        if count > MAX_ELEMENTS:  # a sheet within the bound has no more: the count stays bounded in time
            raise WorkbookUnreadable(
                f"sheet {title!r} holds more than {MAX_ELEMENTS:,} rows and cells (at most {MAX_SHEET_CELLS:,} "
                "cells are read); delete what is not data, or split the workbook"
            )
        kind, letters, digits = match.groups()
        if kind == b"row":
            row = int(digits) if digits else row + 1
            column = 0
            continue
        if letters and digits:
            column = columns.get(letters) or columns.setdefault(letters, column_number(letters.decode()))
            row = int(digits)
        else:
            column += 1
        if row * column > farthest:
            farthest, far = row * column, f"{_letters(column)}{row}"
        far_row, far_column = max(far_row, row), max(far_column, column)
    return far_row, far_column, far


_USUAL_REF = re.compile(rb'<c r="([A-Za-z]+)([1-9][0-9]*)"')


def _extent(title: str, xml: bytes) -> int:
    """The cells python-calamine allocates for this sheet (rows x columns from A1, as it is read); a sheet beyond
    MAX_SHEET_CELLS is refused, naming its farthest cell (or its `<dimension>`, which is checked too).

    Where every cell is written the usual way (`<c r="A1"`, as Excel, LibreOffice and openpyxl write them, no
    namespace prefix), a guess of the extent (the dimension, the first row's and the last cell) is confirmed by
    one regex search for a cell beyond it, with no Python step per cell; a few cells beyond it raise the guess.
    Anything else is counted cell by cell (`_exact_extent`)."""
    sheet_data = xml.find(b"<sheetData")
    dimension = _DIMENSION.search(xml, 0, max(0, sheet_data))
    rows = columns = 0
    far = "A1"
    if dimension:
        rows, columns = int(dimension.group(2)), column_number(dimension.group(1).decode())
        far = (dimension.group(1).upper() + dimension.group(2)).decode()
        if rows * columns > MAX_SHEET_CELLS:
            raise WorkbookUnreadable(_too_far(title, far, rows, columns, "its used range (<dimension>) reaches"))
    if _PREFIXED.search(xml) is None:
        first_row_end = xml.find(b"</row>")
        guesses = [xml.rfind(b'<c r="'), xml.rfind(b'<c r="', 0, first_row_end) if first_row_end != -1 else -1]
        for position in guesses:
            ref = _USUAL_REF.match(xml, position) if position != -1 else None
            if ref:
                rows = max(rows, int(ref.group(2)))
                columns = max(columns, column_number(ref.group(1).decode()))
        position = 0
        for _ in range(8):
            if rows * columns > MAX_SHEET_CELLS:
                break
            found = _beyond(max(rows, 1), max(columns, 1)).search(xml, position)
            if found is None:
                return rows * columns
            ref = _USUAL_REF.match(xml, found.start())  # a cell beyond the guess, or one written otherwise
            if ref is None:
                break  # not written the usual way
            rows = max(rows, int(ref.group(2)))
            columns = max(columns, column_number(ref.group(1).decode()))
            position = found.start()
    rows, columns, far = _exact_extent(xml, title)
    if rows * columns > MAX_SHEET_CELLS:
        raise WorkbookUnreadable(_too_far(title, far, rows, columns, "it has a cell at"))
    return rows * columns


class _ExtentAsInflated:
    """The fast test of `_extent`, run on a sheet's XML chunk by chunk as it is inflated (`_inflate_and_vet`), so
    that telling the extent of a large sheet costs next to nothing after its last chunk. `confirmed()` is the
    sheet's rows x columns when every cell was found written the usual way (`<c r="A1"`, no namespace prefix)
    within the guess; None when this could not be told (a prefix, cells written otherwise, too many beyond the
    guess, a guess past the bound...), and `_extent` then tells it from the whole XML as before. The guess is
    `_extent`'s, made as the XML arrives: the `<dimension>`, and the last cell of each chunk (rows come in order
    in what Excel, LibreOffice and openpyxl write); a few cells found beyond it raise it. Nothing is trusted that
    `_extent` would not trust: the same patterns look at every position of the XML, each with at least `_TAIL`
    bytes after it in view (a tag's test reads at most 30), the chunks' seams included."""

    _TAIL = 256  # bytes kept from one chunk to the next, so a tag across a seam is looked at whole
    _RAISES = 8  # cells beyond the guess that may raise it, as in `_extent`

    def __init__(self) -> None:
        self.carry = b""  # the end of the XML so far, not yet looked at
        self.head = False  # the head (up to `<sheetData`) read
        self.rows = self.columns = self.raises = 0
        self.failed = False

    def feed(self, chunk: bytes, *, last: bool = False) -> None:
        """Looks at the positions of the XML so far that have `_TAIL` bytes after them (all of them when `last`);
        a chunk is looked at where it lies (copying it would cost more than the look), its seam with the one before
        through a copy of the few bytes on either side."""
        if self.failed:
            return
        if not self.head:
            chunk, self.carry = (self.carry + chunk if self.carry else chunk), b""
            if not self._head(chunk, last):
                return
        carry, tail = self.carry, self._TAIL
        if len(chunk) < 2 * tail:
            text = carry + chunk
            end = len(text) if last else len(text) - tail
            looked = end <= 0 or self._scan(text, end)
            rest = text[max(0, end) :]
        else:
            end = len(chunk) if last else len(chunk) - tail
            looked = (not carry or self._scan(carry + chunk[:tail], len(carry))) and self._scan(chunk, end)
            rest = chunk[end:]
        if not looked:
            self._fail()
            return
        self.carry = rest

    def _fail(self) -> bool:
        self.failed, self.carry = True, b""
        return False

    def _head(self, text: bytes, last: bool) -> bool:
        """Whether the head is read (its `<dimension>` raising the guess); fails the test when it cannot be."""
        sheet_data = text.find(b"<sheetData")
        if sheet_data == -1 and not last and len(text) < 1 << 20:
            self.carry = text  # the head is longer than this chunk: wait for more
            return False
        if sheet_data == -1 or _PREFIXED_ROOT.search(text, 0, 4096) or _STRICT in text[:4096]:
            return self._fail()
        dimension = _DIMENSION.search(text, 0, sheet_data)
        if dimension:
            self.rows, self.columns = int(dimension.group(2)), column_number(dimension.group(1).decode())
        self.head = True
        return True

    def _raise(self, ref: re.Match[bytes]) -> None:
        self.rows = max(self.rows, int(ref.group(2)))
        self.columns = max(self.columns, column_number(ref.group(1).decode()))

    def _scan(self, text: bytes, end: int) -> bool:
        """No cell in `text[:end]` beyond the guess (a few raise it) and none written with a prefix."""
        prefixed = _PREFIXED.search(text)
        if prefixed is not None and prefixed.start() < end:
            return False
        position = text.rfind(b'<c r="', 0, end)
        ref = _USUAL_REF.match(text, position) if position != -1 else None
        if ref:
            self._raise(ref)
        position = 0
        while True:
            if self.rows * self.columns > MAX_SHEET_CELLS:  # `_extent` refuses it, naming the cell
                return False
            found = _beyond(max(self.rows, 1), max(self.columns, 1)).search(text, position)
            if found is None or found.start() >= end:
                return True
            ref = _USUAL_REF.match(text, found.start())  # a cell beyond the guess, or one written otherwise
            if ref is None or self.raises >= self._RAISES:
                return False
            self.raises += 1
            self._raise(ref)
            position = found.start()

    def confirmed(self) -> int | None:
        return None if self.failed or not self.head or self.carry else self.rows * self.columns


_STREAMED = 4 << 20  # sheets declaring more XML than this are inflated in a thread of their own, their extent
# told chunk by chunk meanwhile (`_inflate_and_vet`); smaller ones in one go


def _inflate_and_vet(path: Path, info: zipfile.ZipInfo) -> tuple[list[bytes], int | None]:
    """A sheet's XML (`_inflate`, with every check of it) in the chunks it was inflated in, and its extent when the
    fast test could tell it as the XML was inflated (`_ExtentAsInflated`), else None. zlib releases the GIL while
    it inflates: for a large sheet a helper thread inflates chunk after chunk while this one looks at each, so the
    extent is known about when the last chunk is, not after a second pass over the whole XML."""
    if info.file_size <= _STREAMED:
        return [_inflate(path, info)], None
    arrived: queue.SimpleQueue[bytes | BaseException | None] = queue.SimpleQueue()
    abandoned = threading.Event()

    def inflate() -> None:
        try:
            for chunk in _inflated_chunks(path, info):
                if abandoned.is_set():
                    return
                arrived.put(chunk)
        except BaseException as exc:
            arrived.put(exc)
        else:
            arrived.put(None)

    threading.Thread(target=inflate, name="read-workbook-inflate", daemon=True).start()
    extent = _ExtentAsInflated()
    chunks: list[bytes] = []
    try:
        while (item := arrived.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            chunks.append(item)
            extent.feed(item)
        extent.feed(b"", last=True)
    except BaseException:
        abandoned.set()
        raise
    return chunks, extent.confirmed()


def _first_bytes(chunks: list[bytes], size: int) -> bytes:
    """The first `size` bytes of the chunks together (without joining them all)."""
    head = b""
    for chunk in chunks:
        if len(head) >= size:
            break
        head += chunk[: size - len(head)]
    return head


def _joined(chunks: list[bytes]) -> bytes:
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_far(title: str, cell: str, rows: int, columns: int, how: str) -> str:
    return (
        f"sheet {title!r}: {how} {cell}, so reading it would take {rows:,} rows x {columns:,} columns = "
        f"{rows * columns:,} cells from A1 (at most {MAX_SHEET_CELLS:,} are read); delete the far rows and "
        "columns (select them, right-click > Delete) and save again"
    )


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
    struck_rows: set[int] = field(default_factory=set)  # Excel rows whose every non-empty cell is struck through


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
        raise WorkbookUnreadable(
            f"{path.name} is {size / 2**20:.0f} MiB; workbooks over {MAX_FILE / 2**20:.0f} MiB "
            "are refused (split the import into several workbooks)"
        )
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise WorkbookUnreadable(
            f"{path.name} is password-protected (encrypted) or an old .xls file; save it "
            "unprotected as .xlsx in Excel (File > Info > Protect Workbook)"
        )
    if not head.startswith(b"PK"):
        kind = "a text/CSV file" if all(32 <= b < 127 or b in (9, 10, 13) for b in head) else "not a ZIP-based file"
        raise WorkbookUnreadable(
            f"{path.name} is {kind}, not an Excel .xlsx workbook; open it in Excel and save as .xlsx"
        )
    try:
        archive = zipfile.ZipFile(path)
        names = set(archive.namelist())
        mimetype = archive.read("mimetype")[:100] if "mimetype" in names and "xl/workbook.xml" not in names else b""
    except Exception as exc:  # zipfile raises more than BadZipFile on a damaged directory
        raise WorkbookUnreadable(f"{path.name} is corrupt (not a readable ZIP archive: {exc})") from None
    if "xl/workbook.xml" not in names:
        archive.close()
        if b"opendocument" in mimetype or path.suffix.lower() in (".ods", ".fods"):
            raise WorkbookUnreadable(
                f"{path.name} is an OpenDocument spreadsheet (.ods), not an Excel workbook; "
                "open it in LibreOffice and save it as .xlsx (File > Save As > Excel "
                "2007-365)"
            )
        raise WorkbookUnreadable(f"{path.name} is a ZIP archive but not an Excel workbook (no xl/workbook.xml)")
    total = 0
    for info in archive.infolist():  # what the directory declares; `_inflate` holds every part to it
        total += info.file_size
        ratio = info.file_size / max(1, info.compress_size)
        if total > MAX_UNCOMPRESSED or info.file_size > MAX_PART or (info.file_size > 2**20 and ratio > MAX_RATIO):
            archive.close()
            raise WorkbookUnreadable(
                f"{path.name} expands to more than it plausibly holds ({info.filename}: "
                f"{info.file_size / 2**20:.0f} MiB from {info.compress_size / 2**10:.0f} KiB); "
                "refusing a possible zip bomb"
            )
    return archive


def _inflate(path: Path, info: zipfile.ZipInfo, *, keep: bool = True) -> bytes:
    """A part's bytes (b"" unless `keep`), inflated from the file with a hard cap (`_inflated_chunks`)."""
    chunks = _inflated_chunks(path, info)
    if keep:
        return b"".join(chunks)
    for _ in chunks:
        pass
    return b""


def _inflated_chunks(path: Path, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A part's bytes as they are inflated from the file, with a hard cap: never more than the size the directory
    declares (vetted by `_vet_container`), 16 MiB at a time. A stream that gives more or less than it declares,
    fails its CRC, or does not inflate is refused, naming the part (raised by the iteration, once the chunks
    before it were given): python-calamine inflates the parts itself, trusting the stream, so each is checked
    before it reads it."""
    name = info.filename

    def broken(why: str) -> WorkbookUnreadable:
        return WorkbookUnreadable(
            f"{path.name} is damaged: its part {name} {why}; open it in Excel (which may repair it) and save it again"
        )

    if info.flag_bits & 0x1:
        raise broken("is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise broken(f"is compressed with method {info.compress_type}, which Excel does not use")
    declared, produced, crc = info.file_size, 0, 0
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    try:
        with path.open("rb") as handle:
            handle.seek(info.header_offset)
            head = handle.read(30)
            if len(head) != 30 or head[:4] != b"PK\x03\x04":
                raise broken("has no local header where the directory says")
            name_length, extra_length = struct.unpack("<HH", head[26:30])
            handle.seek(info.header_offset + 30 + name_length + extra_length)
            left = info.compress_size
            while left > 0 and not (inflater is not None and inflater.eof):
                chunk = handle.read(min(left, 1 << 20))
                if not chunk:
                    raise broken("is cut short (the file ends inside it)")
                left -= len(chunk)
                while chunk:
                    data = inflater.decompress(chunk, 1 << 24) if inflater is not None else chunk
                    chunk = inflater.unconsumed_tail if inflater is not None else b""
                    produced += len(data)
                    if produced > declared:
                        raise broken(f"inflates to more than the {declared:,} bytes it declares (a zip bomb?)")
                    crc = zlib.crc32(data, crc)
                    if data:
                        yield data
                    if inflater is not None and inflater.eof:
                        break
            if inflater is not None:
                data = inflater.flush()
                produced += len(data)
                if produced > declared:
                    raise broken(f"inflates to more than the {declared:,} bytes it declares (a zip bomb?)")
                crc = zlib.crc32(data, crc)
                if data:
                    yield data
                if not inflater.eof:
                    raise broken("has a deflate stream that does not end")
    except zlib.error as exc:
        raise broken(f"has a corrupt deflate stream ({exc})") from None
    except (OSError, struct.error) as exc:
        raise broken(f"cannot be read ({exc})") from None
    if produced != declared:
        raise broken(f"inflates to {produced:,} bytes, not the {declared:,} it declares")
    if crc != info.CRC:
        raise broken("fails its checksum (CRC)")


def _parse_xml(archive: zipfile.ZipFile, name: str) -> Any:
    """The part parsed (by defusedxml); only parts `_inflate` checked, or small ones, are parsed so."""
    try:
        data = archive.read(name)
    except Exception as exc:  # zlib.error, BadZipFile (CRC), EOFError...
        raise WorkbookUnreadable(
            f"{archive.filename and Path(archive.filename).name}: its part {name} cannot be "
            f"read ({type(exc).__name__}: {exc}); open it in Excel and save it again"
        ) from None
    try:
        return SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise WorkbookUnreadable(
            f"{name} inside the workbook declares XML entities or a DTD ({type(exc).__name__}); refusing it"
        ) from None
    except SafeET.ParseError as exc:
        raise WorkbookUnreadable(f"{name} inside the workbook is not valid XML: {exc}") from None


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> its XML part name."""
    book = _parse_xml(archive, "xl/workbook.xml")
    if not book.tag.startswith(f"{{{_NS['m']}}}"):
        raise WorkbookUnreadable(_foreign_namespace("xl/workbook.xml", book.tag))
    if "xl/_rels/workbook.xml.rels" not in archive.namelist():
        raise WorkbookUnreadable(
            "xl/_rels/workbook.xml.rels is missing from the workbook: it cannot tell where its "
            "sheets are; open it in Excel and save it again"
        )
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
        "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}Application"
    )
    return (found.text or "").strip() if found is not None else ""


def _consumption_order(titles: list[str], first: tuple[str, ...]) -> list[str]:
    """`titles` with those named in `first` (compared without case or spaces) leading, in that order."""
    rank = {name: n for n, name in enumerate(first)}
    return sorted(titles, key=lambda t: rank.get(t.strip().lower().replace(" ", "_"), len(rank)))


class _Read:
    """One read under way: the book at once (sheet titles, hidden flags, macros, application, hash), its sheets'
    cells arriving from two worker threads (see `reading`). Raises WorkbookUnreadable for a container that is not
    a safe workbook; a sheet that cannot be read raises it from `RawBook.wait`.

    The workers are daemon threads, not a pool's: a read begun ahead (`importer.process_wide.prefetch`) that
    nothing adopts must not hold the process at exit until python-calamine finishes a sheet nobody will look at."""

    def __init__(self, path: Path, first: tuple[str, ...]) -> None:
        from python_calamine import CalamineWorkbook

        archive = _vet_container(path)
        try:
            infos = {info.filename: info for info in archive.infolist()}
            names = set(infos)
            parts = _sheet_parts(archive)
            sheet_parts = set(parts.values())
            for name, info in infos.items():
                if not name.endswith((".xml", ".rels")):
                    continue
                if name in sheet_parts:  # inflated whole before python-calamine reads it (`load_sheet`)
                    try:
                        with archive.open(name) as member:
                            head = member.read(4096)  # a DTD can only come first
                    except Exception as exc:
                        raise WorkbookUnreadable(
                            f"{path.name} is damaged: its part {name} cannot be read "
                            f"({exc}); open it in Excel and save it again"
                        ) from None
                else:  # what python-calamine reads when it opens the book (shared strings, styles...), checked
                    head = _inflate(path, info)[:4096] if info.file_size <= 1 << 20 else b""
                    if not head:
                        _inflate(path, info, keep=False)
                        with archive.open(name) as member:
                            head = member.read(4096)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise WorkbookUnreadable(f"{name} inside the workbook declares a DTD or XML entities; refusing it")
            has_macros = any(n.lower().endswith("vbaproject.bin") for n in names)
            styles, struck = _styles(archive, names)
            application = _application(archive, names)
            try:
                book = CalamineWorkbook.from_path(str(path))  # opened once: the values worker parses from it
                metadata = [(m.name, not str(m.visible).lower().endswith(".visible")) for m in book.sheets_metadata]
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # CalamineError, and a Rust panic (a BaseException) alike
                raise WorkbookUnreadable(f"{path.name} could not be read: {exc}") from None
        except WorkbookUnreadable:
            archive.close()
            raise
        except Exception as exc:  # any other decoding failure (a style's numFmtId "abc"...) is unreadable too
            archive.close()
            raise WorkbookUnreadable(f"{path.name} could not be read: {type(exc).__name__}: {exc}") from None
        except BaseException:
            archive.close()
            raise
        order = _consumption_order([title for title, _ in metadata], first)
        sheets = {title: RawSheet(title=title, rows=[], hidden=hidden) for title, hidden in metadata}
        values: dict[str, Future[tuple[list[list[Any]], list[tuple[int, int, int, int]]]]] = {
            t: Future() for t in order
        }
        details: dict[str, Future[tuple[Any, ...]]] = {t: Future() for t in order}
        vetted: dict[str, Future[None]] = {t: Future() for t in order}  # the sheet's XML inflated and its extent
        # told (`_extent`): python-calamine parses a sheet only then
        self.vetted = vetted
        stop = self.stop = threading.Event()

        awaited: list[str | None] = [None]  # the sheet the values worker waits to be vetted
        begun = {t: threading.Event() for t in order}  # python-calamine is about to parse the sheet

        def parse_values(title: str) -> tuple[list[list[Any]], list[tuple[int, int, int, int]]]:
            awaited[0] = title
            vetted[title].result()
            awaited[0] = None
            begun[title].set()
            try:
                sheet = book.get_sheet_by_name(title)
                merged = [(r0 + 1, c0 + 1, r1 + 1, c1 + 1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
                return sheet.to_python(skip_empty_area=False), merged
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                raise WorkbookUnreadable(f"{path.name} could not be read: sheet {title!r}: {exc}") from None

        cells = [0]

        def load_sheet(title: str) -> list[bytes]:
            """The sheet's XML (in the chunks it was inflated in), inflated with its cap, its namespace and extent
            checked."""
            part = parts.get(title, "")
            if part not in infos:
                raise WorkbookUnreadable(
                    f"{path.name} is damaged: sheet {title!r} points to {part or 'no part'}, "
                    "which the workbook does not hold; open it in Excel and save it again"
                )
            chunks, extent = _inflate_and_vet(path, infos[part])
            head = _first_bytes(chunks, 4096)
            if _STRICT in head:
                raise WorkbookUnreadable(_foreign_namespace(part, _STRICT.decode()))
            prefix = _PREFIXED_ROOT.search(head)
            if prefix or extent is None:
                xml = _joined(chunks)
                if prefix:  # `<x:worksheet>` (the Open XML SDK writes so): the tags are read unprefixed
                    start, end = b"<" + prefix.group(1) + b":", b"</" + prefix.group(1) + b":"
                    xml = xml.replace(start, b"<").replace(end, b"</")
                chunks, extent = [xml], _extent(title, xml)
            cells[0] += extent
            if cells[0] > MAX_BOOK_CELLS:
                raise WorkbookUnreadable(
                    f"sheet {title!r} takes the workbook past {MAX_BOOK_CELLS:,} cells (rows x "
                    "columns from A1, all sheets together); delete the empty rows and columns "
                    "far from the data, or split the workbook"
                )
            return chunks

        def scan_details(xml: bytes) -> tuple[Any, ...]:
            return (
                _formula_detail(xml),
                _styled_cells(xml, styles) if styles else {},
                _hidden_parts(xml),
                _struck_rows(xml, struck) if struck else set(),
            )

        def fill(futures: dict[str, Future[Any]], read_one: Callable[[str], Any]) -> None:
            """Each sheet's future set to `read_one(title)`, in order; on a failure every one still pending fails."""
            try:
                for title in order:
                    if stop.is_set():
                        raise WorkbookUnreadable("reading stopped")
                    futures[title].set_result(read_one(title))
            except BaseException as exc:
                fail(exc, futures)

        def fail(exc: BaseException, *groups: dict[str, Future[Any]]) -> None:
            failure = (
                exc
                if isinstance(exc, WorkbookUnreadable)
                else WorkbookUnreadable(f"{path.name} could not be read: {exc}")
            )
            for futures in groups:
                for pending in futures.values():
                    if not pending.done():
                        pending.set_exception(failure)

        def scan_all_details() -> None:
            """Each sheet vetted (python-calamine may then parse it), then scanned."""
            try:
                for title in order:
                    if stop.is_set():
                        raise WorkbookUnreadable("reading stopped")
                    chunks = load_sheet(title)
                    waited = awaited[0] == title
                    vetted[title].set_result(None)
                    if waited:  # handed over: the values worker takes the GIL before the scans below hold it
                        begun[title].wait(0.05)
                    xml = _joined(chunks)
                    del chunks
                    details[title].set_result(scan_details(xml))
                    del xml
            except BaseException as exc:
                fail(exc, vetted, details)
            finally:
                archive.close()

        lock = threading.Lock()
        assembled: set[str] = set()

        def arrival(title: str) -> RawSheet:
            rows, merged = values[title].result()
            (uncached, errors), formats, (hidden_columns, hidden_rows, filtered), struck_rows = details[title].result()
            with lock:
                sheet = sheets[title]
                if title not in assembled:
                    assembled.add(title)
                    sheet.rows, sheet.merged = rows, merged
                    sheet.uncached_formulas, sheet.error_cells, sheet.number_formats = uncached, errors, formats
                    sheet.hidden_columns, sheet.struck_rows = hidden_columns, struck_rows
                    sheet.hidden_rows, sheet.filtered_rows = (set(), hidden_rows) if filtered else (hidden_rows, set())
            return sheet

        self.workers = [
            threading.Thread(target=fill, args=(values, parse_values), name="read-workbook-values", daemon=True),
            threading.Thread(target=scan_all_details, name="read-workbook-details", daemon=True),
        ]
        for worker in self.workers:
            worker.start()
        try:  # hashed while the workers read (hashlib releases the GIL on large chunks)
            digest = _sha256(path)
        except BaseException:
            stop.set()
            raise
        # Nothing of the first large sheet can be parsed before it is vetted, and telling its extent holds the GIL
        # while a helper inflates it: the caller waits for that (up to a second) rather than compete for the GIL,
        # so that what it does next (the command line's imports, when the read was begun ahead) overlaps
        # python-calamine's parse of the sheet, which needs no GIL, instead of delaying its start.
        large = [t for t in order if parts.get(t) in infos and infos[parts[t]].file_size > _STREAMED]
        if large:
            wait_for([vetted[large[0]]], timeout=1.0)
        self.raw = RawBook(
            path=path, sha256=digest, sheets=sheets, has_macros=has_macros, application=application, arrival=arrival
        )
        if has_macros:
            self.raw.findings.append(
                Finding(
                    "warning",
                    "macros_ignored",
                    f"{path.name} contains macros (VBA); they were not run, only the cell values are read",
                )
            )

    def vet_all(self) -> None:
        """Raises WorkbookUnreadable when a sheet nobody waited for (one the importer does not read) was refused
        (`_extent`): every sheet of a workbook is vetted, so a far cell anywhere is a clean refusal."""
        for future in self.vetted.values():
            future.result()

    def close(self, *, wait: bool = True) -> None:
        """The workers stop after the sheet each is on (what was not waited for stays unread); `wait` for them."""
        self.stop.set()
        if wait:
            for worker in self.workers:
                worker.join()
        self.raw.arrival = None


@contextmanager
def reading(path: Path, first: tuple[str, ...] = (), *, begun: _Read | None = None) -> Iterator[RawBook]:
    """The book at once (sheet titles, hidden flags, macros, application, hash), its sheets' cells arriving
    while the caller works: `RawBook.wait(title)` returns a sheet once it is read. Raises WorkbookUnreadable
    for a container that is not a safe workbook; a sheet that cannot be read raises it from `wait`.

    Two workers share the read: python-calamine parses the values (natively, the GIL released), sheet by sheet
    in the order of `first` (the order the caller consumes them), and the other scans the same sheets' XML for
    styles, hidden parts and formulas. A caller validating sheet by sheet works on one sheet while the next is
    parsed; the libraries it imports meanwhile load while the first is. `begun`: this very read, begun ahead
    (`importer.process_wide.prefetch`), taken over rather than started again."""
    read = begun or _Read(path, first)
    try:
        yield read.raw
        read.vet_all()
    finally:
        read.close()


def read_workbook(path: Path) -> RawBook:
    """Read every sheet's values (from A1) plus the detail validation needs; raises WorkbookUnreadable."""
    with reading(path) as raw:
        for title in raw.sheets:
            raw.wait(title)
    return raw


__all__ = [
    "EXCEL_ERRORS",
    "WORKBOOK_SUFFIXES",
    "NumberFormat",
    "RawBook",
    "RawSheet",
    "WorkbookUnreadable",
    "cell_name",
    "read_workbook",
    "reading",
]
