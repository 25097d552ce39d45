"""Issue #5: the hostile and broken input corpus. Each case runs the real CLI and gets a clear, located error,
exit code 1 or 2, and never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from workbooks import REPO, row, write

SAMPLE = REPO / "sample_workbooks" / "biochar-2026-10.xlsx"


def validate(path: Path) -> tuple[int, dict | None, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "importer.cli", "validate", str(path), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    return proc.returncode, data, proc.stdout + proc.stderr


def rewrite_member(path: Path, member: str, edit: Callable[[str], str], extra: dict[str, bytes] | None = None) -> None:
    """Edit one XML part inside the xlsx zip (to plant what openpyxl will not write)."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == member:
                data = edit(data.decode()).encode()
            dst.writestr(item, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    tmp.replace(path)


def sheet_part(path: Path, title: str) -> str:
    book = openpyxl.load_workbook(path, read_only=True)
    index = book.sheetnames.index(title) + 1
    book.close()
    return f"xl/worksheets/sheet{index}.xml"


def codes(data: dict) -> list[tuple[str, str, str | None]]:
    return [(e["code"], e["sheet"], e["cell"]) for e in data["errors"]]


def test_formula_without_cached_value(tmp_path):
    path = write(tmp_path)
    book = openpyxl.load_workbook(path)
    book["datapoints"]["E8"] = "=E7*2"  # openpyxl stores formulas without a computed value
    book.save(path)
    code, data, _ = validate(path)
    assert code == 1 and ("formula_without_value", "datapoints", "E8") in codes(data)


@pytest.mark.parametrize("error_value", ["#REF!", "#DIV/0!"])
def test_cached_formula_errors(tmp_path, error_value):
    path = write(tmp_path)
    book = openpyxl.load_workbook(path)
    book["datapoints"]["E8"] = 999.0
    book.save(path)
    rewrite_member(
        path,
        sheet_part(path, "datapoints"),
        lambda xml: xml.replace(
            '<c r="E8" t="n"><v>999</v></c>', f'<c r="E8" t="e"><f>1/0</f><v>{error_value}</v></c>'
        ).replace('<c r="E8"><v>999</v></c>', f'<c r="E8" t="e"><f>1/0</f><v>{error_value}</v></c>'),
    )
    code, data, _ = validate(path)
    assert code == 1
    found = [e for e in data["errors"] if e["cell"] == "E8"]
    assert found and found[0]["code"] == "formula_error" and error_value in found[0]["message"]


def test_merged_header_and_merged_data(tmp_path):
    path = write(tmp_path)
    book = openpyxl.load_workbook(path)
    book["sources"].merge_cells("A1:B1")
    book["datapoints"].merge_cells("D5:D6")
    book.save(path)
    code, data, _ = validate(path)
    assert code == 1
    found = codes(data)
    assert ("merged_header", "sources", None) in found or any(c[0] == "merged_header" for c in found)
    assert ("merged_cells", "datapoints", "D5") in found


def test_hostile_cell_text_is_plain_text(tmp_path):
    payloads = ["<script>alert(1)</script>", 'say "hi"', "=cmd|' /C calc'!A0"]
    path = write(
        tmp_path,
        lambda s, p: [
            row(s, "datapoints", r).update(description=t)
            for r, t in zip(("biochar-mass-t", "delivery-km", "diesel-ef"), payloads, strict=True)
        ],
    )
    book = openpyxl.load_workbook(path)
    cell = book["datapoints"]["C14"]  # diesel-ef's description: typed as text, as a cautious field team would
    cell.value, cell.data_type = payloads[2], "s"
    book.save(path)
    code, data, _ = validate(path)
    assert code == 0 and data["ok"] is True
    from importer.workbook.validate import validate_workbook

    described = {d.description for d in validate_workbook(path).workbook.datapoints}
    assert set(payloads) <= described


@pytest.mark.parametrize(
    "name,content,phrase",
    [
        ("csv.xlsx", b"ref,display_name\na,b\n", "CSV"),
        ("empty.xlsx", b"", "empty"),
        ("encrypted.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "password-protected"),
        ("garbage.xlsx", b"\x00\x01\x02\x03binary", "not an Excel"),
    ],
)
def test_files_that_are_not_workbooks_exit_2(tmp_path, name, content, phrase):
    path = tmp_path / name
    path.write_bytes(content)
    code, _data, output = validate(path)
    assert code == 2 and phrase in output


def test_a_zip_of_something_else_exits_2(tmp_path):
    path = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8\xff not really")
    code, _data, output = validate(path)
    assert code == 2 and "not an Excel workbook" in output


def test_a_zip_bomb_is_refused(tmp_path):
    path = write(tmp_path)
    rewrite_member(
        path, "xl/workbook.xml", lambda xml: xml, extra={"xl/media/padding.xml": b"<a/>" + b" " * (40 << 20)}
    )
    code, _data, output = validate(path)
    assert code == 2 and "zip bomb" in output


def test_xml_entities_are_refused(tmp_path):
    path = write(tmp_path)
    part = sheet_part(path, "sources")
    rewrite_member(
        path, part, lambda xml: xml.replace("<worksheet", '<!DOCTYPE lol [<!ENTITY lol "lol">]><worksheet', 1)
    )
    code, _data, output = validate(path)
    assert code == 2 and ("DTD" in output or "entities" in output)


def test_xlsm_with_macros_is_read_and_flagged(tmp_path):
    path = write(tmp_path)
    xlsm = path.with_suffix(".xlsm")
    shutil.copy(path, xlsm)
    rewrite_member(xlsm, "xl/workbook.xml", lambda xml: xml, extra={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"})
    code, data, _ = validate(xlsm)
    assert code == 0 and any(w["code"] == "macros_ignored" for w in data["warnings"])
    assert data["counts"]["datapoints"] == 13


def test_a_hidden_sheet_the_importer_reads_is_an_error(tmp_path):
    """People read a hidden sheet as void (#24): one the import would read is refused at the sheet, not warned."""
    path = write(tmp_path)
    book = openpyxl.load_workbook(path)
    book["feedstock_types"].sheet_state = "hidden"
    book.save(path)
    code, data, _ = validate(path)
    assert code == 1 and data["counts"]["feedstock_types"] == 1
    assert [(e["code"], e["sheet"]) for e in data["errors"]] == [("hidden_sheet", "feedstock_types")]


def test_a_large_workbook_is_read(tmp_path):
    from importer.workbook.synthetic import make_workbook

    path = make_workbook(tmp_path, 20000)
    code, data, _ = validate(path)
    assert code == 0 and data["counts"]["datapoints"] == 20000


def test_wrong_sheet_names_are_reported(tmp_path):
    path = write(tmp_path)
    book = openpyxl.load_workbook(path)
    book["datapoints"].title = "data points v2"
    book.save(path)
    code, data, _ = validate(path)
    assert code == 1 and ("missing_sheet", "datapoints", None) in codes(data)
    assert any(w["code"] == "unknown_sheet" and "data points v2" in w["message"] for w in data["warnings"])


def test_a_dde_formula_typed_into_a_cell_is_an_error_not_text(tmp_path):
    """Typed without a leading quote, `=cmd|...` is a formula (DDE): it is refused at its cell, never evaluated."""
    path = write(tmp_path, lambda s, p: row(s, "datapoints", "diesel-ef").update(description="=cmd|' /C calc'!A0"))
    code, data, _ = validate(path)
    assert code == 1 and ("formula_without_value", "datapoints", "C14") in codes(data)


def test_a_50_mb_workbook_is_refused_before_it_is_parsed(tmp_path):
    path = write(tmp_path)
    rewrite_member(path, "xl/workbook.xml", lambda xml: xml, extra={"xl/media/scan.bin": os.urandom(50 * 2**20)})
    code, _data, output = validate(path)
    assert code == 2 and "MiB" in output and "split the import" in output


def test_a_sheet_that_cannot_be_parsed_is_unreadable_however_far_the_checks_got(tmp_path):
    """Sheets are read while earlier ones are checked (`reader.reading`): a broken later sheet still ends the
    validation as an unreadable workbook (exit 2), never as a partial result."""
    path = write(tmp_path)
    part = sheet_part(path, "entries")
    rewrite_member(
        path,
        part,
        lambda xml: xml.replace("<sheetData>", '<sheetData><row r="1"><c r="A1" t="s"><v>not closed</row>', 1),
    )
    code, _data, output = validate(path)
    assert code == 2 and "could not be read" in output


def test_reading_in_any_order_gives_the_sheets_read_whole_and_stops_when_left(tmp_path):
    import threading
    import time

    from importer.workbook.reader import read_workbook, reading

    path = write(tmp_path)
    whole = read_workbook(path)
    assert whole.sheets["datapoints"].rows and whole.arrival is None
    with reading(path, first=("entry_inputs", "datapoints")) as streamed:
        assert list(streamed.sheets) == list(whole.sheets)  # titles and hidden flags at once, in workbook order
        for title in reversed(list(streamed.sheets)):
            assert streamed.wait(title) == whole.sheets[title]
    before = threading.active_count()
    started = time.monotonic()
    with pytest.raises(RuntimeError), reading(path) as left:
        assert left.sheets
        raise RuntimeError("the caller failed before waiting for any sheet")
    assert time.monotonic() - started < 5 and threading.active_count() <= before
