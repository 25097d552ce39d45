"""The terminal `plan` in Terraform's shape (#29): one line per object that changes (`+ create`, `~ update` with
`field: before -> after` beneath, `- delete`, `! conflict`), every row with --verbose, then `Plan: N to create, N
to update, N to delete, N orphans.` Real CLI against a loopback sandbox; the figures come from the workbook's own
rows, not from the importer's counts."""

from __future__ import annotations

import openpyxl

from e2e_helpers import cli_env, copy_samples, run_cli
from workbooks import sample_data


def _creates() -> int:
    """What a first import of the sample creates, counted from its rows: sources, datapoints, entries, each
    extra component with its attribution, the chain of custody (locations, batches, applications) and the
    statement (the feedstock type exists: matched, unchanged)."""
    sheets, project = sample_data()
    return (
        sum(len(sheets.get(s, [])) for s in ("storage_locations", "production_batches", "biochar_applications"))
        + len(sheets["sources"])
        + len(sheets["datapoints"])
        + len(sheets["entries"])
        + 2 * len(sheets["components"])
        + (1 if project["statement_end_on"] else 0)
    )


def test_a_first_plan_lists_creates_and_totals(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home", COLUMNS="80")
    book = copy_samples(tmp_path)
    plan = run_cli(["plan", str(book)], env)
    assert plan.code == 0, plan.stdout + plan.stderr
    out = plan.stdout
    creates = _creates()
    assert f"Plan: {creates} to create, 0 to update, 0 to delete, 0 orphans." in out, out
    assert out.count("  + create") == min(creates, 20)
    assert "+ create    datapoint feedstock-haul-km (datapoints row 2)" in out
    verbose = run_cli(["plan", str(book), "--verbose"], env).stdout
    assert verbose.count("  + create") == creates and "= unchanged" in verbose  # the matched feedstock type


def test_a_changed_value_shows_before_and_after(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home", COLUMNS="80")
    book = copy_samples(tmp_path)
    assert run_cli(["run", str(book), "--quiet"], env).code == 0
    wb = openpyxl.load_workbook(book)
    ws = wb["datapoints"]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "feedstock-haul-km")
    before, unit = row[header.index("magnitude")].value, row[header.index("unit")].value
    row[header.index("magnitude")].value = before * 2
    wb.save(book)
    out = run_cli(["plan", str(book)], env).stdout
    assert "~ update    datapoint feedstock-haul-km" in out, out
    assert f"quantity: {before:g} {unit} -> {before * 2:g} {unit}" in out, out
    assert "Plan: 0 to create, 1 to update, 0 to delete, 0 orphans." in out
    assert "+ create" not in out and "= unchanged" not in out


def test_a_missing_workbook_is_said_once_before_anything_starts(tmp_path):
    """No sandbox, no banner, no progress: the name once, exit 2 (plan, run and apply alike)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOMETRIC_")}
    env.update(ISOMETRIC_IMPORTER_HOME=str(tmp_path / "home"), NO_COLOR="1")
    for command in (["run", "missing.xlsx"], ["plan", "missing.xlsx", "--no-report"], ["apply", "missing.json"]):
        result = run_cli([*command], env, subprocess_=True)
        out = result.stdout + result.stderr
        assert result.code == 2, out
        assert out.count("missing.") == 1 and "no such file or folder" in out, out
        assert "REHEARSAL" not in out and not (tmp_path / "home" / "sandbox.sqlite3").exists()


def test_plan_and_run_take_no_report(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    book = copy_samples(tmp_path)
    for command in ("plan", "run"):
        result = run_cli([command, str(book), "--no-report", "--quiet"], env)
        assert result.code == 0, result.stdout + result.stderr
        assert "report:" not in result.stdout
    assert not (tmp_path / "home" / "reports").exists()
    both = run_cli(["plan", str(book), "--no-report", "--report", str(tmp_path / "r.html")], env)
    assert both.code == 2 and not (tmp_path / "r.html").exists()


def test_no_statement_no_statement_count(sandbox, tmp_path):
    """'statement holds N GHG entries' only when a statement exists (#29): not when its create failed."""
    from importer.sandbox import FaultConfig

    env = cli_env(sandbox, tmp_path / "home")
    sandbox.set_faults(FaultConfig(answer_status=503, answer_paths=["/ghg_statements"], methods=["POST"]))
    result = run_cli(["run", str(copy_samples(tmp_path)), "--quiet"], env)
    sandbox.set_faults(FaultConfig())
    assert result.code == 1, result.stdout + result.stderr
    assert "statement holds" not in result.stdout and "statement will hold" not in result.stdout
    plan = run_cli(["plan", str(copy_samples(tmp_path / "again"))], env)
    entries = len(sample_data()[0]["entries"])  # every entry of the sample completes in the statement's period
    assert f"statement will hold {entries} GHG entries" in plan.stdout, plan.stdout
