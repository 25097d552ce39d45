"""The HTML reports and the CSV: hostile cell text rendered inertly, self-contained files, figures present."""

from __future__ import annotations

import csv
import re

import pytest

from importer.report.csv_export import neutralise_csv_cell, write_failed_csv
from importer.report.run_html import write_batch_report, write_run_report
from importer.report.validation_html import write_validation_report

from report_fixtures import FORMULA, SCRIPT, hostile_result


def test_run_report_escapes_hostile_text_and_is_self_contained(tmp_path):
    html = write_run_report(hostile_result(), tmp_path / "r.html").read_text()
    assert SCRIPT not in html and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert 'onerror="window' not in html and "&#34;&gt;&lt;img src=x onerror=" in html
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert urls == {"http://127.0.0.1:8765/mrv/v0"}  # the API URL as text; nothing is loaded from anywhere
    assert "<link" not in html and 'src="http' not in html
    assert "Content-Security-Policy" in html
    assert "REHEARSAL against the local sandbox" in html
    for figure in ("6,532.4", "-183.8", "6,348.6"):
        assert figure in html
    for ident in ("rmv_1AAAAAAAAAAAAAAA", "ggs_1AAAAAAAAAAAAAAA", "dtp_1SBXFIXEDPERMAN01", "ab" * 32, "cd" * 32):
        assert ident in html


def test_no_rehearsal_banner_for_a_real_api(tmp_path):
    html = write_run_report(hostile_result(embedded=False), tmp_path / "r.html").read_text()
    assert "REHEARSAL" not in html


def test_batch_report_has_a_section_per_workbook_and_grand_totals(tmp_path):
    html = write_batch_report([hostile_result(), hostile_result()], tmp_path / "b.html").read_text()
    assert "Grand totals (2 workbooks)" in html
    assert html.count('class="workbook"') == 2


def test_failed_rows_csv_neutralises_formulas(tmp_path):
    path = write_failed_csv(hostile_result(), tmp_path / "failed.csv")
    rows = list(csv.DictReader(path.open()))
    assert {r["status"] for r in rows} == {"failed", "blocked", "conflict"}
    refs = {r["ref"] for r in rows}
    assert "'" + FORMULA in refs and FORMULA not in refs
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert neutralise_csv_cell("-1+2") == "'-1+2" and neutralise_csv_cell("plain") == "plain"


def test_validation_report_escapes_cell_values(tmp_path):
    from pathlib import Path

    from importer.findings import Finding
    from importer.workbook.validate import ValidationResult

    result = ValidationResult(
        path=Path("/data/wb.xlsx"),
        sha256="ef" * 32,
        counts={"datapoints": 3},
        findings=[
            Finding(
                "error", "bad_unit", "unknown unit", sheet="datapoints", row=7, column="unit", cell="F7", value=SCRIPT
            ),
            Finding("warning", "unused", "not used", sheet="sources", row=2, column="ref", cell="A2"),
        ],
        workbook=None,
    )
    html = write_validation_report(result, tmp_path / "v.html").read_text()
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert "datapoints!F7" in html and "sources!A2" in html and "ef" * 32 in html


@pytest.mark.parametrize("with_separator", [False, True], ids=["joined", "value-by-value"])
def test_validation_report_rows_are_escaped_and_redacted_value_by_value(tmp_path, with_separator):
    """The rows of a group are escaped as one text (importer.report.validation_html._rows_html): the table must
    read exactly as if each value had been escaped and redacted on its own, also for a value holding one of the
    separators, and a secret holding HTML-special characters must not survive as its escaped form."""
    import html as stdlib_html
    from pathlib import Path

    from importer.findings import Finding
    from importer.redaction import MASK, register_secret
    from importer.workbook.validate import ValidationResult

    secret = "s3cr&t<key>-rows-test"
    register_secret(secret)
    values = [SCRIPT, 'a "quoted" & <tagged> value', f"holds {secret} inside", "tab\there", "plain"]
    if with_separator:
        values.append("nul\x00and\x01soh")
    findings = [
        Finding(
            "error",
            "bad_unit",
            f"unit {v!r} unknown, seen in row {n}",
            sheet="datapoints",
            row=n,
            column="unit",
            cell=f"F{n}",
            value=v,
        )
        for n, v in enumerate(values, 2)
    ]
    result = ValidationResult(
        path=Path("/data/wb.xlsx"),
        sha256="ab" * 32,
        counts={"datapoints": len(values)},
        findings=findings,
        workbook=None,
    )
    page = write_validation_report(result, tmp_path / "v.html").read_text()
    body = page[page.index("<tbody>", page.index('id="g-datapoints-bad_unit"')) :]
    body = body[len("<tbody>") : body.index("</tbody>")]
    cells = [row.split("<td>")[1:] for row in body.split("<tr>")[1:]]
    assert [c[0] for c in cells] == [f"datapoints!F{n}" for n in range(2, 2 + len(values))]
    shown = [stdlib_html.unescape(c[2]) for c in cells]
    assert shown == [v.replace(secret, MASK) for v in values]
    assert secret not in page and stdlib_html.escape(secret) not in page and SCRIPT not in page


def test_the_validation_report_never_calls_a_filled_cell_empty(tmp_path):
    """A date-order finding quotes the date the cell holds (#29: 'Found: (empty)' for a cell holding 2026-10-10);
    a finding about a cell that records no value never claims the cell was empty."""
    import datetime as dt

    from importer.report.validation_html import write_validation_report
    from importer.workbook.validate import validate_workbook

    from workbooks import write as write_book

    path = write_book(tmp_path, lambda s, p: s["entries"][1].update(completed_on=dt.date(2026, 10, 10)))
    result = validate_workbook(path)
    (found,) = [f for f in result.findings if f.code == "date_order"]
    assert found.value == "2026-10-10" and found.cell
    html = write_validation_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    row = html[html.index(f"{found.sheet}!{found.cell}") :][:400]
    assert "2026-10-10" in row and "(empty)" not in row
