"""The run report in a real browser (Debian's chromium driven by Playwright): planted scripts do not run, there
are no console errors, the status filter hides and shows rows, lineage expands, print media shows all lineage.
A screenshot is saved to tests/artifacts/report.png."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from importer.report.run_html import write_run_report

from report_fixtures import hostile_result

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium before the tests")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def test_report_in_chromium(browser, tmp_path):
    report = write_run_report(hostile_result(), tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == [] and console_errors == []

    failed_rows = page.locator('tr[data-status="failed"]')
    assert failed_rows.count() == 1 and failed_rows.first.is_visible()
    page.locator('input.status-filter[value="failed"]').uncheck()
    assert not failed_rows.first.is_visible()
    assert page.locator('tr[data-status="created"]').first.is_visible()
    page.locator('input.status-filter[value="failed"]').check()
    assert failed_rows.first.is_visible()

    lineage = page.locator("details.lineage").first
    assert lineage.evaluate("d => d.open") is False
    lineage.locator("summary").click()
    assert lineage.evaluate("d => d.open") is True
    assert page.get_by_text("biochar_mass").first.is_visible()

    page.locator('input.status-filter[value="created"]').uncheck()
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert all(d is True for d in page.locator("details.lineage").evaluate_all("ds => ds.map(d => d.open)"))
    assert not page.locator("#filters").is_visible()
    assert page.locator('tr[data-status="created"]').first.is_visible()  # print shows every row

    page.emulate_media(media="screen")
    artifacts = Path(__file__).resolve().parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    pdf = page.pdf(path=str(artifacts / "report.pdf")) if hasattr(page, "pdf") else b""
    assert (artifacts / "report.png").stat().st_size > 10_000 and (pdf == b"" or len(pdf) > 1000)
    assert console_errors == []
    page.close()
