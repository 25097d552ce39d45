"""Running the sandbox: embedded in a program (a context manager serving on a free loopback port from a
background thread) or in the foreground for `isometric-import sandbox`."""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from importer.sandbox.app import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET, PREFIX, Sandbox, build_app
from importer.sandbox.faults import FaultConfig
from importer.sandbox.logic import add_feedstock_type, render
from importer.sandbox.store import SandboxStore


class SandboxServer:
    """The local sandbox on 127.0.0.1, for as long as the `with` block lasts.

    `db_path=None` uses a fresh temporary file; ":memory:" keeps state in memory only.
    """

    def __init__(
        self,
        db_path: str | Path | None = None,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if db_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="isometric-sandbox-")
            db_path = Path(self._tmp.name) / "sandbox.sqlite3"
        self.db_path = db_path
        self.host = host
        self.port = port
        self.client_secret = DEMO_CLIENT_SECRET
        self.access_token = DEMO_ACCESS_TOKEN
        self.store = SandboxStore(db_path, render)
        self._sandbox = Sandbox(self.store, faults or FaultConfig())
        self.app = build_app(self._sandbox)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def add_feedstock_type(self, name: str, supplier_reference_id: str | None = None) -> dict[str, Any]:
        """A feedstock type made as the Certify UI would (the API has no POST /feedstock_types)."""
        with self.store.lock:
            return add_feedstock_type(self.store, name, supplier_reference_id)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + PREFIX

    def set_faults(self, faults: FaultConfig) -> None:
        assert self._sandbox.injector is not None
        self._sandbox.injector.set(faults)

    def start(self) -> SandboxServer:
        sock = listening_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="critical",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            limit_concurrency=1000,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="isometric-sandbox"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the local sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for uvicorn. Answers go out as headers then body: without TCP_NODELAY (inherited by
    accepted connections on Linux) Nagle holds the body until the client's delayed ACK, adding ~40 ms to every
    request on loopback (measured: 44 ms -> 0.4 ms per request)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


def serve(host: str, port: int, db_path: Path, faults: FaultConfig, feedstock_types: tuple[str, ...] = ()) -> None:
    """Run the sandbox in the foreground until interrupted (for the CLI). `feedstock_types` are added first, by
    name, unless the organisation has one of that name already (the Certify UI's part: the API creates none)."""
    store = SandboxStore(db_path, render)
    with store.lock:
        for name in feedstock_types:
            if not any(t["name"] == name for t in store.all("feedstock_type")):
                add_feedstock_type(store, name)
    app = build_app(Sandbox(store, faults))
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[listening_socket(host, port)])
    finally:
        store.close()
