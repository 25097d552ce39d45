"""Where the client may send bytes: TLS for the API except on loopback, and evidence documents only over
HTTPS to allowlisted object-storage hosts (loopback for the local sandbox), never following a redirect.

Upload hosts
------------
A signed upload URL comes from the API, but the bytes it receives are a supplier's evidence: a client that PUTs
to *any* `*.amazonaws.com` host would hand a document to any bucket on S3 whose URL the API (or anything in
the way) put in front of it. The default allowlist is therefore narrowed to what Isometric's storage looks
like, as far as it is known (API-NOTES: S3-style URLs have been seen for sources on the sandbox, Google
Cloud Storage for file uploads):

- ``isometric*.s3.amazonaws.com`` and ``isometric*.s3.*.amazonaws.com``: S3 virtual-hosted URLs (global and
  regional endpoint, e.g. ``isometric-sandbox-sources.s3.eu-west-2.amazonaws.com``) of a bucket whose name
  starts with ``isometric``;
- ``s3.amazonaws.com/isometric*`` and ``s3.*.amazonaws.com/isometric*``: the same buckets addressed path-style;
- ``storage.googleapis.com/isometric*`` and ``isometric*.storage.googleapis.com``: Google Cloud Storage, path-
  and virtual-hosted-style, buckets whose name starts with ``isometric``;
- ``*.isometric.com``: Isometric's own domain (an upload endpoint or proxy of theirs).

The ``isometric`` bucket prefix is a convention, not a guarantee (bucket names are global and first come,
first served); it keeps arbitrary buckets out (``evil.s3.amazonaws.com``) without knowing Isometric's exact
bucket names. When Isometric's storage lives elsewhere, ``ISOMETRIC_UPLOAD_HOSTS`` (comma-separated) replaces
the whole default list.

Pattern grammar (defaults and ``ISOMETRIC_UPLOAD_HOSTS`` alike): ``HOST[/BUCKET]``. HOST is a host name whose
labels may hold ``*`` (matching within one label, never across a dot), or ``*.suffix`` (any host below
``suffix``, which needs at least two labels: ``*.com`` is refused). The optional ``/BUCKET`` matches the first
path segment (path-style buckets), ``*`` allowed. Matching ignores case. Plain-HTTP loopback URLs stay
allowed only when the API itself is on loopback (the local sandbox's storage).

How long an exchange may take
-----------------------------
httpx's timeouts bound each read, write and connect, not a request: a server that sends one byte every 2 s
holds a request with a 30 s timeout for ever. `arm_deadlines` puts the client's connections on a network
backend that bounds the whole exchange instead (connect, TLS, sending the request, the headers *and* the
body), for the thread inside `exchange(seconds, cancel)`: past the deadline the next read, write or connect
raises httpcore's timeout (httpx's), and once `cancel` is set the exchange is abandoned after `CANCEL_GRACE`
(an answer about to arrive still does; a dribbling one is cut) with `ExchangeCancelled`. Waiting reads poll in
`TICK` slices, so either comes within a fraction of a second. Outside `exchange()` the backend is httpcore's.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:  # httpcore and httpx load when a client is made, not with this module
    import ssl

    import httpcore
    import httpx

UPLOAD_HOSTS_ENV = "ISOMETRIC_UPLOAD_HOSTS"

DEFAULT_UPLOAD_HOSTS: tuple[str, ...] = (
    "isometric*.s3.amazonaws.com",
    "isometric*.s3.*.amazonaws.com",
    "s3.amazonaws.com/isometric*",
    "s3.*.amazonaws.com/isometric*",
    "storage.googleapis.com/isometric*",
    "isometric*.storage.googleapis.com",
    "*.isometric.com",
)

_PATTERN = re.compile(r"^(\*\.)?[a-z0-9*-]+(\.[a-z0-9*-]+)+(/[a-z0-9*._-]+)?$")


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname)


def without_userinfo(url: str) -> str:
    """The URL with any `user:password@` removed (for messages: never echo a password)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def has_userinfo(url: str) -> bool:
    parts = urlsplit(url)
    return "@" in parts.netloc or parts.username is not None or parts.password is not None


def api_url_problem(url: str) -> str | None:
    """Why an API base URL is refused, or None."""
    if has_userinfo(url):
        return (
            f"refusing API URL {without_userinfo(url)!r} with credentials in it (user:password@): remove them "
            "from the URL; the API takes ISOMETRIC_ACCESS_TOKEN and ISOMETRIC_CLIENT_SECRET from the environment"
        )
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return None
    return f"refusing API URL {url!r}: use https (plain http is only allowed to loopback)"


