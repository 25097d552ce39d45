"""The `validate` command: JSON contract, exit codes, HTML report, annotated copy; the LibreOffice workbook; the
format documentation covering every column of the spec."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import openpyxl

from importer.workbook import spec

from workbooks import REPO, row, write


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importer.launcher", "validate", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_json_contract_and_exit_codes(tmp_path):
    ok = run(str(REPO / "sample_workbooks" / "biochar-2026-10.xlsx"), "--json")
    assert ok.returncode == 0
    data = json.loads(ok.stdout)
    assert set(data) >= {"ok", "workbook", "errors", "warnings", "counts"} and data["ok"] is True
    broken = run(str(REPO / "sample_workbooks" / "biochar-2026-10-broken.xlsx"), "--json")
    assert broken.returncode == 1
    data = json.loads(broken.stdout)
    assert data["ok"] is False and data["errors"]
    for finding in data["errors"]:
        assert set(finding) == {"sheet", "row", "column", "cell", "code", "message", "value"}
    unit = next(e for e in data["errors"] if e["code"] == "bad_unit")
    assert (unit["sheet"], unit["row"], unit["column"], unit["cell"], unit["value"]) == (
        "datapoints",
        3,
        "unit",
        "F3",
        "tonnes metric",
    )
    assert run(str(tmp_path / "missing.xlsx")).returncode == 2
    assert (
        subprocess.run(
            [sys.executable, "-m", "importer.launcher", "validate"], cwd=REPO, capture_output=True, text=True
        ).returncode
        == 2
    )


def test_human_output_lists_cells_errors_first(tmp_path):
    out = run(str(REPO / "sample_workbooks" / "biochar-2026-10-broken.xlsx"))
    assert out.returncode == 1
    assert "datapoints!F3" in out.stdout and "did you mean 'meter-readings'" in out.stdout
    assert "Nothing was sent" in out.stdout


def test_report_and_annotated_copy(tmp_path):
    path = write(
        tmp_path,
        lambda s, p: (
            row(s, "datapoints", "biochar-mass-t").update(unit="<script>alert(1)</script>"),
            s["datapoints"].append(
                {
                    "ref": "spare",
                    "display_name": "Spare",
                    "description": "unused",
                    "type": "REPORTED",
                    "magnitude": 1,
                    "unit": "t",
                }
            ),
        ),
    )
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    report, marked = tmp_path / "report.html", tmp_path / "marked.xlsx"
    result = run(str(path), "--report", str(report), "--annotate", str(marked))
    assert result.returncode == 1
    html = report.read_text()
    assert "datapoints!F8" in html and hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert before in html  # the workbook's SHA-256 is stamped
    book = openpyxl.load_workbook(marked)
    error_cell = book["datapoints"]["F8"]
    assert error_cell.fill.fgColor.rgb.endswith("FFC7CE") and "unknown unit" in error_cell.comment.text
    warning_cell = book["datapoints"]["A15"]
    assert warning_cell.fill.fgColor.rgb.endswith("FFEB9C") and "not used" in warning_cell.comment.text
    assert book["datapoints"]["B8"].comment is None
    # a first sheet lists every finding, linked to its cell; the copy opens on it; the failing sheet's tab is red
    findings = json.loads(run(str(path), "--json").stdout)
    listed = findings["errors"] + findings["warnings"]
    problems = book.worksheets[0]
    assert problems.title == "Problems" and book.active.title == "Problems"
    rows = list(problems.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(listed) + len(findings.get("notes", []))
    first = problems["B2"]
    assert first.value == "datapoints!F8" and first.hyperlink.location == "'datapoints'!F8", first.hyperlink
    assert rows[0][3] == "<script>alert(1)</script>" and "unknown unit" in rows[0][4]  # found, and what to do
    assert book["datapoints"].sheet_properties.tabColor.rgb.endswith("C00000")
    assert book["sources"].sheet_properties.tabColor is None
    assert book["datapoints"].column_dimensions["F"].width >= len("<script>alert(1)</script>")


def test_a_workbook_saved_by_libreoffice_validates_like_the_sample():
    from importer.workbook.validate import validate_workbook

    original = validate_workbook(REPO / "sample_workbooks" / "biochar-2026-10.xlsx")
    converted = validate_workbook(REPO / "tests" / "fixtures" / "libreoffice" / "biochar-2026-10.xlsx")
    assert converted.ok and converted.counts == original.counts
    assert [d.magnitude for d in converted.workbook.datapoints] == [d.magnitude for d in original.workbook.datapoints]
    assert [e.started_on for e in converted.workbook.entries] == [e.started_on for e in original.workbook.entries]


def test_every_sheet_and_column_is_documented():
    import importer

    importer.register_kinds()  # the sheets kinds declare themselves are documented too
    doc = (REPO / "docs" / "workbook-format.md").read_text()
    for sheet in spec.SHEETS:
        assert f"## `{sheet.name}`" in doc
        for col in sheet.columns:
            assert f"| `{col.name}` |" in doc, (sheet.name, col.name)


def test_help_names_values_as_people_read_them_not_python_types():
    from typer.testing import CliRunner

    from importer.cli import app

    for command in ("run", "plan", "apply", "validate", "template", "rollback", "history", "sandbox"):
        shown = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "140"}).output
        assert "Usage" in shown
        assert not any(word in shown for word in ("<list[", "<bool>", "<str>", "<path>", "<int")), command


def test_offline_validation_says_what_it_did_not_check(tmp_path):
    """A misspelled template passes offline (nothing there knows the project's templates), but the report and the
    terminal say that check did not run, and what --online adds; never a tick for it (#29)."""
    path = write(tmp_path, lambda s, p: s["entries"][0].update(template="Monthly prodution batch"))
    report = tmp_path / "report.html"
    result = run(str(path), "--report", str(report))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not checked offline: templates" in result.stdout.lower() and "--online" in result.stdout
    html = report.read_text()
    assert "Templates, components, groups and inputs exist and are all bound (online): <em>not checked</em>" in html
    assert "✓</span> Templates" not in html
    data = json.loads(run(str(path), "--json").stdout)
    assert data["ok"] and data["online_checks"] == "not checked"
