"""Where reports go by default: `./reports/` of the current folder, or `ISOMETRIC_REPORTS_DIR` when set (a
`--report` path beats both). Nothing here creates a folder: the writer does, so a read-only current folder
only matters when a report is actually written."""

from __future__ import annotations

import os
import re
from pathlib import Path


def reports_dir() -> Path:
    return Path(os.environ.get("ISOMETRIC_REPORTS_DIR") or Path.cwd() / "reports")


def default_report_path(kind: str, workbook: Path, run_id: str) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", workbook.stem)[:60] or "workbook"
    return reports_dir() / f"{stem}-{run_id}-{kind}.html"
