"""Issue #2: each validation rule, located to its cell, one mutation of the clean sample at a time."""

from __future__ import annotations

import datetime as dt
import os

import openpyxl
import pytest

from importer.workbook.validate import validate_workbook

from workbooks import REPO, row, sample_data, write


def findings(path, severity="error"):
    result = validate_workbook(path)
    return [(f.code, f.sheet, f.cell) for f in result.findings if f.severity == severity], result


def only_error(tmp_path, mutate):
    found, result = findings(write(tmp_path, mutate))
    assert len(found) == 1, [f.message for f in result.errors()]
    return found[0], result.errors()[0]


def test_the_sample_is_clean_and_typed(tmp_path):
    result = validate_workbook(REPO / "sample_workbooks" / "biochar-2026-10.xlsx")
    assert result.ok and not result.warnings()
    wb = result.workbook
    # every sheet of the format counted: the sample's rows as build_samples writes them, 0 for a sheet it lacks; a
    # sheet a kind declares itself counts only when the workbook has it (whether the kinds are loaded changes nothing)
    from importer.workbook.spec import SHEETS

    sheets, _project = sample_data()
    counted = [s for s in SHEETS if not s.key_value and (s.row_type is None or s.name in sheets)]
    assert result.counts == {s.name: len(sheets.get(s.name, [])) for s in counted}
    dp = next(d for d in wb.datapoints if d.ref == "organic-carbon")
    assert (dp.magnitude, dp.unit, dp.standard_deviation, dp.source_refs) == (78.4, "%", 1.2, ("lab-certificate",))
    assert dp.measured_at == dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
    electricity = next(i for i in wb.entry_inputs if i.input_key == "electricity_used")
    assert electricity.datapoint_refs == ("kwh-period-1", "kwh-period-2", "kwh-period-3")
    assert wb.project.statement_end_on == dt.date(2026, 10, 31) and wb.project.submit_statement is False
    assert wb.columns["datapoints"]["magnitude"] == 5 and wb.cell("datapoints", 7, "unit") == "F7"
    source = wb.sources[0]
    assert source.content_type == "application/pdf" and len(source.sha256) == 64 and source.content_length > 100


@pytest.mark.parametrize(
    "case,mutate,expected,phrase",
    [
        (
            "required cell",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(description=None),
            ("required", "datapoints", "C8"),
            "description is required",
        ),
        (
            "enum",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(type="MEASURED"),
            ("bad_choice", "datapoints", "D8"),
            "is not one of",
        ),
        (
            "100 characters",
            lambda s, p: row(s, "sources", "weighbridge").update(display_name="x" * 101),
            ("too_long", "sources", "B2"),
            "at most 100",
        ),
        (
            "negative standard deviation",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(standard_deviation=-1),
            ("out_of_range", "datapoints", "G8"),
            "at least 0",
        ),
        (
            "attribution factor 0",
            lambda s, p: s["components"][0].update(attribution_factor=0),
            ("out_of_range", "components", "J2"),
            "greater than 0",
        ),
        (
            "text number with comma decimal",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(magnitude="4,21"),
            ("bad_number", "datapoints", "E8"),
            "decimal mark",
        ),
        (
            "ambiguous grouping",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(magnitude="1,234"),
            ("bad_number", "datapoints", "E8"),
            "comma",
        ),
        (
            "not a number",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(magnitude="about four"),
            ("bad_number", "datapoints", "E8"),
            "expected a number",
        ),
        (
            "infinity",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(magnitude="inf"),
            ("bad_number", "datapoints", "E8"),
            "number",
        ),
        (
            "impossible date",
            lambda s, p: s["entries"][0].update(started_on="2026-02-30"),
            ("bad_date", "entries", "C2"),
            "not a real date",
        ),
        (
            "text date",
            lambda s, p: s["entries"][0].update(started_on="31/10/2026"),
            ("bad_date", "entries", "C2"),
            "YYYY-MM-DD",
        ),
        (
            "date order",
            lambda s, p: s["entries"][1].update(completed_on=dt.date(2026, 10, 1)),
            ("date_order", "entries", "D3"),
            "before started_on",
        ),
        (
            "unknown unit",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(unit="tonnes metric"),
            ("bad_unit", "datapoints", "F8"),
            "unknown unit",
        ),
        (
            "unknown ref",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(source_refs="weighbridg"),
            ("unknown_ref", "datapoints", "I8"),
            "did you mean 'weighbridge'",
        ),
        (
            "ref of another sheet",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(source_refs="delivery-km"),
            ("wrong_sheet_ref", "datapoints", "I8"),
            "row of the datapoints sheet",
        ),
        (
            "ID of the wrong kind",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(source_refs="dtp_1AAAAAAAAAAAAAAA"),
            ("wrong_id_kind", "datapoints", "I8"),
            "datapoint ID",
        ),
        (
            "malformed ID",
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(source_refs="src_short"),
            ("bad_id", "datapoints", "I8"),
            "not a well-formed",
        ),
        ("project ID", lambda s, p: p.update(project_id="proj-1"), ("bad_id", "project", "B2"), "not a project ID"),
        (
            "submit without URL",
            lambda s, p: p.update(submit_statement=True),
            ("required", "project", "B4"),
            "ghg_statement_report_url is required",
        ),
        (
            "add without group",
            lambda s, p: s["components"][0].update(group=None),
            ("required", "components", "I2"),
            "group is required",
        ),
    ],
)
def test_rule(tmp_path, case, mutate, expected, phrase):
    found, finding = only_error(tmp_path, mutate)
    assert found == expected, (case, finding.message)
    assert phrase in finding.message, finding.message


