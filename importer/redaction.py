"""Secrets never leave the process in readable form.

The client secret and access token are registered here the moment a client is built; every piece of text
that leaves the program (console output, JSON, reports, log records, exception messages) can be passed
through `redact`, which replaces each registered secret with ``[REDACTED]``. The logging filter does it for
every record, so even a third-party library's debug line cannot leak one.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words
_secrets: set[str] = set()
#: the same, longest first (a secret that contains another is masked whole); rebuilt on every registration, so
#: `redact` (called for every value a report prints) neither sorts nor locks
_longest_first: tuple[str, ...] = ()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret so that `redact` hides it, also in its URL-encoded forms (a server or proxy may echo
    it inside a URL). Very short values are ignored (they would mask noise)."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    global _longest_first
    with _lock:
        _secrets.update({value, quote(value, safe=""), quote_plus(value)})
        _longest_first = tuple(sorted(_secrets, key=len, reverse=True))


def register_secrets(*values: str | None) -> None:
    for value in values:
        register_secret(value)


def redact(text: str) -> str:
    """`text` with every registered secret replaced by the mask."""
    if not text:
        return text
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_data(value: Any) -> Any:
    """A JSON-like value (an API error `detail`, say) with every string in it redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_data(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message (and any traceback text) of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record, nor leak its arguments
            message = f"{record.msg} (unformattable arguments)"
        record.msg = redact(str(message))
        record.args = ()
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_logging_filter() -> None:
    """Attach the filter to the root logger's handlers (and to future records via the root logger)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    if not any(isinstance(f, RedactingFilter) for f in root.filters):
        root.addFilter(RedactingFilter())
