"""Failing safely: credentials refused mid-run stop every request, Ctrl-C ends waits at once, local state that
cannot be written stops with a local diagnosis, rollback touches only what a run created, no password in an
API URL, uploads only to Isometric's storage, and evidence read without blocking on a FIFO."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from importer.api import (
    DEFAULT_UPLOAD_HOSTS,
    ApiError,
    AuthError,
    Cancelled,
    ClientConfig,
    CredentialsRefused,
    InsecureApiUrl,
    IsometricClient,
    UnsafeUploadUrl,
    UploadNotConfirmed,
    UploadUrlExpired,
)
from importer.api import models as m
from importer.api.safety import configured_upload_hosts, parse_upload_hosts, upload_url_problem
from importer.sandbox.seed import PROJECT_ID

SECRET = "failing-safely-secret-P0O9I8U7"
TOKEN = "eyJfailing.SAFELY-TOKEN-LKJHGF.sig"
BASE = "https://api.sandbox.isometric.com/mrv/v0"


def make(handler, **overrides) -> IsometricClient:
    settings = {"backoff_initial": 0.001, "backoff_max": 0.005, "retry_after_cap": 0.02, **overrides}
    base_url = settings.pop("base_url", BASE)
    cancel = settings.pop("cancel", None)
    config = ClientConfig(base_url=base_url, client_secret=SECRET, access_token=TOKEN, **settings)
    return IsometricClient(config, transport=httpx.MockTransport(handler), cancel=cancel)


def page(nodes, cursor=None) -> dict:
    return {
        "nodes": nodes,
        "total_count": len(nodes),
        "page_info": {
            "has_next_page": cursor is not None,
            "has_previous_page": False,
            "start_cursor": None,
            "end_cursor": cursor,
        },
    }


def datapoint_request(srid: str) -> m.CreateDatapointRequest:
    return m.CreateDatapointRequest(
        supplier_reference_id=srid,
        display_name=srid,
        description=f"{srid} measured",
        type="REPORTED",
        quantity=m.QuantityInput(magnitude=1.0, unit="t"),
        source_ids=[],
        project_id=PROJECT_ID,
    )


class RevokeAfter:
    """ASGI middleware in front of the sandbox: counts every API request it receives and, after `allowed` of
    them, answers 401 as a server does once the access token is revoked."""

    def __init__(self, app, allowed: int) -> None:
        self.app = app
        self.allowed = allowed
        self.received = 0
        self.refused = 0
        self.lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/mrv/"):
            await self.app(scope, receive, send)
            return
        with self.lock:
            self.received += 1
            revoked = self.received > self.allowed
            self.refused += revoked
        if not revoked:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": "Token has been revoked"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


@pytest.fixture()
def revoking_sandbox(tmp_path):
    from importer.sandbox import SandboxServer

    server = SandboxServer(db_path=tmp_path / "sandbox.sqlite3")
    server.app = server.revoker = RevokeAfter(server.app, allowed=3)
    with server:
        yield server


def sandbox_client(server, **overrides) -> IsometricClient:
    settings = {"backoff_initial": 0.001, "backoff_max": 0.01, "retry_after_cap": 0.05, **overrides}
    return IsometricClient(
        ClientConfig(
            base_url=server.base_url, client_secret=server.client_secret, access_token=server.access_token, **settings
        )
    )


# -- credentials refused ---------------------------------------------------------------------------------
def test_a_token_revoked_mid_run_stops_every_further_request(revoking_sandbox):
    revoker = revoking_sandbox.revoker
    with sandbox_client(revoking_sandbox) as client:
        made = []
        with pytest.raises(CredentialsRefused) as first:
            for n in range(200):
                made.append(client.create_datapoint(datapoint_request(f"revoked-{n}")))
        assert len(made) == 3 and revoker.received == 4 and revoker.refused == 1
        assert client.refused is not None and client.request_count == 4
        text = str(first.value)
        assert "refused the credentials" in text and "revoked" in text
        assert "ISOMETRIC_ACCESS_TOKEN" in text and "ISOMETRIC_CLIENT_SECRET" in text
        assert "Nothing more was sent" in text and "Token has been revoked" in text
        assert revoking_sandbox.access_token not in text + repr(first.value)
        assert revoking_sandbox.client_secret not in text + repr(first.value)
        assert isinstance(first.value, AuthError) and isinstance(first.value, ApiError)

        # every later call: the same error, at once, with nothing sent (reads, writes, uploads, deletes)
        started = time.monotonic()
        for call in (
            client.list_projects,
            lambda: client.create_datapoint(datapoint_request("after")),
            lambda: client.get_datapoint("dtp_1AAAAAAAAAAAAAAAAA"),
            lambda: client.delete("datapoint", made[0].id),
            lambda: client.upload_to_signed_url(f"{revoking_sandbox.origin}/_storage/upload/x", b"x", "text/plain"),
        ):
            with pytest.raises(CredentialsRefused) as later:
                call()
            assert str(later.value) == text
        assert time.monotonic() - started < 1
        assert revoker.received == 4 and client.request_count == 4


def test_concurrent_calls_stop_after_the_first_refusal(revoking_sandbox):
    revoker = revoking_sandbox.revoker
    workers = 8
    with sandbox_client(revoking_sandbox) as client, ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(client.create_datapoint, datapoint_request(f"pool-{n}")) for n in range(120)]
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result(timeout=30))
            except CredentialsRefused as exc:
                outcomes.append(exc)
        refusals = [o for o in outcomes if isinstance(o, CredentialsRefused)]
        assert len(refusals) >= 120 - 3 - workers
        # at most the requests already in flight when the first 401 came back followed it
        assert revoker.received <= 3 + workers and revoker.refused <= workers
        received = revoker.received
        with pytest.raises(CredentialsRefused):
            client.list_projects()
        assert revoker.received == received


def test_a_storage_403_is_an_expired_url_not_refused_credentials():
    def handler(request):
        if request.url.host.endswith("amazonaws.com"):
            return httpx.Response(403, text="<Error><Code>AccessDenied</Code><Message>Request has expired</Message>")
        return httpx.Response(200, json=page([]))

    client = make(handler)
    with pytest.raises(UploadUrlExpired):
        client.upload_to_signed_url(
            "https://isometric-sources.s3.eu-west-2.amazonaws.com/k?X-Amz-Signature=1", b"x", "text/plain"
        )
    assert client.refused is None
    assert client.list_projects() == []  # the client goes on


@pytest.mark.parametrize("status", [401, 403])
def test_the_first_401_or_403_is_not_retried(status):
    seen = []
    client = make(lambda r: seen.append(r) or httpx.Response(status, json={"detail": "no"}))
    with pytest.raises(CredentialsRefused) as info:
        client.list_projects()
    assert info.value.status == status and len(seen) == 1
    with pytest.raises(CredentialsRefused):
        client.list_feedstock_types()
    assert len(seen) == 1


# -- cancel ---------------------------------------------------------------------------------------------
def test_cancel_ends_a_retry_wait_at_once_and_starts_nothing():
    seen = []
    client = make(
        lambda r: seen.append(r) or httpx.Response(503, headers={"Retry-After": "30"}),
        retry_after_cap=30,
        max_attempts=5,
    )
    outcome: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(outcome, client.list_projects))
    worker.start()
    while not seen:
        time.sleep(0.01)
    time.sleep(0.1)  # now in its 30 s Retry-After wait
    stopped = time.monotonic()
    client.cancel()
    worker.join(2)
    assert not worker.is_alive() and time.monotonic() - stopped < 1
    assert isinstance(outcome[0], Cancelled) and len(seen) == 1
    with pytest.raises(Cancelled):
        client.list_projects()
    assert len(seen) == 1 and client.cancelled


def test_the_run_s_cancel_event_also_ends_a_rate_limit_pause():
    cancel = threading.Event()
    seen = []
    client = make(
        lambda r: seen.append(r) or httpx.Response(429, headers={"Retry-After": "30"}),
        retry_after_cap=30,
        cancel=cancel,
    )
    outcomes: list[BaseException] = []
    threads = [threading.Thread(target=lambda: _capture(outcomes, client.list_projects)) for _ in range(3)]
    threads[0].start()
    while not seen:
        time.sleep(0.01)
    for thread in threads[1:]:  # these wait in the client-wide pause the 429 set
        thread.start()
    time.sleep(0.1)
    cancel.set()
    for thread in threads:
        thread.join(2)
    assert not any(t.is_alive() for t in threads)
    assert len(outcomes) == 3 and all(isinstance(o, Cancelled) for o in outcomes) and len(seen) == 1


def test_in_flight_says_what_a_stop_waits_for():
    entered, release = threading.Event(), threading.Event()

    def handler(request):
        entered.set()
        release.wait(5)
        return httpx.Response(200, json=page([]))

    client = make(handler)
    worker = threading.Thread(target=client.list_projects)
    worker.start()
    assert entered.wait(5)
    client.cancel()
    assert [w.split(" (")[0] for w in client.in_flight()] == [f"GET {BASE}/projects"]
    release.set()
    worker.join(5)
    assert client.in_flight() == []


def _capture(into: list[BaseException], fn) -> None:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        into.append(exc)


# -- upload confirmation --------------------------------------------------------------------------------
def test_upload_and_confirm_needs_a_409_after_the_put(sandbox):
    from importer.sandbox.seed import PROJECT_ID as project

    evidence = b"weighbridge ticket\n"
    with sandbox_client(sandbox) as client:
        created = client.create_source(
            m.CreateSourceRequest(
                supplier_reference_id="confirm-1",
                display_name="Ticket",
                published_at=dt.date(2026, 10, 31),
                file_name="t.txt",
                content_type="text/plain",
                content_length=len(evidence),
                project_id=project,
            )
        )
        assert client.upload_and_confirm(created.source.id, created.signed_upload_url, evidence, "text/plain")
        assert sandbox.store.stored_file_sha256(created.source.id) is not None
        assert not client.upload_and_confirm(created.source.id, None, evidence, "text/plain")  # already there

    def never_takes(request):  # storage says 200, but the API keeps offering a URL
        if request.method == "PUT":
            return httpx.Response(200)
        return httpx.Response(200, json="https://storage.googleapis.com/isometric-uploads/k?sig=1")

    with pytest.raises(UploadNotConfirmed):
        make(never_takes).upload_and_confirm("src_1AAAAAAAAAAAAAAAAA", None, b"x", "text/plain")


# -- API URL with credentials ---------------------------------------------------------------------------
def test_an_api_url_with_user_and_password_is_refused_without_echoing_it(monkeypatch):
    from importer.settings import SettingsError, api_target

    monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", "s")
    monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", "t")
    for url in (
        "https://analyst:hunter2-PASSWORD@api.isometric.com/mrv/v0",
        "https://:hunter2-PASSWORD@api.isometric.com/mrv/v0",
        "https://analyst@api.isometric.com/mrv/v0",
    ):
        with pytest.raises(SettingsError) as info:
            api_target(url)
        text = str(info.value)
        assert "hunter2" not in text and "analyst" not in text
        assert "remove them" in text and "ISOMETRIC_ACCESS_TOKEN" in text and "ISOMETRIC_CLIENT_SECRET" in text
        assert "https://api.isometric.com/mrv/v0" in text
    monkeypatch.setenv("ISOMETRIC_API_URL", "https://u:hunter2-PASSWORD@api.sandbox.isometric.com")
    with pytest.raises(SettingsError) as info:
        api_target(None)
    assert "hunter2" not in str(info.value)
    with pytest.raises(InsecureApiUrl) as refused:  # the client refuses it too, without the password
        make(lambda r: httpx.Response(200), base_url="https://u:hunter2-PASSWORD@api.isometric.com/mrv/v0")
    assert "hunter2" not in str(refused.value)
    assert api_target("https://api.isometric.com/mrv/v0").url == "https://api.isometric.com/mrv/v0"


# -- upload hosts ---------------------------------------------------------------------------------------
ISOMETRIC_STORAGE = [
    "https://isometric-sandbox-sources.s3.eu-west-2.amazonaws.com/src/k?X-Amz-Signature=1",
    "https://isometric-sources.s3.amazonaws.com/k?X-Amz-Signature=1",
    "https://s3.eu-west-2.amazonaws.com/isometric-sources/k?X-Amz-Signature=1",
    "https://storage.googleapis.com/isometric-uploads/k?X-Goog-Signature=1",
    "https://isometric-uploads.storage.googleapis.com/k?X-Goog-Signature=1",
    "https://uploads.isometric.com/k",
]
NOT_ISOMETRIC = [
    "https://evil.s3.amazonaws.com/k",
    "https://evil.s3.eu-west-2.amazonaws.com/k",
    "https://s3.eu-west-2.amazonaws.com/evil/k",
    "https://storage.googleapis.com/evil-bucket/isometric-uploads/k",
    "https://storage.googleapis.com/",
    "https://evil.storage.googleapis.com/k",
    "https://isometric.evil.s3.amazonaws.com/k",  # `*` never crosses a dot
    "https://isometric-x.s3.evil.example/k",
    "https://isometric.com.evil.example/k",
    "https://u:p@uploads.isometric.com/k",
]


@pytest.mark.parametrize("url", ISOMETRIC_STORAGE)
def test_isometric_storage_is_allowed_by_default(url):
    assert upload_url_problem(url, allowed_hosts=DEFAULT_UPLOAD_HOSTS, api_is_loopback=False) is None


@pytest.mark.parametrize("url", NOT_ISOMETRIC)
def test_other_buckets_are_refused_by_default(url):
    sent = []
    with pytest.raises(UnsafeUploadUrl) as info:
        make(lambda r: sent.append(r) or httpx.Response(200)).upload_to_signed_url(url, b"x", "text/plain")
    assert sent == [] and ("ISOMETRIC_UPLOAD_HOSTS" in str(info.value) or "user:password" in str(info.value))


def test_the_upload_hosts_variable_replaces_the_default(monkeypatch):
    monkeypatch.setenv("ISOMETRIC_UPLOAD_HOSTS", " uploads.example-storage.net , *.blob.example.org ")
    assert configured_upload_hosts() == ("uploads.example-storage.net", "*.blob.example.org")
    sent = []
    client = make(lambda r: sent.append(r) or httpx.Response(200))
    client.upload_to_signed_url("https://uploads.example-storage.net/k?sig=1", b"x", "text/plain")
    client.upload_to_signed_url("https://isometric.eu.blob.example.org/k?sig=1", b"x", "text/plain")
    assert len(sent) == 2
    with pytest.raises(UnsafeUploadUrl):  # the default list no longer applies
        client.upload_to_signed_url(ISOMETRIC_STORAGE[0], b"x", "text/plain")
    with pytest.raises(UnsafeUploadUrl):
        client.upload_to_signed_url("https://blob.example.org/k", b"x", "text/plain")
    assert len(sent) == 2


@pytest.mark.parametrize("value", ["*", "*.com", "https://x.example.com", "x.example.com:443", "evil host.com", ","])
def test_an_unusable_upload_hosts_value_is_a_settings_error(monkeypatch, value):
    from importer.settings import SettingsError, api_target

    with pytest.raises(ValueError):
        parse_upload_hosts(value)
    monkeypatch.setenv("ISOMETRIC_UPLOAD_HOSTS", value)
    with pytest.raises(SettingsError) as info:
        api_target(None)
    assert "ISOMETRIC_UPLOAD_HOSTS" in str(info.value)


def test_loopback_storage_only_for_the_local_sandbox():
    url = "http://127.0.0.1:8765/_storage/upload/t"
    assert upload_url_problem(url, allowed_hosts=DEFAULT_UPLOAD_HOSTS, api_is_loopback=True) is None
    assert upload_url_problem(url, allowed_hosts=DEFAULT_UPLOAD_HOSTS, api_is_loopback=False) is not None


# -- local state ----------------------------------------------------------------------------------------
def _history(path: Path):
    from importer.history import History

    return History(path)


def _start(history, run_id: str = "run-1") -> None:
    history.start_run(
        run_id=run_id,
        mode="run",
        workbook="w.xlsx",
        workbook_sha256="0" * 64,
        api_url="http://127.0.0.1/mrv/v0",
        embedded_sandbox=True,
        project_id=PROJECT_ID,
        operator="analyst",
        started_at=dt.datetime.now(dt.UTC),
    )


def _assert_local(error, path: Path, reason: str) -> None:
    from importer.history import LocalStateError

    assert isinstance(error, LocalStateError) and error.path == path
    text = str(error)
    assert f"the run history at {path} cannot be written ({reason}" in text
    assert "problem of this machine, not of the import" in text and f"mv {path} {path}.bak" in text
    assert "found again, not duplicated" in text


def test_a_full_disk_stops_the_history_with_a_local_diagnosis(tmp_path):
    from importer.history import LocalStateError

    path = tmp_path / "history.sqlite3"
    history = _history(path)
    _start(history)
    history.record_created("run-1", "datapoint", "dtp_1", "dp-1")
    (pages,) = history.db.execute("PRAGMA page_count").fetchone()
    history.db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL, as on a full disk
    with pytest.raises(LocalStateError) as info:
        for n in range(10_000):
            history.record_intended("run-1", "datapoint", f"dp-{n:05d}-" + "x" * 80)
    _assert_local(info.value, path, "database or disk is full")
    for call in (
        lambda: history.record_created("run-1", "datapoint", "dtp_2", "dp-2"),
        history.runs,
        lambda: history.finish_run("run-1", outcome="failed", counts={}, finished_at=dt.datetime.now(dt.UTC)),
    ):
        with pytest.raises(LocalStateError) as again:  # nothing more is attempted: the run stops
            call()
        assert again.value.message == info.value.message


def test_a_read_only_history_file_is_a_local_problem(tmp_path, monkeypatch):
    from importer.history import LocalStateError

    path = tmp_path / "history.sqlite3"
    history = _history(path)
    _start(history)
    history.close()
    connect = sqlite3.connect  # open it read-only, as SQLite does for a file it may not write
    monkeypatch.setattr(
        "importer.history.sqlite3.connect", lambda name, **kw: connect(f"file:{name}?mode=ro", uri=True, **kw)
    )
    history = _history(path)
    assert [r.run_id for r in history.runs()] == ["run-1"]  # reading works
    with pytest.raises(LocalStateError) as info:
        history.check_writable()
    _assert_local(info.value, path, "read-only")
    history = _history(path)
    with pytest.raises(LocalStateError) as info:
        history.record_intended("run-1", "datapoint", "dp-1")
    _assert_local(info.value, path, "read-only")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_a_chmod_read_only_history_file_and_folder(tmp_path):
    from importer.history import LocalStateError

    path = tmp_path / "state" / "history.sqlite3"
    history = _history(path)
    _start(history)
    history.close()
    path.chmod(0o444)
    try:
        with pytest.raises(LocalStateError) as info:
            history = _history(path)
            history.record_intended("run-1", "datapoint", "dp-1")
        _assert_local(info.value, path, "read-only")
    finally:
        path.chmod(0o644)
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(LocalStateError) as info:
            _history(folder / "history.sqlite3")
        assert info.value.path == folder / "history.sqlite3"
    finally:
        folder.chmod(0o755)


def test_a_history_folder_that_cannot_be_made_is_a_local_problem(tmp_path):
    from importer.history import LocalStateError

    (tmp_path / "home").write_text("a file where the folder should be")
    path = tmp_path / "home" / "history.sqlite3"
    with pytest.raises(LocalStateError) as info:
        _history(path)
    assert info.value.path == path and f"the run history at {path} cannot be written" in str(info.value)


def test_a_corrupt_history_file_is_a_local_problem(tmp_path):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(Exception) as info:
        _history(path)
    _assert_local(info.value, path, "corrupt")

    damaged = tmp_path / "damaged.sqlite3"  # a real database whose pages were overwritten
    history = _history(damaged)
    _start(history)
    for n in range(200):
        history.record_created("run-1", "datapoint", f"dtp_{n}", f"dp-{n}")
    history.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    history.close()
    data = bytearray(damaged.read_bytes())
    data[4096:12288] = os.urandom(8192)
    damaged.write_bytes(bytes(data))
    with pytest.raises(Exception) as info:
        _history(damaged)
        _history(damaged).created("run-1")
    _assert_local(info.value, damaged, "corrupt")


OLD_SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, mode TEXT NOT NULL, workbook TEXT NOT NULL,
    workbook_sha256 TEXT NOT NULL, api_url TEXT NOT NULL, embedded_sandbox INTEGER NOT NULL,
    project_id TEXT NOT NULL, operator TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, outcome TEXT,
    counts TEXT);
CREATE TABLE created (run_id TEXT NOT NULL REFERENCES runs(run_id), seq INTEGER NOT NULL, kind TEXT NOT NULL,
    object_id TEXT NOT NULL, supplier_reference_id TEXT, deleted_at TEXT, PRIMARY KEY (run_id, seq));
"""


