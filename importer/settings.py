"""Where the importer talks to and where it keeps its local state.

- API: `--api-url` or `ISOMETRIC_API_URL`; credentials only from `ISOMETRIC_CLIENT_SECRET` and
  `ISOMETRIC_ACCESS_TOKEN` (never a flag, so they never land in shell history or process listings).
  With no API URL at all, the embedded local sandbox is started: a rehearsal, said loudly everywhere.
- Local state (run history, locks, the embedded sandbox's database): `ISOMETRIC_IMPORTER_HOME`, else the
  user's data directory (platformdirs). `ISOMETRIC_SANDBOX_DB` overrides the sandbox database file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

APP_NAME = "isometric-importer"
KNOWN_HOSTS = {
    "api.sandbox.isometric.com": "Isometric sandbox",
    "api.isometric.com": "Isometric production",
}


class SettingsError(Exception):
    """A usage problem with the API configuration (exit code 2)."""


def home() -> Path:
    """The importer's local state folder (created on first use)."""
    override = os.environ.get("ISOMETRIC_IMPORTER_HOME")
    path = Path(override) if override else platformdirs.user_data_path(APP_NAME)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sandbox_db_path() -> Path:
    override = os.environ.get("ISOMETRIC_SANDBOX_DB")
    return Path(override) if override else home() / "sandbox.sqlite3"


@dataclass(frozen=True)
class ApiTarget:
    url: str | None  # None: start the embedded sandbox
    client_secret: str | None
    access_token: str | None

    @property
    def embedded(self) -> bool:
        return self.url is None


def environment_label(url: str, *, embedded: bool) -> str:
    if embedded:
        return "local sandbox (embedded)"
    host = urlsplit(url).hostname or ""
    if host in KNOWN_HOSTS:
        return KNOWN_HOSTS[host]
    if host in ("127.0.0.1", "localhost", "::1"):
        return "local server"
    return "custom"


def api_target(api_url: str | None) -> ApiTarget:
    """Resolve where to send requests. Credentials are required for any URL given explicitly."""
    url = api_url or os.environ.get("ISOMETRIC_API_URL") or None
    secret = os.environ.get("ISOMETRIC_CLIENT_SECRET") or None
    token = os.environ.get("ISOMETRIC_ACCESS_TOKEN") or None
    if url is not None:
        url = url.rstrip("/")
        missing = [name for name, value in (("ISOMETRIC_CLIENT_SECRET", secret), ("ISOMETRIC_ACCESS_TOKEN", token))
                   if not value]
        if missing:
            raise SettingsError(
                f"{' and '.join(missing)} must be set in the environment to talk to {url} "
                "(credentials are never taken from the command line)")
    return ApiTarget(url=url, client_secret=secret, access_token=token)
