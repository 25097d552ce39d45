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


@pytest.fixture()
def sandbox(tmp_path: Path) -> Iterator[object]:
    """A fresh local sandbox per test (a real SQLite file, a real HTTP server on 127.0.0.1)."""
    from importer.sandbox import SandboxServer

    with SandboxServer(db_path=tmp_path / "sandbox.sqlite3") as server:
        yield server


@pytest.fixture()
def env(sandbox: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """The loopback sandbox as the configured API of this process (for in-process CLI and library calls)."""
    monkeypatch.setenv("ISOMETRIC_API_URL", sandbox.base_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", sandbox.client_secret)  # type: ignore[attr-defined]
    monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", sandbox.access_token)  # type: ignore[attr-defined]
    monkeypatch.setenv("NO_COLOR", "1")
    return sandbox
