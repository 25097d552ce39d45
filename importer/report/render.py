"""One jinja2 environment for every report: templates from the repository's `templates/` folder, autoescape
on for everything (cell text is untrusted), and every printed value passed through `redact` on its way out."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from importer import __version__
from importer.redaction import redact
from importer.report.paths import TEMPLATES


def _finalize(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def _kg(value: Any) -> str:
    try:
        return f"{float(value):,.1f}"
    except (TypeError, ValueError):
        return ""


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, finalize=_finalize,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["kg"] = _kg
    return env


def render_to(path: Path, template: str, **context: Any) -> Path:
    html = environment().get_template(template).render(
        version=__version__, generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), **context)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(html), encoding="utf-8")
    return path