def parse_upload_hosts(text: str) -> tuple[str, ...]:
    """`ISOMETRIC_UPLOAD_HOSTS`'s value as patterns; ValueError naming the bad entry (a bare `*`, a `*.tld`, a
    scheme or port, anything not `HOST[/BUCKET]`)."""
    patterns: list[str] = []
    for raw in text.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        host = entry.split("/", 1)[0]
        if not _PATTERN.match(entry) or host.startswith("*.") and host.count(".") < 2:
            raise ValueError(
                f"{UPLOAD_HOSTS_ENV}: {raw.strip()!r} is not an upload host: give host names (storage.example.com), "
                "*.suffix patterns with at least two labels (*.storage.example.com) or HOST/BUCKET, comma-separated"
            )
        patterns.append(entry)
    if not patterns:
        raise ValueError(f"{UPLOAD_HOSTS_ENV} is set but names no host")
    return tuple(patterns)


def configured_upload_hosts() -> tuple[str, ...]:
    """The upload allowlist in force: `ISOMETRIC_UPLOAD_HOSTS` when set (it replaces the default), else
    DEFAULT_UPLOAD_HOSTS. `ClientConfig.upload_hosts` defaults to this, so setting the variable needs no wiring.
    Raises ValueError for an unusable value (settings.api_target reports it as a SettingsError first)."""
    text = os.environ.get(UPLOAD_HOSTS_ENV, "")
    return parse_upload_hosts(text) if text.strip() else DEFAULT_UPLOAD_HOSTS


def _host_matches(host: str, pattern: str) -> bool:
    labels = host.split(".")
    if pattern.startswith("*."):
        suffix = pattern[2:].split(".")
        return len(labels) > len(suffix) and _labels_match(labels[-len(suffix) :], suffix)
    wanted = pattern.split(".")
    return len(labels) == len(wanted) and _labels_match(labels, wanted)


def _labels_match(labels: list[str], patterns: list[str]) -> bool:
    return all(fnmatch.fnmatchcase(label, pattern) for label, pattern in zip(labels, patterns, strict=True))


