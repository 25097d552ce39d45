"""The registry holds exactly what the workbooks say (issue: orphans, projects, history, failing safely), over
real HTTP against a loopback sandbox; what the server holds is read back with plain httpx and compared with
figures computed here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from test_failing_safely import RevokeAfter
from typer.testing import CliRunner

import importer
from importer.cli import app

from e2e_helpers import REPO, cli_env, copy_samples, run_cli

pytestmark = pytest.mark.slow
OTHER_PROJECT = "prj_1SBXOTHERPROJ001"


def _get(sandbox: Any, path: str, **params: Any) -> Any:
    headers = {"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"}
    return httpx.get(f"{sandbox.base_url}{path}", headers=headers, params={"first": 50, **params}).json()


def _entries(sandbox: Any, prefix: str = "demo-2026-10:") -> dict[str, Any]:
    return {
        e["supplier_reference_id"]: e
        for e in _get(sandbox, "/ghg_entries")["nodes"]
        if str(e.get("supplier_reference_id") or "").startswith(prefix)
    }


def _rename_entry(workbook: Path, old: str, new: str) -> None:
    book = openpyxl.load_workbook(workbook)
    for sheet, column in (("entries", 1), ("entry_inputs", 1), ("components", 2)):
        for row in book[sheet].iter_rows(min_row=2):
            if row[column - 1].value == old:
                row[column - 1].value = new
    book["project"]["B4"] = "TRUE"  # submit_statement
    book["project"]["B5"] = "https://example.org/reports/2026-10.pdf"
    book.save(workbook)


def test_renamed_entry_is_an_orphan_submit_is_refused_and_prune_removes_it(env: Any, tmp_path: Path) -> None:
    wb = copy_samples(tmp_path)
    assert importer.run([wb]).ok
    first = _entries(env)
    assert set(first) == {"demo-2026-10:entries:batch-2026-10-a", "demo-2026-10:entries:application-2026-10"}
    old = first["demo-2026-10:entries:batch-2026-10-a"]
    _rename_entry(wb, "batch-2026-10-a", "batch-2026-10-A")
    runner = CliRunner()

    planned = runner.invoke(app, ["plan", str(wb), "--json", "-q"])
    orphans = json.loads(planned.stdout)["orphans"]
    assert {
        "kind": "ghg_entry",
        "id": old["id"],
        "supplier_reference_id": "demo-2026-10:entries:batch-2026-10-a",
    }.items() <= next(o for o in orphans if o["kind"] == "ghg_entry").items()
    assert next(o for o in orphans if o["kind"] == "ghg_entry")["co2e_net_removed_kg"] == pytest.approx(
        old["co2e_net_removed_kg"]
    )

    held = [(e["group"], e["id"]) for e in json.loads(planned.stdout)["statement_entries"]]
    assert ("orphan", old["id"]) in held  # the statement would hold the old entry beside its copy
    assert [g for g, _ in held].count("workbook") == 2 and [g for g, _ in held].count("elsewhere") == 0

    refused = runner.invoke(app, ["run", str(wb), "--json", "-q"])  # submit_statement is TRUE on the sheet
    assert refused.exit_code == 1 and "submitting is refused" in refused.stdout
    assert set(_entries(env)) == set(first)  # nothing sent: the renamed entry was not even created
    assert [s["status"] for s in _get(env, "/ghg_statements")["nodes"]] == ["DRAFT"]  # the first run's, unsubmitted

    pruned = runner.invoke(app, ["run", str(wb), "--prune", "--json", "-q"])
    assert pruned.exit_code == 0, pruned.stdout
    after = _entries(env)
    assert set(after) == {"demo-2026-10:entries:batch-2026-10-A", "demo-2026-10:entries:application-2026-10"}
    statement = _get(env, "/ghg_statements")["nodes"][0]
    assert statement["status"] == "AWAITING_VERIFICATION"
    assert sorted(statement["ghg_entry_ids"]) == sorted(e["id"] for e in after.values())
    assert round(statement["pending_total_co2e_removed_kg"], 1) == 6348.6  # the sample's hand-computed total


def test_keep_orphans_submits_them_on_purpose(env: Any, tmp_path: Path) -> None:
    wb = copy_samples(tmp_path)
    assert importer.run([wb]).ok
    _rename_entry(wb, "batch-2026-10-a", "batch-2026-10-A")
    kept = CliRunner().invoke(app, ["run", str(wb), "--keep-orphans", "--json", "-q"])
    assert kept.exit_code == 0, kept.stdout
    statement = _get(env, "/ghg_statements")["nodes"][0]
    assert len(statement["ghg_entry_ids"]) == 3  # the orphan is in, as declared


def test_a_second_project_with_the_same_prefix_adopts_nothing(env: Any, tmp_path: Path) -> None:
    a = copy_samples(tmp_path / "a")
    assert importer.run([a]).ok
    b = copy_samples(tmp_path / "b")
    book = openpyxl.load_workbook(b)
    book["project"]["B2"] = OTHER_PROJECT
    book["project"]["B3"] = None  # no statement
    sheets = ("entries", "entry_inputs", "components", "component_inputs")
    for sheet in (*sheets, "storage_locations", "production_batches", "biochar_applications"):
        book[sheet].delete_rows(2, book[sheet].max_row)
    book.save(b)
    outcome = importer.run([b])
    assert not outcome.ok
    sources = [o for o in outcome.results[0].objects if o.kind == "source"]
    assert sources and all(o.status == "failed" and "never adopted" in (o.error or "") for o in sources)
    held = _get(env, "/sources", project_id=OTHER_PROJECT)["nodes"]
    assert held == []  # project B holds nothing, and was never told it does
    assert len(_get(env, "/sources", project_id="prj_1SBXBIOCHAR00001")["nodes"]) == 5


def test_update_only_refuses_creates_before_sending(env: Any, tmp_path: Path) -> None:
    wb = copy_samples(tmp_path)
    refused = CliRunner().invoke(app, ["run", str(wb), "--update-only", "--json", "-q"])
    assert refused.exit_code == 1 and "--update-only" in refused.stdout
    assert _get(env, "/sources")["nodes"] == [] or all(
        not str(s.get("supplier_reference_id") or "").startswith("demo") for s in _get(env, "/sources")["nodes"]
    )
    assert importer.run([wb]).ok
    book = openpyxl.load_workbook(wb)
    book["datapoints"]["E2"] = 52.5  # a correction of an existing value
    book.save(wb)
    corrected = importer.run([wb], update_only=True)
    assert corrected.ok
    held = _get(env, "/datapoints", supplier_reference_id="demo-2026-10:datapoints:feedstock-haul-km")["nodes"]
    assert held[0]["quantity"]["magnitude"] == 52.5


def test_a_token_revoked_mid_run_stops_the_run_and_sends_nothing_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importer.sandbox import SandboxServer

    server = SandboxServer(db_path=tmp_path / "sandbox.sqlite3")
    server.app = revoker = RevokeAfter(server.app, allowed=12)
    with server:
        monkeypatch.setenv("ISOMETRIC_API_URL", server.base_url)
        monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", server.client_secret)
        monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", server.access_token)
        outcome = CliRunner().invoke(app, ["run", str(copy_samples(tmp_path)), "--json", "-q"])
        assert outcome.exit_code == 2, outcome.stdout
        payload = json.loads(outcome.stdout)
        assert "refused" in (payload.get("stopped") or "") and "ISOMETRIC_ACCESS_TOKEN" in payload["stopped"]
        assert not [o for o in payload["objects"] if o["status"] == "failed" and "refused" not in (o["error"] or "")]
        # a handful of requests were in flight when the first 401 came back; nothing was started after it
        assert revoker.refused <= 8, revoker.refused


def test_unwritable_history_stops_before_sending_and_names_the_file(
    env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("ISOMETRIC_IMPORTER_HOME", str(home))
    outcome = CliRunner().invoke(app, ["run", str(copy_samples(tmp_path)), "--json", "-q"])
    assert outcome.exit_code == 2
    assert "history.sqlite3" in outcome.stdout and "mv " in outcome.stdout
    assert not [s for s in _get(env, "/sources")["nodes"] if str(s.get("supplier_reference_id")).startswith("demo")]


def test_two_machines_then_rollback_of_one_keeps_the_others_objects(sandbox: Any, tmp_path: Path) -> None:
    """Two runs of one workbook with separate local state (no shared lock), at the same time: no duplicates;
    each history records only what that run created; rolling back the second leaves the first's objects."""
    wb = copy_samples(tmp_path / "w")
    envs = [cli_env(sandbox, tmp_path / f"home{i}") for i in (1, 2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "importer.cli", "run", str(wb), "--json", "--quiet"],
            env=e,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for e in envs
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    results = [json.loads(o[0]) for o in outs]
    sources = _get(sandbox, "/sources")["nodes"]
    srids = [s["supplier_reference_id"] for s in sources if str(s["supplier_reference_id"]).startswith("demo")]
    assert len(srids) == len(set(srids)) == 5  # no duplicate

    def made(result: dict[str, Any]) -> set[str]:  # created by that run itself, not adopted from the other
        return {
            o["id"]
            for o in result["objects"]
            if o["status"] == "created"
            and o["id"]
            and not any("another run" in c["field"] for c in o.get("changes", []))
        }

    histories = [json.loads(run_cli(["history", "--json"], e).stdout)[0] for e in envs]
    assert [h["created"] for h in histories] == [len(made(r)) for r in results]  # history: created, not adopted
    assert made(results[0]).isdisjoint(made(results[1]))
    rolled = run_cli(["rollback", results[1]["run_id"], "--yes"], envs[1])
    assert rolled.code in (0, 1), rolled.stdout + rolled.stderr
    remaining = set()
    for collection in (
        "/sources",
        "/datapoints",
        "/feedstock_types",
        "/ghg_entries",
        "/components",
        "/projects/prj_1SBXBIOCHAR00001/storage_locations",
        "/production_batches",
        "/biochar_applications",
    ):
        remaining |= {n["id"] for n in _get(sandbox, collection)["nodes"]}
    kept = {i for i in made(results[0]) if not i.startswith("ggs_")}
    assert kept <= remaining  # the other run's objects are intact


def test_reports_folder_read_only_is_only_a_warning(env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "reports-is-a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("ISOMETRIC_REPORTS_DIR", str(blocked))
    outcome = CliRunner().invoke(app, ["run", str(copy_samples(tmp_path)), "--json", "-q"])
    assert outcome.exit_code == 0
    assert json.loads(outcome.stdout)["ok"] is True


def test_an_orphan_in_a_submitted_statement_is_a_conflict_not_a_crash(env: Any, tmp_path: Path) -> None:
    """An entry renamed after its statement was submitted leaves an orphan that cannot be deleted: `plan --prune`
    says so as a conflict (keep the row, or ask Isometric), and the rest of the plan and its lineage still build."""
    wb = copy_samples(tmp_path)
    book = openpyxl.load_workbook(wb)
    book["project"]["B4"] = "TRUE"  # submit_statement
    book["project"]["B5"] = "https://example.org/reports/2026-10.pdf"
    book.save(wb)
    assert importer.run([wb]).ok
    submitted = _entries(env)["demo-2026-10:entries:batch-2026-10-a"]
    _rename_entry(wb, "batch-2026-10-a", "batch-2026-10-A")
    result = run_cli(["plan", str(wb), "--prune", "--json"], cli_env(env, tmp_path / "home2"))
    assert "Traceback" not in result.stderr and "internal error" not in result.stdout + result.stderr
    objects = result.json()["objects"]
    orphan = [o for o in objects if o["id"] == submitted["id"]]
    assert [(o["status"], o["kind"]) for o in orphan] == [("conflict", "ghg_entry")], orphan
    assert "submitted statement" in orphan[0]["error"]
