"""Issue #24, item 1: what an import owns is unambiguous. `--prune` deletes only objects this workbook's own
runs could have made (`importer.identity.owned_by`: `<prefix>:<sheet>:<ref>`, sources with their hash, and,
where this machine's run history knows, made by a run of this prefix), never another workbook's, whatever `:`
either prefix holds. Driven through the real CLI against a sandbox over loopback; what is left is read back
over HTTP and compared with the references the test derives itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from e2e_helpers import REPO, api_nodes, cli_env, copy_samples, expected_references, run_cli
from workbooks import write

pytestmark = pytest.mark.slow

COLLECTIONS = {
    "source": "/sources",
    "datapoint": "/datapoints",
    "ghg_entry": "/ghg_entries",
    "component": "/components",
    "storage_location": "/projects/prj_1SBXBIOCHAR00001/storage_locations",
    "production_batch": "/production_batches",
    "biochar_application": "/biochar_applications",
}
SPARE = {
    "ref": "spare-reading",
    "display_name": "Spare reading",
    "description": "A reading no entry uses",
    "type": "REPORTED",
    "magnitude": 1.5,
    "unit": "t",
    "standard_deviation": None,
    "measured_at": None,
    "source_refs": "weighbridge",
    "uncertainty_justification": None,
}


def _workbook(folder: Path, prefix: str, *, spare: bool, own: str | None = None) -> Path:
    def mutate(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        project.update(supplier_reference_prefix=prefix, statement_end_on=None)
        if spare:
            sheets["datapoints"].append(dict(SPARE))
        if own is not None:  # a row carrying its own supplier_reference_id
            sheets["datapoints"].append(dict(SPARE, ref="legacy-reading", supplier_reference_id=own))

    return write(folder, mutate, name="wb.xlsx")


def _held(sandbox: Any) -> dict[str, set[str]]:
    """kind -> supplier_reference_ids the server holds (read over HTTP)."""
    return {
        kind: {
            n["supplier_reference_id"]
            for n in api_nodes(sandbox, path, project_id="prj_1SBXBIOCHAR00001")
            if n.get("supplier_reference_id")
        }
        for kind, path in COLLECTIONS.items()
    }


def _ours(workbook: Path) -> dict[str, set[str]]:
    return {k: v for k, v in expected_references(workbook).items() if k in COLLECTIONS}


@pytest.mark.parametrize(
    ("first", "second", "own"),
    [
        ("acme", "acme:2026-10", None),
        ("acme", "acme:datapoints", None),
        ("a", "a:b:c", None),
        ("acme", "other", "acme:datapoints:legacy-reading"),  # the other's own reference looks like one of acme's
    ],
)
def test_prune_deletes_only_this_workbooks_own_objects(
    sandbox: Any, tmp_path: Path, first: str, second: str, own: str | None
) -> None:
    env = cli_env(sandbox, tmp_path / "home")
    one = _workbook(tmp_path / "one", first, spare=True)
    two = _workbook(tmp_path / "two", second, spare=True, own=own)
    for workbook in (one, two):
        ran = run_cli(["run", str(workbook), "--json", "--quiet"], env)
        assert ran.code == 0, ran.stdout + ran.stderr
    theirs = _ours(two)
    before = _held(sandbox)
    for kind, srids in theirs.items():
        assert srids <= before[kind], kind
    spare = next(s for s in _ours(one)["datapoint"] if s.endswith(":spare-reading"))

    # the first workbook drops its spare row: that one object, and nothing of the second's, is its orphan
    one = _workbook(tmp_path / "one", first, spare=False)
    planned = run_cli(["plan", str(one), "--prune", "--json", "--quiet"], env, subprocess_=True)
    assert planned.code == 0, planned.stdout + planned.stderr
    orphans = [o["supplier_reference_id"] for o in json.loads(planned.stdout)["orphans"]]
    assert orphans == [spare]

    pruned = run_cli(["run", str(one), "--prune", "--json", "--quiet"], env, subprocess_=True)
    assert pruned.code == 0, pruned.stdout + pruned.stderr
    deleted = [o for o in json.loads(pruned.stdout)["objects"] if o["status"] == "deleted"]
    assert [o["supplier_reference_id"] for o in deleted] == [spare]
    after = _held(sandbox)
    for kind, srids in theirs.items():  # every object of the second workbook is still there
        assert srids <= after[kind], (kind, sorted(srids - after[kind]))
    assert spare not in after["datapoint"]
    assert {k: v - {spare} for k, v in before.items()} == after  # nothing else was deleted
    if own is not None:
        assert own in after["datapoint"]


def test_owned_by_is_exactly_the_derived_shape() -> None:
    from importer.identity import derived_reference, owned_by

    sha = "0123456789abcdef" * 4
    assert owned_by("acme", derived_reference("acme", "datapoints", "x"), "datapoint")
    assert owned_by("acme", derived_reference("acme", "sources", "w", file_sha256=sha), "source")
    assert owned_by("acme", derived_reference("acme", "datapoints", "y" * 300), "datapoint")  # shortened
    for other in ("acme:2026-10", "acme:datapoints", "acme:sources"):
        for sheet, kind in (("datapoints", "datapoint"), ("sources", "source"), ("entries", "ghg_entry")):
            srid = derived_reference(other, sheet, "x", file_sha256=sha if kind == "source" else None)
            assert not owned_by("acme", srid, kind), srid
            assert not owned_by("acme", srid), srid
            assert owned_by(other, srid, kind), srid
    assert not owned_by("a", derived_reference("a:b:c", "entries", "e"))
    assert not owned_by("a:b:c", derived_reference("a", "entries", "e"))
    assert not owned_by("acme", "acme:sources:w", "source")  # a source without its hash is not ours
    assert not owned_by("acme", derived_reference("acme", "datapoints", "x"), "source")  # nor another kind's
    assert not owned_by("acme", "acme-2:datapoints:x")


# -- rollback takes the project's lock (item 3) ---------------------------------------------------------------
def _holder(home: Path) -> subprocess.Popen[str]:
    """A second process holding the project's lock, as a running import does."""
    code = (
        "import time\nfrom pathlib import Path\nfrom importer.locking import project_lock\n"
        f"with project_lock(Path({str(home / 'locks')!r}), 'prj_1SBXBIOCHAR00001', workbook='holder.xlsx'):\n"
        "    print('held', flush=True)\n    time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_rollback_is_refused_while_an_import_of_the_project_holds_the_lock(sandbox: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = cli_env(sandbox, home)
    workbook = copy_samples(tmp_path)
    ran = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert ran.code == 0, ran.stdout + ran.stderr
    run_id = ran.json()["run_id"]
    made = {
        o["id"]
        for o in ran.json()["objects"]
        if o["status"] == "created" and o["id"] and not o["id"].startswith("ggs_")
    }
    before = _held(sandbox)
    holder = _holder(home)
    try:
        for args in (["rollback", run_id, "--yes"], ["rollback", run_id, "--dry-run"]):
            refused = run_cli(args, env, subprocess_=True)
            assert refused.code == 1, refused.stdout + refused.stderr
            assert "another import into project prj_1SBXBIOCHAR00001 is running" in refused.stdout
            assert "holder.xlsx" in refused.stdout and "nothing was deleted" in refused.stdout
            assert _held(sandbox) == before
    finally:
        holder.kill()
        holder.wait(timeout=10)
    done = run_cli(["rollback", run_id, "--yes"], env, subprocess_=True)
    assert done.code == 0, done.stdout + done.stderr
    left = {n["id"] for path in COLLECTIONS.values() for n in api_nodes(sandbox, path)}
    assert made and not made & left  # with the lock free, everything the run created is gone


def test_rollback_deletes_nothing_when_an_import_ran_since_it_looked(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importer.history import History
    from importer.rollback import execute_rollback, plan_rollback
    from importer.runner import api_session, history_path
    from importer.settings import api_target

    env = cli_env(sandbox, tmp_path / "home")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    workbook = copy_samples(tmp_path)
    first = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    history = History(history_path())
    with api_session(api_target(None)) as session:
        items = plan_rollback(history, first.json()["run_id"], session.client)
        assert any(i.status == "pending" for i in items)
        again = run_cli(["run", str(workbook), "--quiet"], env, subprocess_=True)  # an import meanwhile
        assert again.code == 0, again.stdout + again.stderr
        before = _held(sandbox)
        done = execute_rollback(history, first.json()["run_id"], session.client, items)
    assert all(i.status != "deleted" for i in done)
    assert any("ran since this rollback looked" in (i.message or "") for i in done)
    assert _held(sandbox) == before


# -- two analysts at once: who created what does not depend on timing (item 4) ----------------------------------
CREATES = frozenset(
    {
        "/mrv/v0/sources",
        "/mrv/v0/datapoints",
        "/mrv/v0/ghg_entries",
        "/mrv/v0/components",
        "/mrv/v0/ghg_statements",
        "/mrv/v0/projects/prj_1SBXBIOCHAR00001/storage_locations",
        "/mrv/v0/production_batches",
        "/mrv/v0/biochar_applications",
    }
)


class _Gate:
    """A loopback proxy in front of the sandbox for one run: it forwards everything, but holds that run's creates
    (`hold="requests"`: before they reach the server; `hold="answers"`: after the server acted, before the answer
    goes back; `hold="lost"`: as "requests", then the first answer to each create is dropped, as a network fault
    would) until `release` is set. `creating` is set by the first create it sees."""

    def __init__(self, target: str, hold: str) -> None:
        import http.server
        import threading

        import httpx

        self.creating, self.release = threading.Event(), threading.Event()
        self.cut: set[bytes] = set()  # `hold="lost"`: creates whose first answer was dropped
        gate, upstream = self, httpx.Client(base_url=target, timeout=60)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                create = self.command == "POST" and path in CREATES
                if create:
                    gate.creating.set()
                    if hold in ("requests", "lost"):
                        gate.release.wait(120)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection", "accept-encoding")
                }
                answer = upstream.request(self.command, self.path, content=body, headers=headers)
                if create and hold == "answers":
                    gate.release.wait(120)
                if create and hold == "lost" and body not in gate.cut:  # the server acted; its answer is lost
                    gate.cut.add(body)
                    self.close_connection = True
                    return
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                        "date",
                        "server",
                    ):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _start_run(workbook: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "importer.cli", "run", str(workbook), "--json", "--quiet"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _recorded(home: Path, run_id: str) -> tuple[set[str], set[str]]:
    """(created, adopted) object IDs of a run, as its own history records them."""
    from importer.history import History

    history = History(home / "history.sqlite3")
    try:
        objects = history.created(run_id)
    finally:
        history.close()
    return {o.object_id for o in objects if not o.adopted}, {o.object_id for o in objects if o.adopted}


@pytest.mark.parametrize(
    "hold",
    [
        "requests",
        "answers",
        pytest.param(
            "lost",
            marks=pytest.mark.xfail(
                strict=False,
                reason="undecidable through this API (no idempotency key): a create whose answer was lost and "
                "that a look-up then finds may be this run's or one another run made meanwhile; it is taken as "
                "this run's (so a rollback after a crash leaves nothing), as README 'What it promises' states",
            ),
        ),
    ],
)
def test_two_runs_at_once_each_object_is_created_by_exactly_one(sandbox: Any, tmp_path: Path, hold: str) -> None:
    """Run B plans, then its creates are held (before the server sees them, or after it acted) while run A, with
    its own local state (no shared lock), imports the same workbook; then B goes on. Whatever the interleaving,
    every object is recorded as created by exactly one run, the other adopts it, and rolling back B deletes
    nothing A created. (The sample without its extra component: attaching one to an entry another run created
    and attached meanwhile is refused by the API as already attributed, a conflict of its own.)"""

    def without_extra_component(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        sheets["components"].clear()
        sheets["component_inputs"].clear()
        sheets["datapoints"][:] = [
            d for d in sheets["datapoints"] if d["ref"] not in ("generator-diesel-l", "diesel-ef")
        ]

    workbook = write(tmp_path / "w", without_extra_component)
    gate = _Gate(sandbox.origin, hold)
    homes = {"a": tmp_path / "home-a", "b": tmp_path / "home-b"}
    env_a = cli_env(sandbox, homes["a"])
    env_b = cli_env(sandbox, homes["b"], ISOMETRIC_API_URL=gate.origin + "/mrv/v0")
    try:
        run_b = _start_run(workbook, env_b)
        assert gate.creating.wait(60), "run B never sent a create"
        run_a = _start_run(workbook, env_a)  # B planned before any of A's objects existed
        out_a, err_a = run_a.communicate(timeout=240)
        gate.release.set()
        out_b, err_b = run_b.communicate(timeout=240)
        assert run_a.returncode == 0, out_a + err_a
        assert run_b.returncode == 0, out_b + err_b
        ids = {"a": json.loads(out_a)["run_id"], "b": json.loads(out_b)["run_id"]}
        created_a, adopted_a = _recorded(homes["a"], ids["a"])
        created_b, adopted_b = _recorded(homes["b"], ids["b"])
        server = {
            n["supplier_reference_id"]: n["id"]
            for path in COLLECTIONS.values()
            for n in api_nodes(sandbox, path, project_id="prj_1SBXBIOCHAR00001")
            if str(n.get("supplier_reference_id") or "").startswith("demo-")
        }
        expected = {s for kind, srids in _ours(workbook).items() for s in srids}
        assert set(server) == expected  # nothing duplicated, nothing missing
        assert created_a and created_b | adopted_b
        assert not created_a & created_b  # never both
        assert set(server.values()) <= created_a | created_b  # every object created by one of them
        assert adopted_b <= created_a and adopted_a <= created_b  # what one adopted, the other created
        if hold in ("requests", "lost"):  # B's creates all reached the server after A's: A made every object
            assert set(server.values()) <= created_a and set(server.values()) <= adopted_b
        rolled = run_cli(["rollback", ids["b"], "--yes"], env_b, subprocess_=True)
        assert rolled.code in (0, 1), rolled.stdout + rolled.stderr  # a source A's datapoints cite stays (refused)
    finally:
        gate.close()
    left = {n["id"] for path in COLLECTIONS.values() for n in api_nodes(sandbox, path)}
    assert {i for i in created_a if not i.startswith("ggs_")} <= left  # nothing of A's was deleted