def test_an_existing_id_of_the_right_kind_is_accepted(tmp_path):
    path = write(
        tmp_path,
        lambda s, p: row(s, "datapoints", "biochar-mass-t").update(source_refs="weighbridge, src_1EBBF4M7X1S06G1Y"),
    )
    result = validate_workbook(path)
    assert result.ok
    assert next(d for d in result.workbook.datapoints if d.ref == "biochar-mass-t").source_refs == (
        "weighbridge",
        "src_1EBBF4M7X1S06G1Y",
    )


def test_duplicate_supplier_reference_ids_across_sheets(tmp_path):
    def mutate(s, p):
        row(s, "sources", "weighbridge")["supplier_reference_id"] = "same-key"
        row(s, "datapoints", "biochar-mass-t")["supplier_reference_id"] = "same-key"

    found, result = findings(write(tmp_path, mutate))
    assert found == [("duplicate_supplier_reference_id", "datapoints", "K8")]
    assert "sources row 2" in result.errors()[0].message


@pytest.mark.parametrize("typed_rows", [True, False])
def test_the_findings_do_not_depend_on_typed_rows(tmp_path, typed_rows):
    """The `validate` command asks for no typed rows; given supplier_reference_ids are still compared, and the
    findings are those of a validation that builds the rows."""

    def mutate(s, p):
        row(s, "sources", "weighbridge")["supplier_reference_id"] = "same-key"
        row(s, "datapoints", "biochar-mass-t")["supplier_reference_id"] = "same-key"

    broken = write(tmp_path / "broken", mutate)
    clean = REPO / "sample_workbooks" / "biochar-2026-10.xlsx"
    for path in (broken, clean, REPO / "sample_workbooks" / "biochar-2026-10-broken.xlsx"):
        result = validate_workbook(path, typed_rows=typed_rows)
        assert result.findings == validate_workbook(path).findings
        assert (result.workbook is not None) == (typed_rows and result.ok)
    assert [f.cell for f in validate_workbook(broken, typed_rows=typed_rows).errors()] == ["K8"]


