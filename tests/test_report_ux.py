"""What auditors and operators read first: the run report's verdict, CO2e, problems by cause and changes; the
validation report at volume; the terminal summary; the progress reporters. No browser here (see
test_browser_report.py)."""

from __future__ import annotations

import io
import math
import re
import threading
import time
from pathlib import Path

from rich.console import Console

from importer.findings import Finding
from importer.output import print_result, print_validation, summary_lines
from importer.progress import LineProgress, QuietProgress, RichProgress
from importer.report import analysis
from importer.report.csv_export import failed_csv_path, write_failed_csv
from importer.report.run_html import write_run_report
from importer.report.validation_html import write_validation_report
from importer.results import BAD_STATUSES, ObjectOutcome
from importer.workbook.spec import SHEETS
from importer.workbook.validate import ValidationResult

from report_fixtures import big_result, clean_result, failures_result, hostile_result, updates_result


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_verdict_comes_first_with_this_imports_co2e_and_its_standard_deviation(tmp_path):
    result = clean_result()
    html = write_run_report(result, tmp_path / "r.html").read_text()
    verdict = html.index('class="verdict')
    assert verdict < html.index('id="filters"') and verdict < html.index('id="w1-entries"')
    assert "Import succeeded" in html
    total = 6532.4 + 5210.9 - 183.8
    sd = math.sqrt(412.0**2 + 365.5**2 + 21.3**2)
    text = _text(html)
    assert f"{total / 1000:,.2f} t CO2e" in text and f"± {sd / 1000:,.2f} t CO2e" in text
    assert "square root of the sum of squares" in text
    assert "Statement total: 18.94 t CO2e" in text and "of which this import: 11.56 t CO2e (61%)" in text
    assert "2026-10-01 – 2026-10-31" in text
    assert "REDUCTION (net emission)" in text and "REMOVAL (net removal)" in text
    assert "<svg" in html and 'fill="url(#w1-hatch)"' in html  # the negative entry is hatched


def test_problems_are_grouped_by_root_cause_with_what_to_do(tmp_path):
    result = failures_result()
    html = write_run_report(result, tmp_path / "r.html").read_text()
    problems = html[html.index('id="w1-problems"') : html.index('id="w1-entries"')]
    for o in result.objects:
        if o.status in BAD_STATUSES:
            assert f'href="#w1-row-{o.sheet}-{o.row or 0}-{o.kind}"' in problems, o.ref
    causes = analysis.problems(result, "")
    assert [c["where"] for c in causes] == ["sources row 3", "datapoints row 12", "datapoints row 5"]
    source = causes[0]
    assert source["http"] == 422 and source["request_id"] == "req_7f3a9c21e4" and source["advice_kind"] == "workbook"
    assert source["field"] == "display_name" and source["column"] == "display_name"
    assert source["advice"] == "Fix sources row 3 column display_name in the workbook, then run again."
    # the component is blocked by the entry, blocked by the datapoint, blocked by the source: one root
    assert {b["where"] for b in source["blocked"]} == {
        "datapoints row 6",
        "datapoints row 7",
        "entries row 3",
        "components row 4",
    }
    assert causes[1]["http"] == 503 and causes[1]["advice_kind"] == "server" and causes[1]["retryable"]
    assert "run the same command again" in causes[1]["advice"]
    assert "Nothing to fix in the workbook" in causes[1]["advice"]
    assert causes[1]["attempts"] == 6 and causes[1]["elapsed"] == 21.7
    assert causes[2]["advice_kind"] == "conflict" and causes[2]["http"] is None
    text = _text(problems)
    assert "HTTP status: 422" in text and "Request ID: req_7f3a9c21e4" in text and "Time: 0.3 s" in text
    assert "Attempts: 1" in text
    assert "HTTP status: 503" in text and "Attempts: 6" in text and "Time: 21.7 s" in text
    assert "Field: display_name (column display_name)" in text
    assert "HTTP status: none (not an API answer)" in text  # the conflict: refused before anything was sent
    assert "HTTP status: not recorded" not in text and "Time: not recorded" not in text
    assert "acme-biochar-2026-10-20261124T100000Z-c1ea70-failed.csv" in problems


def test_changes_show_before_and_after_when_recorded_and_the_new_value_otherwise(tmp_path):
    result = updates_result()
    text = _text(write_run_report(result, tmp_path / "r.html").read_text())
    assert "value: (previous value not recorded) → 52.5 km" in text
    assert "batch-0000 : 6.50 t CO2e" in text  # the entry using the changed datapoint, with its CO2e now
    assert "name: changed" in text
    # once ObjectOutcome carries before/after (requested from results.py), they are shown
    dist = next(o for o in result.objects if o.ref == "batch-0000-distance")
    dist.before = {"quantity": {"magnitude": 46, "unit": "km"}}  # type: ignore[attr-defined]
    dist.after = {"quantity": {"magnitude": 52.5, "unit": "km"}}  # type: ignore[attr-defined]
    text = _text(write_run_report(result, tmp_path / "r2.html").read_text())
    assert "value: 46 km → 52.5 km" in text


