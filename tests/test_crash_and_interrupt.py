"""Issue #5: a run killed with SIGKILL at several points, then run again, leaves exactly what the workbook
defines; Ctrl-C stops cleanly after the requests in flight and exits 130; two runs of one project never run
at once, and a lock left by a killed run is taken over. The importer runs as a real subprocess against the
sandbox over loopback; sandbox latency stretches the run so the test can pick its moment."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from importer.sandbox import FaultConfig

from e2e_helpers import REPO, assert_exactly, cli_env, copy_samples, run_cli

pytestmark = pytest.mark.slow


def _start(workbook: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "importer.cli", "run", str(workbook), "--quiet", "--concurrency", "2"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before the kill point: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("kill point never reached")
        time.sleep(0.02)


def _count(sandbox, kind: str) -> int:
    return len([o for o in sandbox.store.list(kind) if str(o.get("supplier_reference_id") or "").startswith("demo")])


def _extra_attached(sandbox) -> bool:
    extra = {c["id"] for c in sandbox.store.list("component") if c.get("supplier_reference_id")}
    return any(a["component_id"] in extra for a in sandbox.store.list("component_attribution"))


KILL_POINTS = {
    "during sources": lambda sb: _count(sb, "source") >= 1,
    "during datapoints": lambda sb: _count(sb, "datapoint") >= 2,
    "between entry creation and component attribution": lambda sb: (
        _count(sb, "ghg_entry") >= 1 and not _extra_attached(sb)
    ),
    "after statement creation": lambda sb: len(sb.store.list("ghg_statement")) >= 1,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_then_rerun_leaves_exactly_the_workbook(point, sandbox, tmp_path):
    workbook = copy_samples(tmp_path)
    env = cli_env(sandbox, tmp_path / "home")
    sandbox.set_faults(FaultConfig(latency_ms=120))
    proc = _start(workbook, env)
    _wait_for(lambda: KILL_POINTS[point](sandbox), proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    sandbox.set_faults(FaultConfig())
    again = run_cli(["run", str(workbook), "--quiet", "--json"], env)
    assert again.code == 0, again.stdout + again.stderr
    assert_exactly(sandbox, workbook)
    assert len(sandbox.store.list("ghg_statement")) == 1
    assert len({a["component_id"] for a in sandbox.store.list("component_attribution")}) == len(
        sandbox.store.list("component_attribution")
    )  # no component attached twice


def test_ctrl_c_stops_cleanly_says_how_to_resume_and_exits_130(sandbox, tmp_path):
    workbook = copy_samples(tmp_path)
    env = cli_env(sandbox, tmp_path / "home")
    sandbox.set_faults(FaultConfig(latency_ms=150))
    proc = subprocess.Popen(
        [sys.executable, "-m", "importer.cli", "run", str(workbook), "--concurrency", "2"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(lambda: _count(sandbox, "datapoint") >= 1, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert "Interrupted" in out and "run the same command again" in out
    # rows that never began are their own outcome, counted in one place, never a problem of the row (#29)
    assert re.search(r"\d+ not started", out), out
    assert " blocked" not in out.split("rows:", 1)[-1].split("\n", 1)[0], out
    for csv_path in (tmp_path / "home" / "reports").glob("*-failed.csv"):
        assert "not started" not in csv_path.read_text(encoding="utf-8")
    assert "stopping: nothing new starts; waiting for" in err  # it says what the stop waits for
    sandbox.set_faults(FaultConfig())
    again = run_cli(["run", str(workbook), "--quiet"], env)
    assert again.code == 0, again.stdout + again.stderr
    assert_exactly(sandbox, workbook)


def test_a_second_run_of_the_same_project_is_refused_while_the_first_holds_the_lock(sandbox, tmp_path):
    from importer.locking import project_lock

    workbook = copy_samples(tmp_path)
    home = tmp_path / "home"
    env = cli_env(sandbox, home)
    with project_lock(home / "locks", "prj_1SBXBIOCHAR00001", workbook="another.xlsx"):
        blocked = run_cli(["run", str(workbook), "--quiet"], env)
    assert blocked.code == 2
    assert "another import into project prj_1SBXBIOCHAR00001 is running" in blocked.stdout
    assert "another.xlsx" in blocked.stdout and "nothing was sent" in blocked.stdout
    assert _count(sandbox, "source") == 0
    after = run_cli(["run", str(workbook), "--quiet"], env)  # the lock is free again
    assert after.code == 0, after.stdout + after.stderr


def test_a_lock_left_by_a_killed_process_is_taken_over(sandbox, tmp_path):
    home = tmp_path / "home"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path; from importer.locking import project_lock\n"
                f"with project_lock(Path({str(home / 'locks')!r}), 'prj_1SBXBIOCHAR00001', workbook='killed.xlsx'):\n"
                "    print('held', flush=True); time.sleep(60)"
            ),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=10)
    workbook = copy_samples(tmp_path)
    result = run_cli(["run", str(workbook), "--quiet"], cli_env(sandbox, home))
    assert result.code == 0, result.stdout + result.stderr
    assert_exactly(sandbox, workbook)


def test_sigkill_while_responses_are_lost_then_rollback_leaves_nothing(sandbox, tmp_path):
    """Creates whose answers were lost are recorded as intended before they are sent, so a rollback of the
    killed run finds them by supplier_reference_id and deletes them: nothing of the run is left behind."""
    workbook = copy_samples(tmp_path)
    env = cli_env(sandbox, tmp_path / "home")
    sandbox.set_faults(FaultConfig(latency_ms=120, rate_lost_response=0.5, seed=7))
    proc = _start(workbook, env)
    _wait_for(lambda: _count(sandbox, "datapoint") >= 4, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    sandbox.set_faults(FaultConfig())
    left = sum(_count(sandbox, kind) for kind in ("source", "datapoint", "feedstock_type", "ghg_entry", "component"))
    assert left >= 5  # the killed run did create objects, some of them never acknowledged
    history = run_cli(["history", "--json"], env)
    run_id = json.loads(history.stdout)[0]["run_id"]
    rolled = run_cli(["rollback", run_id, "--yes"], env)
    assert rolled.code == 0, rolled.stdout + rolled.stderr
    for kind in ("source", "datapoint", "feedstock_type", "ghg_entry", "component"):
        assert _count(sandbox, kind) == 0, (kind, rolled.stdout)
