"""One jinja2 environment for every report: the repository's top-level `templates/` folder, which the wheel
carries as `importer._templates` (`package-dir` in pyproject.toml); autoescape on for everything (cell text is
untrusted), and every printed value passed through `redact` on its way out."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import importlib.util
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import SupportsFloat, SupportsIndex

import jinja2

import importer
from importer import __version__
from importer.redaction import redact

TEMPLATE_PACKAGE = "importer._templates"
# The folder the wheel's templates are built from. Used from a checkout: an editable install (setuptools' editable
# finder cannot import a mapped folder without __init__.py) or no install at all.
SOURCE_TEMPLATES = Path(importer.__file__).resolve().parent.parent / "templates"

_strict: contextvars.ContextVar[bool] = contextvars.ContextVar("report_writes_strict", default=False)


def _finalize(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


def _kg(value: str | SupportsFloat | SupportsIndex | None) -> str:
    """The `kg` filter: a number as `1,234.5`; empty for none (or for text that is not a number)."""
    if value is None:
        return ""
    try:
        return f"{float(value):,.1f}"
    except (TypeError, ValueError):
        return ""


def template_loader() -> jinja2.BaseLoader:
    """The installed wheel's templates when there are any; the checkout's `templates/` folder otherwise."""
    try:
        found = importlib.util.find_spec(TEMPLATE_PACKAGE) is not None
    except ImportError:
        found = False
    if found:
        return jinja2.PackageLoader(TEMPLATE_PACKAGE, ".")
    return jinja2.FileSystemLoader(str(SOURCE_TEMPLATES))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=template_loader(),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["kg"] = _kg
    return env


@contextlib.contextmanager
def strict_writes() -> Iterator[None]:
    """Inside this block `render_to` raises when the file cannot be written (the caller handles it)."""
    token = _strict.set(True)
    try:
        yield
    finally:
        _strict.reset(token)


def warn_not_written(path: Path, exc: BaseException, consequence: str = "") -> None:
    """One line on stderr: the report is lost, whatever it was reporting on is not."""
    from importer.terminal_text import echo

    reason = redact(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
    echo(f"warning: report not written to {redact(str(path))}: {reason}{consequence}", err=True)


def render_to(path: Path, template: str, **context: object) -> Path:
    """Render and write. A file that cannot be written (read-only or full folder) is a warning on stderr, not
    an error: a report must never hide the outcome it describes. Within `strict_writes()` it raises."""
    html = (
        environment()
        .get_template(template)
        .render(version=__version__, generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), **context)
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(redact(html), encoding="utf-8")
    except OSError as exc:
        if _strict.get():
            raise
        warn_not_written(path, exc)
    return path