def upload_host_allowed(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    """Whether an https URL's host (and, for HOST/BUCKET patterns, its first path segment) is allowlisted."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    segments = [s for s in parts.path.split("/") if s]
    bucket = unquote(segments[0]).lower() if segments else ""
    for entry in allowed_hosts:
        host_pattern, _, bucket_pattern = entry.lower().partition("/")
        if not _host_matches(host, host_pattern):
            continue
        if not bucket_pattern or (bucket and fnmatch.fnmatchcase(bucket, bucket_pattern)):
            return True
    return False


def upload_url_problem(url: str, *, allowed_hosts: tuple[str, ...], api_is_loopback: bool) -> str | None:
    """Why a signed upload URL is refused, or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if has_userinfo(url):
        return f"refusing to upload to {host!r}: the signed upload URL carries user:password@"
    if parts.scheme == "http" and is_loopback_host(host) and api_is_loopback:
        return None
    if parts.scheme != "https":
        return f"refusing to upload to {parts.scheme}://{host}: signed upload URLs must be https"
    if upload_host_allowed(url, allowed_hosts):
        return None
    return (
        f"refusing to upload to {host!r}: not an allowlisted storage host ({', '.join(allowed_hosts)}); if "
        f"Isometric documents this storage, set {UPLOAD_HOSTS_ENV} (comma-separated host names or *.suffix "
        "patterns; it replaces the default list)"
    )


def credential_problem(name: str, value: str) -> str | None:
    """Why the credential in variable `name` cannot be sent as it is (a header carries visible ASCII only), or
    None. Names the variable, the kind of character and its position; never the value."""
    for index, char in enumerate(value):
        if "!" <= char <= "~":
            continue
        if char.isspace():
            kind = f"a line end or tab (U+{ord(char):04X})" if char in "\r\n\t\v\f" else "a space"
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            kind = f"a control character (U+{ord(char):04X})"
        else:
            kind = f"a non-ASCII character (U+{ord(char):04X})"
        return (
            f"{name} holds {kind} at character {index + 1} of {len(value)}: a credential goes in an HTTP "
            "header, which cannot carry it as it is; set the variable to the credential alone (surrounding "
            "spaces and line ends are removed, anything inside is refused)"
        )
    return None


# -- whole-exchange deadlines and cancellation (see the module's docstring) --------------------------------------
TICK = 0.1  # a waiting read looks at its deadline and cancel event this often (seconds)
CANCEL_GRACE = 1.0  # an exchange in flight when cancel is set may still finish within this (seconds)
_WRITE_CHUNK = 64 * 1024


class ExchangeCancelled(Exception):
    """The exchange was abandoned: its cancel event was set and the grace for requests in flight ran out."""


@dataclass
class Exchange:
    """The limits of this thread's current request: a monotonic deadline and a cancel event. `expired` is set
    when the deadline (not a per-read timeout) ended it."""

    seconds: float
    deadline: float
    cancel: threading.Event | None = None
    grace: float = CANCEL_GRACE
    abandon_at: float | None = None
    expired: bool = False

    def remaining(self, error: type[Exception]) -> float:
        """The time the next step may block; raises `error` past the deadline, ExchangeCancelled once the grace
        after a cancel ran out."""
        now = time.monotonic()
        if self.cancel is not None and self.cancel.is_set():
            if self.abandon_at is None:
                self.abandon_at = now + self.grace
            if now >= self.abandon_at:
                raise ExchangeCancelled("cancelled: the request in flight was abandoned")
        left = self.deadline - now
        if left <= 0:
            self.expired = True
            raise error(f"no complete answer within {self.seconds:g} s (the deadline of the whole exchange)")
        if self.abandon_at is not None:
            left = min(left, max(0.0, self.abandon_at - now) + 0.001)
        return left


class _Current(threading.local):
    """Per thread: the exchange its request keeps to (None outside `exchange`)."""

    exchange: Exchange | None = None


_current = _Current()


@contextmanager
def exchange(
    seconds: float, cancel: threading.Event | None = None, *, grace: float = CANCEL_GRACE
) -> Iterator[Exchange]:
    """Bound the request this thread makes inside the block to `seconds` in all, and abandon it once `cancel` is
    set (after `grace`): for the connections of an httpx client given to `arm_deadlines`."""
    previous = _current.exchange
    state = Exchange(seconds=seconds, deadline=time.monotonic() + seconds, cancel=cancel, grace=grace)
    _current.exchange = state
    try:
        yield state
    finally:
        _current.exchange = previous


def _active() -> Exchange | None:
    return _current.exchange


def _bounded(timeout: float | None, left: float) -> float:
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """An httpcore network stream whose reads and writes keep to the thread's Exchange."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        import httpcore

        state = _active()
        if state is None:
            return bytes(self._inner.read(max_bytes, timeout))
        give_up = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = min(TICK, state.remaining(httpcore.ReadTimeout))
            if give_up is not None:
                left = give_up - time.monotonic()
                if left <= 0:
                    raise httpcore.ReadTimeout(f"no data within {timeout:g} s")
                wait = min(wait, left)
            try:
                return bytes(self._inner.read(max_bytes, wait))
            except httpcore.ReadTimeout:
                continue  # nothing arrived in this slice: look at the deadline and the cancel event again

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        import httpcore

        state = _active()
        if state is None:
            self._inner.write(buffer, timeout)
            return
        view = memoryview(buffer)
        for start in range(0, len(view), _WRITE_CHUNK):
            left = state.remaining(httpcore.WriteTimeout)
            self._inner.write(bytes(view[start : start + _WRITE_CHUNK]), _bounded(timeout, left))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> _DeadlineStream:
        import httpcore

        state = _active()
        if state is not None:
            timeout = _bounded(timeout, state.remaining(httpcore.ConnectTimeout))
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class _DeadlineBackend:
    """An httpcore network backend whose connections keep to the thread's Exchange."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> _DeadlineStream:
        import httpcore

        state = _active()
        if state is not None:
            timeout = _bounded(timeout, state.remaining(httpcore.ConnectTimeout))
        return _DeadlineStream(
            self._inner.connect_tcp(
                host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
            )
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> _DeadlineStream:
        import httpcore

        state = _active()
        if state is not None:
            timeout = _bounded(timeout, state.remaining(httpcore.ConnectTimeout))
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def arm_deadlines(client: httpx.Client) -> int:
    """Put the connections of an httpx.Client (its transport and any proxy mounts) on the deadline backend; the
    number of transports armed (0 for a transport that opens no connections, e.g. httpx.MockTransport)."""
    armed = 0
    transports = [getattr(client, "_transport", None), *(getattr(client, "_mounts", None) or {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            continue
        if not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
        armed += 1
    return armed
