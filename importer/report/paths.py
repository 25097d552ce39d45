"""Where reports go by default: the repository's `reports/` folder (kept in git, contents ignored), or
`ISOMETRIC_REPORTS_DIR` when set."""

from __future__ import annotations

import os
import re
from pathlib import Path

import importer

REPO = Path(importer.__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"


def reports_dir() -> Path:
    folder = Path(os.environ.get("ISOMETRIC_REPORTS_DIR") or REPO / "reports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def default_report_path(kind: str, workbook: Path, run_id: str) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", workbook.stem)[:60] or "workbook"
    return reports_dir() / f"{stem}-{run_id}-{kind}.html"
