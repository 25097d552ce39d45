"""The one way text reaches a terminal (or a piped stdout/stderr): every character that could steer the
terminal or hide what a line says is shown, not obeyed.

A workbook's cells, its file names and a server's error messages end up in the importer's messages. A cell
holding ``ESC [2J`` once cleared the screen and drew a green "OK: every row imported" over a failed import; a
``[green]`` in a cell would be read as rich markup. So:

- `visible(text)` writes these characters as escapes (the notation of a Python string literal, so a reader
  can tell exactly which character was there): C0 controls except the newline (``\\x1b``, ``\\r``, ``\\t``,
  backspace ``\\x08``), DEL ``\\x7f``, C1 controls ``\\x80``-``\\x9f``, and the invisible format characters
  that reorder or hide text: bidi embeddings, overrides and isolates (``\\u202a``-``\\u202e``,
  ``\\u2066``-``\\u2069``, ``\\u200e``/``\\u200f``, ``\\u061c``), zero-width characters (``\\u200b``-``\\u200d``,
  ``\\u2060``-``\\u2064``, ``\\ufeff``), the soft hyphen ``\\u00ad`` and the line/paragraph separators
  ``\\u2028``/``\\u2029``. A newline stays a newline: the importer's own messages need it, and every value that
  could hold one is printed within a line that names its cell.
- `SafeConsole` is rich's Console with that applied to every piece of text it writes (after rich's own layout,
  before its own styling, so the colours the importer chooses still work), markup and emoji codes off unless a
  call asks for markup explicitly (the importer's own styled lines, whose values are escaped).
- `echo(text)` is `print` for the few plain lines written without rich (JSON, the last-resort error line).
- `VisibleFormatter` does the same for log lines (`--debug` and warnings).

`--json` output is JSON text, which escapes every control character itself (``json.dumps`` also writes every
non-ASCII character as ``\\uXXXX``); it still passes through `echo`, which leaves it unchanged.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import IO, TextIO

from rich.console import Console, HighlighterType, JustifyMethod, OverflowMethod
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

#: every character `visible` rewrites
INVISIBLE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\ufff9-\ufffb]"
)
_SHORT = {"\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control or invisible formatting character written as its escape (see the module)."""
    return INVISIBLE.sub(_escape, text) if INVISIBLE.search(text) else text


class SafeConsole(Console):
    """A rich Console that shows control characters instead of sending them, and reads no markup or emoji
    codes in the text it is given unless a call passes ``markup=True``."""

    # the arguments the importer gives (rich's defaults but for markup, emoji and highlighting: off)
    def __init__(
        self,
        *,
        file: IO[str] | None = None,
        stderr: bool = False,
        width: int | None = None,
        force_terminal: bool | None = None,
        no_color: bool | None = None,
        soft_wrap: bool = False,
        markup: bool = False,
        emoji: bool = False,
        highlight: bool = False,
    ) -> None:
        super().__init__(
            file=file,
            stderr=stderr,
            width=width,
            force_terminal=force_terminal,
            no_color=no_color,
            soft_wrap=soft_wrap,
            markup=markup,
            emoji=emoji,
            highlight=highlight,
        )

    def render_str(
        self,
        text: str,
        *,
        style: str | Style = "",
        justify: JustifyMethod | None = None,
        overflow: OverflowMethod | None = None,
        emoji: bool | None = None,
        markup: bool | None = None,
        highlight: bool | None = None,
        highlighter: HighlighterType | None = None,
    ) -> Text:
        # before layout, so a table's columns are measured on what will be shown
        return super().render_str(
            visible(text),
            style=style,
            justify=justify,
            overflow=overflow,
            emoji=emoji,
            markup=markup,
            highlight=highlight,
            highlighter=highlighter,
        )

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        # the last step before the stream: whatever was built (Text objects, tables, progress bars) is covered;
        # rich's own control segments (cursor moves of a live display) are its own and pass
        return super()._render_buffer(
            segment if segment.control else Segment(visible(segment.text), segment.style, segment.control)
            for segment in buffer
        )


def echo(text: str, *, err: bool = False, stream: TextIO | None = None) -> None:
    """One plain line (or block) on stdout, or stderr with `err`, control characters made visible."""
    print(visible(text), file=stream or (sys.stderr if err else sys.stdout), flush=True)


class VisibleFormatter(logging.Formatter):
    """Log lines (message, arguments and tracebacks) with control characters made visible."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))


def make_logs_visible() -> None:
    """Give the root logger's handlers the `VisibleFormatter`, keeping each one's format."""
    for handler in logging.getLogger().handlers:
        current = handler.formatter
        if not isinstance(current, VisibleFormatter):
            handler.setFormatter(
                VisibleFormatter(current._fmt if current else None, current.datefmt if current else None)
            )


__all__ = ["INVISIBLE", "SafeConsole", "VisibleFormatter", "echo", "make_logs_visible", "visible"]