def test_a_history_of_the_previous_version_still_opens(tmp_path):
    path = tmp_path / "history.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    old.execute(
        "INSERT INTO runs VALUES ('old-run','run','w.xlsx','00','http://x',1,'prj','me',"
        "'2026-01-01T00:00:00+00:00','2026-01-01T00:01:00+00:00','ok','{\"created\": 1}')"
    )
    old.execute("INSERT INTO created VALUES ('old-run', 1, 'datapoint', 'dtp_old', 'dp-old', NULL)")
    old.commit()
    old.close()
    history = _history(path)
    assert [(r.run_id, r.created, r.counts) for r in history.runs()] == [("old-run", 1, {"created": 1})]
    [obj] = history.created("old-run")
    assert (obj.object_id, obj.adopted) == ("dtp_old", False)
    history.record_intended("old-run", "datapoint", "dp-new")
    history.record_created("old-run", "datapoint", "dtp_new", "dp-new", adopted=True)
    assert history.intended("old-run") == []
    history.close()
    again = sqlite3.connect(path)  # the previous version's queries still read it
    assert (
        again.execute(
            "SELECT seq, kind, object_id, supplier_reference_id, deleted_at FROM created "
            "WHERE run_id = 'old-run' ORDER BY seq"
        ).fetchall()[1][2]
        == "dtp_new"
    )
    again.close()


