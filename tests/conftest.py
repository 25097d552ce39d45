"""Shared fixtures: a local sandbox over real HTTP on loopback, isolated importer state."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # test helpers (e2e_helpers, fakes) import by name


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the user's real data folder, reports folder or API settings."""
    home = tmp_path_factory.mktemp("importer-home")
    monkeypatch.setenv("ISOMETRIC_IMPORTER_HOME", str(home))
    monkeypatch.setenv("ISOMETRIC_REPORTS_DIR", str(home / "reports"))
    for name in ("ISOMETRIC_API_URL", "ISOMETRIC_CLIENT_SECRET", "ISOMETRIC_ACCESS_TOKEN", "ISOMETRIC_SANDBOX_DB"):
        monkeypatch.delenv(name, raising=False)


def _from_the_importer(path: str, headers: dict[str, str]) -> bool:
    """A request the importer sent to the API (a test that points it at another path is testing that mistake)."""
    from importer.api.endpoints import USER_AGENT

    return headers.get("user-agent") == USER_AGENT and path.startswith("/mrv/v0/")


@pytest.fixture()
def sandbox(tmp_path: Path) -> Iterator[object]:
    """A fresh local sandbox per test (a real SQLite file, a real HTTP server on 127.0.0.1). Every request the
    importer sends it (told by its User-Agent; a test's own raw requests are not) is held against the published
    contract (`request_contract`): a test whose importer sent one the live document lacks fails at teardown."""
    from request_contract import ContractMiddleware, RequestContract

    from importer.sandbox import SandboxServer

    server = SandboxServer(db_path=tmp_path / "sandbox.sqlite3")
    contract = RequestContract()
    server.app = ContractMiddleware(server.app, contract, only=_from_the_importer)
    server.contract = contract  # type: ignore[attr-defined]
    with server:
        yield server
    assert not contract.violations, "the importer sent requests the contract does not declare:\n" + "\n".join(
        contract.violations[:20]
    )


@pytest.fixture()
def env(sandbox: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """The loopback sandbox as the configured API of this process (for in-process CLI and library calls)."""
    monkeypatch.setenv("ISOMETRIC_API_URL", sandbox.base_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", sandbox.client_secret)  # type: ignore[attr-defined]
    monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", sandbox.access_token)  # type: ignore[attr-defined]
    monkeypatch.setenv("NO_COLOR", "1")
    return sandbox
