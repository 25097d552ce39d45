"""Issue #24, "what lands differs from what the field team sees", one class of defect at a time, through the real
CLI on workbooks made from the sample: by LibreOffice where the program matters (tests/fixtures/fieldvalues,
built by its make_fixtures.py), else by openpyxl here. Each refusal is asserted at its cell with what was found
and what was expected; each value that lands is read back from the sandbox over HTTP and compared with a figure
computed here.

1. numbers stored as text that read two ways (`1.185`: 1.185 or 1185);
2. quantities that cannot be negative (a diesel volume computed from swapped tank readings: -58 L);
3. text evidence in UTF-16/UTF-32/UTF-8 with a byte-order mark (Excel's "Unicode Text", PowerShell, LibreOffice);
4. refs that look the same but are not (accents composed or decomposed, invisible or look-alike characters).
"""

from __future__ import annotations

import codecs
import dataclasses
import random
import shutil
import unicodedata
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import openpyxl
import pytest

from importer.context import ProjectContext
from importer.online import check_against_project
from importer.workbook import coerce

from e2e_helpers import SAMPLES, api_nodes, cli_env, run_cli
from fakes import BLUEPRINTS, PROJECT, TEMPLATE, workbook

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fieldvalues"


# -- helpers -----------------------------------------------------------------------------------------------------


def _offline_env(home: Path) -> dict[str, str]:
    return {
        "ISOMETRIC_IMPORTER_HOME": str(home),
        "ISOMETRIC_REPORTS_DIR": str(home / "reports"),
        "NO_COLOR": "1",
        "COLUMNS": "160",
    }


def _validate(path: Path, tmp_path: Path) -> dict[str, Any]:
    """`isometric-import validate PATH --json`: the payload, with every finding by location (`sheet!A1`)."""
    result = run_cli(["validate", str(path), "--json", "--no-report"], _offline_env(tmp_path / "home"))
    payload = result.json()
    assert result.code == (0 if payload["ok"] else 1), result.stdout
    for kind in ("errors", "warnings", "notes"):
        payload[f"{kind}_at"] = {f"{f['sheet']}!{f['cell']}": f for f in payload[kind]}
    return payload


def _fixture(tmp_path: Path, name: str) -> Path:
    """A LibreOffice-made fixture copied beside the sample's evidence folder."""
    folder = tmp_path / "book"
    shutil.copytree(SAMPLES / "evidence", folder / "evidence")
    shutil.copyfile(FIXTURES / name, folder / name)
    return folder / name


