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
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import re
from urllib.parse import unquote, urlsplit

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
        return (f"refusing API URL {without_userinfo(url)!r} with credentials in it (user:password@): remove them "
                "from the URL; the API takes ISOMETRIC_ACCESS_TOKEN and ISOMETRIC_CLIENT_SECRET from the environment")
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
                "*.suffix patterns with at least two labels (*.storage.example.com) or HOST/BUCKET, comma-separated")
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
        return len(labels) > len(suffix) and _labels_match(labels[-len(suffix):], suffix)
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
    return (f"refusing to upload to {host!r}: not an allowlisted storage host ({', '.join(allowed_hosts)}); if "
            f"Isometric documents this storage, set {UPLOAD_HOSTS_ENV} (comma-separated host names or *.suffix "
            "patterns; it replaces the default list)")
