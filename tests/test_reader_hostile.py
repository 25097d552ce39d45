"""Issue #24, "no file hangs us": every workbook, however hostile, gets a located error or a clean refusal (exit 2),
in bounded time and memory. Each class of defect is tested with variations; the files come from
tests/fixtures/hostile/make_hostile.py (small ones committed beside it, big ones built here in tmp_path)."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "hostile"))
import make_hostile as mk  # noqa: E402

from importer.workbook import reader  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "tests" / "fixtures" / "hostile"
CLI = Path(sys.executable).parent / "isometric-import"
MAX_RSS_MB = 400  # generous: the CLI reading a small workbook peaks near 110 MB


def cli(
    path: Path, command: str = "validate", *extra: str, home: Path | None = None, timeout: float = 60
) -> tuple[int, dict[str, Any] | None, str, float, float]:
    """The real console script on `path`: exit code, its JSON (validate), everything printed, wall seconds and
    the child's peak RSS in MB (getrusage of the waited child, exact)."""
    args = [str(CLI), command, str(path), *(["--json", "--no-report"] if command == "validate" else []), *extra]
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        f"p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout={timeout})\n"
        "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
        "print(f'@@ {p.returncode} {time.monotonic() - t} "
        "{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}', file=sys.stderr)\n"
    )
    env = {
        **os.environ,
        "ISOMETRIC_IMPORTER_HOME": str(home or path.parent / ".importer-home"),
        "ISOMETRIC_SANDBOX_DB": str((home or path.parent / ".importer-home") / "sandbox.sqlite3"),
    }
    for name in ("ISOMETRIC_API_URL", "ISOMETRIC_CLIENT_SECRET", "ISOMETRIC_ACCESS_TOKEN"):
        env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-c", probe, *args],
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        cwd=path.parent,
        env=env,
    )
    report = re.search(r"@@ (-?\d+) ([\d.]+) ([\d.]+)", proc.stderr)
    assert report, proc.stderr[-2000:]
    code, seconds, rss = int(report.group(1)), float(report.group(2)), float(report.group(3))
    output = proc.stdout + proc.stderr[: report.start()]
    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    data = None
    if command == "validate":
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            data = None
    return code, data, output, seconds, rss


def refused(path: Path, *phrases: str, command: str = "validate", max_seconds: float = 60) -> str:
    code, _data, output, seconds, rss = cli(path, command, home=path.parent / ".home")
    assert code == 2, output[-2000:]
    for phrase in phrases:
        assert phrase in output, (phrase, output[-2000:])
    assert seconds < max_seconds and rss < MAX_RSS_MB, (seconds, rss)
    return output