def _edited(tmp_path: Path, cells: dict[str, Any], *, name: str = "edited.xlsx", text: bool = True) -> Path:
    """The sample workbook opened and saved by openpyxl with `cells` (`sheet!A1` -> value) changed; strings
    are stored as text cells, and (`text`) given the Text number format `@`, as a field team's Text column."""
    folder = tmp_path / "book"
    if not folder.exists():
        shutil.copytree(SAMPLES, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.xlsx"))
    book = openpyxl.load_workbook(SAMPLES / "biochar-2026-10.xlsx")
    for where, value in cells.items():
        sheet, cell = where.split("!")
        book[sheet][cell].value = value
        if isinstance(value, str) and text:
            book[sheet][cell].number_format = "@"
    path = folder / name
    book.save(path)
    return path


def _run_and_read(sandbox: Any, tmp_path: Path, path: Path, prefix: str) -> dict[str, dict[str, Any]]:
    """`isometric-import run PATH` against the sandbox, then every datapoint of the workbook as the server holds
    it (read over HTTP), by ref."""
    result = run_cli(["run", str(path), "--quiet"], cli_env(sandbox, tmp_path / "home"))
    assert result.code == 0, result.stdout + result.stderr
    held = {}
    for node in api_nodes(sandbox, "/datapoints", project_id=PROJECT):
        srid = node.get("supplier_reference_id") or ""
        if srid.startswith(f"{prefix}:datapoints:"):
            held[srid.rsplit(":", 1)[1]] = node
    return held


# -- 1. numbers stored as text that read two ways ------------------------------------------------------------------


@pytest.mark.parametrize(
    "written,as_decimal,as_grouping",
    [
        ("1.185", 1.185, 1185.0),
        ("1,185", 1.185, 1185.0),
        ("-2.500", -2.5, -2500.0),
        ("12.000", 12.0, 12000.0),
        ("+999.999", 999.999, 999999.0),
        (" 1.185 ", 1.185, 1185.0),
        ("1.185\u00a0%", 1.185, 1185.0),
    ],
)
def test_one_separator_with_three_digits_after_it_reads_two_ways(
    written: str, as_decimal: float, as_grouping: float
) -> None:
    with pytest.raises(coerce.AmbiguousNumber) as caught:
        coerce.parse_cell("number", written)
    assert (caught.value.as_decimal, caught.value.as_grouping) == (as_decimal, as_grouping)
    assert caught.value.code == "bad_number" and "stored as a number" in caught.value.message


@pytest.mark.parametrize(
    "written,number",
    [
        ("0.185", 0.185),
        ("1234.567", 1234.567),
        ("1.1850", 1.185),
        ("1185", 1185.0),
        ("1 185", 1185.0),
        ("1,234.5", 1234.5),
        ("2.75", 2.75),
    ],
)
def test_numbers_that_read_one_way_are_read(written: str, number: float) -> None:
    assert coerce.parse_cell("number", written) == number


def test_1185_typed_into_a_text_cell_in_de_DE_libreoffice_is_refused_at_its_cell(tmp_path: Path) -> None:
    """LibreOffice (de-DE) stores `1.185` typed into a Text cell as the text '1.185'; every other magnitude is a
    number, so nothing says it is 1185: refused, not landed as 1.185."""
    payload = _validate(_fixture(tmp_path, "lo-de-DE-text-1185.xlsx"), tmp_path)
    assert list(payload["errors_at"]) == ["datapoints!E5"]
    error = payload["errors_at"]["datapoints!E5"]
    assert error["code"] == "bad_number" and error["value"] == "1.185"
    assert "found '1.185' stored as text" in error["message"]
    assert "1185" in error["message"] and "stored as a number" in error["message"]


def test_a_de_DE_text_column_says_what_1185_means_there(tmp_path: Path) -> None:
    """The whole magnitude column typed the German way as text: `1.185` is refused saying it means 1185 in this
    column (whose other text numbers use comma decimals), and the comma decimals say what to write."""
    errors = _validate(_fixture(tmp_path, "lo-de-DE-text-column.xlsx"), tmp_path)["errors_at"]
    message = errors["datapoints!E5"]["message"]
    assert "means 1185 here, not 1.185" in message and "'18,4' at E3" in message and "expected 1185" in message
    assert "write 1210.5" in errors["datapoints!E4"]["message"]
    assert "write 18.4" in errors["datapoints!E3"]["message"]
    assert "datapoints!E2" not in errors and "datapoints!E10" not in errors  # '46', '28': whole numbers


@pytest.mark.slow
def test_an_en_GB_text_column_settles_1185_and_it_lands(tmp_path: Path, sandbox: Any) -> None:
    """The magnitude column typed the British way as text in LibreOffice: `1,185` reads two ways alone, but the
    column's dot decimals (`18.4`, `1,210.5`) settle it as 1185, with a note; the server holds 1185 kWh."""
    path = _fixture(tmp_path, "lo-en-GB-text-column.xlsx")
    payload = _validate(path, tmp_path)
    assert payload["ok"] and not payload["errors"]
    note = payload["notes_at"]["datapoints!E5"]
    assert note["code"] == "read_number" and "read '1,185' as 1185" in note["message"]
    held = _run_and_read(sandbox, tmp_path, path, "fv-lo-en-GB-text-column")
    typed = {"kwh-period-1": "1,210.5", "kwh-period-2": "1,185", "kwh-period-3": "1,302.25", "biochar-mass-t": "4.21"}
    for ref, text in typed.items():
        assert held[ref]["quantity"]["magnitude"] == float(text.replace(",", "")), (ref, held[ref])
        assert held[ref]["quantity"]["unit"] in ("kWh", "t")


@pytest.mark.parametrize(
    "others,expected",
    [
        ({}, "nothing else in the column says which"),
        ({"datapoints!E4": "1210.75"}, None),  # a dot decimal elsewhere in the column: 12.000 is 12
        ({"datapoints!E4": "1.210,75"}, "means 12000 here"),
        ({"datapoints!E4": "1210.75", "datapoints!E6": "1302,25"}, "writes numbers both ways"),
        ({"datapoints!G3": "0.25"}, None),  # no text number in the column: the sheet's other number column
    ],
)
def test_the_rest_of_the_column_or_sheet_settles_a_number_that_reads_two_ways(
    tmp_path: Path, others: dict[str, str], expected: str | None
) -> None:
    payload = _validate(_edited(tmp_path, {"datapoints!E3": "12.000", **others}), tmp_path)
    if expected is None:
        assert "datapoints!E3" not in payload["errors_at"]
        assert "as 12:" in payload["notes_at"]["datapoints!E3"]["message"]
    else:
        assert expected in payload["errors_at"]["datapoints!E3"]["message"]


# -- 2. quantities that cannot be negative -------------------------------------------------------------------------


def test_a_diesel_volume_from_swapped_tank_readings_is_refused_at_its_cell(tmp_path: Path) -> None:
    """LibreOffice computed =L13-M13 with the readings swapped and stored -58 with the formula: refused at the
    magnitude cell, offline, before anything is sent."""
    payload = _validate(_fixture(tmp_path, "lo-en-GB-negative-diesel.xlsx"), tmp_path)
    assert list(payload["errors_at"]) == ["datapoints!E13"]
    error = payload["errors_at"]["datapoints!E13"]
    assert error["code"] == "negative_quantity" and error["value"] == -58
    assert "found -58 L, expected a volume of 0 or more" in error["message"]


@pytest.mark.parametrize(
    "row,unit,words",
    [
        (3, "t", "a mass"),
        (4, "kWh", "an energy"),
        (2, "km", "a length"),
        (9, "%", "a percentage"),
        (9, "dimensionless", "a fraction"),
        (8, "kgCO2e", "a CO2e mass"),
        (8, "m2", "an area"),
        (12, "h", "a duration"),
        (3, "kg/t", "a fraction"),
    ],
)
def test_negative_quantities_of_non_negative_kinds_are_refused(tmp_path: Path, row: int, unit: str, words: str) -> None:
    payload = _validate(_edited(tmp_path, {f"datapoints!E{row}": -1.5, f"datapoints!F{row}": unit}), tmp_path)
    error = payload["errors_at"][f"datapoints!E{row}"]
    assert (
        error["code"] == "negative_quantity" and f"found -1.5 {unit}, expected {words} of 0 or more" in error["message"]
    )


@pytest.mark.parametrize("row,unit", [(14, "kgCO2e/L"), (9, "degC"), (4, "kgCO2e/kWh")])
def test_signed_quantities_may_be_negative(tmp_path: Path, row: int, unit: str) -> None:
    payload = _validate(_edited(tmp_path, {f"datapoints!E{row}": -2.5, f"datapoints!F{row}": unit}), tmp_path)
    assert not any(f["code"] == "negative_quantity" for f in payload["errors"])


def test_a_negative_standard_deviation_is_refused_at_its_cell(tmp_path: Path) -> None:
    errors = _validate(_edited(tmp_path, {"datapoints!G8": -0.05}), tmp_path)["errors_at"]
    assert errors["datapoints!G8"]["code"] == "out_of_range" and "at least 0" in errors["datapoints!G8"]["message"]


def test_online_a_negative_datapoint_feeding_a_non_negative_input_is_refused(tmp_path: Path) -> None:
    """Online, the blueprint input's quantity_kind says so (volume: no; an emission factor: may be signed); with
    no quantity_kind, its compatible_unit does."""
    blueprints = dict(BLUEPRINTS)
    fuel = blueprints["fuel-combustion"]
    blueprints["fuel-combustion"] = NS(
        **{
            **vars(fuel),
            "inputs": [
                NS(**{**vars(fuel.inputs[0]), "quantity_kind": "volume"}),
                NS(**{**vars(fuel.inputs[1]), "quantity_kind": "volume_carbon_emission_factor"}),
            ],
        }
    )
    road = blueprints["road-transport"]
    blueprints["road-transport"] = NS(
        **{**vars(road), "inputs": [NS(**{**vars(i), "quantity_kind": None}) for i in road.inputs]}
    )
    ctx = ProjectContext(project_id=PROJECT, templates=[TEMPLATE], blueprints=blueprints)
    wb = workbook(tmp_path)
    signs = {"diesel": -58.0, "diesel-ef": -2.68, "distance": -42.0}
    wb.datapoints = [dataclasses.replace(d, magnitude=signs.get(d.ref, d.magnitude)) for d in wb.datapoints]
    found = {f"{f.sheet}!{f.cell}": f for f in check_against_project(wb, ctx) if f.code == "negative_quantity"}
    assert sorted(found) == ["datapoints!E2", "datapoints!E6"]  # distance (km) and diesel (volume), not the factor
    assert "found -58 L, expected a volume of 0 or more" in found["datapoints!E6"].message
    assert "found -42 km, expected a length of 0 or more" in found["datapoints!E2"].message


# -- 3. text evidence in UTF-16 and other encodings with a byte-order mark ----------------------------------------

METER = (SAMPLES / "evidence" / "electricity-meter-2026-10.csv").read_text(encoding="utf-8")


def _windows_text(encoding: str) -> bytes:
    """The meter CSV as PowerShell's `Out-File -Encoding Unicode` and Excel's "Unicode Text" write it: a BOM, then
    the text in UTF-16 LE (or the encoding given) with CRLF line ends."""
    text = "\r\n".join(METER.splitlines()) + "\r\n"
    bom = {
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-8": codecs.BOM_UTF8,
        "utf-32-le": codecs.BOM_UTF32_LE,
        "utf-32-be": codecs.BOM_UTF32_BE,
    }[encoding]
    return bom + text.encode(encoding)


def _with_evidence(tmp_path: Path, name: str, data: bytes) -> Path:
    path = _edited(tmp_path, {"sources!C3": f"evidence/{name}"}, text=False)
    (path.parent / "evidence" / name).write_bytes(data)
    return path


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-8", "utf-32-le", "utf-32-be"])
def test_text_evidence_with_a_byte_order_mark_is_text(tmp_path: Path, encoding: str) -> None:
    for suffix in (".csv", ".txt"):
        payload = _validate(_with_evidence(tmp_path, f"meter{suffix}", _windows_text(encoding)), tmp_path)
        assert payload["ok"], payload["errors"]


def test_a_libreoffice_unicode_text_export_is_accepted(tmp_path: Path) -> None:
    data = (FIXTURES / "lo-unicode-text.csv").read_bytes()
    assert data.startswith(codecs.BOM_UTF16_LE)  # as LibreOffice wrote it (character set "Unicode")
    payload = _validate(_with_evidence(tmp_path, "meter-unicode.csv", data), tmp_path)
    assert payload["ok"], payload["errors"]


@pytest.mark.slow
def test_a_utf16_evidence_file_is_uploaded_as_it_is(tmp_path: Path, sandbox: Any) -> None:
    import hashlib

    data = _windows_text("utf-16-le")
    path = _with_evidence(tmp_path, "meter-utf16.csv", data)
    result = run_cli(["run", str(path), "--quiet"], cli_env(sandbox, tmp_path / "home"))
    assert result.code == 0, result.stdout + result.stderr
    sources = [
        n
        for n in api_nodes(sandbox, "/sources", project_id=PROJECT)
        if hashlib.sha256(data).hexdigest()[:12] in (n.get("supplier_reference_id") or "")
    ]
    assert len(sources) == 1, sources


@pytest.mark.parametrize(
    "data",
    [
        random.Random(24).randbytes(4096),
        codecs.BOM_UTF16_LE + random.Random(25).randbytes(4096),
        codecs.BOM_UTF8 + random.Random(26).randbytes(4096),
        (SAMPLES / "evidence" / "fuel-receipt-2026-10.png").read_bytes(),
        METER.encode("utf-16-le"),  # UTF-16 without its byte-order mark: NULs between the letters
    ],
    ids=["random", "utf16-bom-then-random", "utf8-bom-then-random", "png", "utf16-without-bom"],
)
def test_binary_bytes_named_csv_are_still_refused(tmp_path: Path, data: bytes) -> None:
    errors = _validate(_with_evidence(tmp_path, "meter.csv", data), tmp_path)["errors_at"]
    assert errors["sources!C3"]["code"] == "bad_file"
    assert "does not hold what its extension .csv says" in errors["sources!C3"]["message"]


# -- 4. refs that look the same -------------------------------------------------------------------------------------

NFC = unicodedata.normalize("NFC", "torréfié-t")
NFD = unicodedata.normalize("NFD", "torréfié-t")


def test_a_ref_with_its_accents_encoded_otherwise_says_so(tmp_path: Path) -> None:
    """entries!A2 composed (NFC), the entry_inputs and components cells citing it decomposed (NFD, as text copied
    from a Mac): "did you mean 'torréfié-t'?" alone reads as the same text, so the message says what differs."""
    cells = {"entries!A2": NFC, "components!B2": NFD, **{f"entry_inputs!A{row}": NFD for row in range(2, 8)}}
    errors = _validate(_edited(tmp_path, cells, text=False), tmp_path)["errors_at"]
    for where in ["components!B2", *(f"entry_inputs!A{row}" for row in range(2, 8))]:
        assert errors[where]["code"] == "unknown_ref", where
        message = errors[where]["message"]
        assert f"did you mean {NFC!r}? It looks the same, but its accented letters are encoded differently" in message
        assert "decomposed" in message and "composed (one character each)" in message


@pytest.mark.parametrize(
    "written,phrase",
    [
        ("batch\u00a02026-10-a", "U+00A0 NO-BREAK SPACE"),
        ("batch 2026\u200b-10-a", "U+200B ZERO WIDTH SPACE"),
        ("ｂatch 2026-10-a", "U+FF42 FULLWIDTH LATIN SMALL LETTER B, a look-alike of 'b'"),
        ("Batch 2026-10-a", "differ in letter case"),
    ],
)
def test_invisible_and_look_alike_differences_are_named(tmp_path: Path, written: str, phrase: str) -> None:
    cells = {
        "entries!A2": "batch 2026-10-a",
        "components!B2": "batch 2026-10-a",
        **{f"entry_inputs!A{row}": "batch 2026-10-a" for row in range(2, 8)},
        "entry_inputs!A3": written,
    }
    errors = _validate(_edited(tmp_path, cells, text=False), tmp_path)["errors_at"]
    assert list(errors) == ["entry_inputs!A3"]
    message = errors["entry_inputs!A3"]["message"]
    assert "did you mean 'batch 2026-10-a'? It looks the same, but it is not the same text" in message
    assert phrase in message


def test_evidence_names_and_refs_share_one_wording() -> None:
    """The evidence check's near-miss hint and the refs' did-you-mean come from one function."""
    from importer.workbook import evidence

    assert evidence.how_texts_differ is coerce.how_texts_differ and evidence.fold_text is coerce.fold_text
    assert coerce.how_texts_differ(NFD, NFC, "the name written", "the file's name") == (
        "its accented letters are encoded differently: the name written has its accented letters decomposed (each "
        "a plain letter followed by a combining accent, as text copied from a Mac often has them) where the file's "
        "name has them composed (one character each)"
    )
