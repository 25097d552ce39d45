"""`rollback` as `terraform destroy`: the plan of deletions and its target first, `yes` typed at a terminal (or
--yes; refused when stdin is not a terminal), a total at the end, an entry in the history and a report; `history`
never breaks a run ID. Real CLI over loopback; what the server still holds is read back over HTTP."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from e2e_helpers import REPO, api_nodes, cli_env, copy_samples, run_cli

PROJECT = "prj_1SBXBIOCHAR00001"


def _ours(sandbox) -> int:
    """Objects under the sample's prefix the server lists (sources, datapoints, entries, components, and the chain
    of custody: storage locations, production batches, applications)."""
    n = 0
    for path in (
        "/sources",
        "/datapoints",
        "/components",
        f"/projects/{PROJECT}/storage_locations",
        "/production_batches",
        "/biochar_applications",
    ):
        n += sum(
            1
            for o in api_nodes(sandbox, path, project_id=PROJECT)
            if str(o.get("supplier_reference_id") or "").startswith("demo")
        )
    n += sum(1 for o in api_nodes(sandbox, "/ghg_entries") if str(o["supplier_reference_id"]).startswith("demo"))
    return n


def _imported(sandbox, tmp_path: Path) -> tuple[dict[str, str], str]:
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["run", str(copy_samples(tmp_path)), "--json", "--quiet"], env)
    assert result.code == 0, result.stdout + result.stderr
    return env, result.json()["run_id"]


def test_without_a_terminal_rollback_needs_yes_and_deletes_nothing(sandbox, tmp_path):
    env, run_id = _imported(sandbox, tmp_path)
    before = _ours(sandbox)
    refused = run_cli(["rollback", run_id], env, subprocess_=True)
    assert refused.code == 2, refused.stdout + refused.stderr
    assert "pass --yes" in refused.stdout and "nothing was deleted" in refused.stdout
    assert f"target: local server, {sandbox.base_url}" in refused.stdout  # where it would have deleted
    assert _ours(sandbox) == before > 0


def test_rollback_with_yes_totals_records_and_reports(sandbox, tmp_path):
    env, run_id = _imported(sandbox, tmp_path)
    before = _ours(sandbox)
    done = run_cli(["rollback", run_id, "--yes", "--json"], env)
    assert done.code == 0, done.stdout + done.stderr
    body = done.json()
    # every object under the prefix deleted; the statement kept (the API cannot delete one)
    assert body["confirmed"] and body["counts"] == {"deleted": before, "kept": 1}
    assert _ours(sandbox) == 0
    history = json.loads(run_cli(["history", "--json"], env).stdout)
    assert history[0]["mode"] == "rollback" and history[0]["counts"]["rollback_of"] == run_id
    assert history[0]["counts"]["deleted"] == body["counts"]["deleted"]
    report = Path(body["report"]).read_text(encoding="utf-8")
    assert run_id in report and f"{body['counts']['deleted']} deleted" in report


def _in_a_terminal(args: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "importer.cli", *args],
        env=env,
        cwd=REPO,
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    os.close(secondary)
    deadline = time.monotonic() + 60
    time.sleep(0.2)
    os.write(primary, (answer + "\n").encode())
    out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    os.close(primary)
    return proc.returncode, out


def test_at_a_terminal_only_yes_deletes(sandbox, tmp_path):
    env, run_id = _imported(sandbox, tmp_path)
    before = _ours(sandbox)
    code, out = _in_a_terminal(["rollback", run_id], env, "y")
    assert code == 1 and "Only 'yes' is accepted" in out and "Rollback cancelled: nothing was deleted." in out, out
    assert _ours(sandbox) == before
    code, out = _in_a_terminal(["rollback", run_id], env, "yes")
    assert code == 0, out
    assert f"Plan: {before} to delete, 1 kept." in out, out
    assert f"Rollback complete: {before} deleted, 1 kept" in out, out
    assert _ours(sandbox) == 0


def test_history_never_breaks_a_run_id(sandbox, tmp_path):
    env, run_id = _imported(sandbox, tmp_path)
    for columns in ("40", "80", "200"):
        table = run_cli(["history"], {**env, "COLUMNS": columns}).stdout
        assert run_id in table.splitlines()[0], table  # whole, on one line
    lines = run_cli(["history"], env).stdout.splitlines()
    summary = run_cli(["run", str(copy_samples(tmp_path / "again")), "--json", "--quiet"], env)
    assert summary.code == 0
    created = next(line for line in lines if line.strip().startswith("created"))
    rows = sum(
        by.get("created", 0)
        for by in json.loads(run_cli(["history", "--json"], env).stdout)[1]["counts"].values()
        if isinstance(by, dict)
    )
    assert created.split()[1] == str(rows)  # the same count the run's summary gave