def test_a_lock_folder_that_cannot_be_written_is_a_local_problem(tmp_path):
    from importer.history import LocalStateError
    from importer.locking import project_lock

    (tmp_path / "locks").write_text("not a folder")
    with pytest.raises(LocalStateError) as info, project_lock(tmp_path / "locks", PROJECT_ID, workbook="w.xlsx"):
        pass
    assert info.value.path == tmp_path / "locks"
    assert "the project lock at" in str(info.value) and "nothing was sent by this run" in str(info.value)


# -- rollback: created, adopted, intended ---------------------------------------------------------------
def test_rollback_deletes_only_what_the_run_created_and_finds_unconfirmed_creates(sandbox, tmp_path):
    from importer.rollback import execute_rollback, plan_rollback

    history = _history(tmp_path / "history.sqlite3")
    _start(history, "run-2")
    with sandbox_client(sandbox) as client:
        existing = client.create_datapoint(datapoint_request("rb-existing"))  # someone else's, found at plan time
        history.record_created("run-2", "datapoint", existing.id, "rb-existing", adopted=True)

        history.record_intended("run-2", "datapoint", "rb-created")
        created = client.create_datapoint(datapoint_request("rb-created"))
        history.record_created("run-2", "datapoint", created.id, "rb-created")

        history.record_intended("run-2", "datapoint", "rb-lost")  # sent, answer lost: the run crashed
        lost = client.create_datapoint(datapoint_request("rb-lost"))

        history.record_intended("run-2", "datapoint", "rb-never")  # recorded, then the run died before sending

        assert [i.supplier_reference_id for i in history.intended("run-2")] == ["rb-lost", "rb-never"]
        items = plan_rollback(history, "run-2", client)
        planned = {(i.obj.supplier_reference_id, i.status) for i in items}
        assert planned == {
            ("rb-created", "pending"),
            ("rb-lost", "pending"),
            ("rb-existing", "kept"),
            ("rb-never", "never created"),
        }
        done = execute_rollback(history, "run-2", client, items)
        assert {(i.obj.object_id, i.status) for i in done if i.status == "deleted"} == {
            (created.id, "deleted"),
            (lost.id, "deleted"),
        }
        remaining = {d.supplier_reference_id for d in client.list_datapoints(project_id=PROJECT_ID)}
        assert "rb-existing" in remaining and not remaining & {"rb-created", "rb-lost"}
        assert history.intended("run-2") == []  # every intent closed
        again = plan_rollback(history, "run-2", client)
        assert [(i.obj.supplier_reference_id, i.status) for i in again] == [("rb-existing", "kept")]
    assert [r.created for r in history.runs()] == [1]  # the adopted one does not count as created


