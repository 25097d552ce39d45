"""Issue #24: hostile servers, over real HTTP on loopback, with the real CLI as a subprocess.

A small proxy (`Hostile`) sits in front of the local sandbox and misbehaves on chosen requests: it dribbles an
answer one byte at a time, paginates for ever, sends a 2xx whose body is broken, answers 429 with a
Retry-After in the past, echoes the request headers (the credentials) in a 500 error page, ignores the
`?supplier_reference_id=` filter and loses a create's answer. Every run must end within a bounded time with
the right exit code, no traceback, no "internal error", and no secret (nor any 12-character fragment of one)
in stdout, stderr, the --json output or the reports folder."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest

from importer.api import ClientConfig, IsometricClient
from importer.api.errors import Cancelled, Unreachable

from e2e_helpers import REPO, assert_exactly, cli_env, copy_samples, run_cli
from sandbox_requests import PROJECT, datapoint

pytestmark = pytest.mark.slow

Rule = Callable[["_Handler", str, str, dict[str, list[str]], bytes], bool]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        hostile = self.server.hostile
        with hostile.lock:
            hostile.seen.append((self.command, split.path, query, time.monotonic()))
        if not hostile.rule(self, self.command, split.path, query, body):
            self.forward(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

    def forward(self, body: bytes, path: str | None = None) -> tuple[int, bytes, str]:
        """Send the request on to the sandbox and its answer back (returned as well)."""
        status, data, kind = self.upstream(body, path)
        self.reply(status, data, kind)
        return status, data, kind

    def upstream(self, body: bytes, path: str | None = None) -> tuple[int, bytes, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.hostile.upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
        try:
            conn.request(self.command, path or self.path, body=body or None, headers=headers)
            answer = conn.getresponse()
            return answer.status, answer.read(), answer.getheader("Content-Type") or "application/json"
        finally:
            conn.close()

    def reply(
        self, status: int, data: bytes, kind: str = "application/json", headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def dribble(self, every: float = 0.5) -> None:
        """Headers promising a body, then one byte every `every` s until the client leaves (or 60 s)."""
        hostile = self.server.hostile
        hostile.dribbling.set()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.flush()
        until = time.monotonic() + 60
        try:
            while time.monotonic() < until and not hostile.stop.is_set():
                self.wfile.write(b" ")
                self.wfile.flush()
                hostile.stop.wait(every)
        except OSError:
            pass  # the client gave up: what is being tested
        finally:
            with hostile.lock:
                hostile.dribble_ended.append(time.monotonic())
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hostile: Hostile


class Hostile:
    """A misbehaving proxy on 127.0.0.1 in front of the sandbox: `rule(handler, method, path, query, body)`
    answers a request itself and returns True, or returns False to have it forwarded."""

    def __init__(self, sandbox: Any, rule: Rule) -> None:
        self.rule = rule
        self.upstream_port = sandbox.port
        self.prefix = urlsplit(sandbox.base_url).path
        self.seen: list[tuple[str, str, dict[str, list[str]], float]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.dribbling = threading.Event()
        self.dribble_ended: list[float] = []
        self.state: dict[str, Any] = {}
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hostile = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    def calls(self, method: str, suffix: str) -> list[tuple[str, str, dict[str, list[str]], float]]:
        with self.lock:
            return [s for s in self.seen if s[0] == method and s[1].endswith(suffix)]

    def __enter__(self) -> Hostile:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()


def fragments(secret: str, size: int = 12) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)} | {secret}


def assert_no_secret(secrets: list[str], *texts: str, reports: Path | None = None) -> None:
    """No secret, nor any 12-character run of one, in the texts or any file of the reports folder."""
    everything = list(texts)
    if reports is not None and reports.exists():
        everything += [p.read_text(errors="replace") for p in reports.rglob("*") if p.is_file()]
    for secret in secrets:
        for piece in fragments(secret):
            for text in everything:
                assert piece not in text, f"a fragment of a secret leaked: {piece!r}"


def assert_clean(result: Any) -> None:
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text and "internal error" not in text, result.stdout + result.stderr


def _env(sandbox: Any, tmp_path: Path, hostile: Hostile, **extra: str) -> dict[str, str]:
    return cli_env(sandbox, tmp_path / "home", ISOMETRIC_API_URL=hostile.base_url, **extra)


def _page(nodes: list[dict[str, Any]], total: int, cursor: str | None) -> bytes:
    return json.dumps(
        {
            "nodes": nodes,
            "total_count": total,
            "page_info": {
                "has_next_page": cursor is not None,
                "has_previous_page": False,
                "start_cursor": None,
                "end_cursor": cursor,
            },
        }
    ).encode()


# -- 1. secrets in an error page ----------------------------------------------------------------------------------
def test_an_error_page_echoing_the_credentials_leaks_no_fragment_of_them(sandbox, tmp_path):
    """A 500 page echoing the request headers, the secret straddling the 500th character (where the body used to
    be cut before redaction), and the credentials again percent-encoded, JSON-escaped and in base64."""

    def echo(handler: _Handler, method: str, path: str, query: dict[str, list[str]], body: bytes) -> bool:
        if not path.endswith("/component_blueprints"):
            return False
        secret = handler.headers["X-Client-Secret"]
        bearer = handler.headers["Authorization"]
        pad = "<p>" + "x" * (490 - len("<html><body><h1>500</h1><pre>X-Client-Secret: ")) + "</p>"
        page = (
            f"<html><body>{pad}<h1>500</h1><pre>X-Client-Secret: {secret}\nAuthorization: {bearer}\n"
            f"quoted: {quote(secret, safe='')}\njson: {json.dumps({'h': bearer})}\n"
            f"basic: {base64.b64encode(('api:' + secret).encode()).decode()}\n"
            f"repr: {(bearer + chr(13)).encode()!r}</pre></body></html>"
        )
        handler.reply(500, page.encode(), "text/html")
        return True

    workbook = copy_samples(tmp_path)
    with Hostile(sandbox, echo) as hostile:
        env = _env(sandbox, tmp_path, hostile)
        started = time.monotonic()
        human = run_cli(["plan", str(workbook)], env, subprocess_=True, timeout=120)
        as_json = run_cli(["plan", str(workbook), "--json"], env, subprocess_=True, timeout=120)
        took = time.monotonic() - started
    assert human.code in (1, 2) and as_json.code in (1, 2), human.stdout + human.stderr
    assert took < 100
    assert hostile.calls("GET", "/component_blueprints"), "the hostile page was never asked for"
    for result in (human, as_json):
        assert_clean(result)
    assert "X-Client-Secret: [RE" in human.stdout + human.stderr  # the page was shown, masked (then cut at 500)
    assert_no_secret(
        [sandbox.client_secret, sandbox.access_token],
        human.stdout,
        human.stderr,
        as_json.stdout,
        as_json.stderr,
        reports=tmp_path / "home" / "reports",
    )


def test_a_credential_read_with_a_windows_line_end_is_used_without_it(sandbox, tmp_path):
    """`ISOMETRIC_CLIENT_SECRET` ending in \\r (a file saved on Windows): stripped, said on stderr, never shown."""
    workbook = copy_samples(tmp_path)
    env = cli_env(
        sandbox,
        tmp_path / "home",
        ISOMETRIC_CLIENT_SECRET=sandbox.client_secret + "\r",
        ISOMETRIC_ACCESS_TOKEN=sandbox.access_token + "\r\n",
    )
    result = run_cli(["plan", str(workbook), "--json"], env, subprocess_=True, timeout=120)
    assert result.code == 0, result.stdout + result.stderr
    assert "ISOMETRIC_CLIENT_SECRET had a line end" in result.stderr
    assert "ISOMETRIC_ACCESS_TOKEN had a line end" in result.stderr
    assert_clean(result)
    assert_no_secret([sandbox.client_secret, sandbox.access_token], result.stdout, result.stderr)


@pytest.mark.parametrize("bad", ["\r", "\x01", " ", "\u00e9"], ids=["cr", "control", "space", "non-ascii"])
def test_a_credential_with_a_character_no_header_can_carry_is_refused_unseen(sandbox, tmp_path, bad):
    secret = sandbox.client_secret[:10] + bad + sandbox.client_secret[10:]
    env = cli_env(sandbox, tmp_path / "home", ISOMETRIC_CLIENT_SECRET=secret)
    result = run_cli(["plan", str(copy_samples(tmp_path)), "--json"], env, subprocess_=True, timeout=60)
    assert result.code == 2, result.stdout + result.stderr
    assert "ISOMETRIC_CLIENT_SECRET holds" in result.stdout + result.stderr
    assert "connection failed" not in result.stdout + result.stderr
    assert_clean(result)
    assert_no_secret([sandbox.client_secret, secret], result.stdout, result.stderr)


# -- 2. a dribbling server: the deadline and Ctrl-C ---------------------------------------------------------------
def _dribble_on(method: str, suffix: str) -> Rule:
    def rule(handler: _Handler, m: str, path: str, query: dict[str, list[str]], body: bytes) -> bool:
        if m == method and path.endswith(suffix):
            handler.dribble()
            return True
        return False

    return rule


def test_a_dribbled_answer_is_cut_at_the_deadline_of_the_whole_exchange(sandbox):
    """One byte every 0.5 s never trips httpx's per-read timeout; the attempt's deadline (1 s here) ends it."""
    with Hostile(sandbox, _dribble_on("GET", "/projects")) as hostile:
        client = IsometricClient(
            ClientConfig(
                base_url=hostile.base_url,
                client_secret=sandbox.client_secret,
                access_token=sandbox.access_token,
                timeout=1.0,
                max_attempts=2,
                backoff_initial=0.01,
                backoff_max=0.01,
            )
        )
        started = time.monotonic()
        with client, pytest.raises(Unreachable) as info:
            client.list_projects()
        took = time.monotonic() - started
    assert 1.9 < took < 5, took
    assert "no complete answer within 1 s" in info.value.message
    assert len(hostile.calls("GET", "/projects")) == 2


def test_cancel_abandons_a_dribbled_request_in_flight(sandbox):
    with Hostile(sandbox, _dribble_on("GET", "/projects")) as hostile:
        cancel = threading.Event()
        client = IsometricClient(
            ClientConfig(
                base_url=hostile.base_url, client_secret=sandbox.client_secret, access_token=sandbox.access_token
            ),
            cancel=cancel,
        )
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                client.list_projects()
            except BaseException as exc:  # noqa: BLE001 - captured for the assertion
                outcome.append(exc)

        worker = threading.Thread(target=call)
        worker.start()
        assert hostile.dribbling.wait(10)
        time.sleep(0.3)
        stopped = time.monotonic()
        cancel.set()
        worker.join(10)
        client.close()
    assert not worker.is_alive() and time.monotonic() - stopped < 3
    assert isinstance(outcome[0], Cancelled) and "abandoned in flight" in str(outcome[0])
    assert client.in_flight() == []


def _interrupt_while_dribbling(sandbox: Any, tmp_path: Path, method: str, suffix: str) -> tuple[int, str, str, float]:
    workbook = copy_samples(tmp_path)
    with Hostile(sandbox, _dribble_on(method, suffix)) as hostile:
        env = _env(sandbox, tmp_path, hostile)
        proc = subprocess.Popen(
            [sys.executable, "-m", "importer.cli", "run", str(workbook), "--concurrency", "2"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert hostile.dribbling.wait(90), "the dribbled request never came"
            time.sleep(1.0)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return proc.returncode, out, err, took


def test_ctrl_c_during_a_dribbled_create_exits_130_within_seconds(sandbox, tmp_path):
    code, out, err, took = _interrupt_while_dribbling(sandbox, tmp_path, "POST", "/datapoints")
    assert took < 6, (took, out, err)
    assert code == 130, out + err
    assert "Traceback" not in err and "internal error" not in err
    assert_no_secret([sandbox.client_secret, sandbox.access_token], out, err)


def test_ctrl_c_during_a_dribbled_planning_read_stops_within_seconds(sandbox, tmp_path):
    code, out, err, took = _interrupt_while_dribbling(sandbox, tmp_path, "GET", "/component_blueprints")
    assert took < 6, (took, out, err)
    assert code in (2, 130), out + err
    assert "Traceback" not in err and "internal error" not in out + err


def test_ctrl_c_during_planning_exits_130(sandbox, tmp_path):
    code, out, err, _took = _interrupt_while_dribbling(sandbox, tmp_path, "GET", "/component_blueprints")
    assert code == 130, out + err


# -- 3. a listing that never ends ---------------------------------------------------------------------------------
def test_a_listing_that_never_ends_is_stopped_by_its_total_count(sandbox, tmp_path):
    def forever(handler: _Handler, method: str, path: str, query: dict[str, list[str]], body: bytes) -> bool:
        if method != "GET" or not path.endswith("/component_blueprints"):
            return False
        status, data, _ = handler.upstream(body)
        real = json.loads(data)
        number = int((query.get("after") or ["c0"])[0][1:]) + 1
        handler.reply(200, _page(real["nodes"], real["total_count"], f"c{number}"))  # the same nodes, fresh cursor
        return True

    workbook = copy_samples(tmp_path)
    with Hostile(sandbox, forever) as hostile:
        started = time.monotonic()
        result = run_cli(
            ["plan", str(workbook), "--json"], _env(sandbox, tmp_path, hostile), subprocess_=True, timeout=120
        )
        took = time.monotonic() - started
    asked = hostile.calls("GET", "/component_blueprints")
    assert result.code in (1, 2), result.stdout + result.stderr
    assert took < 60 and 1 < len(asked) <= 5, (took, len(asked))
    assert "would not end the listing" in result.stdout + result.stderr
    assert_clean(result)


# -- 4. a 2xx whose body is broken -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "broken",
    [b"<html>gateway says hello</html>", b'{"unexpected": "shape"}', b""],
    ids=["not-json", "wrong-shape", "empty"],
)
def test_a_broken_2xx_while_planning_is_a_typed_server_error(sandbox, tmp_path, broken):
    def rule(handler: _Handler, method: str, path: str, query: dict[str, list[str]], body: bytes) -> bool:
        if method == "GET" and path.endswith("/component_blueprints"):
            handler.reply(200, broken, headers=(("X-Request-Id", "req-hostile-42"),))
            return True
        return False

    workbook = copy_samples(tmp_path)
    with Hostile(sandbox, rule) as hostile:
        started = time.monotonic()
        result = run_cli(["plan", str(workbook)], _env(sandbox, tmp_path, hostile), subprocess_=True, timeout=120)
        took = time.monotonic() - started
    text = result.stdout + result.stderr
    assert result.code in (1, 2), text
    assert took < 60
    assert "answer could not be read" in text and "req-hostile-42" in text and "/component_blueprints" in text
    assert_clean(result)


def test_a_create_answered_with_a_broken_body_is_found_not_duplicated(sandbox, tmp_path):
    """The first POST /datapoints is applied by the server, but its answer is garbage: the answer is lost, the
    datapoint is looked up by its supplier_reference_id and adopted; nothing is created twice, nothing blocked."""

    def rule(handler: _Handler, method: str, path: str, query: dict[str, list[str]], body: bytes) -> bool:
        if method == "POST" and path.endswith("/datapoints") and not handler.server.hostile.state.get("done"):
            handler.server.hostile.state["done"] = True
            handler.upstream(body)  # applied
            handler.reply(201, b"\x00\xffnot json at all")
            return True
        return False

    workbook = copy_samples(tmp_path)
    with Hostile(sandbox, rule) as hostile:
        result = run_cli(
            ["run", str(workbook), "--json"], _env(sandbox, tmp_path, hostile), subprocess_=True, timeout=240
        )
    assert result.code == 0, result.stdout + result.stderr
    assert hostile.state.get("done")
    assert_clean(result)
    assert result.json()["ok"] is True and "blocked by" not in result.stdout
    assert_exactly(sandbox, workbook)


# -- 5. Retry-After in the past -----------------------------------------------------------------------------------
def test_a_retry_after_in_the_past_is_neither_a_busy_loop_nor_endless(sandbox, tmp_path):
    def rule(handler: _Handler, method: str, path: str, query: dict[str, list[str]], body: bytes) -> bool:
        if method == "GET" and path.endswith("/component_blueprints"):
            handler.reply(429, b'{"detail": "slow down"}', headers=(("Retry-After", "Tue, 01 Jan 2019 00:00:00 GMT"),))
            return True
        return False

    workbook = copy_samples(tmp_path)
    with Hostile(sandbox, rule) as hostile:
        started = time.monotonic()
        result = run_cli(["plan", str(workbook)], _env(sandbox, tmp_path, hostile), subprocess_=True, timeout=120)
        took = time.monotonic() - started
    asked = [s[3] for s in hostile.calls("GET", "/component_blueprints")]
    assert result.code in (1, 2), result.stdout + result.stderr
    assert 2 <= len(asked) <= 20 and took < 60, (len(asked), took)
    gaps = [b - a for a, b in zip(asked, asked[1:], strict=False)]
    assert min(gaps) >= 0.4, gaps  # the backoff floor (0.5 s), not 160 retries in 0.76 s
    assert_clean(result)


# -- 6. a listing that ignores ?supplier_reference_id= ------------------------------------------------------------
def test_a_lookup_never_adopts_another_object_from_an_unfiltered_listing(sandbox, tmp_path):
    """The server never got the first create (its answer is 'lost': the connection drops), and the listing the
    look-up reads ignores its filter, offering other objects first: none is adopted, the datapoint is created,
    and every row ends with its own object."""
    with httpx.Client(
        base_url=sandbox.base_url,
        headers={"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"},
    ) as api:
        for n in range(3):
            datapoint(api, f"seed-someone-else-{n}", project=PROJECT)

    def rule(handler: _Handler, method: str, path: str, query: dict[str, list[str]], body: bytes) -> bool:
        hostile = handler.server.hostile
        if (
            method == "GET"
            and path.endswith(("/datapoints", "/components", "/ghg_entries", "/sources"))
            and "supplier_reference_id" in query
        ):
            rest = {k: v[0] for k, v in query.items() if k != "supplier_reference_id"}
            handler.forward(body, path + "?" + urlencode(rest))  # the filter ignored
            hostile.state["unfiltered"] = hostile.state.get("unfiltered", 0) + 1
            return True
        if method == "POST" and path.endswith("/datapoints") and not hostile.state.get("dropped"):
            hostile.state["dropped"] = True
            handler.close_connection = True
            handler.connection.shutdown(2)  # no answer at all: may or may not have been applied
            return True
        return False

    workbook = copy_samples(tmp_path)
    with Hostile(sandbox, rule) as hostile:
        result = run_cli(
            ["run", str(workbook), "--json"], _env(sandbox, tmp_path, hostile), subprocess_=True, timeout=240
        )
    assert result.code == 0, result.stdout + result.stderr
    assert hostile.state.get("dropped") and hostile.state.get("unfiltered"), hostile.state
    assert_clean(result)
    assert_exactly(sandbox, workbook)
    srids = [str(d.get("supplier_reference_id")) for d in sandbox.store.list("datapoint")]
    assert len([s for s in srids if s.startswith("seed-someone")]) == 3
