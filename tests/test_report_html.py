"""The HTML reports and the CSV: hostile cell text rendered inertly, self-contained files, figures present."""

from __future__ import annotations

import csv
import re

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
    assert "<link" not in html and "src=\"http" not in html
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
        path=Path("/data/wb.xlsx"), sha256="ef" * 32, counts={"datapoints": 3},
        findings=[Finding("error", "bad_unit", "unknown unit", sheet="datapoints", row=7, column="unit", cell="F7",
                          value=SCRIPT),
                  Finding("warning", "unused", "not used", sheet="sources", row=2, column="ref", cell="A2")],
        workbook=None)
    html = write_validation_report(result, tmp_path / "v.html").read_text()
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert "datapoints!F7" in html and "sources!A2" in html and "ef" * 32 in html
