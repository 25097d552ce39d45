"""Where the client may send bytes: TLS for the API except on loopback, and evidence documents only over
HTTPS to allowlisted object-storage hosts (loopback for the local sandbox), never following a redirect."""

from __future__ import annotations

import fnmatch
import ipaddress
from urllib.parse import urlsplit

DEFAULT_UPLOAD_HOSTS: tuple[str, ...] = ("*.amazonaws.com", "storage.googleapis.com", "*.storage.googleapis.com",
                                         "*.isometric.com")


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


def api_url_problem(url: str) -> str | None:
    """Why an API base URL is refused, or None."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return None
    return f"refusing API URL {url!r}: use https (plain http is only allowed to loopback)"


def upload_url_problem(url: str, *, allowed_hosts: tuple[str, ...], api_is_loopback: bool) -> str | None:
    """Why a signed upload URL is refused, or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "http" and is_loopback_host(host) and api_is_loopback:
        return None
    if parts.scheme != "https":
        return f"refusing to upload to {parts.scheme}://{host}: signed upload URLs must be https"
    if any(fnmatch.fnmatch(host.lower(), pattern.lower()) for pattern in allowed_hosts):
        return None
    return (f"refusing to upload to {host!r}: not an allowlisted storage host ({', '.join(allowed_hosts)}); "
            "add it to the upload hosts only if Isometric documents it")
