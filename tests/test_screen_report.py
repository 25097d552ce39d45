"""What auditors and analysts meet in the HTML reports (#29), from real runs of the CLI against a loopback sandbox,
read in headless Chromium: how an update run moved the CO2e (was, now, the difference; recomputed entries with
their before and after), why there is no CO2e when entries were never created, the chart (one bar per entry,
largest first, labels whole; a histogram past 40 entries, an outlier apart) and the rows' outcomes as a stacked
bar, the plan's count of the statement's entries as the terminal says it, the index's trend over two periods,
accessibility (scope, the contrast of zero counts, a dark scheme) and the duration the user waited. Every
expected figure is read from the server or from the CLI's own --json, never written here."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from e2e_helpers import REPO, api_get, cli_env, copy_samples, run_cli
from workbooks import row, write

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


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


def _open(browser, path: str | Path, **options):
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, **options)
    page.goto(Path(path).as_uri())
    page.wait_for_load_state("load")
    return page


def _tonnes(kg: float) -> str:
    return f"{kg / 1000:,.2f} t"


def _set_magnitude(book: Path, ref: str, factor: float) -> None:
    wb = openpyxl.load_workbook(book)
    ws = wb["datapoints"]
    header = [c.value for c in ws[1]]
    line = next(r for r in ws.iter_rows(min_row=2) if r[0].value == ref)
    line[header.index("magnitude")].value = line[header.index("magnitude")].value * factor
    wb.save(book)


def _entries(payload: dict) -> dict[str, float]:
    return {e["ref"]: e["co2e_net_removed_kg"] for e in payload["lineage"]}


def test_an_update_run_shows_how_the_co2e_moved(browser, sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    book = copy_samples(tmp_path)
    first = run_cli(["run", str(book), "--json", "--quiet"], env).json()
    was = api_get(sandbox, f"/ghg_statements/{first['statement']['id']}")["pending_total_co2e_removed_kg"]
    _set_magnitude(book, "biochar-mass-t", 1.05)
    second = run_cli(["run", str(book), "--json", "--quiet"], env).json()
    now = api_get(sandbox, f"/ghg_statements/{second['statement']['id']}")["pending_total_co2e_removed_kg"]
    assert now != was
    before, after = _entries(first), _entries(second)
    moved = [ref for ref in after if round(after[ref] - before[ref], 1) != 0]
    still = [ref for ref in after if ref not in moved]
    assert moved and still  # one entry's datapoint changed, the other's not
    page = _open(browser, second["report"])
    sign = "+" if now > was else "\u2212"
    headline = page.inner_text(".move")
    assert headline == f"was {_tonnes(was)}, now {_tonnes(now)}, {sign}{_tonnes(abs(now - was))} CO2e", headline
    assert "from the registry as this run found it" in page.inner_text("#w1-co2e")  # where "was" comes from
    for ref in moved:
        cells = page.locator("#w1-entries tr", has=page.locator(f'code:text-is("{ref}")'))
        assert cells.locator("[data-label=Status]").inner_text().strip().endswith("recomputed")
        assert cells.locator("[data-label='Before (kg)']").inner_text() == f"{before[ref]:,.1f}"
        assert cells.locator("[data-label='Net CO2e (kg)']").inner_text() == f"{after[ref]:,.1f}"
        assert cells.locator("[data-label='Change (kg)']").inner_text() == f"{after[ref] - before[ref]:+,.1f}"
        lineage = page.locator(f"details.lineage#w1-entry-{ref} > summary").inner_text()
        assert "recomputed" in lineage and "unchanged" not in lineage
    for ref in still:
        cells = page.locator("#w1-entries tr", has=page.locator(f'code:text-is("{ref}")'))
        assert cells.locator("[data-label=Status]").inner_text().strip().endswith("unchanged")
    change = page.locator("#w1-changes [data-label='Entries affected']").inner_text()
    assert f"{moved[0]}: {before[moved[0]] / 1000:,.2f} t CO2e\u2192{after[moved[0]] / 1000:,.2f} t CO2e" in change, (
        change
    )

    # one bar per entry, largest first, every label whole inside the chart
    labels = page.locator("svg.co2e-chart text[text-anchor=end]").all_text_contents()
    assert labels == sorted(after, key=lambda ref: -after[ref])
    inside = page.evaluate(
        """() => { const svg = document.querySelector('svg.co2e-chart'); const w = svg.viewBox.baseVal.width;
        return Array.from(svg.querySelectorAll('text')).every(t => { const b = t.getBBox();
        return b.x >= 0 && b.x + b.width <= w; }); }"""
    )
    assert inside
    # the rows' outcomes as one stacked bar, its legend the run's own counts
    totals: dict[str, int] = {}
    for obj in second["objects"]:
        totals[obj["status"]] = totals.get(obj["status"], 0) + 1
    legend = page.inner_text(".outcome-legend")
    for status, n in totals.items():
        assert f"{status} {n:,} (" in legend, (status, legend)
    assert page.locator("svg.outcomes rect").count() == len(totals)


def test_entries_never_created_are_said_so(browser, sandbox, tmp_path):
    from importer.sandbox.faults import FaultConfig

    env = cli_env(sandbox, tmp_path / "home")
    sandbox.set_faults(FaultConfig(answer_status=422, answer_paths=["/sources"], methods=["POST"]))
    result = run_cli(["run", str(copy_samples(tmp_path)), "--json", "--quiet"], env)
    assert result.code == 1
    payload = result.json()
    statuses = {e["status"] for e in payload["lineage"]}
    assert statuses and not statuses & {"created", "updated", "unchanged"}, statuses
    card = _open(browser, payload["report"]).inner_text("#w1-co2e")
    assert "The API reported no CO2e" not in card
    n = len(payload["lineage"])
    assert f"None of the {n} GHG entries of this workbook was created" in card, card


def test_the_plan_report_counts_the_statement_entries_as_the_terminal(browser, sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    book = copy_samples(tmp_path)
    for _ in range(2):  # a first plan (the statement will be created), then one after a run
        plan = run_cli(["plan", str(book)], env)
        said = re.search(r"statement (?:will hold|holds) (\d+) GHG entr", plan.stdout)
        assert said, plan.stdout
        report = re.search(r"report: (\S+-plan\.html)", plan.stdout)
        assert report, plan.stdout
        card = _open(browser, report.group(1)).locator(".v-card", has_text="GHG statement").inner_text()
        assert f"{said.group(1)} GHG entries the statement will hold" in card, card
        assert run_cli(["run", str(book), "--quiet"], env).code == 0


def _many_entries(n: int, outlier: int):
    """`n` more field applications, each with its own delivered mass (one `outlier` times the others)."""

    def mutate(sheets, project):
        template = row(sheets, "entries", "application-2026-10")
        mass = row(sheets, "datapoints", "delivered-biochar-t")
        inputs = [i for i in sheets["entry_inputs"] if i["entry_ref"] == "application-2026-10"]
        for i in range(n):
            ref = f"app-{i:02d}"
            sheets["entries"].append({**template, "ref": ref})
            factor = outlier if i == n - 1 else 1 + i / n
            sheets["datapoints"].append(
                {**mass, "ref": f"mass-{i:02d}", "magnitude": round(mass["magnitude"] * factor, 3)}
            )
            for line in inputs:
                refs = f"mass-{i:02d}" if line["datapoint_refs"] == "delivered-biochar-t" else line["datapoint_refs"]
                sheets["entry_inputs"].append({**line, "entry_ref": ref, "datapoint_refs": refs})

    return mutate


def test_many_entries_draw_a_histogram_where_an_outlier_stands_out(browser, sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    book = write(tmp_path / "wb", _many_entries(44, outlier=40))
    payload = run_cli(["run", str(book), "--json", "--quiet"], env).json()
    assert payload["ok"], payload.get("stopped")
    co2e = {e["ref"]: e["co2e_net_removed_kg"] for e in payload["lineage"] if e["co2e_net_removed_kg"] is not None}
    assert len(co2e) > 40
    page = _open(browser, payload["report"])
    assert "(histogram)" in page.inner_text("#w1-verdict")
    values = page.locator("svg.co2e-chart text:not([text-anchor])").all_text_contents()
    counts = [int(v.split()[0].replace(",", "")) for v in values]
    assert 1 < len(counts) <= 20 and sum(counts) == len(co2e)
    extreme = max(co2e, key=lambda ref: abs(co2e[ref] - sorted(co2e.values())[len(co2e) // 2]))
    titles = page.locator("svg.co2e-chart g > title").all_text_contents()
    alone = [t for t in titles if extreme in t]
    assert alone and alone[0].split(": ")[1].startswith("1 entry"), titles  # the outlier in a bin of its own
    assert titles.index(alone[0]) in (0, len(titles) - 1)  # at one end
    assert 0 in counts  # empty ranges between the bulk and the outlier: it stands apart


def test_the_index_draws_the_co2e_of_each_month(browser, sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")

    def november(sheets, project):
        project["statement_end_on"] = dt.date(2026, 11, 30)
        project["supplier_reference_prefix"] = "demo-2026-11"
        for line in sheets["entries"]:
            line["started_on"] = line["started_on"] + dt.timedelta(days=31)
            line["completed_on"] = line["completed_on"] + dt.timedelta(days=30)
        for line in sheets["components"]:
            line["activity_started_at"] = dt.date(2026, 11, 1)
            line["activity_completed_at"] = dt.date(2026, 11, 30)

    totals = {}
    for folder, mutate in (("oct", None), ("nov", november)):
        payload = run_cli(["run", str(write(tmp_path / folder, mutate)), "--json", "--quiet"], env).json()
        assert payload["ok"], payload.get("stopped")
        held = api_get(sandbox, f"/ghg_statements/{payload['statement']['id']}")
        totals[str(held["reporting_period_end_at"])[:10]] = held["pending_total_co2e_removed_kg"]
    page = _open(browser, tmp_path / "home" / "reports" / "index.html")
    points = page.locator("svg.trend polyline").get_attribute("points")
    assert points is not None and len(points.split()) == 2
    shown = page.locator("svg.trend text.value").all_text_contents()
    assert shown == [f"{totals[end] / 1000:,.2f} t" for end in sorted(totals)]
    labels = page.locator("svg.trend text:not(.value)").all_text_contents()
    assert [label[:10] for label in labels] == sorted(totals)


def test_accessibility_scope_contrast_and_dark_scheme(browser, sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    book = copy_samples(tmp_path)
    report = run_cli(["run", str(book), "--json", "--quiet"], env).json()["report"]
    validation = tmp_path / "validation.html"
    assert run_cli(["validate", str(book), "--report", str(validation)], env).code == 0
    contrast = """(sel) => {
      const lum = (c) => { const v = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(x => x / 255)
        .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
      const bg = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
        if (c && !c.endsWith(', 0)') && c !== 'transparent') { return c; } } return 'rgb(255, 255, 255)'; };
      return Array.from(document.querySelectorAll(sel)).map(el => { const a = lum(getComputedStyle(el).color),
        b = lum(bg(el)); return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }); }"""
    for path in (report, validation, tmp_path / "home" / "reports" / "index.html"):
        page = _open(browser, path)
        assert page.locator("th").count() > 0
        assert page.locator("th:not([scope])").count() == 0, path
    for scheme in ("light", "dark"):
        page = _open(browser, report, color_scheme=scheme)
        zeros = page.evaluate(contrast, ".totals td.zero")
        assert zeros and min(zeros) >= 4.5, (scheme, zeros)
        for sel in ("body", "section h2", ".badge", "td", "a"):
            ratios = page.evaluate(contrast, sel)
            assert ratios and min(ratios) >= 4.5, (scheme, sel, min(ratios))
        body = page.evaluate("getComputedStyle(document.body).backgroundColor")
        dark = sum(int(x) for x in re.findall(r"\d+", body)[:3]) < 150
        assert dark == (scheme == "dark"), (scheme, body)


def test_the_report_gives_the_time_the_command_took(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    book = copy_samples(tmp_path)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "importer.cli", "run", str(book), "--json", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    waited = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    html = Path(__import__("json").loads(proc.stdout)["report"]).read_text(encoding="utf-8")
    said = re.search(
        r"Duration</dt><dd>([\d.]+) s \(the whole command up to this report; planning and importing ([\d.]+) s\)", html
    )
    assert said, re.search(r"Duration</dt><dd>[^<]*", html)
    whole, part = float(said.group(1)), float(said.group(2))
    assert 0.6 * waited <= whole <= waited + 0.1 and part <= whole, (waited, whole, part)