def with_evidence(path: Path, folder: Path) -> Path:
    """A copy of a fixture beside the sample's evidence files (so only what the test is about is reported)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "evidence").exists():
        shutil.copytree(REPO / "sample_workbooks" / "evidence", folder / "evidence")
    return Path(shutil.copy(path, folder / path.name))


def findings(data: dict[str, Any]) -> list[tuple[str, str, str | None, str | None, str]]:
    return [
        (severity, f["code"], f["sheet"], f["cell"], f["message"])
        for severity in ("errors", "warnings", "notes")
        for f in data[severity]
    ]


# -- 1. far cells: refused before python-calamine allocates their rectangle ---------------------------------------
@pytest.mark.parametrize(
    ("name", "sheet", "cell"),
    [
        ("far_xfd1048576.xlsx", "datapoints", "XFD1048576"),  # the file: 512 GiB
        ("far_cv1048576.xlsx", "datapoints", "CV1048576"),  # 4.2 GB
        ("far_lying_dimension.xlsx", "datapoints", "CV1048576"),  # <dimension ref="A1:K14"> and a far cell
        ("far_in_unread_sheet.xlsx", "notes", "XFD1048576"),  # a sheet the importer ignores
    ],
)
def test_a_far_cell_is_refused_naming_the_sheet_and_the_cell(tmp_path, name, sheet, cell):
    path = Path(shutil.copy(HOSTILE / name, tmp_path / name))
    refused(path, f"sheet {sheet!r}", cell, "5,000,000")


@pytest.mark.parametrize("form", ["usual", "lower", "quotes", "spaced", "order", "prefixed", "leading_zero"])
def test_a_far_cell_is_refused_however_its_reference_is_spelled(tmp_path, form):
    """python-calamine reads `r="xfd1"`, `r='XFD1'`, `r = "XFD1"`, `<x:c>`, `r="XFD01"` alike (checked)."""
    path = mk.far_cell_in_sample(tmp_path / f"far-{form}.xlsx", "XFD1048576", form=form)
    refused(path, "sheet 'datapoints'", "1048576", "cells from A1")


def test_a_sheet_of_more_tags_than_cells_it_may_hold_is_refused_in_bounded_time():
    """Written the unusual way (here one cell with `s` before `r`), a sheet is counted tag by tag: 7M repeats of
    one cell would allocate nothing new, but the count stops past what a sheet within the bound can hold."""
    xml = b'<row r="1"><c s="1" r="A1"/>' + b'<c r="A1"/>' * 7_000_000 + b"</row>"
    started = time.perf_counter()
    with pytest.raises(reader.WorkbookUnreadable, match="rows and cells"):
        reader._extent("s", xml)
    assert time.perf_counter() - started < 30


def test_a_lying_dimension_alone_is_refused_too(tmp_path):
    path = mk.far_cell_in_sample(tmp_path / "dimension.xlsx", "K14", dimension="A1:XFD1048576")
    refused(path, "sheet 'datapoints'", "<dimension>", "XFD1048576")


def test_cells_without_references_are_counted_where_python_calamine_places_them(tmp_path):
    """No `r` at all: a 3000-cell row, then 3000 one-cell rows, is 9M cells from A1 (358 MB in python-calamine)."""
    path = mk.minimal_book(tmp_path / "unnumbered.xlsx", mk.unnumbered_cells(3000, 3000))
    refused(path, "sheet 'datapoints'", "cells from A1")


def test_an_empty_far_row_is_harmless_and_read(tmp_path):
    """`<row r="1048576"/>` without cells allocates nothing in python-calamine: the workbook is read as usual."""
    path = with_evidence(HOSTILE / "far_empty_row.xlsx", tmp_path)
    code, data, output, seconds, rss = cli(path)
    assert code == 0 and data is not None and data["counts"]["datapoints"] == 13, output[-2000:]
    assert seconds < 60 and rss < MAX_RSS_MB


@pytest.mark.parametrize(
    ("rows", "columns", "ok"), [(454_545, 11, True), (454_546, 11, False), (1, 16_384, True), (306, 16_384, False)]
)
def test_the_bound_is_rows_times_columns_from_a1(rows, columns, ok):
    far = f"{reader._letters(columns)}{rows}"
    xml = (
        f'<worksheet xmlns="{mk.MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
        f'<row r="{rows}"><c r="{far}"><v>1</v></c></row></sheetData></worksheet>'
    ).encode()
    if ok:
        assert reader._extent("s", xml) == rows * columns
    else:
        with pytest.raises(reader.WorkbookUnreadable, match=far):
            reader._extent("s", xml)


def test_the_extent_of_ordinary_sheets_is_their_rectangle_from_a1():
    for path in [*REPO.glob("sample_workbooks/*.xlsx"), *HOSTILE.glob("*percent*.xlsx"), *HOSTILE.glob("struck*")]:
        parts = None
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.startswith("xl/worksheets/sheet"):
                    xml = archive.read(name)
                    rows, columns, _ = reader._exact_extent(xml)
                    parts = reader._extent(name, xml)
                    assert parts >= rows * columns, (path.name, name)
        assert parts is not None


# -- 2. linear scans ---------------------------------------------------------------------------------------------
SCANS = {
    "styles": lambda xml: reader._styled_cells(xml, {3: reader.NumberFormat("0.0%", "percent", 100.0, 1)}),
    "struck rows": lambda xml: reader._struck_rows(xml, frozenset({3})),
    "hidden parts": reader._hidden_parts,
    "formulas": reader._formula_detail,
    "extent": lambda xml: _refused_or(reader._extent, "s", xml),
    "extent as inflated": lambda xml: _fed(xml, [2**20]),
}


def _refused_or(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except reader.WorkbookUnreadable as exc:
        return exc


@functools.lru_cache(maxsize=2)
def _hostile(size: int) -> dict[str, bytes]:
    return mk.hostile_parts(size)


@pytest.mark.parametrize("attack", list(mk.hostile_parts(1000)))
@pytest.mark.parametrize("scan", list(SCANS))
def test_every_scan_of_sheet_xml_is_linear(attack, scan):
    """A 2-4 MB part built against each careless pattern is scanned in well under a few seconds (the quadratic
    style scan took > 400 s on 17 KB of workbook); doubling the part does not quadruple the time."""
    times = []
    for size in (2 * 2**20, 4 * 2**20):
        xml = _hostile(size)[attack]
        started = time.perf_counter()
        SCANS[scan](xml)
        times.append(time.perf_counter() - started)
    assert times[1] < 8, times
    assert times[1] < 6 * times[0] + 0.5, times


def _old_styled_cells(xml: bytes, styles: dict[int, Any]) -> dict[str, Any]:
    """The scan before #24 (quadratic on hostile text), kept to show the new one finds the same cells."""
    out: dict[str, Any] = {}
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