# -- evidence -------------------------------------------------------------------------------------------
def test_a_fifo_swapped_in_for_evidence_fails_at_once(tmp_path):
    import hashlib

    from importer.workbook.evidence import EvidenceError, read_evidence

    path = tmp_path / "ticket.pdf"
    data = b"%PDF-1.4 weighbridge\n"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    assert read_evidence(path, expected_size=len(data), expected_sha256=digest) == data
    path.unlink()
    os.mkfifo(path)  # no writer will ever come: a blocking open would hang
    started = time.monotonic()
    with pytest.raises(EvidenceError, match="not a regular file"):
        read_evidence(path, expected_size=len(data), expected_sha256=digest)
    assert time.monotonic() - started < 1


def test_evidence_changed_since_validation_is_refused(tmp_path):
    import hashlib

    from importer.workbook.evidence import EvidenceError, read_evidence

    path = tmp_path / "ticket.txt"
    path.write_bytes(b"18.4 t\n")
    digest = hashlib.sha256(b"18.4 t\n").hexdigest()
    path.write_bytes(b"18.4 t\nand more\n")
    with pytest.raises(EvidenceError, match="changed since it was validated; validate and run again"):
        read_evidence(path, expected_size=7, expected_sha256=digest)
    path.write_bytes(b"81.4 t\n")  # same size, other content
    with pytest.raises(EvidenceError, match="changed since it was validated"):
        read_evidence(path, expected_size=7, expected_sha256=digest)
    path.unlink()
    (tmp_path / "elsewhere.txt").write_bytes(b"18.4 t\n")
    path.symlink_to(tmp_path / "elsewhere.txt")  # a link swapped in: not followed
    with pytest.raises(EvidenceError, match="cannot be opened"):
        read_evidence(path, expected_size=7, expected_sha256=digest)