def test_evidence_lists_files_with_hash_and_users_and_lineage_runs_both_ways(tmp_path):
    html = write_run_report(failures_result(), tmp_path / "r.html").read_text()
    evidence = html[html.index('id="w1-evidence"') : html.index('id="w1-rows"')]
    assert "meter-log-1.pdf" in evidence and "01" * 32 in evidence
    assert 'href="#w1-dp-batch-0001-distance"' in evidence and 'href="#w1-entry-batch-0001"' in evidence
    assert 'id="w1-dp-batch-0001-distance"' in html  # datapoint -> entries table
    lineage = html[html.index('id="w1-lineage"') :]
    assert "data-bad" in lineage and "s-blocked" in lineage and "s-failed" in lineage


def test_internal_names_read_as_words(tmp_path):
    text = _text(write_run_report(hostile_result(), tmp_path / "r.html").read_text())
    assert "statement end date" in text and "GHG entry" in text and "evidence source" in text
    assert ">ghg_entry<" not in text and "statement_end_on" not in text


def test_a_2000_object_report_is_small_fast_and_folded(tmp_path):
    result = big_result(2000)
    started = time.perf_counter()
    html = write_run_report(result, tmp_path / "big.html").read_text()
    elapsed = time.perf_counter() - started
    size = len(html.encode())
    print(f"\n2,000-object run report: {size / 1e6:.2f} MB rendered in {elapsed:.2f} s")
    assert size < 8_000_000 and elapsed < 10
    assert 'class="print-summary"' in html  # big runs print the summary unless asked otherwise
    assert "(histogram)" in html  # 399 entries: a histogram, not 399 bars (#29)
    assert html.count('<details class="fold">') >= 1  # clean sheets start folded


def test_validation_report_in_sheet_order_with_checks_and_found_filled(tmp_path):
    findings = [
        Finding(
            "warning", "unused", "entry 'x' is not used", sheet="entries", row=4, column="ref", cell="A4", value="x"
        ),
        Finding(
            "error", "required", "display_name is required", sheet="sources", row=3, column="display_name", cell="B3"
        ),
        Finding(
            "error", "bad_unit", "unknown unit", sheet="datapoints", row=7, column="unit", cell="F7", value="tonnes"
        ),
        Finding("warning", "hidden_sheet", "sheet notes is hidden", sheet=None),
        Finding("error", "missing_column", "no column ref", sheet="project"),
    ]
    result = ValidationResult(
        path=Path("/data/wb.xlsx"), sha256="ef" * 32, counts={"datapoints": 3}, findings=findings, workbook=None
    )
    html = write_validation_report(result, tmp_path / "v.html").read_text()
    order = [html.index(f'id="s-{name}"') for name in ("workbook", "project", "sources", "datapoints", "entries")]
    assert order == sorted(order)
    assert [s.name for s in SHEETS][:3] == ["project", "sources", "datapoints"]
    text = _text(html)
    assert "Required cells filled" not in text.split("Every sheet present")[0]
    assert "✓ Formulas have a value and no error" in text and "✗ Required cells filled" in text
    assert "sources!B3 display_name (empty)" in text and "(whole sheet)" in text and "(whole workbook)" in text


def test_validation_report_at_100000_findings_stays_small_and_lists_every_cell(tmp_path):
    findings = [
        Finding(
            "warning",
            "unused",
            f"datapoint {f'dp-{i:06d}'!r} is not used by any other row",
            sheet="datapoints",
            row=i + 2,
            column="ref",
            cell=f"A{i + 2}",
            value=f"dp-{i:06d}",
        )
        for i in range(100_000)
    ]
    result = ValidationResult(
        path=Path("/data/big.xlsx"), sha256="ab" * 32, counts={"datapoints": 100_000}, findings=findings, workbook=None
    )
    started = time.perf_counter()
    path = write_validation_report(result, tmp_path / "v.html")
    size = path.stat().st_size
    print(f"\n100,000-finding validation report: {size / 1e6:.2f} MB in {time.perf_counter() - started:.2f} s")
    assert size < 10_000_000
    html = path.read_text()
    assert "unused</code> × 100,000: datapoint ‹found› is not used by any other row" in html
    assert "datapoints!A2<td>ref<td>dp-000000" in html and "datapoints!A100001<td>ref<td>dp-099999" in html
    out = io.StringIO()
    print_validation(Console(file=out, width=200), result)
    lines = out.getvalue().splitlines()
    assert len(lines) < 15 and "100,000 findings in all" in out.getvalue() and "--annotate" in out.getvalue()


