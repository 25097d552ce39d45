"""Where the importer talks to and where it keeps its local state.

- API: `--api-url` or `ISOMETRIC_API_URL`; credentials only from `ISOMETRIC_CLIENT_SECRET` and
  `ISOMETRIC_ACCESS_TOKEN` (never a flag, so they never land in shell history or process listings).
  With no API URL at all, the embedded local sandbox is started: a rehearsal, said loudly everywhere.
  A URL carrying `user:password@` is refused (httpx would send Basic auth in place of the Bearer token, and
  the URL is printed in places): the error names the variables to use and never echoes the password.
- Credentials are read as they are meant, or refused: surrounding whitespace (a trailing `\r` or newline from
  a file saved on Windows, a space pasted along) is removed, with a note on stderr saying so (the value is never
  shown); a space, control character or non-ASCII character *inside* one is refused (SettingsError, exit 2)
  naming the variable and the character's position, since no header could carry it as meant. Both values
  are registered for redaction as read, before anything else can print them.
- A rate budget known beforehand: `--max-rate` or `ISOMETRIC_MAX_RATE` ("2", "2/s", "120/min", "7200/h"; see
  `parse_rate`), kept to by all API requests together; an unusable value is refused up front, with what was found.
- Signed-upload hosts: `ISOMETRIC_UPLOAD_HOSTS` (comma-separated host names or `*.suffix` patterns) replaces
  the default allowlist (see importer.api.safety); `api_target` refuses an unusable value up front.
- Local state (run history, locks, the embedded sandbox's database): `ISOMETRIC_IMPORTER_HOME`, else the
  user's data directory (platformdirs). `ISOMETRIC_SANDBOX_DB` overrides the sandbox database file.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from importer.api.safety import configured_upload_hosts, credential_problem, has_userinfo, without_userinfo
from importer.redaction import register_secret
from importer.stops import ImporterError

APP_NAME = "isometric-importer"
KNOWN_HOSTS = {
    "api.sandbox.isometric.com": "Isometric sandbox",
    "api.isometric.com": "Isometric production",
}


class SettingsError(ImporterError):
    """A usage problem with the API configuration (a refusal: nothing was sent)."""


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
    client_secret: str | None = field(repr=False)
    access_token: str | None = field(repr=False)
    #: requests per second never exceeded, all API requests together (--max-rate / ISOMETRIC_MAX_RATE)
    max_rate: float | None = None

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


def url_credentials_problem(url: str) -> str | None:
    """Why an API URL with `user:password@` in it is refused (the message shows the URL without them)."""
    if not has_userinfo(url):
        return None
    return (
        f"the API URL {without_userinfo(url)!r} has credentials in it (user:password@...): remove them from "
        "the URL and put the credentials in ISOMETRIC_ACCESS_TOKEN and ISOMETRIC_CLIENT_SECRET instead (a "
        "password in a URL is sent as Basic auth in place of the access token, and ends up in logs)"
    )


_noted: set[str] = set()


def credential(name: str) -> str | None:
    """The credential in environment variable `name`, as it is meant: None when unset or blank; surrounding
    whitespace removed (said once on stderr, without the value); SettingsError when a character inside could
    not go in a header as it is. The value is registered for redaction, as read and as cleaned."""
    raw = os.environ.get(name)
    if raw is None:
        return None
    register_secret(raw)
    value = raw.strip()
    if not value:
        return None
    register_secret(value)
    problem = credential_problem(name, value)
    if problem:
        raise SettingsError(problem)
    if value != raw and name not in _noted:
        _noted.add(name)
        what = "a line end (\\r or \\n: a file saved on Windows?)" if raw.strip(" \t") != raw.strip() else "spaces"
        print(
            f"note: {name} had {what} around it; it was removed (the credential is used without it)",
            file=sys.stderr,
            flush=True,
        )
    return value


#: how a rate is written: a number of requests, per second unless a unit follows ("2", "2/s", "120/min")
_RATE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:/\s*(s|sec|second|min|minute|h|hour))?\s*", re.IGNORECASE)
_PER_SECOND = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}


def parse_rate(text: str, source: str) -> float:
    """A rate budget as requests per second, from "2", "2/s", "120/min" or "7200/h" (`source`: where it was
    given, for the refusal). SettingsError when it is not such a rate, or not above 0."""
    found = _RATE.fullmatch(text)
    per_second = float(found.group(1)) / _PER_SECOND[(found.group(2) or "s").lower()] if found else 0.0
    if not found or not per_second > 0 or not math.isfinite(per_second):
        raise SettingsError(
            f"{source}: found {text!r}; expected a number of requests above 0, per second unless a unit "
            "follows: 2, 2/s, 120/min or 7200/h"
        )
    return per_second


def api_target(api_url: str | None, max_rate: str | None = None) -> ApiTarget:
    """Resolve where to send requests. Credentials are required for any URL given explicitly; a URL with
    `user:password@` is refused, as is an unusable ISOMETRIC_UPLOAD_HOSTS or rate (SettingsError: a refusal).
    `max_rate` (else ISOMETRIC_MAX_RATE): the rate never exceeded, as `parse_rate` reads it."""
    stated = max_rate or os.environ.get("ISOMETRIC_MAX_RATE") or None
    rate = None if stated is None else parse_rate(stated, "--max-rate" if max_rate else "ISOMETRIC_MAX_RATE")
    url = api_url or os.environ.get("ISOMETRIC_API_URL") or None
    try:
        configured_upload_hosts()
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    secret = os.environ.get("ISOMETRIC_CLIENT_SECRET") or None  # the embedded sandbox uses its own
    token = os.environ.get("ISOMETRIC_ACCESS_TOKEN") or None
    if url is not None:
        secret = credential("ISOMETRIC_CLIENT_SECRET")
        token = credential("ISOMETRIC_ACCESS_TOKEN")
        url = url.strip().rstrip("/")
        problem = url_credentials_problem(url)
        if problem:
            raise SettingsError(problem)
        missing = [
            name
            for name, value in (("ISOMETRIC_CLIENT_SECRET", secret), ("ISOMETRIC_ACCESS_TOKEN", token))
            if not value
        ]
        if missing:
            raise SettingsError(
                f"{' and '.join(missing)} must be set in the environment to talk to {url} "
                "(credentials are never taken from the command line)"
            )
    return ApiTarget(url=url, client_secret=secret, access_token=token, max_rate=rate)
