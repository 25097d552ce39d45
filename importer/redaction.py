"""Secrets never leave the process in readable form.

The client secret and access token are registered here the moment a client is built; every piece of text
that leaves the program (console output, JSON, reports, log records, exception messages) can be passed
through `redact`, which replaces each registered secret with ``[REDACTED]``. The logging filter does it for
every record, so even a third-party library's debug line cannot leak one.
"""

from __future__ import annotations

import logging
import threading

MASK = "[REDACTED]"
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret so that `redact` hides it. Very short values are ignored (they would mask noise)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message (and any traceback text) of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
            record.exc_info = None
        return True


def install_logging_filter() -> None:
    """Attach the filter to the root logger's handlers (and to future records via the root logger)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    if not any(isinstance(f, RedactingFilter) for f in root.filters):
        root.addFilter(RedactingFilter())
