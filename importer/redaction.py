"""Secrets never leave the process in readable form.

The client secret and access token are registered here the moment they are read (settings) and again when a
client is built; every piece of text that leaves the program (console output, JSON, reports, log records,
exception messages) can be passed through `redact`, which replaces each registered secret with
``[REDACTED]``. The logging filter does it for every record, so even a third-party library's debug line cannot
leak one.

What counts as the secret: every form it takes in text this program or its libraries may print, not only the
raw value:
- raw; percent-encoded (``quote``, ``quote_plus``: a server or proxy echoing a URL); JSON-escaped (an error
  body echoing a header); ``repr``-escaped, of the text and of its UTF-8 bytes (httpx/h11 put ``b'...\\r'`` in
  their errors); HTML-escaped (reports); base64, standard and URL-safe, at each of the three alignments it can
  take inside a longer base64 text (a ``Basic`` header, a token wrapped in another);
- and any fragment of at least `MIN_FRAGMENT` characters of any of those forms, wherever it appears: a body cut
  to a length, a line wrapped, a value that differs from the secret only by a character around it (a trailing
  ``\\r``) still hides what it holds of the secret. Shorter fragments are left: they say too little to matter
  and would start masking ordinary words.

Callers redact before they cut: ``redact(text)[:500]``, never ``redact(text[:500])`` (the fragment rule makes
the second safe too, bar the last `MIN_FRAGMENT - 1` characters of a secret at the cut).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import threading
from urllib.parse import quote, quote_plus

from importer.json_types import JSONValue

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words
#: a run of this many characters of a secret (of any of its forms) is masked wherever it appears
MIN_FRAGMENT = 10
#: a fragment is masked only when it holds this many different characters: a run such as `0000000000` says
#: nothing of a secret that ends in it, and masking it broke numbers in output (`1.6000000000000014`)
MIN_DISTINCT = 4
_GRAM = 5  # anchors searched for: every fragment of MIN_FRAGMENT characters holds one whole
_STEP = MIN_FRAGMENT - _GRAM + 1  # ... when they start every _STEP characters of a form
_secrets: set[str] = set()
#: the forms, longest first (a secret that contains another is masked whole); rebuilt on every registration, so
#: `redact` (called for every value a report prints) neither sorts nor locks
_longest_first: tuple[str, ...] = ()
#: the fragment rule's anchors: each one -> the (form, offset) pairs it was taken from, and the anchors in order
#: (one value, replaced whole: a reader never sees one half of an update)
_index: tuple[dict[str, tuple[tuple[str, int], ...]], tuple[str, ...]] = ({}, ())
_lock = threading.Lock()


def _base64_forms(raw: bytes) -> set[str]:
    """The base64 text of `raw` wherever it sits in a longer base64 text: at each alignment (0, 1 or 2 bytes
    before it), without the characters its neighbours also shape (the first 2-3 and the last 4)."""
    out: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for shift, skip in ((0, 0), (1, 2), (2, 3)):
            text = encode(b"\0" * shift + raw).decode("ascii").rstrip("=")
            out.add(text[skip:] if len(raw) % 3 == 0 and shift == 0 else text[skip:-4])
    return out


def forms_of(value: str) -> set[str]:
    """Every form of `value` that `redact` masks whole (see the module's docstring)."""
    raw = value.encode("utf-8", "surrogatepass")
    found = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        repr(raw)[2:-1],
        html.escape(value),
        html.escape(value, quote=False),
        *_base64_forms(raw),
    }
    return {form for form in found if len(form) >= MIN_SECRET_LENGTH}


def register_secret(value: str | None) -> None:
    """Remember a secret so that `redact` hides it, in every form and fragment (see the module's docstring).
    Very short values are ignored (they would mask noise)."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    global _longest_first, _index
    with _lock:
        new = forms_of(value) - _secrets
        if not new:
            return
        _secrets.update(new)
        ordered = tuple(sorted(_secrets, key=len, reverse=True))
        anchors: dict[str, list[tuple[str, int]]] = {}
        for form in ordered:
            if len(form) >= MIN_FRAGMENT:
                for offset in range(0, len(form) - _GRAM + 1, _STEP):
                    anchors.setdefault(form[offset : offset + _GRAM], []).append((form, offset))
        _index = ({gram: tuple(places) for gram, places in anchors.items()}, tuple(anchors))
        _longest_first = ordered


def register_secrets(*values: str | None) -> None:
    for value in values:
        register_secret(value)


def _fragments(text: str, anchors: dict[str, tuple[tuple[str, int], ...]], grams: tuple[str, ...]) -> str:
    """`text` with every run of at least MIN_FRAGMENT characters shared with a registered form masked."""
    spans: list[tuple[int, int]] = []
    for gram in grams:
        start = text.find(gram)
        while start >= 0:
            for form, offset in anchors[gram]:
                left = 0
                while left < start and left < offset and text[start - left - 1] == form[offset - left - 1]:
                    left += 1
                right = _GRAM
                while (
                    start + right < len(text)
                    and offset + right < len(form)
                    and text[start + right] == form[offset + right]
                ):
                    right += 1
                if left + right >= MIN_FRAGMENT and len(set(text[start - left : start + right])) >= MIN_DISTINCT:
                    spans.append((start - left, start + right))
            start = text.find(gram, start + 1)
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    done = 0
    for begin, end in spans:
        if end <= done:
            continue
        if begin >= done:
            out.append(text[done:begin])
            out.append(MASK)
        done = end
    out.append(text[done:])
    return "".join(out)


def redact(text: str) -> str:
    """`text` with every registered secret (any of its forms, any fragment of MIN_FRAGMENT characters or more)
    replaced by the mask."""
    if not text:
        return text
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, MASK)
    if len(text) >= MIN_FRAGMENT:
        anchors, grams = _index
        hits = tuple(gram for gram in grams if gram in text)
        if hits:
            text = _fragments(text, anchors, hits)
    return text


def redact_data(value: JSONValue) -> JSONValue:
    """A JSON value (an API error `detail`, say) with every string in it, keys included, redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):  # a tuple is no JSON, but is redacted all the same should one come
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