def _old_hidden_rows(xml: bytes) -> set[int]:
    rows = set()
    for match in re.finditer(rb'<row\b[^>]*\bhidden="(?:1|true)"[^>]*>', xml):
        number = re.search(rb'\br="([0-9]+)"', match.group(0))
        if number:
            rows.add(int(number.group(1)))
    return rows


def _workbooks() -> list[Path]:
    return sorted({*REPO.glob("sample_workbooks/*.xlsx"), *REPO.glob("tests/fixtures/**/*.xlsx")})


@pytest.mark.parametrize("path", _workbooks(), ids=lambda p: str(p.relative_to(REPO)))
def test_the_linear_scans_find_what_the_old_ones_found(path):
    """On every workbook the repository holds, each style index counts as meaningful (so every styled cell is
    compared), and the hidden rows too."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        pytest.skip("not a ZIP")
    with archive:
        try:
            styles = archive.read("xl/styles.xml") if "xl/styles.xml" in archive.namelist() else b""
            sheets = {n: archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/sheet")}
        except (zipfile.BadZipFile, OSError, EOFError, Exception):
            pytest.skip("a deliberately damaged fixture")
    count = max(1, len(re.findall(rb"<xf\b", styles)))
    every = {i: reader.NumberFormat(f"code{i}", "percent", 100.0, 0) for i in range(count + 2)}
    for name, xml in sheets.items():
        assert reader._styled_cells(xml, every) == _old_styled_cells(xml, every), (path.name, name)
        assert reader._hidden_parts(xml)[1] == _old_hidden_rows(xml), (path.name, name)


def test_the_style_bomb_validates_at_once(tmp_path):
    path = with_evidence(HOSTILE / "style_bomb.xlsx", tmp_path)
    code, data, output, seconds, rss = cli(path)
    assert code == 1 and data is not None, output[-2000:]
    assert ("notes", "read_percent", "datapoints", "E15") in [f[:4] for f in findings(data)]
    assert seconds < 60 and rss < MAX_RSS_MB


@pytest.mark.slow
def test_a_megabyte_style_bomb_validates_in_bounded_time(tmp_path):
    """Noisy enough to stay under the zip-bomb ratio (the same text repeated is refused as a bomb: 540 to 1)."""
    path = with_evidence(mk.style_bomb(tmp_path / "bomb5.xlsx", count=500_000, noise=True), tmp_path / "w")
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(mk.sheet_part(path, "datapoints")).file_size > 4 * 2**20
    code, _data, output, seconds, rss = cli(path)
    assert code == 1 and seconds < 60 and rss < MAX_RSS_MB, (output[-2000:], seconds, rss)


# -- 3. broken parts: WorkbookUnreadable naming the part, from validate and run ----------------------------------
@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(
    ("name", "part"),
    [("corrupt_sheet.xlsx", "xl/worksheets/sheet3.xml"), ("corrupt_workbook_part.xlsx", "xl/workbook.xml")],
)
def test_a_corrupt_deflate_stream_is_unreadable_naming_the_part(tmp_path, command, name, part):
    path = Path(shutil.copy(HOSTILE / name, tmp_path / name))
    refused(path, part, "damaged" if "sheet" in part else "cannot be read", command=command)


@pytest.mark.parametrize("member", ["xl/styles.xml", "xl/_rels/workbook.xml.rels", "docProps/app.xml", "big sheet"])
def test_corruption_in_any_part_is_unreadable(tmp_path, member):
    base = tmp_path / "base.xlsx"
    if member == "big sheet":  # large enough that the corruption lies past the first 4 KiB read for a DTD check
        from importer.workbook.synthetic import make_workbook

        base = make_workbook(tmp_path, 3000)
        member = mk.sheet_part(base, "datapoints")
    else:
        shutil.copy(mk.SAMPLE, base)
    path = mk.corrupt_member(base, tmp_path / "corrupt.xlsx", member)
    refused(path, member)


def test_a_part_compressed_with_another_method_is_unreadable(tmp_path):
    path = tmp_path / "bzip2.xlsx"
    with zipfile.ZipFile(mk.SAMPLE) as old, zipfile.ZipFile(path, "w") as new:
        for item in old.infolist():
            method = zipfile.ZIP_BZIP2 if item.filename == "xl/styles.xml" else zipfile.ZIP_DEFLATED
            new.writestr(item.filename, old.read(item.filename), compress_type=method)
    refused(path, "xl/styles.xml", "method")


def test_a_truncated_workbook_is_unreadable(tmp_path):
    path = tmp_path / "cut.xlsx"
    path.write_bytes(mk.SAMPLE.read_bytes()[:6000])
    refused(path, "cut.xlsx")


# -- 4. zip bombs: refused from the directory, or when a part inflates past what it declares ----------------------
@pytest.mark.slow
@pytest.mark.parametrize(("lie", "member"), [(False, "datapoints"), (True, "datapoints"), (True, "xl/styles.xml")])
def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path, lie, member):
    path = mk.zip_bomb(tmp_path / "bomb.xlsx", lie=lie, member=member, inflated=2**30)
    assert path.stat().st_size < 4 * 2**20  # the bomb: 3 MB, 2.1 GB of RSS before it was refused
    output = refused(path, "zip bomb")
    assert ("declares" in output) if lie else ("expands to more" in output)


def test_a_small_lying_bomb_is_refused(tmp_path):
    path = mk.zip_bomb(tmp_path / "bomb.xlsx", lie=True, member="datapoints", inflated=64 * 2**20)
    refused(path, "xl/worksheets/sheet3.xml", "zip bomb")


def test_inflation_stops_at_the_declared_size(tmp_path):
    """`_inflate` gives up once a part has produced one chunk more than it declares (declared sizes can lie)."""
    import tracemalloc

    path = mk.zip_bomb(tmp_path / "bomb.xlsx", lie=True, inflated=256 * 2**20)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(mk.sheet_part(mk.SAMPLE, "datapoints"))
    tracemalloc.start()
    try:
        with pytest.raises(reader.WorkbookUnreadable, match="declares"):
            reader._inflate(path, info)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, peak


# -- 5. Strict Open XML: refused, never read half -----------------------------------------------------------------
def test_a_strict_open_xml_workbook_is_refused(tmp_path):
    path = Path(shutil.copy(HOSTILE / "strict_percent.xlsx", tmp_path / "strict.xlsx"))
    refused(path, "Strict Open XML", "Excel Workbook (.xlsx)")


@pytest.mark.parametrize("name", ["percent.xlsx", "percent_libreoffice.xlsx"])
def test_its_transitional_twin_reads_the_percent_as_shown(tmp_path, name):
    if not (HOSTILE / name).exists():
        pytest.skip("LibreOffice was not installed when the fixtures were made")
    path = with_evidence(HOSTILE / name, tmp_path)
    code, data, output, _, _ = cli(path)
    assert data is not None, output[-2000:]
    notes = [f for f in data["notes"] if f["code"] == "read_percent"]
    assert code == 0 and notes and notes[0]["cell"] == "E15" and notes[0]["value"] == 81.2, output[-2000:]


def test_sheets_written_with_a_namespace_prefix_are_read_whole(tmp_path):
    """`<x:c>` (the Open XML SDK's way) hides no style, struck row or hidden row from the reader."""
    percent = mk.to_prefixed(HOSTILE / "percent.xlsx", tmp_path / "percent-x.xlsx")
    struck = mk.to_prefixed(HOSTILE / "struck_rows.xlsx", tmp_path / "struck-x.xlsx")
    with zipfile.ZipFile(percent) as archive:
        assert b"<x:c " in archive.read(mk.sheet_part(percent, "datapoints"))
    code, data, output, _, _ = cli(with_evidence(percent, tmp_path / "p"))
    assert code == 0 and data is not None, output[-2000:]
    assert [(f["cell"], f["value"]) for f in data["notes"] if f["code"] == "read_percent"] == [("E15", 81.2)]
    code, data, output, _, _ = cli(with_evidence(struck, tmp_path / "s"))
    assert data is not None, output[-2000:]
    assert {(f["sheet"], f["row"]) for f in data["warnings"] if f["code"] == "struck_row"} == {
        ("datapoints", 3),
        ("entries", 2),
    }


@pytest.mark.parametrize("part", ["xl/styles.xml", "sheet"])
def test_a_strict_part_in_a_transitional_workbook_is_refused(tmp_path, part):
    """Never half: one Strict part (the styles, a sheet) is enough to refuse the file."""
    src = HOSTILE / "percent.xlsx"
    member = part if part != "sheet" else mk.sheet_part(src, "datapoints")

    def convert(xml: bytes) -> bytes:
        for old, new in mk.STRICT.items():
            xml = xml.replace(old, new)
        return xml

    path = mk.rewrite(src, tmp_path / "half.xlsx", {member: convert})
    refused(path, "Strict Open XML", member)


# -- 6. struck-through rows: warned like hidden rows, at the row ---------------------------------------------------
@pytest.mark.parametrize("name", ["struck_rows.xlsx", "struck_rows_libreoffice.xlsx"])
def test_a_struck_through_row_is_warned_at_the_row(tmp_path, name):
    if not (HOSTILE / name).exists():
        pytest.skip("LibreOffice was not installed when the fixtures were made")
    path = with_evidence(HOSTILE / name, tmp_path)
    code, data, output, _, _ = cli(path)
    assert code == 0 and data is not None, output[-2000:]
    struck = {(f["sheet"], f["row"], f["cell"]) for f in data["warnings"] if f["code"] == "struck_row"}
    assert struck == {("datapoints", 3, "A3"), ("entries", 2, "A2")}  # row 4 has one struck cell only
    assert data["warnings"][0]["code"] == "struck_row"  # shown first, as hidden rows are


def test_a_row_with_an_empty_unstruck_cell_is_still_struck():
    xml = (
        b'<worksheet><sheetData><row r="2"><c r="A2" s="3" t="inlineStr"><is><t>x</t></is></c><c r="B2" s="0"/>'
        b'<c r="C2" s="3"><v>1</v></c></row><row r="3"><c r="A3" s="3"><v>1</v></c><c r="B3"><v>2</v></c></row>'
        b'<row r="4"><c r="A4" s="3"/></row></sheetData></worksheet>'
    )
    assert reader._struck_rows(xml, frozenset({3})) == {2}


# -- 7. a hidden sheet the importer reads is an error -------------------------------------------------------------
@pytest.mark.parametrize("name", ["hidden_stale_sheet.xlsx", "hidden_stale_sheet_libreoffice.xlsx"])
def test_a_hidden_stale_sheet_beside_its_visible_copy_is_an_error(tmp_path, name):
    if not (HOSTILE / name).exists():
        pytest.skip("LibreOffice was not installed when the fixtures were made")
    path = with_evidence(HOSTILE / name, tmp_path)
    code, data, output, _, _ = cli(path)
    assert code == 1 and data is not None, output[-2000:]
    errors = [f for f in data["errors"] if f["code"] == "hidden_sheet"]
    assert len(errors) == 1 and errors[0]["sheet"] == "datapoints" and "'datapoints (2)'" in errors[0]["message"]


def test_a_hidden_sheet_without_a_look_alike_is_an_error_too(tmp_path):
    import openpyxl

    path = tmp_path / "hidden.xlsx"
    book = openpyxl.load_workbook(mk.SAMPLE)
    book["feedstock_types"].sheet_state = "hidden"
    book.save(path)
    path = with_evidence(path, tmp_path / "w")
    code, data, output, _, _ = cli(path)
    assert code == 1 and data is not None, output[-2000:]
    assert [(f["sheet"], "look" in f["message"]) for f in data["errors"] if f["code"] == "hidden_sheet"] == [
        ("feedstock_types", False)
    ]


def test_the_templates_hidden_lists_sheet_is_not_an_error(tmp_path):
    import openpyxl

    from importer.workbook.template import LISTS_SHEET

    path = tmp_path / "lists.xlsx"
    book = openpyxl.load_workbook(mk.SAMPLE)
    book.create_sheet(LISTS_SHEET).sheet_state = "hidden"
    book[LISTS_SHEET]["A1"] = "datapoint_type"
    book.save(path)
    path = with_evidence(path, tmp_path / "w")
    code, data, output, _, _ = cli(path)
    assert code == 0 and data is not None, output[-2000:]
    assert not [f for f in findings(data) if f[1] in ("hidden_sheet", "unknown_sheet")]


@pytest.mark.parametrize(
    ("member", "edit"),
    [
        ("xl/styles.xml", lambda xml: re.sub(rb'numFmtId="[0-9]+"', b'numFmtId="abc"', xml, count=1)),
        ("xl/styles.xml", lambda xml: xml[: len(xml) // 2]),
        ("xl/workbook.xml", lambda xml: xml.replace(b"<sheets>", b"<sheets><sheet", 1)),
    ],
    ids=["a style's format id is not a number", "styles cut short", "workbook.xml not XML"],
)
def test_a_part_that_does_not_decode_is_unreadable_naming_it(tmp_path, member, edit):
    path = mk.rewrite(mk.SAMPLE, tmp_path / "undecodable.xlsx", {member: edit})
    refused(path, member)


def test_the_fast_extent_test_tells_usual_cells_within_the_guess_from_all_others():
    beyond = reader._beyond(100, 28)  # AB100
    cases = {
        b'<c r="AB12">': False,
        b'<c r="ab99">': False,
        b'<c r="Z100">': False,
        b'<c r="AB100" s="2">': False,
        b'<c r="A1"/>': False,
        b'<col min="1">': False,
        b'<c r="AC12">': True,
        b'<c r="A101">': True,
        b'<c r="A1000">': True,
        b'<c r="ABC1">': True,
        b'<c r="A0100">': True,
        b'<c s="1" r="A1">': True,
        b"<c r='A1'>": True,
        b'<c r="">': True,
        b"<c>": True,
        b'<c\nr="A1">': True,
    }
    assert {tag: bool(beyond.search(tag)) for tag in cases} == cases
    for bound in ("1", "9", "10", "120", "100001", "999"):
        within = re.compile(f"(?:{reader._at_most(bound, True)})$")
        assert all(
            bool(within.match(str(x))) == (x <= int(bound)) for x in range(1, 1_200_000, 7) if len(str(x)) == len(bound)
        )
    for column in (1, 11, 26, 27, 28, 52, 702, 703, 16384):
        letters = reader._letters(column)
        within = re.compile(f"(?:{reader._at_most(letters, False)})$")
        for other in range(1, 1000):
            name = reader._letters(other)
            if len(name) == len(letters):
                assert bool(within.match(name)) == bool(within.match(name.lower())) == (other <= column)


# -- 8. large sheets: the extent told as the XML is inflated, never trusting more than the whole-XML test ------------
FORMS = ["usual", "lower", "quotes", "spaced", "order", "prefixed", "leading_zero"]


def _fed(xml: bytes, sizes: list[int]) -> int | None:
    """What `_ExtentAsInflated` confirms of `xml` fed in chunks of `sizes` (in turn)."""
    told = reader._ExtentAsInflated()
    position = 0
    for n in range(len(xml)):
        if position >= len(xml):
            break
        size = sizes[n % len(sizes)]
        told.feed(xml[position : position + size])
        position += size
    told.feed(b"", last=True)
    return told.confirmed()


def _sheets(tmp_path: Path) -> list[tuple[str, bytes]]:
    books = [*_workbooks(), *(mk.far_cell_in_sample(tmp_path / f"far-{f}.xlsx", "XFD1048576", form=f) for f in FORMS)]
    books.append(mk.far_cell_in_sample(tmp_path / "row.xlsx", "A454546"))  # 454,546 rows x 11 columns: too many
    books.append(mk.far_cell_in_sample(tmp_path / "within.xlsx", "K454545"))  # just within the bound
    out = []
    for path in books:
        try:
            with zipfile.ZipFile(path) as archive:
                out += [
                    (f"{path.name}:{n}", archive.read(n)) for n in archive.namelist() if n.startswith("xl/worksheets/")
                ]
        except (zipfile.BadZipFile, OSError, EOFError, Exception):
            continue  # a deliberately damaged fixture
    return out


def test_the_extent_told_as_a_sheet_is_inflated_is_the_whole_tests_or_nothing(tmp_path):
    """Fed in chunks of any size (seams inside tags, inside references, a byte at a time), the test run as the XML
    arrives confirms exactly what `_extent` tells of the whole XML, or nothing (then `_extent` runs); it never
    confirms a sheet `_extent` refuses; and it confirms every sheet written the usual way (the fast path is taken)."""
    sheets = _sheets(tmp_path)
    assert len(sheets) > 50
    for name, xml in sheets:
        try:
            whole: int | None = reader._extent("s", xml)
        except reader.WorkbookUnreadable:
            whole = None
        for sizes in ([1, 2, 3, 7], [255, 256, 257, 511, 513], [1000, 4096, 17], [len(xml)]):
            told = _fed(xml, sizes)
            assert told is None or told == whole, (name, sizes, told, whole)
        usual = b"<sheetData" in xml and b"purl.oclc.org" not in xml[:4096] and reader._PREFIXED.search(xml) is None
        if whole is not None and usual:
            assert _fed(xml, [4096]) == whole, name


def test_cells_each_beyond_the_guess_give_up_the_test_at_once():
    """Each cell a row further than the one before and the last cell in row 1 (the guess): every cell is beyond the
    guess, which a few may raise; then the test gives up (to `_extent`) rather than raise it 20,000 times (a regex
    built each time)."""
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (n, n) for n in range(2, 20_002))
    xml = b'<worksheet xmlns="' + mk.MAIN.encode() + b'"><sheetData>' + rows + b'<row r="1"><c r="A1"/></row>'
    told = reader._ExtentAsInflated()
    told.feed(xml + b"</sheetData></worksheet>", last=True)
    assert told.confirmed() is None and told.raises <= reader._ExtentAsInflated._RAISES
    assert reader._extent("s", xml) == 20_001


def test_a_far_cell_on_a_seam_is_seen_wherever_the_seam_cuts_it():
    rows = b"".join(
        b'<row r="%d"><c r="A%d"><v>1</v></c><c r="K%d"><v>2</v></c></row>' % (n, n, n) for n in range(1, 200)
    )
    far = b'<row r="200"><c r="XFD1048576"><v>1</v></c></row>'
    xml = b'<worksheet xmlns="' + mk.MAIN.encode() + b'"><dimension ref="A1:K200"/><sheetData>' + rows
    for cell in (far, far.replace(b'r="XFD1048576"', b's="1" r="A1"'), far.replace(b"<c ", b"<x:c ")):
        whole = xml + cell + rows.replace(b'"1', b'"2') + b"</sheetData></worksheet>"
        at = len(xml) + cell.index(b"<c" if b"<c" in cell else b"<x:c")
        assert _fed(whole, [len(whole)]) is None
        for cut in range(at - 300, at + 40):
            told = reader._ExtentAsInflated()
            for chunk in (whole[:cut], whole[cut:]):
                told.feed(chunk)
            told.feed(b"", last=True)
            assert told.confirmed() is None, (cell, cut - at)


@pytest.mark.parametrize(
    "name", ["far_xfd1048576.xlsx", "far_cv1048576.xlsx", "far_lying_dimension.xlsx", "far_in_unread_sheet.xlsx"]
)
def test_the_streamed_vet_refuses_every_far_cell(monkeypatch, name):
    """With every sheet inflated and vetted in chunks (as sheets over `_STREAMED` are), every far-cell fixture is
    refused as before, naming the cell."""
    monkeypatch.setattr(reader, "_STREAMED", 0)
    cell = {"far_cv1048576.xlsx": "CV1048576", "far_lying_dimension.xlsx": "CV1048576"}.get(name, "XFD1048576")
    with pytest.raises(reader.WorkbookUnreadable, match=cell):
        reader.read_workbook(HOSTILE / name)


@pytest.mark.parametrize("form", FORMS)
def test_the_streamed_vet_refuses_a_far_cell_however_spelled(monkeypatch, tmp_path, form):
    monkeypatch.setattr(reader, "_STREAMED", 0)
    path = mk.far_cell_in_sample(tmp_path / f"far-{form}.xlsx", "XFD1048576", form=form)
    with pytest.raises(reader.WorkbookUnreadable, match="cells from A1"):
        reader.read_workbook(path)


def test_the_streamed_vet_reads_what_the_whole_one_reads(monkeypatch):
    whole = reader.read_workbook(mk.SAMPLE)
    monkeypatch.setattr(reader, "_STREAMED", 0)
    streamed = reader.read_workbook(mk.SAMPLE)
    assert {t: s.rows for t, s in streamed.sheets.items()} == {t: s.rows for t, s in whole.sheets.items()}


@pytest.mark.parametrize("case", ["corrupt sheet", "lying bomb", "cut short"])
def test_the_streamed_vet_refuses_a_broken_part_as_the_whole_one(monkeypatch, tmp_path, case):
    """Inflated in a helper thread, a part that fails its checks is refused with the same message, naming it."""
    if case == "corrupt sheet":
        path = HOSTILE / "corrupt_sheet.xlsx"
    elif case == "lying bomb":
        path = mk.zip_bomb(tmp_path / "bomb.xlsx", lie=True, member="datapoints", inflated=64 * 2**20)
    else:
        path = tmp_path / "cut.xlsx"
        data = mk.SAMPLE.read_bytes()
        with zipfile.ZipFile(mk.SAMPLE) as archive:
            info = archive.getinfo(mk.sheet_part(mk.SAMPLE, "datapoints"))
        path.write_bytes(data[: info.header_offset + 200] + data[info.header_offset + 200 :].replace(b"\0", b"\1", 40))
    messages = []
    for streamed in (False, True):
        if streamed:
            monkeypatch.setattr(reader, "_STREAMED", 0)
        with pytest.raises(reader.WorkbookUnreadable) as refused_:
            reader.read_workbook(path)
        messages.append(refused_.value.message)
    assert messages[0] == messages[1] and "xl/worksheets/" in messages[1], messages


def test_a_far_cell_in_the_middle_of_a_large_sheet_is_refused(tmp_path):
    """A sheet over `_STREAMED` (10,000 datapoint rows, about 5 MB of XML) with one cell far to the right in its
    middle: refused by the real command, naming the cell."""
    from importer.workbook.synthetic import make_workbook

    base = make_workbook(tmp_path, 10_000)
    part = mk.sheet_part(base, "datapoints")
    with zipfile.ZipFile(base) as archive:
        assert archive.getinfo(part).file_size > reader._STREAMED
    path = mk.rewrite(base, tmp_path / "far.xlsx", {part: lambda xml: xml.replace(b'<c r="F5000"', b'<c r="XFD5000"')})
    refused(path, "sheet 'datapoints'", "XFD5000", "5,000,000")