def test_validation_human_output_keeps_read_as_for_notes():
    findings = [Finding("note", "read_percent", "read as 0.78", sheet="datapoints", row=5, cell="E5", value="78%")]
    result = ValidationResult(path=Path("/wb.xlsx"), sha256=None, counts={}, findings=findings, workbook=None)
    out = io.StringIO()
    print_validation(Console(file=out, width=200), result)
    assert "read as" in out.getvalue()


def test_terminal_summary_is_at_most_ten_lines_and_verbose_adds_entries(tmp_path):
    for make in (clean_result, updates_result, failures_result, hostile_result, lambda: big_result(2000)):
        result = make()
        report = write_run_report(result, tmp_path / "r.html")
        result.report_path = str(report)
        if not result.ok:
            write_failed_csv(result, failed_csv_path(result, report))
        lines = summary_lines(result)
        assert len(lines) <= 10, lines
        out = io.StringIO()
        print_result(Console(file=out, width=300), result)
        text = out.getvalue()
        assert len(text.splitlines()) <= 10 and f"report: {report}" in text and "CO2e" in text
        assert "entry batch-" not in text
    assert "failed rows (CSV): " in text and text.startswith("PROBLEMS")
    lines = summary_lines(failures_result())
    assert (
        "  failed: datapoints row 12 (batch-0002-biochar-mass): HTTP 503 (server), request id req_5c01d2e3f4, "
        "6 attempts: Service unavailable -> re-run: nothing to fix in the workbook"
    ) in lines
    assert any(
        line.startswith(
            "  failed: sources row 3 (meter-log-1): HTTP 422 (workbook), request id "
            "req_7f3a9c21e4, column display_name: "
        )
        and "-> fix column display_name in the workbook" in line
        for line in lines
    )
    out = io.StringIO()
    print_result(Console(file=out, width=300), failures_result(), verbose=True)
    assert "entry batch-0000 (rmv_1E00000000000000): 6,532.4 kg CO2e net removal" in out.getvalue()
    assert "blocked   components row 4" in out.getvalue()


def test_interrupted_summary_says_how_to_finish():
    result = failures_result()
    result.interrupted = True
    text = "\n".join(summary_lines(result))
    assert "INTERRUPTED" in text and "run the same command again" in text


def _outcome(status: str, kind: str = "datapoint") -> ObjectOutcome:
    """An outcome of `kind`: levels run side by side, so each outcome counts on its own kind's bar."""
    return ObjectOutcome(
        "datapoints", 2, "dp", kind, "p:dp", None, status, error="refused" if status == "failed" else None
    )


def test_line_progress_marks_failed_levels_prints_phases_retries_and_a_heartbeat():
    stream = io.StringIO()
    progress = LineProgress(stream, heartbeat=0.3)
    with progress.phase("reading the registry") as step:
        step.advance(3)
        time.sleep(0.8)  # silence: the heartbeat speaks
    progress.level_started("datapoint", 2, "datapoints")
    progress.object_done(_outcome("created"))
    progress.retry("POST /datapoints", 1, wait=0.5, reason="HTTP 503")
    progress.object_done(_outcome("failed"))
    progress.level_finished("datapoint")
    progress.close()
    text = stream.getvalue()
    assert "[reading the registry] started" in text and "[reading the registry] done (3)" in text
    assert re.search(r"^\d\d:\d\d:\d\dZ still working: reading the registry 3", text, re.M)
    assert "retry: POST /datapoints: attempt 1 failed (HTTP 503), next try in 0.5 s" in text
    assert "[datapoints] FAILED ROWS: 1 created, 1 failed" in text
    assert all(re.match(r"\d\d:\d\d:\d\dZ ", line) for line in text.splitlines())
    assert not any(t.name == "progress-heartbeat" for t in threading.enumerate())


def test_rich_progress_bar_ends_red_with_failures_and_yellow_with_blocked_rows():
    out = io.StringIO()
    progress = RichProgress(console=Console(file=out, force_terminal=True, width=120, color_system="standard"))
    progress.level_started("datapoint", 2, "datapoints")
    progress.object_done(_outcome("created"))
    progress.object_done(_outcome("failed"))
    progress.level_finished("datapoint")
    states = {t.description: t.fields["state"] for t in progress._progress.tasks}
    progress.level_started("ghg_entry", 1, "GHG entries")
    progress.object_done(_outcome("blocked", "ghg_entry"))
    progress.level_finished("ghg_entry")
    with progress.phase("planning", total=None) as step:
        step.advance()
    progress.close()
    states = {t.description: t.fields["state"] for t in progress._progress.tasks}
    assert states["datapoints"] == "bad" and states["GHG entries"] == "blocked" and states["planning"] == "ok"
    assert "1 failed" in out.getvalue() and "1 blocked" in out.getvalue()
    QuietProgress().phase("x").advance()  # the quiet reporter takes the same calls