def test_a_given_supplier_reference_id_equal_to_another_rows_derived_one_is_refused(tmp_path):
    """One row gives its own ID and it is exactly what another row's derived ID is (`<prefix>:<sheet>:<ref>`,
    spelled out here by hand): the two objects would be one in Isometric."""

    def mutate(s, p):
        prefix = p.get("supplier_reference_prefix") or p["project_id"]
        row(s, "entries", next(r["ref"] for r in s["entries"]))["supplier_reference_id"] = (
            f"{prefix}:datapoints:biochar-mass-t"
        )

    found, _ = findings(write(tmp_path, mutate))
    assert [code for code, _, _ in found] == ["duplicate_supplier_reference_id"]


def test_unused_rows_are_warnings(tmp_path):
    def mutate(s, p):
        s["datapoints"].append(
            {
                "ref": "spare",
                "display_name": "Spare",
                "description": "unused",
                "type": "REPORTED",
                "magnitude": 1,
                "unit": "t",
                "source_refs": None,
            }
        )
        s["sources"].append(
            {
                "ref": "spare-doc",
                "display_name": "Spare doc",
                "file": "evidence/weighbridge-2026-10.pdf",
                "published_at": dt.date(2026, 10, 1),
            }
        )

    errors, result = findings(write(tmp_path, mutate))
    assert errors == []
    assert sorted(f.location for f in result.warnings()) == ["datapoints!A15", "sources!A7"]


def test_headers_are_matched_loosely_and_unknown_columns_warned(tmp_path):
    path = write(tmp_path)
    book = openpyxl.load_workbook(path)
    ws = book["datapoints"]
    ws["B1"] = "  Display Name "
    ws["E1"] = "MAGNITUDE"
    ws.cell(row=1, column=20, value="notes")
    ws.insert_rows(6)  # a blank row in the middle
    book["entry_inputs"].title = "Entry Inputs"
    book.save(path)
    result = validate_workbook(path)
    assert result.ok, [f.message for f in result.errors()]
    assert [(f.code, f.cell) for f in result.warnings()] == [("unknown_column", "T1")]
    assert result.counts["datapoints"] == 13
    assert next(d for d in result.workbook.datapoints if d.ref == "biochar-mass-t").row == 9


def test_missing_sheet_missing_column_and_duplicate_header(tmp_path):
    path = write(tmp_path)
    book = openpyxl.load_workbook(path)
    del book["entries"]
    book["datapoints"]["F1"] = "magnitude"  # unit header replaced by a second magnitude
    book.save(path)
    result = validate_workbook(path)
    codes = {(f.code, f.sheet, f.cell) for f in result.errors()}
    assert ("missing_sheet", "entries", None) in codes
    assert ("duplicate_header", "datapoints", "F1") in codes
    assert any(f.code == "missing_column" and "'unit'" in f.message for f in result.errors())


def test_dates_as_excel_dates_serials_and_text(tmp_path):
    def mutate(s, p):
        s["entries"][0]["started_on"] = 46296  # Excel serial of 2026-10-01
        s["entries"][0]["completed_on"] = "2026-10-15"
        row(s, "datapoints", "biochar-mass-t")["measured_at"] = "2026-10-09T14:30:00+02:00"

    result = validate_workbook(write(tmp_path, mutate))
    assert result.ok, [f.message for f in result.errors()]
    entry = result.workbook.entries[0]
    assert (entry.started_on, entry.completed_on) == (dt.date(2026, 10, 1), dt.date(2026, 10, 15))
    dp = next(d for d in result.workbook.datapoints if d.ref == "biochar-mass-t")
    assert dp.measured_at == dt.datetime(2026, 10, 9, 12, 30, tzinfo=dt.UTC)


def test_numbers_stored_as_text_are_accepted(tmp_path):
    result = validate_workbook(
        write(
            tmp_path,
            lambda s, p: row(s, "datapoints", "biochar-mass-t").update(magnitude=" 4.21 ", standard_deviation="0.05"),
        )
    )
    assert result.ok
    assert next(d for d in result.workbook.datapoints if d.ref == "biochar-mass-t").magnitude == 4.21


