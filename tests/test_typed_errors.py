"""Issue #25: errors are typed values from the HTTP response to every output. Real runs of the CLI against the
loopback sandbox, its fault injection answering 422, 429, 502 and 503 to every datapoint create (with a request ID,
as a server or proxy gives one), and a 422 the sandbox itself gives: `--json`, the CSV of failures, the HTML report
and the terminal each show the HTTP status, the request ID and (for a 422) the field from the typed failure, and
their advice follows the category: a 429, 502 or 503 never says to fix the workbook, a 422 names the row and
column to fix."""

from __future__ import annotations

import csv
import functools
import html as stdlib_html
import re
from pathlib import Path

import openpyxl
import pytest

from importer.sandbox import FaultConfig

from e2e_helpers import cli_env, copy_samples, run_cli

pytestmark = pytest.mark.slow

#: status -> (category, field the 422 names, attempts, what the advice says, what it must never say)
CASES = {
    422: ("workbook", "display_name", 1, "Fix datapoints row", "Nothing to fix in the workbook"),
    429: ("rate", None, 3, "Nothing to fix in the workbook", "Fix datapoints row"),
    502: ("server", None, 6, "Nothing to fix in the workbook", "Fix datapoints row"),
    503: ("server", None, 6, "Nothing to fix in the workbook", "Fix datapoints row"),
}


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's client as it is, but with waits of milliseconds between its retries, and a 429 asked again 3
    times rather than 20 (a 5xx still 6 times): the client learns a slower pace from every 429, and twenty of them
    per datapoint would slow the run to minutes."""
    import importer.api

    quick = functools.partial(
        importer.api.ClientConfig,
        backoff_initial=0.005,
        backoff_max=0.02,
        retry_after_cap=0.02,
        max_rate_limited_attempts=3,
    )
    monkeypatch.setattr(importer.api, "ClientConfig", quick)


def _text(page: str) -> str:
    return stdlib_html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _run(sandbox, tmp_path: Path, faults: FaultConfig | None, *, workbook: Path | None = None):
    workbook = workbook or copy_samples(tmp_path)
    env = cli_env(sandbox, tmp_path / "home")
    if faults is not None:
        sandbox.set_faults(faults)
    try:
        result = run_cli(["run", str(workbook), "--json", "--quiet", "--report", str(tmp_path / "report.html")], env)
    finally:
        sandbox.set_faults(FaultConfig())
    assert result.code == 1, result.stdout + result.stderr
    data = result.json()
    report = Path(data["report"])
    csv_files = list(report.parent.glob("*-failed.csv"))
    assert len(csv_files) == 1
    rows = list(csv.DictReader(csv_files[0].open(encoding="utf-8")))
    page = report.read_text(encoding="utf-8")
    problems = _text(page[page.index('id="w1-problems"') : page.index("</section>", page.index('id="w1-problems"'))])
    return data, rows, problems


@pytest.mark.parametrize("status", list(CASES))
def test_each_answer_is_typed_in_json_csv_and_report_with_advice_from_its_category(status, sandbox, tmp_path):
    category, field, attempts, says, never = CASES[status]
    faults = FaultConfig(
        answer_status=status,
        answer_paths=["/datapoints"],
        methods=["POST"],
        answer_field=field,
        request_ids=True,
        retry_after_seconds=0.01,
    )
    data, rows, problems = _run(sandbox, tmp_path, faults)

    # --json: every datapoint create failed with the typed facts of its answer
    failed = [o for o in data["objects"] if o["status"] == "failed"]
    assert failed and {o["kind"] for o in failed} == {"datapoint"}
    for o in failed:
        failure = o["failure"]
        assert failure["status"] == status and failure["category"] == category
        assert re.fullmatch(r"req_fault\d{6}", failure["request_id"] or ""), failure
        assert failure["field"] == field and failure["column"] == field
        assert failure["attempts"] == attempts  # not retried (422), the quick client's bound (429), 6 (5xx)
        assert failure["elapsed_seconds"] is not None and failure["elapsed_seconds"] >= 0
        assert says in failure["advice"] and never not in failure["advice"]
        if status == 422:
            assert f"Fix datapoints row {o['row']} column display_name" in failure["advice"]
    blocked = [o for o in data["objects"] if o["status"] == "blocked"]
    assert blocked and all("failure" not in o and o["blocked_by"] for o in blocked)
    assert all(o["status"] == "created" for o in data["objects"] if o["kind"] == "source")  # independent rows

    # the CSV of failures: the row's own facts; a blocked row takes its root cause's category and advice
    by_ref = {(r["kind"], r["ref"]): r for r in rows}
    for o in failed:
        row = by_ref[("datapoint", o["ref"])]
        assert row["category"] == category and row["http_status"] == str(status)
        assert row["request_id"] == o["failure"]["request_id"] and row["field"] == (field or "")
        assert row["attempts"] == str(attempts) and float(row["elapsed_seconds"]) >= 0
        assert says in row["advice"] and never not in row["advice"]
    for o in blocked:
        row = by_ref[(o["kind"], o["ref"])]
        assert row["status"] == "blocked" and row["category"] == category and row["http_status"] == ""
        assert row["advice"].startswith("Blocked by ") and never not in row["advice"]

    # the HTML report: the status and time shown, never "not recorded"; advice from the category
    assert f"HTTP status: {status}" in problems and "HTTP status: not recorded" not in problems
    assert "Request ID: req_fault" in problems and "Time: not recorded" not in problems
    assert re.search(r"Time: \d+\.\d s", problems) and f"Attempts: {attempts}" in problems
    assert says in problems and never not in problems
    if field:
        assert "Field: display_name (column display_name)" in problems


def test_a_422_of_the_sandbox_itself_names_the_field_and_the_column_of_the_workbook(sandbox, tmp_path):
    """A datapoint citing a well-formed source ID the project does not hold: the sandbox's own 422 names
    `source_ids`, which the datapoints sheet holds in its source_refs column."""
    workbook = copy_samples(tmp_path)
    book = openpyxl.load_workbook(workbook)
    sheet = book["datapoints"]
    headers = [c.value for c in sheet[1]]
    victim = sheet.cell(row=2, column=1).value
    sheet.cell(row=2, column=headers.index("source_refs") + 1).value = "src_0000000000000000NOPE"
    book.save(workbook)
    data, rows, problems = _run(sandbox, tmp_path, None, workbook=workbook)
    failed = [o for o in data["objects"] if o["status"] == "failed"]
    assert [o["ref"] for o in failed] == [victim]
    failure = failed[0]["failure"]
    assert failure["status"] == 422 and failure["category"] == "workbook"
    assert failure["field"] == "source_ids" and failure["column"] == "source_refs"
    assert "Fix datapoints row 2 column source_refs" in failure["advice"]
    assert failure["request_id"] is None  # the sandbox sends none
    row = next(r for r in rows if r["ref"] == victim)
    assert row["category"] == "workbook" and row["http_status"] == "422" and row["column"] == "source_refs"
    assert "HTTP status: 422" in problems and "Field: source_ids (column source_refs)" in problems
    assert "Request ID: not given" in problems and "Fix datapoints row 2 column source_refs" in problems


@pytest.mark.parametrize("status", [429, 502])
def test_the_terminal_shows_the_typed_facts_and_never_sends_a_retryable_failure_to_the_workbook(
    status, sandbox, tmp_path
):
    workbook = copy_samples(tmp_path)
    env = cli_env(sandbox, tmp_path / "home")
    sandbox.set_faults(
        FaultConfig(
            answer_status=status,
            answer_paths=["/datapoints"],
            methods=["POST"],
            request_ids=True,
            retry_after_seconds=0.01,
        )
    )
    try:
        result = run_cli(["run", str(workbook), "--quiet", "--verbose"], env)
    finally:
        sandbox.set_faults(FaultConfig())
    assert result.code == 1, result.stdout + result.stderr
    out = result.stdout
    cause = next(line for line in out.splitlines() if line.startswith("  failed: datapoints row"))
    assert f"HTTP {status}" in cause and "request id req_fault" in cause
    assert "nothing to fix in the workbook" in cause
    assert "Nothing to fix in the workbook: run the same command again" in out
    assert "Fix the causes above" not in out
    category = "rate" if status == 429 else "server"
    assert re.search(
        rf"failed +datapoints row \d+ \(datapoint [^)]*\): \[{category} HTTP {status} request id "
        r"req_fault\d{6}\]",
        out,
    )


def test_the_request_id_and_the_attempts_of_an_error_answer_reach_every_output(sandbox, tmp_path):
    faults = FaultConfig(answer_status=503, answer_paths=["/datapoints"], methods=["POST"], request_ids=True)
    data, rows, problems = _run(sandbox, tmp_path, faults)
    failed = [o for o in data["objects"] if o["status"] == "failed"]
    assert failed
    for o in failed:
        assert re.fullmatch(r"req_fault\d{6}", o["failure"]["request_id"] or ""), o["failure"]
        assert o["failure"]["attempts"] == 6  # the client's max_attempts for a 5xx
        row = next(r for r in rows if r["ref"] == o["ref"])
        assert row["request_id"] == o["failure"]["request_id"] and row["attempts"] == "6"
    assert "Request ID: req_fault" in problems and "Attempts: 6" in problems
