"""The rules of "what lands is what the workbook shows" one by one, each refused or warned at its cell: units,
formulas saved by LibreOffice, dates, statement sanity, batches of months, and the smaller ones (annotated
sheet names, evidence names copied from a Mac, .ods files, findings in --json when a run stops early)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import unicodedata
import zipfile
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import httpx
import openpyxl
import pytest
from typer.testing import CliRunner

from importer.cli import app
from importer.library import batch_statement_problems, order_batch
from importer.online import check_against_project, check_statement
from importer.units import UnitError, canonical_unit
from importer.workbook.annotate import annotate_workbook
from importer.workbook.reader import WorkbookUnreadable, read_workbook
from importer.workbook.validate import validate_workbook

from fakes import context, workbook
from workbooks import row, write

# -- units -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written,canonical",
    [
        ("tonnes", "t"),
        ("Tonne", "t"),
        ("metric ton", "t"),
        ("litres", "L"),
        ("l", "L"),
        ("m³", "m3"),
        ("m^3", "m3"),
        ("kwh", "kWh"),
        ("kg CO2e / tonne / km", "kgCO2e/t/km"),
        ("percent", "%"),
        ("1", "dimensionless"),
        ("t", "t"),
        ("kgCO2e/kWh", "kgCO2e/kWh"),
    ],
)
def test_accepted_spellings_have_one_canonical_form(written: str, canonical: str) -> None:
    assert canonical_unit(written).canonical == canonical


def test_every_listed_spelling_is_one_pint_parses() -> None:
    """canonical_unit() skips pint for listed spellings (pint loads only for composed units): that is safe only
    while pint parses every one of them."""
    from importer.units import CANONICAL, parse_unit

    for canonical in CANONICAL:
        parse_unit(canonical)  # raises UnitError otherwise


# a Btu as ISO 31-4 (and pint) define it: 1055.056 J
@pytest.mark.parametrize(
    "source,target,factor",
    [
        ("t", "kg", 1000.0),
        ("kWh", "J", 3.6e6),
        ("L", "m3", 0.001),
        ("%", "dimensionless", 0.01),
        ("short_ton", "kg", 907.18474),
        ("kilotonne", "t", 1000.0),
        ("MMBtu", "GJ", 1.055056),
        ("tCO2e", "kgCO2e", 1000.0),
        ("m2", "ha", 1e-4),
    ],
)
def test_listed_spellings_convert_by_the_published_factors(source: str, target: str, factor: float) -> None:
    from importer.units import conversion_factor

    assert conversion_factor(source, target) == pytest.approx(factor, rel=1e-9)


def test_every_accepted_composition_is_one_pint_parses() -> None:
    """canonical_unit() decides without pint: each accepted product or quotient of two listed units, and each
    power form, must be a unit pint then reads (asked of pint's registry directly, not through our checks)."""
    import itertools

    from importer.units import CANONICAL, DIMENSIONLESS, PERCENT, _pint_text, registry

    atoms = [a for a in CANONICAL if a not in (PERCENT, DIMENSIONLESS)]
    written = [f"{a}{op}{b}" for a, b in itertools.product(atoms, atoms) for op in "/*"]
    written += [f"{a}{power}" for a in atoms for power in ("2", "3", "^2", "^3", "^-2", "^-3", "**2", "**-3")]
    accepted = 0
    for text in written:
        try:
            canonical = canonical_unit(text).canonical
        except UnitError:
            continue
        accepted += 1
        registry().parse_units(_pint_text(canonical))  # raises if pint cannot read it
    assert accepted > 2 * len(atoms) ** 2  # every composition of two, and some powers


@pytest.mark.parametrize(
    "written,canonical",
    [("s^-2", "s^-2"), ("kg^-3", "kg^-3"), ("km^2", "km2"), ("cm^3", "cm3"), ("kg CO2e / MMBtu", "kgCO2e/MMBtu")],
)
def test_power_forms_pint_reads_are_accepted(written: str, canonical: str) -> None:
    assert canonical_unit(written).canonical == canonical


@pytest.mark.parametrize("written", ["kg^2", "kWh/kg2", "kg*%", "mi^2", "m3^-2", "%^2"])
def test_composed_units_pint_cannot_read_are_refused(written: str) -> None:
    with pytest.raises(UnitError):
        canonical_unit(written)


def test_threads_converting_at_once_share_one_unit_registry() -> None:
    """The registry is built lazily; eight threads converting at once must not build two (pint refuses to
    convert between units of different registries)."""
    import subprocess
    import sys

    code = (
        "import threading; from importer import units\n"
        "got = []\n"
        "def convert():\n"
        "    got.append((units.registry(), units.conversion_factor('kgCO2e/t', 'kgCO2e/kg')))\n"
        "threads = [threading.Thread(target=convert) for _ in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(len({id(r) for r, _ in got}), sorted({f for _, f in got}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["1", "[0.001]"]


def _loaded_while_validating(workbook: Path) -> tuple[list[str], list[str]]:
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from importer.workbook.validate import validate_workbook; "
        "r = validate_workbook(Path(sys.argv[1])); print(sorted({f.code for f in r.errors()})); "
        "print([m for m in ('pint', 'pandas', 'pandera') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code, str(workbook)], capture_output=True, text=True, check=True)
    errors, loaded = done.stdout.splitlines()
    return eval(errors), eval(loaded)  # noqa: S307 - two printed lists of strings


def test_validating_a_clean_workbook_loads_neither_pint_nor_pandera() -> None:
    """Accepting units needs no pint (composed ones included: the sample has kgCO2e/L), and a sheet whose columns
    certainly keep every schema rule needs no pandera."""
    sample = Path(__file__).resolve().parents[1] / "sample_workbooks" / "biochar-2026-10.xlsx"
    assert _loaded_while_validating(sample) == ([], [])


def test_a_sheet_breaking_a_schema_rule_is_judged_by_pandera(tmp_path: Path) -> None:
    def long_name(sheets: Any, project: Any) -> None:
        sheets["datapoints"][0]["display_name"] = "x" * 101

    errors, loaded = _loaded_while_validating(write(tmp_path, long_name))
    assert "too_long" in errors and {"pandas", "pandera"} <= set(loaded)


@pytest.mark.parametrize("written", ["mt", "MT", "Mt", "ton", "tons", "Tons", "kt", "T", "pct", "gal", "kgCO2e/ton"])
def test_ambiguous_spellings_are_refused_with_a_suggestion(written: str) -> None:
    with pytest.raises(UnitError) as caught:
        canonical_unit(written)
    assert caught.value.code == "ambiguous_unit" and "write" in caught.value.message


def test_unit_cells_are_refused_or_rewritten_and_the_rewrite_is_noted(tmp_path: Path) -> None:
    def mutate(sheets: Any, project: Any) -> None:
        row(sheets, "datapoints", "feedstock-delivered-t")["unit"] = "tons"
        row(sheets, "datapoints", "biochar-mass-t")["unit"] = "tonnes"

    result = validate_workbook(write(tmp_path, mutate))
    assert [(f.code, f.location) for f in result.errors()] == [("ambiguous_unit", "datapoints!F3")]
    notes = [(f.code, f.location, f.value) for f in result.notes()]
    assert ("unit_rewritten", "datapoints!F8", "tonnes -> t") in notes


def test_unit_that_cannot_feed_its_input_is_an_error_at_the_unit_cell(tmp_path: Path) -> None:
    wb = workbook(tmp_path)
    wb.datapoints[1] = dataclasses.replace(wb.datapoints[1], unit="kWh")  # mass in kWh
    found = [(f.code, f.sheet, f.cell) for f in check_against_project(wb, context())]
    assert ("unit_incompatible", "datapoints", "F3") in found  # the datapoint's own unit cell
    assert ("unit_incompatible", "entry_inputs", "D3") in found
    at_unit = next(f for f in check_against_project(wb, context()) if f.sheet == "datapoints")
    assert "entry_inputs row 3" in at_unit.message


# -- formulas, dates, lists --------------------------------------------------------------------------------


def test_libreoffice_saved_formula_without_result_gets_libreoffice_advice(tmp_path: Path) -> None:
    path = write(tmp_path)
    book = openpyxl.load_workbook(path)
    book["datapoints"]["E8"] = "=E7*2"
    book.save(path)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "lo.xlsx", "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/app.xml":
                data = data.replace(b"Microsoft Excel Compatible / Openpyxl", b"LibreOffice/7.4.7.2$Linux_X86_64")
            dst.writestr(item, data)
    result = validate_workbook(tmp_path / "lo.xlsx")
    finding = next(f for f in result.errors() if f.code == "formula_without_value")
    assert finding.location == "datapoints!E8" and "Recalculate Hard" in finding.message
    openpyxl_made = next(f for f in validate_workbook(path).errors() if f.code == "formula_without_value")
    assert "does not calculate formulas" in openpyxl_made.message


@pytest.mark.parametrize(
    "typed,phrase", [(2026, "looks like a year"), (15, "looks like a day"), ("1899-05-01", "before 1900")]
)
def test_implausible_dates_are_refused_with_what_was_typed(tmp_path: Path, typed: Any, phrase: str) -> None:
    path = write(tmp_path)
    book = openpyxl.load_workbook(path)
    book["entries"]["C2"] = typed
    book.save(path)
    errors = validate_workbook(path).errors()
    assert [(f.code, f.location) for f in errors] == [("bad_date", "entries!C2")]
    assert phrase in errors[0].message and "00:00:00" not in errors[0].message


# -- statement sanity --------------------------------------------------------------------------------------


def _statement(start: dt.date, end: dt.date) -> NS:
    return NS(reporting_period_start_at=start, reporting_period_end_at=end)


def test_statement_end_before_every_entry_and_before_the_inferred_start(tmp_path: Path) -> None:
    wb = workbook(tmp_path)
    wb.project_rows["statement_end_on"] = 3
    wb.project = dataclasses.replace(wb.project, statement_end_on=dt.date(2026, 10, 10))
    earlier = [_statement(dt.date(2026, 9, 1), dt.date(2026, 10, 12))]
    found = {(f.severity, f.code, f.sheet, f.cell) for f in check_statement(wb, earlier)}
    assert ("error", "statement_before_entries", "project", "B3") in found  # batch-1 completes 2026-10-15
    assert ("error", "statement_before_start", "project", "B3") in found  # starts 2026-10-13
    assert ("warning", "entry_after_statement", "entries", "D2") in found


def test_months_without_any_entry_are_named(tmp_path: Path) -> None:
    wb = workbook(tmp_path)
    wb.project = dataclasses.replace(wb.project, statement_end_on=dt.date(2026, 10, 31))
    previous = [_statement(dt.date(2026, 1, 1), dt.date(2026, 7, 31))]
    warning = next(f for f in check_statement(wb, previous) if f.code == "statement_empty_months")
    assert "August 2026, September 2026" in warning.message and "October" not in warning.message
    registry = [dt.date(2026, 8, 20), dt.date(2026, 9, 3)]  # entries of the project already in the registry
    assert not [f for f in check_statement(wb, previous, registry) if f.code == "statement_empty_months"]


# -- batches of months -------------------------------------------------------------------------------------


def _month(folder: Path, name: str, end: dt.date, completed: dt.date) -> Path:
    def mutate(sheets: Any, project: Any) -> None:
        project["statement_end_on"] = end
        project["supplier_reference_prefix"] = f"batch-{name}"
        for entry in sheets["entries"]:
            entry["started_on"] = completed.replace(day=1)
            entry["completed_on"] = completed

    return write(folder, mutate, name=f"{name}.xlsx")


def test_batch_is_ordered_by_statement_period_and_refused_on_overlap_or_gap(tmp_path: Path) -> None:
    november = _month(tmp_path, "november", dt.date(2026, 11, 30), dt.date(2026, 11, 20))
    october = _month(tmp_path, "october", dt.date(2026, 10, 31), dt.date(2026, 10, 20))
    ordered = order_batch([validate_workbook(november), validate_workbook(october)])
    assert [r.path.name for r in ordered] == ["october.xlsx", "november.xlsx"]
    assert batch_statement_problems(ordered) == []

    january = _month(tmp_path, "january", dt.date(2027, 1, 31), dt.date(2027, 1, 20))
    gap = order_batch([validate_workbook(january), validate_workbook(october)])
    problems = batch_statement_problems(gap)
    assert len(problems) == 1 and "November 2026, December 2026" in problems[0]

    late = _month(tmp_path / "late", "late", dt.date(2026, 11, 30), dt.date(2026, 10, 25))
    overlap = batch_statement_problems(order_batch([validate_workbook(late), validate_workbook(october)]))
    assert any("inside the period of october.xlsx" in p for p in overlap)


def test_batch_refusal_sends_nothing_and_says_why_in_json(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOMETRIC_API_URL", sandbox.base_url)
    monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", sandbox.client_secret)
    monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", sandbox.access_token)
    folder = tmp_path / "batch"  # not tmp_path itself: the sandbox's database lies there, and would be refused
    _month(folder, "october", dt.date(2026, 10, 31), dt.date(2026, 10, 20))
    _month(folder, "january", dt.date(2027, 1, 31), dt.date(2027, 1, 20))
    outcome = CliRunner().invoke(app, ["run", str(folder), "--json", "--quiet"])
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    payload = json.loads(outcome.stdout)
    assert payload["ok"] is False and "gap" in payload["stopped"] and "November 2026" in payload["problems"][0]
    headers = {"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"}
    for collection in ("sources", "datapoints", "ghg_entries", "ghg_statements"):
        listed = httpx.get(f"{sandbox.base_url}/{collection}", headers=headers, params={"first": 50}).json()
        assert [n for n in listed["nodes"] if "batch-" in (n.get("supplier_reference_id") or "")] == []
        assert collection != "ghg_statements" or listed["nodes"] == []


def test_run_json_carries_the_findings_when_it_stops_before_planning(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOMETRIC_API_URL", sandbox.base_url)
    monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", sandbox.client_secret)
    monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", sandbox.access_token)
    path = write(tmp_path, lambda s, p: row(s, "entries", "batch-2026-10-a").update(template="No such template"))
    outcome = CliRunner().invoke(app, ["plan", str(path), "--json", "--quiet"])
    assert outcome.exit_code == 1
    payload = json.loads(outcome.stdout)
    stopped = payload["workbooks"][0]
    assert stopped["stopped"] and [(e["code"], e["sheet"], e["cell"]) for e in stopped["errors"]] == [
        ("unknown_template", "entries", "B2")
    ]


# -- the smaller ones --------------------------------------------------------------------------------------


def test_annotated_copy_finds_sheets_by_the_validators_rule(tmp_path: Path) -> None:
    path = write(tmp_path)
    book = openpyxl.load_workbook(path)
    book["entry_inputs"]["D4"] = "kwh-period-1, kwh-period-2, kwh-period-3, kwh-period-1"
    book["entry_inputs"].title = "Entry  inputs"
    book.save(path)
    result = validate_workbook(path)
    assert [(f.code, f.location) for f in result.errors()] == [("duplicate_list_datapoint", "entry_inputs!D4")]
    marked = openpyxl.load_workbook(annotate_workbook(path, result.findings, tmp_path / "marked.xlsx"))
    cell = marked["Entry  inputs"]["D4"]
    assert cell.fill.fgColor.rgb.endswith("FFC7CE") and "more than once" in cell.comment.text


def test_missing_evidence_hints_at_a_case_or_unicode_twin(tmp_path: Path) -> None:
    path = write(tmp_path)
    evidence = tmp_path / "evidence"
    (evidence / "weighbridge-2026-10.pdf").rename(evidence / "Weighbridge-2026-10.pdf")
    decomposed = unicodedata.normalize("NFD", "lab-certificate-Bé.txt")
    shutil.move(evidence / "lab-certificate-B2610.txt", evidence / decomposed)
    book = openpyxl.load_workbook(path)
    files = {r[0].value: r[2] for r in book["sources"].iter_rows(min_row=2) if r[0].value}
    files["lab-certificate"].value = "evidence/" + unicodedata.normalize("NFC", "lab-certificate-Bé.txt")
    book.save(path)
    errors = {f.location: f.message for f in validate_workbook(path).errors()}
    assert "'evidence/Weighbridge-2026-10.pdf'" in errors["sources!C2"] and "letter case" in errors["sources!C2"]
    assert "accented letters" in errors["sources!C4"]


def test_an_ods_file_is_named_as_opendocument(tmp_path: Path) -> None:
    ods = tmp_path / "october.ods"
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(WorkbookUnreadable) as caught:
        read_workbook(ods)
    assert "OpenDocument" in caught.value.message and "save it as .xlsx" in caught.value.message


def test_the_templates_own_hidden_lists_sheet_does_not_warn(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOMETRIC_API_URL", sandbox.base_url)
    monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", sandbox.client_secret)
    monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", sandbox.access_token)
    out = tmp_path / "fill-me.xlsx"
    made = CliRunner().invoke(app, ["template", str(out), "--project-id", "prj_1SBXBIOCHAR00001"])
    assert made.exit_code == 0, made.output
    assert openpyxl.load_workbook(out)["_lists"].sheet_state == "hidden"
    codes = {f.code for f in validate_workbook(out).findings}
    assert not codes & {"hidden_sheet", "hidden_column", "hidden_row", "filtered_row", "unknown_sheet"}