@pytest.mark.parametrize(
    "written,phrase",
    [
        ("evidence/nope.pdf", "not found"),
        ("../outside.pdf", "leaves the workbook's folder"),
        ("/etc/passwd", "absolute path"),
        ("evidence/notes.exe", "not accepted"),
        ("evidence/fake.pdf", "does not hold what its extension"),
        ("evidence/empty.txt", "empty"),
        ("evidence/link.pdf", "outside the workbook's folder"),
    ],
)
def test_evidence_file_rules(tmp_path, written, phrase):
    folder = tmp_path / "wb"
    path = write(folder, lambda s, p: row(s, "sources", "weighbridge").update(file=written))
    (folder / "evidence" / "notes.exe").write_bytes(b"MZ")
    (folder / "evidence" / "fake.pdf").write_text("not a pdf")
    (folder / "evidence" / "empty.txt").write_bytes(b"")
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.4 outside")
    os.symlink(tmp_path / "secret.pdf", folder / "evidence" / "link.pdf")
    found, result = findings(path)
    assert found == [("bad_file", "sources", "C2")]
    assert phrase in result.errors()[0].message


def test_evidence_size_limit(tmp_path, monkeypatch):
    import importer.workbook.evidence as evidence

    monkeypatch.setattr(evidence, "MAX_SOURCE_BYTES", 100)
    found, result = findings(write(tmp_path))
    assert ("bad_file", "sources", "C2") in found
    assert "at most 100" in result.errors()[0].message


def test_duplicate_refs_flag_every_copy(tmp_path):
    found, result = findings(write(tmp_path, lambda s, p: row(s, "sources", "fuel-receipt").update(ref="weighbridge")))
    duplicates = [f for f in result.errors() if f.code == "duplicate_ref"]
    assert [(f.cell, f.value) for f in duplicates] == [("A2", "weighbridge"), ("A5", "weighbridge")]
    assert "also on row 5" in duplicates[0].message


def test_a_remove_component_needs_its_template_component_and_takes_no_inputs(tmp_path):
    found, result = findings(write(tmp_path, lambda s, p: s["components"][0].update(action="remove")))
    assert found == [
        ("required", "components", "K2"),
        ("bad_ref", "component_inputs", "A2"),
        ("bad_ref", "component_inputs", "A3"),
    ]
    assert "template_component is required for action 'remove'" in result.errors()[0].message


def test_an_optional_sheet_with_only_its_header_is_empty_not_an_error(tmp_path):
    def mutate(s, p):
        s["feedstock_types"] = []
        s["entries"][0]["feedstock_type"] = None
        s["production_batches"][0]["feedstock_types"] = "ftt_1SBXSAWMILLOFF01"  # by ID: the sheet is empty

    result = validate_workbook(write(tmp_path, mutate))
    assert result.ok, [f.message for f in result.errors()]
    assert result.counts["feedstock_types"] == 0 and result.workbook.feedstock_types == []


def test_a_schema_check_that_cannot_run_is_an_error_not_silence(tmp_path, monkeypatch):
    """pandera reports a check that raised as a failure without a row; it once vanished (the date-order check
    raised under pandas 3 on a sheet without dates). The sheet is then not known to be valid: an error says so."""
    import pandera.pandas as pa

    from importer.workbook import schemas

    real = schemas.schema_for

    def raising(df):
        raise RuntimeError("cannot compare")

    def schema_for(name):
        schema = real(name)
        if name != "entries":
            return schema
        return pa.DataFrameSchema(
            schema.columns, checks=[pa.Check(raising, name="order:started_on:completed_on")], strict=False, name=name
        )

    monkeypatch.setattr(schemas, "schema_for", schema_for)
    monkeypatch.setattr(schemas, "certainly_passes", lambda sheet, records: False)  # pandera always asked
    found, result = findings(write(tmp_path))
    assert found == [("check_failed", "entries", None)]
    assert "cannot compare" in result.errors()[0].message and not result.ok
